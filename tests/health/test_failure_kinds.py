"""What a trader reads over time while a broker fails in each way the sandbox can inject: the
word, the colour, the status and the uptime, checked together at every step (the clock is
moved by hand; probes and portfolio refreshes run as beat and the trader would run them)."""

import pytest
from django.utils import timezone

from brokers.models import ConnectionStatus as S
from brokers.models import InstrumentMasterLoad
from brokers.sandbox import kit
from health import probes, state
from health.summary import summarize
from portfolio.services import sync_portfolio
from tests.health.conftest import fresh

pytestmark = pytest.mark.django_db(transaction=True)

REFRESH = 15  # s between two portfolio refreshes, as a trader watching the page


def read(connection) -> tuple[str, str, str]:
    """(word, colour, status) as the card shows them."""
    connection = fresh(connection)
    summary = summarize(connection)
    return summary.word, summary.colour, connection.status


def uptime(connection) -> float:
    return summarize(fresh(connection)).uptime.hour


def agree(connection) -> None:
    """Word, colour, status and grade never contradict each other."""
    connection = fresh(connection)
    summary = summarize(connection)
    red = summary.colour == "red"
    assert red == (connection.status in state.RED_STATUSES), (summary.word, connection.status)
    assert red == (summary.quality == "CRITICAL")
    assert (summary.colour == "green") == (summary.word == "Connected")


def step(clock, trader, connection, seconds: float, *, refresh: bool = True):
    clock.shift(seconds)
    probes.sweep(workers=4)
    if refresh:
        sync_portfolio(user=trader)
    agree(connection)
    return read(connection)


@pytest.fixture
def healthy(kite, trader, clock):
    probes.sweep(workers=4)
    sync_portfolio(user=trader)
    clock.shift(10)
    assert read(kite) == ("Connected", "green", S.CONNECTED)
    assert uptime(kite) == 1.0
    return kite


@pytest.mark.parametrize(
    ("fault", "named"),
    [
        ({"error_in_ok": True}, "error inside an HTTP 200 answer"),
        ({"cut_off": True}, "answer cut off"),
    ],
    ids=["error-inside-200", "reply-cut-off"],
)
def test_holdings_failing_while_the_profile_probe_works_turns_red_and_stays_red(
    healthy, trader, clock, fault, named
):
    kite = healthy
    kit.set_faults("zerodha", kite.account_id, paths="portfolio/holdings", **fault)

    # The first failed refresh: yellow, the endpoint and what happened named.
    assert step(clock, trader, kite, REFRESH) == ("Degraded", "yellow", S.CONNECTED)
    assert summarize(fresh(kite)).state.reason == (
        f"portfolio/holdings: the last call failed ({named})."
    )
    # The probe answers on the profile, checks holdings again: red, within one refresh.
    assert step(clock, trader, kite, REFRESH, refresh=False) == ("Down", "red", S.ERROR)
    assert fresh(kite).last_error == f"portfolio/holdings is failing: {named} (2 calls in a row)."
    # Good profile probes never wipe it out: red for as long as holdings fails.
    seen = [uptime(kite)]
    for _ in range(8):
        assert step(clock, trader, kite, REFRESH) == ("Down", "red", S.ERROR)
        seen.append(uptime(kite))
    assert seen == sorted(seen, reverse=True) and seen[-1] < seen[1] < 1.0
    per_endpoint = {e.endpoint: e for e in summarize(fresh(kite)).state.endpoints}
    assert per_endpoint["user/profile"].last_ok
    assert not per_endpoint["portfolio/holdings"].last_ok
    assert per_endpoint["portfolio/holdings"].last_failure == named

    # Holdings answers again: recovering, then green once the good calls span 20 s.
    kit.clear_faults("zerodha", kite.account_id)
    assert step(clock, trader, kite, 5) == ("Recovering", "yellow", S.CONNECTING)
    down_uptime = uptime(kite)
    words = [step(clock, trader, kite, 5, refresh=False)[0] for _ in range(4)]
    assert words[0] == "Recovering"
    recovered = summarize(fresh(kite)).state
    if recovered.word == "Degraded":  # a loaded test machine can make the sandbox slow
        assert recovered.reason.startswith("Answers are slow"), recovered
    else:
        assert read(kite) == ("Connected", "green", S.CONNECTED)
    assert fresh(kite).status == S.CONNECTED
    assert down_uptime <= uptime(kite) < 1.0  # the red minutes stay counted as down


def test_an_html_503_outage_is_down_not_maintenance_and_retry_now_lets_a_refresh_through(
    trader, sandbox_hosts, clock
):
    from tests.brokers.test_connections import connect

    InstrumentMasterLoad.objects.update_or_create(
        broker="upstox", defaults={"loaded_at": timezone.now(), "count": 0}
    )
    upstox = connect(trader, "upstox", sandbox_hosts).connection
    probes.sweep(workers=4)
    try:
        kit.set_faults("upstox", upstox.account_id, outage=True)
        words = [step(clock, trader, upstox, s, refresh=False) for s in (30, 10, 10, 10)]
        assert words[0] == ("Degraded", "yellow", S.CONNECTED)
        assert words[1:] == [("Down", "red", S.ERROR)] * 3
        summary = summarize(fresh(upstox))
        assert summary.breaker.state.value == "OPEN"
        assert "server error (HTTP 503)" in summary.state.reason
        assert "maintenance" not in (summary.state.reason + fresh(upstox).last_error).lower()
        assert uptime(upstox) < 1.0

        # Back: Retry now, and a portfolio refresh straight after is not refused.
        kit.clear_faults("upstox", upstox.account_id)
        clock.shift(6)
        probes.retry_now(connection=fresh(upstox))
        assert read(upstox) == ("Recovering", "yellow", S.CONNECTING)
        view = sync_portfolio(user=trader)
        assert [b.connection_id for b in view.failed] == []
        assert read(upstox)[0] == "Recovering"
        for _ in range(4):
            clock.shift(5)
            probes.sweep(workers=4)
        assert read(upstox) == ("Connected", "green", S.CONNECTED)
    finally:
        kit.clear_faults("upstox", upstox.account_id)


def test_429s_are_yellow_rate_limited_and_count_as_up(healthy, trader, clock):
    kite = healthy
    kit.set_faults("zerodha", kite.account_id, rate_limited=True)

    for _ in range(3):
        assert step(clock, trader, kite, 30, refresh=False) == (
            "Rate limited",
            "yellow",
            S.RATE_LIMITED,
        )
    assert uptime(kite) == 1.0

    kit.clear_faults("zerodha", kite.account_id)
    assert step(clock, trader, kite, 30) == ("Connected", "green", S.CONNECTED)
    assert uptime(kite) == 1.0
