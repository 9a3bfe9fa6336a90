"""Manual controls: switch the primary broker, pause and resume a broker — each confirmed,
with who and why in the audit trail, refused with nothing changed when it cannot apply;
another trader's connection is a 404."""

import time

import pytest
from django.conf import settings

from brokers.models import ConnectionStatus
from health import breaker
from routing.models import PolicyRevision
from routing.policy import controls, services
from routing.policy.effective import effective
from routing.policy.validation import Invalid
from tests.factories import BrokerConnectionFactory
from tests.routing.test_live import Watcher

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def signed_in(client, trader):
    client.force_login(trader)
    return client


def priority_of(user) -> tuple[str, ...]:
    return effective(user).priority


def trip_breaker(connection):
    """Four failed calls in a row: the connection's breaker opens, its card says Down."""
    now = time.time()
    for i in range(4):
        breaker.record(str(connection.pk), ok=False, slow=False, now=now - 4 + i)


def emergency_notes(user) -> list[str]:
    return list(
        PolicyRevision.objects.filter(
            policy__user=user, source=PolicyRevision.Source.EMERGENCY
        ).values_list("note", flat=True)
    )


# --- Services ---------------------------------------------------------------------------------
def test_switching_the_primary_puts_it_first_and_keeps_the_rest_in_order(trader, brokers, master):
    state = services.editing(trader)
    state.document["global"]["routing"]["priority"] = ["zerodha", "upstox", "dhan"]
    services.save_profile(user=trader, document=state.document, version=state.version)
    assert priority_of(trader)[0] == "zerodha"

    revision = controls.switch_primary(
        user=trader, connection=brokers["upstox"], reason="Kite is slow today", author=trader
    )

    assert priority_of(trader) == ("upstox", "zerodha", "dhan")
    assert revision.author == trader and revision.source == PolicyRevision.Source.EMERGENCY
    assert "Primary switched to Upstox" in revision.note and "Kite is slow today" in revision.note


def test_a_switch_to_a_broker_that_is_down_is_refused_and_changes_nothing(trader, brokers, master):
    trip_breaker(brokers["upstox"])
    version = services.policy_for(trader).version

    with pytest.raises(Invalid) as refused:
        controls.switch_primary(user=trader, connection=brokers["upstox"], reason="try")

    assert "is down now" in refused.value.problems[0].message
    assert refused.value.problems[0].path == "global.routing.priority"
    assert services.policy_for(trader).version == version
    assert emergency_notes(trader) == []


def test_a_switch_to_a_broker_without_an_instrument_list_is_refused(trader, brokers, master):
    with pytest.raises(Invalid) as refused:
        controls.switch_primary(user=trader, connection=brokers["dhan"], reason="try")
    assert "has no instrument list yet" in refused.value.problems[0].message
    assert priority_of(trader)[:1] != ("dhan",)


def test_a_switch_to_a_disconnected_broker_is_refused(trader, brokers, master):
    gone = BrokerConnectionFactory(
        user=trader, broker="fyers", status=ConnectionStatus.DISCONNECTED
    )
    with pytest.raises(Invalid, match="is not connected"):
        controls.switch_primary(user=trader, connection=gone, reason="try")


def test_a_switch_to_a_broker_whose_session_expired_is_refused(trader, brokers, master):
    brokers["zerodha"].status = ConnectionStatus.TOKEN_EXPIRED
    brokers["zerodha"].save()
    with pytest.raises(Invalid) as refused:
        controls.switch_primary(user=trader, connection=brokers["zerodha"], reason="try")
    assert "Zerodha" in refused.value.problems[0].message
    assert emergency_notes(trader) == []


def test_pause_and_resume_are_audited_with_who_and_why(trader, brokers):
    controls.pause_broker(
        user=trader, connection=brokers["dhan"], paused=True, reason="odd fills", author=trader
    )
    assert effective(trader).brokers["dhan"].paused
    assert not effective(trader).accepts_orders("dhan")

    with pytest.raises(Invalid, match="already is paused"):
        controls.pause_broker(user=trader, connection=brokers["dhan"], paused=True, reason="x")

    controls.pause_broker(
        user=trader, connection=brokers["dhan"], paused=False, reason="fixed", author=trader
    )
    assert effective(trader).accepts_orders("dhan")
    notes = emergency_notes(trader)
    assert any(n.startswith("Resumed Dhan") and "fixed" in n for n in notes)
    assert any(n.startswith("Paused Dhan") and "odd fills" in n for n in notes)


def test_a_control_without_a_reason_is_refused(trader, brokers, master):
    with pytest.raises(Invalid) as refused:
        controls.switch_primary(user=trader, connection=brokers["upstox"], reason="  ")
    assert refused.value.problems[0].path == "reason"


# --- Pages ------------------------------------------------------------------------------------
def test_the_page_asks_first_then_switches(signed_in, trader, brokers, master):
    upstox = brokers["upstox"]
    asked = signed_in.get(f"/policy/emergency/primary/{upstox.pk}/")
    assert asked.status_code == 200
    assert b"Make Upstox" in asked.content and b"Yes, switch now" in asked.content
    assert priority_of(trader)[:1] != ("upstox",)

    unconfirmed = signed_in.post(f"/policy/emergency/primary/{upstox.pk}/", {"reason": "slow"})
    assert unconfirmed.status_code == 400
    assert priority_of(trader)[:1] != ("upstox",)

    done = signed_in.post(
        f"/policy/emergency/primary/{upstox.pk}/", {"reason": "Kite is slow", "confirm": "1"}
    )
    assert done.status_code == 302
    assert priority_of(trader)[0] == "upstox"
    page = signed_in.get("/policy/emergency/").content.decode()
    assert "asha: Primary switched to Upstox" in page and "Kite is slow" in page


def test_the_page_refuses_a_broker_that_is_down(signed_in, trader, brokers, master):
    trip_breaker(brokers["upstox"])
    asked = signed_in.get(f"/policy/emergency/primary/{brokers['upstox'].pk}/")
    assert b"is down now" in asked.content and b"Yes, switch now" not in asked.content
    posted = signed_in.post(
        f"/policy/emergency/primary/{brokers['upstox'].pk}/", {"reason": "x", "confirm": "1"}
    )
    assert posted.status_code == 400 and b"Nothing was changed" in posted.content
    assert emergency_notes(trader) == []


def test_the_page_pauses_and_resumes_after_confirmation(signed_in, trader, brokers):
    dhan = brokers["dhan"]
    assert b"Yes, pause it" in signed_in.get(f"/policy/emergency/pause/{dhan.pk}/").content
    signed_in.post(f"/policy/emergency/pause/{dhan.pk}/", {"reason": "odd", "confirm": "1"})
    assert effective(trader).brokers["dhan"].paused
    signed_in.post(f"/policy/emergency/resume/{dhan.pk}/", {"reason": "ok", "confirm": "1"})
    assert not effective(trader).brokers["dhan"].paused


def test_another_traders_connection_is_404_on_every_control(client, other_trader, brokers):
    client.force_login(other_trader)
    upstox = brokers["upstox"]
    for url in ("primary", "pause", "resume"):
        assert client.get(f"/policy/emergency/{url}/{upstox.pk}/").status_code == 404
        posted = client.post(
            f"/policy/emergency/{url}/{upstox.pk}/", {"reason": "x", "confirm": "1"}
        )
        assert posted.status_code == 404
    assert (
        client.post(
            f"/api/v1/policy/brokers/{upstox.pk}/primary",
            {"reason": "x", "confirm": True},
            content_type="application/json",
        ).status_code
        == 404
    )
    assert (
        client.post(
            f"/api/v1/policy/brokers/{upstox.pk}/pause",
            {"paused": True, "reason": "x", "confirm": True},
            content_type="application/json",
        ).status_code
        == 404
    )
    assert not effective(brokers["upstox"].user).brokers["upstox"].paused


# --- API --------------------------------------------------------------------------------------
def post_json(client, url, body):
    return client.post(url, body, content_type="application/json")


def test_the_api_switches_the_primary_once_confirmed(signed_in, trader, brokers, master):
    url = f"/api/v1/policy/brokers/{brokers['upstox'].pk}/primary"
    unconfirmed = post_json(signed_in, url, {"reason": "slow", "confirm": False})
    assert unconfirmed.status_code == 400
    assert unconfirmed.json()["error"]["problems"][0]["path"] == "confirm"

    answer = post_json(signed_in, url, {"reason": "slow", "confirm": True})

    assert answer.status_code == 200
    body = answer.json()
    assert body["priority"][0] == "upstox"
    assert [b["key"] for b in body["brokers"] if b["primary"]] == ["upstox"]
    assert priority_of(trader)[0] == "upstox"


def test_the_api_refuses_a_broker_that_is_down_with_the_reason(signed_in, trader, brokers, master):
    trip_breaker(brokers["zerodha"])
    answer = post_json(
        signed_in,
        f"/api/v1/policy/brokers/{brokers['zerodha'].pk}/primary",
        {"reason": "try", "confirm": True},
    )
    assert answer.status_code == 400
    assert "is down now" in answer.json()["error"]["message"]
    listed = {b["key"]: b for b in signed_in.get("/api/v1/policy/controls").json()["brokers"]}
    assert listed["zerodha"]["canBePrimary"] is False and listed["zerodha"]["health"] == "Down"
    assert emergency_notes(trader) == []


def test_the_api_pauses_and_refuses_unknown_fields(signed_in, trader, brokers):
    url = f"/api/v1/policy/brokers/{brokers['dhan'].pk}/pause"
    odd = post_json(signed_in, url, {"paused": "yes", "reason": "x", "confirm": True})
    assert odd.status_code == 400
    assert not effective(trader).brokers["dhan"].paused

    answer = post_json(signed_in, url, {"paused": True, "reason": "odd fills", "confirm": True})
    assert answer.status_code == 200
    assert {b["key"]: b["paused"] for b in answer.json()["brokers"]}["dhan"] is True
    assert effective(trader).brokers["dhan"].paused


# --- Every process ----------------------------------------------------------------------------
@pytest.mark.skipif(
    not settings.REDIS_URL,
    reason="the embedded default runs one process (nothing to share); needs REDIS_URL",
)
def test_another_process_sees_a_switch_and_a_pause_at_its_next_read(trader, brokers, master):
    watcher = Watcher(trader.pk)
    try:
        watcher.until(lambda line: line["paused"] == [], timeout=30)
        controls.switch_primary(user=trader, connection=brokers["upstox"], reason="slow")
        assert watcher.until(lambda line: line["primary"] == "upstox")
        controls.pause_broker(user=trader, connection=brokers["zerodha"], paused=True, reason="odd")
        assert watcher.until(lambda line: line["paused"] == ["zerodha"])
    finally:
        watcher.stop()


def test_a_reason_with_control_characters_is_refused(signed_in, trader, brokers, master):
    answer = post_json(
        signed_in,
        f"/api/v1/policy/brokers/{brokers['upstox'].pk}/primary",
        {"reason": "slow\x00", "confirm": True},
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["problems"][0]["path"] == "reason"
    assert emergency_notes(trader) == []
