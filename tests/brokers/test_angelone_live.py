"""Our Angel One adapter against our Angel One sandbox on the live server, end to end."""

import re
from decimal import Decimal
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from brokers.adapters import angelone, registry
from brokers.adapters.base import (
    AppCredentials,
    InstrumentRef,
    OrderModification,
    OrderRequest,
    OrderStateUnknown,
    OrderStatus,
    OrderType,
    Product,
    Side,
    TokenExpired,
)
from brokers.sandbox import angelone as sandbox
from brokers.sandbox import kit
from brokers.sandbox.demo import DEMO_APPS

DEMO = DEMO_APPS["angelone"]
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh_master_index():
    angelone._master_index.clear()
    yield
    angelone._master_index.clear()


def adapter(request, tokens=None):
    app = AppCredentials(
        api_key=DEMO["api_key"], api_secret="", client_id=DEMO["client_id"], redirect_uri=""
    )
    return registry.build("angelone", app=app, tokens=tokens, account=f"live-{request.node.name}")


def test_round_trip_with_client_code_pin_and_totp(request, sandbox_hosts):
    broker = adapter(request)
    tokens = broker.complete_login(sandbox.demo_login_fields())
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


def test_round_trip_through_the_publisher_login_page(request, sandbox_hosts):
    broker = adapter(request)
    url = broker.authorization_url(state="live-state", redirect_uri="http://127.0.0.1:9/callback")
    page = requests.get(url, timeout=5)
    assert page.status_code == 200 and "Angel One sandbox login" in page.text
    form = {
        name: unescape(value)
        for name, value in re.findall(
            r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text
        )
    }
    reply = requests.post(
        url.split("?")[0],
        data={**form, "account_id": "AO7788", "decision": "approve"},
        allow_redirects=False,
        timeout=5,
    )
    assert reply.status_code == 302
    params = {k: v[0] for k, v in parse_qs(urlsplit(reply.headers["Location"]).query).items()}
    assert params["state"] == "live-state"

    tokens = broker.complete_login(params)
    assert tokens.account_id == "AO7788" and tokens.refresh_token == ""
    assert len(broker.holdings()) == 3


def test_a_lost_order_reply_is_reconciled_by_tag(request, sandbox_hosts):
    broker = adapter(request)
    broker.complete_login(sandbox.demo_login_fields())
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
