"""Round trip: the Dhan adapter against the Dhan sandbox on the live server."""

from decimal import Decimal
from urllib.parse import urlsplit

import pytest

from brokers.adapters import registry
from brokers.errors import AuthError, NotSupported, OrderStateUnknown, RateLimited, TokenExpired
from brokers.sandbox import kit, universe
from brokers.sandbox.demo import DEMO_APPS
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

BROKER = "dhan"
ACCOUNT = DEMO_APPS["dhan"]["client_id"]  # the demo client, the one consent offers first


def far_limit(tag: str) -> OrderRequest:
    tcs = universe.SECURITIES["TCS"]
    return OrderRequest(
        exchange="NSE",
        symbol="TCS",
        instrument_id=tcs.nse_token,
        side=Side.BUY,
        quantity=1,
        order_type=OrderType.LIMIT,
        product=Product.CNC,
        price=(tcs.last_price * Decimal("0.7")).quantize(Decimal("0.05")),
        tag=tag,
    )


def test_the_whole_round_trip(logged_in):
    adapter = logged_in
    tokens = adapter.tokens
    assert tokens.account_id == ACCOUNT

    profile = adapter.profile()
    assert (profile.account_id, profile.name) == (ACCOUNT, "ASHA DEMO")
    assert adapter.funds().available == Decimal("60000.0")

    holdings = {h.symbol: h for h in adapter.holdings()}
    assert {s: h.quantity for s, h in holdings.items()} == {"TCS": 2, "INFY": 3}
    assert holdings["TCS"].isin == "INE467B01029"
    assert holdings["TCS"].average_price == Decimal("3700.0")
    assert adapter.positions() == []
    assert adapter.trades() == []

    by_id = InstrumentRef("NSE", "TCS", holdings["TCS"].instrument_id)
    by_symbol = InstrumentRef("BSE", "RELIANCE")
    quotes = adapter.quotes([by_id, by_symbol])
    assert quotes[by_id].last_price == Decimal("3890.0")
    assert quotes[by_id].previous_close == Decimal("3861.25")
    assert quotes[by_symbol].previous_close == Decimal("2925.0")

    master = {(i.exchange, i.symbol): i for i in adapter.instruments()}
    assert master[("NSE", "RELIANCE")].instrument_id == "2885"
    assert master[("BSE", "RELIANCE")].instrument_id == "500325"
    assert master[("NSE", "NIFTYBEES")].tick_size == Decimal("0.01")

    ack = adapter.place_order(far_limit("live-rt-1"))
    placed = adapter.find_order("live-rt-1")
    assert placed is not None and placed.order_id == ack.order_id
    assert placed.status is OrderStatus.OPEN

    new_price = placed.price - Decimal("5")
    adapter.modify_order(OrderModification(order_id=ack.order_id, price=new_price, quantity=2))
    modified = adapter.find_order("live-rt-1")
    assert (modified.price, modified.quantity) == (new_price, 2)

    adapter.cancel_order(ack.order_id)
    assert adapter.find_order("live-rt-1").status is OrderStatus.CANCELLED

    renewed = adapter.refresh()
    assert renewed.access_token != tokens.access_token
    again = registry.build("dhan", app=adapter.app, tokens=renewed, account=ACCOUNT)
    assert again.profile().account_id == ACCOUNT

    with pytest.raises(NotSupported):
        adapter.logout()


def test_denied_consent_cannot_log_in(sandbox_hosts):
    adapter = anonymous("dhan", sandbox_hosts)
    url = adapter.authorization_url(state="ignored-by-dhan", redirect_uri="")
    assert urlsplit(url).path == "/sandbox/dhan/login/consentApp-login"

    params = browser_login(adapter, adapter.app.redirect_uri, decision="deny")

    with pytest.raises(AuthError):
        adapter.complete_login(params)


def test_a_token_id_works_once(sandbox_hosts):
    adapter = anonymous("dhan", sandbox_hosts)
    params = browser_login(adapter, adapter.app.redirect_uri)
    adapter.complete_login(params)
    with pytest.raises(AuthError) as caught:
        adapter.complete_login(params)
    assert params["tokenId"] not in str(caught.value)


def test_faults_reach_the_adapter_as_our_errors(logged_in):
    adapter = logged_in

    kit.set_faults("dhan", ACCOUNT, rate_limited=True)
    with pytest.raises(RateLimited):
        adapter.funds()

    kit.clear_faults("dhan", ACCOUNT)
    kit.set_faults("dhan", ACCOUNT, lose_order_reply=True)
    with pytest.raises(OrderStateUnknown) as lost:
        adapter.place_order(far_limit("live-lost-1"))
    assert lost.value.tag == "live-lost-1"
    kit.clear_faults("dhan", ACCOUNT)
    assert adapter.find_order("live-lost-1") is not None  # reconciled from the order book

    kit.set_faults("dhan", ACCOUNT, token_expired=True)
    with pytest.raises(TokenExpired):
        adapter.holdings()
