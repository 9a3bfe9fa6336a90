"""Our Zerodha adapter against our Kite sandbox on the live server: a whole trading day."""

from decimal import Decimal

import pytest

from brokers.clock import now_ist
from brokers.errors import AuthError, NotSupported, OrderStateUnknown, TokenExpired
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
from tests.brokers.logins import anonymous, browser_login

BROKER = "zerodha"


def test_a_trading_day_against_the_sandbox(logged_in):
    adapter = logged_in

    tokens = adapter.tokens  # the state came back as sent (browser_login checks it)
    assert tokens.account_id == "ZD1234"
    assert tokens.expires_at > now_ist()
    assert tokens.expires_at.astimezone(now_ist().tzinfo).hour == 6

    assert adapter.profile().account_id == "ZD1234"
    assert adapter.funds().available == Decimal("250000")
    holdings = {h.symbol: h for h in adapter.holdings()}
    assert holdings["RELIANCE"].isin == "INE002A01018"
    assert holdings["RELIANCE"].quantity == 10
    assert holdings["RELIANCE"].average_price == Decimal("2400")
    assert holdings["RELIANCE"].instrument_id == "738561"
    (sbin,) = adapter.positions()
    assert (sbin.symbol, sbin.quantity, sbin.product) == ("SBIN", 30, "MIS")
    assert adapter.trades() == []

    infy, reliance_bse = InstrumentRef("NSE", "INFY"), InstrumentRef("BSE", "RELIANCE")
    quotes = adapter.quotes([infy, reliance_bse])
    assert quotes[infy].last_price == Decimal("1542.3")
    assert quotes[infy].previous_close == Decimal("1550.1")
    assert quotes[reliance_bse].previous_close == Decimal("2925")

    instruments = adapter.instruments()
    listed = {(i.exchange, i.symbol): i for i in instruments}
    assert listed[("BSE", "RELIANCE")].instrument_id == "128083204"
    assert listed[("NSE", "NIFTYBEES")].tick_size == Decimal("0.01")

    far_below = OrderRequest(
        exchange="NSE",
        symbol="INFY",
        side=Side.BUY,
        quantity=3,
        order_type=OrderType.LIMIT,
        product=Product.CNC,
        price=Decimal("1000.00"),
        tag="liveTag001",
    )
    ack = adapter.place_order(far_below)
    placed = adapter.find_order("liveTag001")
    assert placed.order_id == ack.order_id
    assert placed.status is OrderStatus.OPEN
    assert placed.price == Decimal("1000")

    adapter.modify_order(OrderModification(order_id=ack.order_id, price=Decimal("1005.50")))
    assert adapter.find_order("liveTag001").price == Decimal("1005.5")
    adapter.cancel_order(ack.order_id)
    assert adapter.find_order("liveTag001").status is OrderStatus.CANCELLED

    with pytest.raises(NotSupported):
        adapter.refresh()
    adapter.logout()
    with pytest.raises(TokenExpired):
        adapter.profile()


def test_a_lost_order_reply_is_reconciled_by_tag(logged_in):
    adapter = logged_in
    kit.set_faults("zerodha", "ZD1234", lose_order_reply=True)
    order = OrderRequest(
        exchange="BSE",
        symbol="TCS",
        side=Side.BUY,
        quantity=1,
        order_type=OrderType.LIMIT,
        product=Product.CNC,
        price=Decimal("3000.00"),
        tag="lostLive01",
    )
    with pytest.raises(OrderStateUnknown) as caught:
        adapter.place_order(order)
    assert caught.value.tag == "lostLive01"
    kit.clear_faults("zerodha", "ZD1234")
    assert adapter.find_order("lostLive01").status is OrderStatus.OPEN


def test_a_denied_login_is_refused(sandbox_hosts):
    adapter = anonymous("zerodha", sandbox_hosts)
    redirect_uri = adapter.app.redirect_uri

    params = browser_login(adapter, redirect_uri, state="deny-state", decision="deny")

    assert params == {"error": "access_denied", "state": "deny-state"}
    with pytest.raises(AuthError, match="not completed"):
        adapter.complete_login(params)
