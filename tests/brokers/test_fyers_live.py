"""The Fyers adapter against the Fyers sandbox on a live server: a whole trading day."""

from decimal import Decimal

import pytest

from brokers.errors import BrokerUnavailable, OrderStateUnknown, RateLimited, TokenExpired
from brokers.sandbox import kit, universe
from brokers.types import (
    InstrumentRef,
    OrderModification,
    OrderRequest,
    OrderStatus,
    OrderType,
    Product,
    Side,
)

BROKER = "fyers"


def test_a_trading_day_round_trip(logged_in):
    adapter = logged_in
    assert adapter.tokens.account_id == "FY0001"
    assert adapter.tokens.expires_at.tzinfo is not None
    assert adapter.profile().account_id == "FY0001"
    assert adapter.funds().available == Decimal("90000.00")

    holdings = {(h.exchange, h.symbol): h for h in adapter.holdings()}
    assert set(holdings) == {("BSE", "RELIANCE"), ("NSE", "HDFCBANK")}
    reliance = holdings[("BSE", "RELIANCE")]
    assert (reliance.quantity, reliance.isin) == (4, "INE002A01018")
    assert reliance.average_price == Decimal("2450.00")
    assert adapter.positions() == [] and adapter.trades() == []

    ref = InstrumentRef("BSE", "RELIANCE", reliance.instrument_id)
    quote = adapter.quotes([ref])[ref]
    security = universe.SECURITIES["RELIANCE"]
    assert (quote.last_price, quote.previous_close) == (security.last_price, security.close_price)

    master = {(i.exchange, i.symbol): i for i in adapter.instruments()}
    assert master[("BSE", "RELIANCE")].isin == master[("NSE", "RELIANCE")].isin == security.isin

    price = Decimal("1200.00")  # far below HDFCBANK's last price: it stays open
    ack = adapter.place_order(
        OrderRequest(
            exchange="NSE",
            symbol="HDFCBANK",
            side=Side.BUY,
            quantity=2,
            order_type=OrderType.LIMIT,
            product=Product.CNC,
            price=price,
            tag="livetag1",
        )
    )
    placed = adapter.find_order("livetag1")
    assert placed.order_id == ack.order_id
    assert (placed.status, placed.price, placed.quantity) == (OrderStatus.OPEN, price, 2)
    assert adapter.funds().used == Decimal("2400.00")

    adapter.modify_order(OrderModification(ack.order_id, price=Decimal("1199.50"), quantity=3))
    modified = adapter.find_order("livetag1")
    assert (modified.price, modified.quantity) == (Decimal("1199.50"), 3)

    adapter.cancel_order(ack.order_id)
    assert adapter.find_order("livetag1").status is OrderStatus.CANCELLED

    before = adapter.tokens
    fresh = adapter.refresh()
    assert fresh.access_token != before.access_token
    assert fresh.refresh_token == before.refresh_token  # Fyers returns no new refresh token
    assert adapter.profile().account_id == "FY0001"

    adapter.logout()
    with pytest.raises(TokenExpired):
        adapter.profile()


def test_a_lost_order_reply_is_reconciled_by_tag(logged_in):
    kit.set_faults("fyers", "FY0001", lose_order_reply=True)
    order = OrderRequest(
        exchange="NSE",
        symbol="INFY",
        side=Side.BUY,
        quantity=1,
        order_type=OrderType.LIMIT,
        product=Product.CNC,
        price=Decimal("1000.00"),
        tag="lostreply7",
    )
    with pytest.raises(OrderStateUnknown) as caught:
        logged_in.place_order(order)
    assert caught.value.tag == "lostreply7"
    kit.clear_faults("fyers", "FY0001")
    assert logged_in.find_order("lostreply7").status is OrderStatus.OPEN


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ({"outage": True}, BrokerUnavailable),
        ({"rate_limited": True}, RateLimited),
        ({"error_rate": 100}, BrokerUnavailable),
        ({"token_expired": True}, TokenExpired),
    ],
)
def test_sandbox_faults_reach_the_adapter_as_our_errors(logged_in, fault, expected):
    kit.set_faults("fyers", "FY0001", **fault)
    with pytest.raises(expected) as caught:
        logged_in.holdings()
    assert (caught.value.broker, caught.value.endpoint) == ("fyers", "holdings")
    assert logged_in.tokens.access_token not in str(caught.value)
