"""Snapshots as JSON: every amount exact, the quotes asked next time, the master entries."""

from decimal import Decimal

from brokers.types import AssetType, Funds, Holding, InstrumentRef, Position, Quote
from portfolio import fetch, snapshots
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

    payload = snapshots.encode(outcome, book.for_broker("groww"))
    again_book = InstrumentBook()
    again = snapshots.decode(payload, BrokerPortfolio("c", "groww"), again_book)

    assert again.holdings == outcome.holdings
    assert again.positions == outcome.positions
    assert again.funds == outcome.funds
    assert again.quotes == outcome.quotes  # NIFTYBEES lacked a price, so its quote is kept
    assert again_book.by_symbol == book.by_symbol
    # both lines came without prices: next time their quotes are asked at once
    assert snapshots.asked_before(payload) == [InstrumentRef("NFO", "NIFTY26JANFUT", ""), ref]
