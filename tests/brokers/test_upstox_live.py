"""The Upstox adapter against the Upstox sandbox on a live server: a whole trading day."""

from decimal import Decimal
from uuid import uuid4

import pytest

from brokers.errors import NotSupported, OrderStateUnknown, RateLimited, TokenExpired
from brokers.sandbox import kit
from brokers.types import (
    InstrumentRef,
    OrderModification,
    OrderRequest,
    OrderStatus,
    OrderType,
    Product,
    Side,
)

BROKER = "upstox"


@pytest.mark.django_db(transaction=True)
def test_a_trading_day_against_the_sandbox(logged_in):
    adapter = logged_in

    assert adapter.tokens.account_id == "UP4321"
    assert adapter.profile().account_id == "UP4321"
    assert adapter.funds().available == Decimal("120000")
    holdings = {h.symbol: h for h in adapter.holdings()}
    assert holdings["RELIANCE"].quantity == 5
    assert holdings["RELIANCE"].isin == "INE002A01018"
    assert holdings["TCS"].average_price == Decimal("3500")
    assert adapter.positions() == []
    assert adapter.orders() == [] and adapter.trades() == []

    reliance = InstrumentRef("NSE", "RELIANCE", holdings["RELIANCE"].instrument_id)
    quote = adapter.quotes([reliance])[reliance]
    assert (quote.last_price, quote.previous_close) == (Decimal("2950.5"), Decimal("2925"))
    listed = {(i.exchange, i.symbol): i for i in adapter.instruments()}
    assert listed[("BSE", "RELIANCE")].isin == "INE002A01018"
    assert listed[("NSE", "RELIANCE")].instrument_id == reliance.instrument_id

    tag = f"mb-{uuid4().hex[:12]}"
    ack = adapter.place_order(
        OrderRequest(
            exchange="NSE",
            symbol="RELIANCE",
            side=Side.BUY,
            quantity=1,
            order_type=OrderType.LIMIT,
            product=Product.CNC,
            price=Decimal("2000.05"),  # far under the market: it stays open
            tag=tag,
            instrument_id=reliance.instrument_id,
        )
    )
    placed = adapter.find_order(tag)
    assert (placed.order_id, placed.status, placed.price) == (
        ack.order_id,
        OrderStatus.OPEN,
        Decimal("2000.05"),
    )

    adapter.modify_order(OrderModification(order_id=ack.order_id, quantity=2))
    modified = adapter.find_order(tag)
    assert (modified.quantity, modified.price) == (2, Decimal("2000.05"))

    adapter.cancel_order(ack.order_id)
    assert adapter.find_order(tag).status == OrderStatus.CANCELLED

    with pytest.raises(NotSupported):
        adapter.refresh()
    adapter.logout()
    with pytest.raises(TokenExpired):
        adapter.profile()


@pytest.mark.django_db(transaction=True)
def test_a_lost_order_reply_is_reconciled_by_tag(logged_in):
    adapter = logged_in
    kit.set_faults("upstox", lose_order_reply=True)
    tag = f"mb-{uuid4().hex[:12]}"

    with pytest.raises(OrderStateUnknown) as info:
        adapter.place_order(
            OrderRequest(
                exchange="NSE",
                symbol="TCS",
                side=Side.SELL,
                quantity=1,
                order_type=OrderType.SL,
                product=Product.MIS,
                price=Decimal("3000"),
                trigger_price=Decimal("3005"),
                tag=tag,
                instrument_id="NSE_EQ|INE467B01029",
            )
        )

    assert info.value.tag == tag
    found = adapter.find_order(tag)
    assert (found.status, found.product) == (OrderStatus.TRIGGER_PENDING, "MIS")


@pytest.mark.django_db(transaction=True)
def test_sandbox_faults_reach_the_adapter_as_our_errors(logged_in):
    kit.set_faults("upstox", rate_limited=True)

    with pytest.raises(RateLimited):
        logged_in.holdings()

    kit.set_faults("upstox", rate_limited=False, token_expired=True)
    with pytest.raises(TokenExpired):
        logged_in.holdings()
