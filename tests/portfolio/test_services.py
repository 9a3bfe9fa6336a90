"""Syncing the sandbox demo accounts end to end, partial failures, the cache, pushes."""

import json
import time
from decimal import Decimal

import pytest
from django.core.cache import cache

from brokers import connections, instruments
from brokers.models import ConnectionStatus, InstrumentMasterLoad, InstrumentRecord
from brokers.push import user_group
from brokers.sandbox import kit
from portfolio import services
from portfolio.models import BrokerPositionBreakdown, BrokerSnapshot, ConsolidatedPosition
from tests.listening import Listener
from tests.portfolio.conftest import eventually

pytestmark = pytest.mark.django_db(transaction=True)

D = Decimal
RELIANCE = "INE002A01018"


def line(view, symbol):
    return next(ln for ln in view.portfolio.lines if ln.symbol == symbol)


def test_a_sync_of_seven_sandbox_brokers_joins_reliance_into_one_line(trader, connect_brokers):
    connect_brokers(trader)

    view = services.sync_portfolio(user=trader)

    assert len(view.covered) == 7 and view.failed == [] and view.pending == []
    reliance = line(view, "RELIANCE")
    # Kite 10, Upstox 5, Fyers 4 (on BSE), Angel One 3, Groww 2
    assert reliance.key == RELIANCE
    assert {(b.broker, b.exchange, b.quantity) for b in reliance.broker_lines} == {
        ("zerodha", "NSE", 10),
        ("upstox", "NSE", 5),
        ("fyers", "BSE", 4),
        ("angelone", "NSE", 3),
        ("groww", "NSE", 2),
    }
    # 24 shares; cost 24000 + 12500 + 9800 + 8400 + 5200 = 59900; value 24 x 2950.50 = 70812
    assert (reliance.quantity, reliance.cost, reliance.value) == (24, D("59900"), D("70812.00"))
    # day change against the 2925.00 close: 25.50 x 24 = 612.00
    assert reliance.day_change == D("612.00")
    # SBIN held: Angel One 20 + IIFL 10 on BSE; Kite's 30-share intraday position (no ISIN)
    # joins the same instrument by its listing, as an open position apart from the holdings.
    sbin = line(view, "SBIN")
    assert (sbin.kind, sbin.quantity, sbin.key) == ("HOLDING", 30, "INE062A01020")
    traded = next(ln for ln in view.portfolio.position_lines if ln.symbol == "SBIN")
    assert (traded.key, traded.quantity) == ("INE062A01020", 30)
    assert [(b.broker, b.product, b.quantity) for b in traded.broker_lines] == [
        ("zerodha", "MIS", 30)
    ]
    # Upstox's line keeps its own spelling, the instrument key; Fyers' its exchange:symbol
    spelled = {b.broker: b.broker_symbol for b in reliance.broker_lines}
    assert spelled["upstox"] == f"NSE_EQ|{RELIANCE}" and spelled["zerodha"] == "RELIANCE"
    # Every line a stored master knows is named from it, those keyed by an ISIN in the answer
    # too (the masters arrive at login; on a worker, possibly after this first sync)
    known = set(InstrumentRecord.objects.exclude(name="").values_list("isin", flat=True))
    unnamed = [ln.symbol for ln in view.portfolio.lines if ln.isin in known and not ln.name]
    assert unnamed == []
    # Groww and IIFL send no prices: their lines were quoted, nothing is left unpriced
    assert all(ln.in_totals and ln.day_change is not None for ln in view.portfolio.lines)
    # cash from funds: 250000 + 120000 + 90000 + 75000 + 40000 + 60000 + 30000
    assert view.portfolio.cash == D("665000")
    assert view.portfolio.realized_pnl == D("60")  # Kite's SBIN: 20 sold 3 above the buy

    stored = ConsolidatedPosition.objects.get(user=trader, isin=RELIANCE)
    assert (stored.total_quantity, stored.current_value) == (24, D("70812.00"))
    assert BrokerPositionBreakdown.objects.filter(position=stored).count() == 5
    assert ConsolidatedPosition.objects.filter(user=trader).count() == len(view.portfolio.lines)


def test_a_broker_connected_during_the_day_brings_its_master_for_its_lines(
    trader, connect_brokers, worker
):
    """No master is stored until a morning refresh finds a connected account; the login
    loads it, so Kite's intraday SBIN (its positions name no ISIN, nor does Kite's master)
    is known today: its name, its lot, kept by exchange and symbol, not an unknown line."""
    assert not InstrumentMasterLoad.objects.exists()
    connect_brokers(trader, ["zerodha"])
    assert eventually(lambda: instruments.is_current("zerodha"))  # in-process, or at a worker

    sbin = line(services.sync_portfolio(user=trader), "SBIN")

    assert sbin.name == "STATE BANK OF INDIA"
    assert {f["code"] for b in sbin.broker_lines for f in b.flags} == {"no_isin"}


def test_one_broker_down_leaves_the_others_and_says_why_with_its_last_good_snapshot(
    trader, connect_brokers
):
    linked = connect_brokers(trader, ["zerodha", "upstox", "dhan"])
    first = services.sync_portfolio(user=trader)
    dhan_value = sum(
        b.value for ln in first.portfolio.lines for b in ln.broker_lines if b.broker == "dhan"
    )
    kit.set_faults("dhan", outage=True)

    view = services.sync_portfolio(user=trader)

    assert [b.broker for b in view.failed] == ["dhan"]
    failed = view.failed[0]
    assert "not answering" in failed.reason
    assert failed.synced_at == BrokerSnapshot.objects.get(connection=linked["dhan"]).taken_at
    assert failed.synced_at < failed.failed_at
    assert {b.broker for b in view.covered} == {"zerodha", "upstox"}
    # the totals are the other two brokers' alone
    assert view.portfolio.total_value == first.portfolio.total_value - dhan_value
    # Dhan's last good lines stay with their lines, flagged, counted nowhere
    dhan_lines = [b for ln in view.portfolio.lines for b in ln.broker_lines if b.broker == "dhan"]
    assert dhan_lines and all(not b.included and b.value is None for b in dhan_lines)
    assert all(b.flags[0]["code"] == "partial" for b in dhan_lines)
    # ...and the queryable copy holds only what the answering brokers said
    assert not BrokerPositionBreakdown.objects.filter(connection=linked["dhan"]).exists()
    # and the read path says the same
    assert [b.broker for b in services.get_consolidated(user=trader).failed] == ["dhan"]


def test_the_stored_rows_follow_every_sync_and_are_rewritten_only_when_they_change(
    trader, connect_brokers
):
    linked = connect_brokers(trader, ["zerodha", "upstox", "dhan"])
    services.sync_portfolio(user=trader)
    first = set(ConsolidatedPosition.objects.filter(user=trader).values_list("pk", flat=True))

    services.sync_portfolio(user=trader)  # the same numbers: the same rows
    assert set(ConsolidatedPosition.objects.filter(user=trader).values_list("pk", flat=True)) == (
        first
    )

    kit.set_faults("dhan", outage=True)  # dhan's lines leave the totals: rewritten
    services.sync_portfolio(user=trader)
    assert not BrokerPositionBreakdown.objects.filter(connection=linked["dhan"]).exists()
    assert BrokerPositionBreakdown.objects.filter(connection=linked["zerodha"]).exists()

    # Without the digest of the last write (evicted from the cache), the rows are written again.
    kit.clear_faults("dhan")
    services.sync_portfolio(user=trader)
    cache.delete(f"portfolio:stored-lines:{trader.pk}")
    ConsolidatedPosition.objects.filter(user=trader).update(total_quantity=0)
    services.sync_portfolio(user=trader)
    stored = ConsolidatedPosition.objects.get(user=trader, isin=RELIANCE)
    assert stored.total_quantity == 15  # Kite 10 + Upstox 5
    assert BrokerPositionBreakdown.objects.filter(connection=linked["dhan"]).exists()


def test_a_slow_broker_fails_on_its_timeout_without_holding_up_the_others(trader, connect_brokers):
    connect_brokers(trader, ["zerodha", "groww"])
    kit.set_faults("groww", latency_ms=1500)

    started = time.monotonic()
    view = services.sync_portfolio(user=trader, timeout=0.5)

    assert time.monotonic() - started < 1.2
    assert [(b.broker, b.reason) for b in view.failed] == [("groww", "No answer within 0.5 s.")]
    assert [b.broker for b in view.covered] == ["zerodha"]
    time.sleep(1.5)  # Groww's late answers arrive before the test server stops


def test_an_expired_session_is_listed_without_calling_the_broker(trader, connect_brokers):
    linked = connect_brokers(trader, ["zerodha", "upstox"])
    connections.expire_connection(connection=linked["upstox"], reason="Upstox ended the session")
    kit.set_faults("upstox", outage=True)  # would fail differently if it were called

    view = services.sync_portfolio(user=trader)

    assert [(b.broker, b.reason) for b in view.failed] == [
        ("upstox", "The session has ended: log in to the broker again.")
    ]


def test_quotes_needed_last_time_are_kept_to_be_asked_at_once_next_time(trader, connect_brokers):
    linked = connect_brokers(trader, ["groww"])
    services.sync_portfolio(user=trader)

    asked = BrokerSnapshot.objects.get(connection=linked["groww"]).payload["asked"]
    assert {(r["exchange"], r["symbol"]) for r in asked} == {("NSE", "ITC"), ("NSE", "RELIANCE")}
    view = services.sync_portfolio(user=trader)  # prefetched this time
    assert line(view, "ITC").current_price == D("468.15")


def test_the_view_is_cached_and_dropped_when_a_connection_changes(trader, connect_brokers):
    linked = connect_brokers(trader, ["zerodha", "upstox"])
    services.sync_portfolio(user=trader)
    cached = services.get_consolidated(user=trader)
    assert services.get_consolidated(user=trader).built_at == cached.built_at  # from the cache

    connections.disconnect(connection=linked["upstox"])

    view = services.get_consolidated(user=trader)
    assert [b.broker for b in view.covered] == ["zerodha"]
    assert line(view, "RELIANCE").quantity == 10  # Upstox's 5 left with it
    stored = ConsolidatedPosition.objects.get(user=trader, isin=RELIANCE)
    assert stored.total_quantity == 10
    assert not BrokerSnapshot.objects.filter(connection=linked["upstox"]).exists()


def test_a_status_change_shows_as_stale_on_the_next_read(trader, connect_brokers):
    linked = connect_brokers(trader, ["zerodha"])
    services.sync_portfolio(user=trader)
    assert services.get_consolidated(user=trader).stale() == []

    connections.expire_connection(connection=linked["zerodha"], reason="06:00 IST")

    stale = services.get_consolidated(user=trader).stale()
    assert [(b.broker, b.status) for b in stale] == [("zerodha", ConnectionStatus.TOKEN_EXPIRED)]


@pytest.fixture
def listen():
    """Listeners of the real channel layer, closed after the test."""
    made = []

    def make(user):
        made.append(Listener(user_group(user.pk)))
        return made[-1]

    yield make
    for listener in made:
        listener.close()


def test_a_sync_that_changes_the_numbers_pushes_portfolio_update_once(
    trader, other_trader, connect_brokers, listen
):
    connect_brokers(trader, ["zerodha"])
    mine, theirs = listen(trader), listen(other_trader)

    services.sync_portfolio(user=trader)

    message = json.loads(mine.receive()["text"])
    assert message["type"] == "PORTFOLIO_UPDATE"
    assert message["data"]["userId"] == trader.pk
    # Kite's demo holdings: RELIANCE 29505 + INFY 7711.50 + NIFTYBEES 26842 = 64058.50
    assert message["data"]["totalValue"] == "64058.50"
    # SBIN MIS, 30 open at 808 now 812.60: MTM 30 x 4.60 = 138; net worth adds cash 250000
    assert message["data"]["positionsMtm"] == "138.00"
    assert message["data"]["netWorth"] == "314196.50"
    assert theirs.receive(0.2) is None
    services.sync_portfolio(user=trader)  # nothing moved
    assert mine.receive(0.3) is None


def test_a_broker_that_leaves_is_pushed_once_and_the_next_sync_finds_nothing_new(
    trader, connect_brokers, listen
):
    linked = connect_brokers(trader, ["zerodha", "upstox"])
    mine = listen(trader)
    services.sync_portfolio(user=trader)
    assert json.loads(mine.receive()["text"])["data"]["coveredBrokers"] == ["upstox", "zerodha"]

    connections.disconnect(connection=linked["upstox"])

    update = json.loads(mine.receive()["text"])["data"]
    assert update["coveredBrokers"] == ["zerodha"]
    assert update["totalValue"] == "64058.50"  # Kite's demo holdings alone
    services.sync_portfolio(user=trader)  # the same numbers as the last push
    assert mine.receive(0.3) is None


def test_no_token_reaches_the_logs_of_a_sync(trader, connect_brokers, caplog):
    linked = connect_brokers(trader, ["zerodha", "fyers"])
    kit.set_faults("fyers", outage=True)

    with caplog.at_level("DEBUG"):
        view = services.sync_portfolio(user=trader)

    assert [b.broker for b in view.failed] == ["fyers"]
    assert caplog.text
    for connection in linked.values():
        assert connection.access_token not in caplog.text
        assert connection.access_token not in view.failed[0].reason


def test_no_broker_connected_is_an_error_not_an_empty_portfolio(trader):
    with pytest.raises(services.NoBrokerConnected):
        services.get_consolidated(user=trader)
    with pytest.raises(services.NoBrokerConnected):
        services.sync_portfolio(user=trader)


def test_one_sync_at_a_time_per_trader(trader, connect_brokers):
    connect_brokers(trader, ["zerodha"])
    cache.add(f"portfolio:sync-lock:{trader.pk}", 1, 60)
    with pytest.raises(services.SyncInProgress):
        services.sync_portfolio(user=trader)


def test_another_traders_sync_never_sees_these_holdings(trader, other_trader, connect_brokers):
    connect_brokers(trader, ["zerodha"])
    connect_brokers(other_trader, ["upstox"])
    services.sync_portfolio(user=trader)

    theirs = services.sync_portfolio(user=other_trader)

    assert [b.broker for b in theirs.covered] == ["upstox"]
    assert line(theirs, "RELIANCE").quantity == 5
    assert not ConsolidatedPosition.objects.filter(user=other_trader, total_quantity=10).exists()


@pytest.mark.parametrize(
    "now, synced, stale",
    [
        ("2026-11-23 11:00", "2026-11-23 10:50", False),  # Monday, in session, 10 min old
        ("2026-11-23 11:00", "2026-11-23 10:40", True),  # 20 min old while prices move
        ("2026-11-23 20:00", "2026-11-23 15:40", False),  # evening: has the closing prices
        ("2026-11-23 20:00", "2026-11-23 14:00", True),  # evening: missed the close
        ("2026-11-29 12:00", "2026-11-27 15:45", False),  # Sunday: Friday's close is the last
        ("2026-11-30 08:30", "2026-11-27 15:45", False),  # Monday before the open
        ("2026-11-30 08:30", "2026-11-27 12:00", True),
    ],
)
def test_numbers_are_stale_by_market_time(now, synced, stale):
    from datetime import datetime

    from brokers.clock import IST

    def ist(text):
        return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=IST)

    assert services.is_stale(ist(synced), now=ist(now)) is stale
