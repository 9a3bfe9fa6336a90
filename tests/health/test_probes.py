"""The sweep against the sandbox: fault injection drives every transition of a connection."""

import json

import pytest
import requests
import responses
from django.core import mail

from brokers.adapters import registry
from brokers.models import BrokerHealthLog
from brokers.models import ConnectionStatus as S
from brokers.sandbox import kit
from health import breaker, metrics, probes, quality, state
from health.models import ConnectionHealth, Notification
from tests.factories import BrokerConnectionFactory
from tests.health.conftest import fresh, sweep_after

pytestmark = pytest.mark.django_db(transaction=True)


def graded(connection) -> quality.Quality:
    return state.current(fresh(connection)).grade


def calls_made(connection) -> int:
    return metrics.window(str(connection.pk), 60).n


def probes_logged(connection) -> int:
    return BrokerHealthLog.objects.filter(connection=connection, kind="probe").count()


def test_a_healthy_connection_is_probed_once_per_interval_and_stays_green(kite, clock):
    assert probes.sweep()["probed"] == 1
    assert probes.sweep()["probed"] == 0  # not due again yet

    sweep_after(clock, 30)

    kite = fresh(kite)
    assert kite.status == S.CONNECTED
    assert probes_logged(kite) == 2
    assert kite.last_health_check is not None
    assert quality.colour(graded(kite)) == "green"


def test_latency_turns_the_connection_yellow(kite, clock):
    probes.sweep()
    kit.set_faults("zerodha", kite.account_id, latency_ms=1200)

    sweep_after(clock, 30)
    sweep_after(clock, 30)

    assert fresh(kite).status == S.CONNECTED
    assert graded(kite) == quality.Quality.POOR
    assert quality.colour(graded(kite)) == "yellow"


def test_errors_open_the_breaker_then_trials_bring_it_back(kite, clock):
    probes.sweep()
    kit.set_faults("zerodha", kite.account_id, error_rate=100)

    # A failed probe is confirmed 10 s later: two failures in a row are red; the breaker
    # needs 4 calls, half of them failed.
    sweep_after(clock, 30)
    assert fresh(kite).status == S.CONNECTED
    assert state.current(fresh(kite)).word == "Degraded"
    sweep_after(clock, 10)
    assert fresh(kite).status == S.ERROR
    assert fresh(kite).last_error == (
        "user/profile is failing: server error (HTTP 500) (2 calls in a row)."
    )
    sweep_after(clock, 10)
    kite = fresh(kite)
    assert kite.status == S.ERROR
    assert graded(kite) == quality.Quality.CRITICAL
    assert breaker.snapshot(str(kite.pk)).state is breaker.State.OPEN
    assert state.current(kite).reason == (
        "user/profile is failing: server error (HTTP 500) (3 calls in a row). Calls are paused "
        "and retried by the platform with growing pauses."
    )

    # While open nothing reaches the broker, whatever the sweeps and the callers do.
    before = calls_made(kite)
    for _ in range(5):
        sweep_after(clock, 10)
    with pytest.raises(breaker.CircuitOpen, match="circuit open"):
        registry.adapter_for(kite).holdings()
    assert calls_made(kite) == before

    # After the wait a trial probe runs (half-open); the broker is still failing: open again.
    sweep_after(clock, 20)
    assert calls_made(kite) == before + 1
    assert fresh(kite).status == S.ERROR
    moves = list(
        BrokerHealthLog.objects.filter(connection=kite, kind="transition")
        .order_by("pk")
        .values_list("to_status", flat=True)
    )
    assert moves[-2:] == [S.CONNECTED, S.ERROR]  # red all along since, nothing in between

    # The broker recovers: the trial answers, and so do the data reads the probe adds while
    # an endpoint fails (trials too: they close the breaker). Recovering, probed every 5 s,
    # until the good calls span 20 s: then green.
    kit.clear_faults("zerodha", kite.account_id)
    health = ConnectionHealth.objects.get(pk=kite.pk)
    clock.move_to(health.next_check_at)
    probes.sweep()
    assert (fresh(kite).status, state.current(fresh(kite)).word) == (S.CONNECTING, "Recovering")
    for _ in range(4):
        sweep_after(clock, probes.HALF_OPEN_SECONDS)

    kite = fresh(kite)
    assert kite.status == S.CONNECTED
    assert kite.last_error == ""
    assert breaker.snapshot(str(kite.pk)).state is breaker.State.CLOSED
    assert quality.colour(graded(kite)) == "green"
    history = [h["to"] for h in breaker.history(str(kite.pk))]
    assert history[::-1] == ["OPEN", "HALF_OPEN", "OPEN", "HALF_OPEN", "CLOSED"]

    # One notice for the incident, one for the recovery, each also e-mailed.
    kinds = list(Notification.objects.filter(connection=kite).values_list("kind", flat=True))
    assert sorted(kinds) == ["connection_down", "connection_recovered"]
    assert len(mail.outbox) == 2
    assert "is down" in mail.outbox[0].subject


def test_token_expiry_ends_in_token_expired_without_a_reconnection_storm(kite, clock):
    probes.sweep()
    kit.set_faults("zerodha", kite.account_id, token_expired=True)

    sweep_after(clock, 30)
    kite = fresh(kite)
    assert kite.status == S.TOKEN_EXPIRED
    assert "Log in again" in kite.last_error
    calls = calls_made(kite)

    for _ in range(20):  # ten minutes of sweeps
        sweep_after(clock, 30)

    assert calls_made(kite) == calls  # not a single call more
    assert probes_logged(kite) == 2
    assert BrokerHealthLog.objects.filter(connection=kite, to_status=S.TOKEN_EXPIRED).count() == 1
    notices = Notification.objects.filter(connection=kite, kind="token_expired")
    assert notices.count() == 1
    assert kite.access_token not in notices.get().body


def test_rate_limits_turn_rate_limited_and_back(kite, clock):
    probes.sweep()
    kit.set_faults("zerodha", kite.account_id, rate_limited=True)

    sweep_after(clock, 30)
    assert fresh(kite).status == S.RATE_LIMITED
    assert quality.colour(graded(kite)) == "yellow"

    kit.clear_faults("zerodha", kite.account_id)
    sweep_after(clock, 30)
    sweep_after(clock, 30)

    kite = fresh(kite)
    assert kite.status == S.CONNECTED
    assert quality.colour(graded(kite)) == "green"
    assert breaker.snapshot(str(kite.pk)).state is breaker.State.CLOSED  # 429s are no failure


def test_overlapping_sweeps_never_probe_a_connection_twice(kite, clock):
    from django.utils import timezone

    now = timezone.now()
    probes.enroll(now)
    first = probes.claim(now, 10)
    second = probes.claim(now, 10)

    assert [h.pk for h in first] == [kite.pk]
    assert second == []


# --- Bad input ------------------------------------------------------------------------------
@pytest.fixture
def two_kites(trader, clock):
    """Two Zerodha connections whose broker is `responses` (unmatched requests fail)."""
    return [
        BrokerConnectionFactory(user=trader, account_id=f"ZX{i}", access_token=f"tok-{i}-secret1")
        for i in range(2)
    ]


def profile_url(settings) -> str:
    return settings.BROKER_HOSTS["zerodha"]["API"] + "/user/profile"


JSON = {"Content-Type": "application/json"}
PROFILE = {"status": "success", "data": {"user_id": "ZX1", "user_name": "Asha", "email": ""}}


def test_a_garbage_answer_is_a_failed_probe_and_the_sweep_goes_on(two_kites, settings, caplog):
    garbage, fine = two_kites
    with responses.RequestsMock() as broker:
        broker.add_callback(
            responses.GET,
            profile_url(settings),
            callback=lambda request: (
                (200, {}, "<html>garbage tok-0-secret1</html>")
                if "tok-0" in request.headers["Authorization"]
                else (200, JSON, json.dumps(PROFILE))
            ),
        )
        stats = probes.sweep(workers=2)

    assert stats["probed"] == 2 and stats["failed"] == 1
    row = BrokerHealthLog.objects.get(connection=garbage, kind="probe")
    assert row.error_type == "BadResponse"
    assert "tok-0-secret1" not in row.message
    assert BrokerHealthLog.objects.get(connection=fine, kind="probe").success
    assert "tok-0-secret1" not in caplog.text


def test_a_broker_hanging_past_the_read_timeout_is_a_failed_probe(two_kites, settings):
    with responses.RequestsMock() as broker:
        broker.get(profile_url(settings), body=requests.ReadTimeout("read timed out"))
        stats = probes.sweep(workers=2)

    assert stats["failed"] == 2
    rows = BrokerHealthLog.objects.filter(kind="probe")
    assert {r.message for r in rows} == {"no reply within the 10 s read timeout"}
    assert all(fresh(c).consecutive_failures == 1 for c in two_kites)


def test_a_crashing_probe_is_logged_without_secrets_and_never_stops_the_sweep(
    two_kites, settings, caplog
):
    def answer(request):
        if "tok-0" in request.headers["Authorization"]:
            raise RuntimeError("boom near tok-0-secret1")
        return (200, JSON, json.dumps(PROFILE))

    with responses.RequestsMock() as broker:
        broker.add_callback(responses.GET, profile_url(settings), callback=answer)
        stats = probes.sweep(workers=2)

    assert stats["probed"] == 2
    assert "crashed" in caplog.text
    assert "tok-0-secret1" not in caplog.text
    assert BrokerHealthLog.objects.get(connection=two_kites[1], kind="probe").success
