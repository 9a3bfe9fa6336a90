"""Our Angel One adapter against our Angel One sandbox on the live server, end to end."""

from decimal import Decimal

import pytest

from brokers.adapters import angelone
from brokers.errors import OrderStateUnknown, TokenExpired
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

BROKER = "angelone"
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh_master_index():
    angelone._master_index.clear()
    yield
    angelone._master_index.clear()


def test_round_trip_with_client_code_pin_and_totp(logged_in):
    broker = logged_in  # logged in with the client code, PIN and TOTP the demo user types
    tokens = broker.tokens
    assert tokens.account_id == "AO7788" and tokens.refresh_token

    assert broker.profile().account_id == "AO7788"
    assert broker.funds().available == Decimal("75000.00")
    holdings = {h.symbol: h for h in broker.holdings()}
    assert set(holdings) == {"INFY", "SBIN", "RELIANCE"}
    assert (holdings["RELIANCE"].isin, holdings["RELIANCE"].instrument_id) == (
        "INE002A01018",
        "2885",
    )
    assert holdings["INFY"].average_price == Decimal("1450.0")
    assert broker.positions() == [] and broker.trades() == []

    instruments = {(i.exchange, i.symbol): i for i in broker.instruments()}
    assert instruments[("NSE", "RELIANCE")].instrument_id == "2885"
    assert instruments[("BSE", "RELIANCE")].instrument_id == "500325"
    reliance, infy = InstrumentRef("NSE", "RELIANCE"), InstrumentRef("NSE", "INFY", "1594")
    quotes = broker.quotes([reliance, infy])
    assert (quotes[reliance].last_price, quotes[reliance].previous_close) == (
        Decimal("2950.5"),
        Decimal("2925.0"),
    )
    assert quotes[infy].last_price == Decimal("1542.3")

    # A limit far below the market stays open.
    ack = broker.place_order(
        OrderRequest(
            exchange="NSE",
            symbol="RELIANCE",
            side=Side.BUY,
            quantity=1,
            order_type=OrderType.LIMIT,
            product=Product.CNC,
            price=Decimal("2000"),
            tag="live-rt-1",
        )
    )
    placed = broker.find_order("live-rt-1")
    assert placed.order_id == ack.order_id and placed.status == OrderStatus.OPEN
    assert (placed.symbol, placed.price, placed.quantity) == ("RELIANCE", Decimal("2000.00"), 1)

    broker.modify_order(OrderModification(order_id=ack.order_id, price=Decimal("2100.5")))
    broker.cancel_order(ack.order_id)
    final = broker.find_order("live-rt-1")
    assert (final.price, final.status) == (Decimal("2100.50"), OrderStatus.CANCELLED)

    old = broker.tokens
    fresh = broker.refresh()
    assert fresh.access_token != old.access_token and fresh.account_id == "AO7788"
    assert broker.profile().name == "ASHA DEMO"

    broker.logout()
    with pytest.raises(TokenExpired):
        broker.profile()


def test_round_trip_through_the_publisher_login_page(sandbox_hosts):
    broker = anonymous("angelone", sandbox_hosts)

    params = browser_login(broker, "http://127.0.0.1:9/callback", account_id="AO7788")

    tokens = broker.complete_login(params)
    assert tokens.account_id == "AO7788" and tokens.refresh_token == ""
    assert len(broker.holdings()) == 3


def test_a_lost_order_reply_is_reconciled_by_tag(logged_in):
    broker = logged_in
    kit.set_faults("angelone", "AO7788", lose_order_reply=True)
    order = OrderRequest(
        "NSE",
        "SBIN",
        Side.SELL,
        1,
        OrderType.LIMIT,
        Product.CNC,
        price=Decimal("999"),
        tag="lost-9",
    )
    with pytest.raises(OrderStateUnknown) as caught:
        broker.place_order(order)
    assert caught.value.tag == "lost-9"
    kit.clear_faults("angelone", "AO7788")
    assert broker.find_order("lost-9").status == OrderStatus.OPEN
