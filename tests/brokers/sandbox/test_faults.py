"""Faults are set from a page, an API and a command, and refuse bad input clearly."""

import base64
import json
import re
import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse

from brokers.sandbox import demo, kit
from tests.factories import UserFactory


@pytest.fixture
def client(client, db):
    """A developer signed in to the site serving the sandbox: fault writes need one."""
    client.force_login(UserFactory(username="dev"))
    return client


def test_the_api_sets_reads_and_clears_faults(client, db):
    url = reverse("sandbox:faults_api", args=["zerodha"]) + "?account=ZD1234"

    response = client.put(url, {"latency_ms": 250, "outage": True}, content_type="application/json")

    assert response.status_code == 200
    assert kit.get_faults("zerodha", "ZD1234").outage
    assert kit.get_faults("zerodha", "ZD1234").latency_ms == 250
    assert not kit.get_faults("zerodha", "ZD5678").outage
    assert client.get(url).json()["faults"]["outage"] is True

    cleared = client.delete(url)
    assert (cleared.status_code, cleared.content) == (204, b"")  # No Content means no body
    assert not kit.get_faults("zerodha", "ZD1234").active


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{not json", "JSON object"),
        ("[1, 2]", "JSON object"),
        ('{"explode": true}', "unknown fault(s): explode"),
        ('{"error_rate": 150}', "invalid faults"),
    ],
)
def test_the_api_refuses_bad_input_and_keeps_the_faults(client, db, body, message):
    kit.set_faults("upstox", latency_ms=100)
    url = reverse("sandbox:faults_api", args=["upstox"])

    response = client.put(url, body, content_type="application/json")

    assert response.status_code == 400
    assert message in json.dumps(response.json())
    assert kit.get_faults("upstox").latency_ms == 100


def test_the_api_refuses_an_unknown_broker_or_account(client, db):
    assert client.get(reverse("sandbox:faults_api", args=["nobroker"])).status_code == 404
    response = client.put(
        reverse("sandbox:faults_api", args=["dhan"]) + "?account=NOPE",
        {"outage": True},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "no demo account 'NOPE'" in json.dumps(response.json())


def test_the_page_sets_and_clears_faults(client, db):
    page = client.get(reverse("sandbox:index")).content.decode()
    assert "kitedemo01" in page  # demo apps are published there
    shown = re.search(r'id="totp-angelone">(\d{6})<', page).group(1)
    secret = demo.DEMO_APPS["angelone"]["totp_secret"]
    assert kit.totp_valid(secret, shown)  # the code a trader types at login

    client.post(reverse("sandbox:set_faults"), {"broker": "fyers", "error_rate": "30"})
    assert kit.get_faults("fyers").error_rate == 30
    assert "30% errors" in client.get(reverse("sandbox:index")).content.decode()

    client.post(reverse("sandbox:set_faults"), {"broker": "fyers", "clear": "1"})
    assert not kit.get_faults("fyers").active


def test_the_page_shows_an_error_for_bad_input(client, db):
    response = client.post(reverse("sandbox:set_faults"), {"broker": "groww", "latency_ms": "-5"})
    assert response.status_code == 400
    assert "greater than or equal to 0" in response.content.decode()
    assert not kit.get_faults("groww").active


def test_an_anonymous_write_is_refused_and_changes_nothing(db):
    kit.set_faults("zerodha", latency_ms=100)
    anonymous = Client()
    url = reverse("sandbox:faults_api", args=["zerodha"])

    put = anonymous.put(url, {"outage": True}, content_type="application/json")
    delete = anonymous.delete(url)
    page = anonymous.post(reverse("sandbox:set_faults"), {"broker": "zerodha", "clear": "1"})

    assert put.status_code == delete.status_code == 403
    assert "Sign in" in put.json()["error"]
    assert page.status_code == 302 and page["Location"].startswith(reverse("accounts:sign_in"))
    assert kit.get_faults("zerodha").latency_ms == 100
    assert not kit.get_faults("zerodha").outage
    assert anonymous.get(url).status_code == 200  # reading stays open


def test_a_cross_site_write_without_the_csrf_token_is_refused(db):
    browser = Client(enforce_csrf_checks=True)  # a signed-in developer's browser, as it is
    browser.force_login(UserFactory(username="dev"))
    url = reverse("sandbox:faults_api", args=["zerodha"])

    # What another site's page can make that browser send: the cookie, no token.
    forged = browser.put(url, '{"outage": true}', content_type="application/json")

    assert forged.status_code == 403
    assert "CSRF" in forged.json()["error"]
    assert not kit.get_faults("zerodha").outage

    # The sandbox's own page gives the token; with it the same write goes through.
    browser.get(reverse("sandbox:index"))
    token = browser.cookies["csrftoken"].value
    sent = browser.put(
        url, '{"outage": true}', content_type="application/json", headers={"X-CSRFToken": token}
    )
    assert sent.status_code == 200
    assert kit.get_faults("zerodha").outage


@pytest.mark.parametrize("header", ["", "zerodha", "zerodha:1vBad:forged"])
def test_a_forged_operator_signature_is_refused(db, header):
    answer = Client().put(
        reverse("sandbox:faults_api", args=["zerodha"]),
        '{"outage": true}',
        content_type="application/json",
        headers={"X-Sandbox-Operator": header},
    )
    assert answer.status_code == 403
    assert not kit.get_faults("zerodha").outage


def test_expiring_tokens_kills_existing_ones_but_not_the_next_login(db):
    old = kit.issue_token("iifl", "IIFL9001")
    kit.set_faults("iifl", "IIFL9001", token_expired=True)
    assert kit.account_for_token("iifl", old) is None
    assert not kit.get_faults("iifl", "IIFL9001").active  # an action, not a lasting state

    import time

    time.sleep(0.01)
    new = kit.issue_token("iifl", "IIFL9001")
    assert kit.account_for_token("iifl", new) == "IIFL9001"


def test_the_command_sets_faults_in_the_shared_cache(db, settings, capsys):
    settings.REDIS_URL = settings.REDIS_URL or "redis://unused"  # take the direct path
    call_command("sandbox_faults", "angelone", "--rate-limited", "--latency-ms", "40")

    assert kit.get_faults("angelone").rate_limited
    assert json.loads(capsys.readouterr().out)["faults"]["latency_ms"] == 40

    call_command("sandbox_faults", "angelone", "--clear")
    assert not kit.get_faults("angelone").active


def test_the_command_refuses_bad_values(db):
    with pytest.raises(CommandError, match="less than or equal to 100"):
        call_command("sandbox_faults", "groww", "--error-rate", "101")


def test_the_command_reaches_the_running_server_on_the_embedded_default(live_server, settings):
    settings.REDIS_URL = None
    call_command("sandbox_faults", "dhan", "--outage", "--url", live_server.url)
    assert kit.get_faults("dhan").outage  # the live server thread shares this process' cache


@pytest.mark.parametrize("gate_first", [True, False], ids=["work-after-gate", "work-before-gate"])
def test_latency_is_how_long_the_answer_takes_the_brokers_work_included(db, gate_first):
    """A broker with 500 ms latency answers 500 ms after the call came in: its own work (here
    400 ms) happens inside that time, as on the broker's machines, not on top of it, whether
    it comes after the broker's gate or before it (Django's middleware, routing, the token
    check): the clock starts when the call arrives, not at the gate."""
    kit.set_faults("upstox", latency_ms=500)

    def view(request):
        if gate_first:
            assert kit.apply_faults("upstox", "UP1234", kit.ErrorBodies()) is None
        time.sleep(0.4)  # the broker's work
        if not gate_first:
            assert kit.apply_faults("upstox", "UP1234", kit.ErrorBodies()) is None
        return HttpResponse("ok")

    started = time.perf_counter()
    response = kit.hold_answers(view)(RequestFactory().get("/sandbox/upstox/v2/user/profile"))
    elapsed = time.perf_counter() - started

    assert response.content == b"ok"
    assert 0.5 <= elapsed < 0.8  # not 0.9: the work is not added to the latency


def test_the_latency_hold_is_the_outermost_middleware(settings):
    """Every other middleware's work happens inside the hold, so none adds to the latency."""
    assert settings.MIDDLEWARE[0] == "brokers.sandbox.kit.hold_answers"


@pytest.mark.parametrize("broker", [b for b, app in demo.DEMO_APPS.items() if "totp_secret" in app])
def test_demo_totp_secrets_are_as_long_as_real_brokers_issue(broker):
    """160 bits (32 base32 characters), what authenticator libraries generate and more than
    the 112 bits they accept: a client using one (pyotp refuses shorter secrets) can log in."""
    secret = demo.DEMO_APPS[broker]["totp_secret"]
    assert len(base64.b32decode(secret, casefold=True)) * 8 >= 160


def test_dropped_order_requests_are_set_from_the_api_page_and_command(client, db, settings):
    url = reverse("sandbox:faults_api", args=["fyers"]) + "?account=FY0001"
    response = client.put(url, {"drop_order_request": True}, content_type="application/json")
    assert response.json()["faults"]["drop_order_request"] is True
    assert kit.get_faults("fyers", "FY0001").drop_order_request
    assert "dropped order requests" in client.get(reverse("sandbox:index")).content.decode()

    settings.REDIS_URL = settings.REDIS_URL or "redis://unused"  # take the direct path
    call_command("sandbox_faults", "dhan", "--drop-order-request")
    assert kit.get_faults("dhan").drop_order_request
    call_command("sandbox_faults", "dhan", "--no-drop-order-request")
    assert not kit.get_faults("dhan").active
