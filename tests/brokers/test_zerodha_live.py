"""Our Zerodha adapter against our Kite sandbox on the live server: a whole trading day."""

from decimal import Decimal
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from brokers.adapters import registry
from brokers.adapters.base import (
    AppCredentials,
    AuthError,
    InstrumentRef,
    NotSupported,
    OrderModification,
    OrderRequest,
    OrderStateUnknown,
    OrderStatus,
    OrderType,
    Product,
    Side,
    TokenExpired,
)
from brokers.clock import now_ist
from brokers.sandbox import demo, kit

APP = AppCredentials(
    api_key=demo.DEMO_APPS["zerodha"]["api_key"],
    api_secret=demo.DEMO_APPS["zerodha"]["api_secret"],
)


class LoginForm(HTMLParser):
    """The hidden inputs and the first (selected) account of the sandbox login page."""

    def __init__(self):
        super().__init__()
        self.fields: dict[str, str] = {}
        self._select = ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("type") == "hidden":
            self.fields[attrs["name"]] = attrs.get("value", "")
        elif tag == "select":
            self._select = attrs["name"]
        elif tag == "option" and self._select and "selected" in attrs:
            self.fields[self._select] = attrs["value"]


def browser_login(adapter, state: str) -> dict[str, str]:
    url = adapter.authorization_url(state=state, redirect_uri="http://127.0.0.1:8000/cb/")
    page = requests.get(url, timeout=5)
    assert page.status_code == 200
    form = LoginForm()
    form.feed(page.text)
    answer = requests.post(
        url, data={**form.fields, "decision": "approve"}, allow_redirects=False, timeout=5
    )
    assert answer.status_code == 302
    return dict(parse_qsl(urlsplit(answer.headers["Location"]).query))


def test_a_trading_day_against_the_sandbox(sandbox_hosts):
    adapter = registry.build("zerodha", app=APP, account="ZD1234-live")

    params = browser_login(adapter, state="live-state-1")
    assert params["state"] == "live-state-1"
    tokens = adapter.complete_login(params)
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


def test_a_lost_order_reply_is_reconciled_by_tag(sandbox_hosts):
    adapter = registry.build("zerodha", app=APP, account="ZD1234-lost")
    adapter.complete_login(browser_login(adapter, state="s"))
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
    adapter = registry.build("zerodha", app=APP, account="ZD1234-deny")
    url = adapter.authorization_url(state="deny-state", redirect_uri="")
    form = LoginForm()
    form.feed(requests.get(url, timeout=5).text)
    answer = requests.post(
        url, data={**form.fields, "decision": "deny"}, allow_redirects=False, timeout=5
    )
    params = dict(parse_qsl(urlsplit(answer.headers["Location"]).query))
    assert params == {"error": "access_denied", "state": "deny-state"}
    with pytest.raises(AuthError, match="not completed"):
        adapter.complete_login(params)
