"""Snapshots as JSON, and what a trader is told when a broker fails."""

from decimal import Decimal

from brokers.adapters.base import (
    AssetType,
    BrokerUnavailable,
    Funds,
    Holding,
    InstrumentRef,
    Position,
    Quote,
    RateLimited,
    TokenExpired,
)
from portfolio import fetch
from portfolio.aggregate import BrokerPortfolio
from portfolio.normalize import InstrumentBook, MasterEntry
from tests.factories import BrokerConnectionFactory

D = Decimal


def test_a_snapshot_keeps_every_amount_exact(db):
    outcome = fetch.Outcome(BrokerConnectionFactory(broker="groww"))
    outcome.holdings = [
        Holding("NSE", "NIFTYBEES", 100, D("240.5025"), "INF204KB14I2", asset_type=AssetType.ETF)
    ]
    outcome.positions = [Position("NFO", "NIFTY26JANFUT", "NRML", -75, D("24010.05"), lot_size=75)]
    outcome.funds = Funds(available=D("40000.10"), used=D("0"), total=None)
    ref = InstrumentRef("NSE", "NIFTYBEES", "")
    outcome.quotes = {ref: Quote("NSE", "NIFTYBEES", D("268.42"), D("267.10"))}
    book = InstrumentBook()
    book.by_symbol[("groww", "NSE", "NIFTYBEES")] = MasterEntry("NSE", "NIFTYBEES", "INF204KB14I2")

    payload = fetch.encode(outcome, book.for_broker("groww"))
    again_book = InstrumentBook()
    again = fetch.decode(payload, BrokerPortfolio("c", "groww"), again_book)

    assert again.holdings == outcome.holdings
    assert again.positions == outcome.positions
    assert again.funds == outcome.funds
    assert again.quotes == outcome.quotes  # NIFTYBEES lacked a price, so its quote is kept
    assert again_book.by_symbol == book.by_symbol
    # both lines came without prices: next time their quotes are asked at once
    assert fetch.asked_before(payload) == [InstrumentRef("NFO", "NIFTY26JANFUT", ""), ref]


def test_what_a_trader_is_told_when_a_broker_fails():
    assert fetch.explain(TokenExpired("TokenException: bad"))[1] == (
        "The session has ended: log in to the broker again."
    )
    kind, reason = fetch.explain(BrokerUnavailable("HTTP 503", broker="dhan"))
    assert kind == "BrokerUnavailable" and reason == "The broker is not answering: HTTP 503"
    assert "limiting" in fetch.explain(RateLimited("429"))[1]
    kind, reason = fetch.explain(KeyError("access_token=abc123"))
    assert kind == "KeyError" and "abc123" not in reason
