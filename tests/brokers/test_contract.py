"""The whole adapter contract, for every registered broker, against its sandbox on a live server.

login → every read → place → find by tag → modify → cancel → refresh where supported → logout,
with every log line of the run captured and searched for the secrets it used.
"""

import importlib
import io
import logging
import secrets
from decimal import Decimal
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urljoin, urlsplit

import pytest
import requests

from brokers.adapters import registry
from brokers.adapters.base import (
    AppCredentials,
    BrokerError,
    InstrumentRef,
    LoginKind,
    NotSupported,
    OrderModification,
    OrderRequest,
    OrderStatus,
    OrderType,
    Product,
    Side,
    TokenExpired,
)
from brokers.sandbox import demo, universe
from config.logging import RedactSecrets

BROWSER_LOGINS = {LoginKind.REDIRECT_CHECKSUM, LoginKind.OAUTH2, LoginKind.CONSENT}


class _Form(HTMLParser):
    """The login form of a sandbox page: its action and hidden inputs."""

    def __init__(self):
        super().__init__()
        self.action, self.fields = None, {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = attrs.get("action") or ""
        if tag == "input" and attrs.get("type") == "hidden" and attrs.get("name"):
            self.fields[attrs["name"]] = attrs.get("value") or ""


def app_credentials(broker: str, base_url: str) -> AppCredentials:
    app = demo.DEMO_APPS[broker]
    extra = {k: v for k, v in app.items() if k.startswith("marketdata_")}
    return AppCredentials(
        api_key=app["api_key"],
        api_secret=app["api_secret"],
        redirect_uri=f"{base_url}/brokers/callback/{broker}/",
        client_id=app.get("client_id", ""),
        pin=app.get("pin", ""),
        extra=extra,
    )


def browser_login(adapter, redirect_uri: str, used: list[str]) -> dict:
    """What a trader does in the browser: open the broker's page, approve, come back."""
    state = secrets.token_urlsafe(16)
    url = adapter.authorization_url(state=state, redirect_uri=redirect_uri)
    page = requests.get(url, timeout=10)
    assert page.status_code == 200, page.text[:300]
    form = _Form()
    form.feed(page.text)
    approved = requests.post(
        urljoin(page.url, form.action or page.url),
        data={**form.fields, "decision": "approve"},
        allow_redirects=False,
        timeout=10,
    )
    assert approved.status_code in (301, 302, 303), approved.text[:300]
    location = approved.headers["Location"]
    assert location.startswith(redirect_uri)
    params = dict(parse_qsl(urlsplit(location).query))
    if "state" in params:
        assert params["state"] == state
    used.extend(v for k, v in params.items() if k != "state")
    return params


def log_capture():
    """Every log line, as our configured console handler would write it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.DEBUG)
    handler.addFilter(RedactSecrets())
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    return stream, handler


@pytest.mark.parametrize("broker", sorted(registry.ADAPTERS))
def test_the_whole_contract_against_the_sandbox(broker, sandbox_hosts):
    stream, handler = log_capture()
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    used: list[str] = []
    try:
        used += run_contract(broker, sandbox_hosts, used)
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)

    logs = stream.getvalue()
    assert logs, "the run logged its calls"
    for secret in {s for s in used if s and len(s) >= 6}:
        assert secret not in logs, f"a secret of {broker} reached the logs"


def run_contract(broker: str, base_url: str, used: list[str]) -> list[str]:
    app = app_credentials(broker, base_url)
    used += [app.api_secret, app.pin, *app.extra.values()]
    anonymous = registry.build(broker, app=app)
    capabilities = anonymous.capabilities

    # Login
    if capabilities.login_kind in BROWSER_LOGINS:
        params = browser_login(anonymous, app.redirect_uri, used)
        tokens = anonymous.complete_login(params, redirect_uri=app.redirect_uri)
    else:
        fields = importlib.import_module(f"brokers.sandbox.{broker}").demo_login_fields()
        used += [v for k, v in fields.items() if k in ("pin", "totp", "password")]
        tokens = anonymous.complete_login(fields, redirect_uri=app.redirect_uri)
    used += [tokens.access_token, tokens.refresh_token, *tokens.extra.values()]
    assert tokens.access_token
    assert tokens.expires_at.tzinfo is not None

    adapter = registry.build(broker, app=app, tokens=tokens, account=tokens.account_id)

    # Reads
    profile = adapter.profile()
    demo_account = universe.account(broker, profile.account_id)
    assert demo_account is not None, f"{broker} profile names a demo account"
    assert adapter.funds().available > 0

    holdings = adapter.holdings()
    assert {(h.symbol, h.exchange, h.quantity) for h in holdings} == {
        (h.symbol, h.exchange, h.quantity) for h in demo_account.holdings
    }
    for holding in holdings:
        assert isinstance(holding.quantity, int)
        assert isinstance(holding.average_price, Decimal)
        if holding.isin:
            assert holding.isin == universe.SECURITIES[holding.symbol].isin

    assert isinstance(adapter.positions(), list)
    assert isinstance(adapter.trades(), list)

    first = holdings[0]
    ref = InstrumentRef(first.exchange, first.symbol, first.instrument_id)
    quote = adapter.quotes([ref])[ref]
    security = universe.SECURITIES[first.symbol]
    assert quote.last_price == security.last_price
    assert quote.previous_close == security.close_price

    master = list(adapter.instruments())
    assert {"RELIANCE", "INFY"} <= {i.symbol for i in master}

    # Writes: a limit far below the market stays open
    tag = secrets.token_hex(4)
    price = (security.last_price * Decimal("0.8")).quantize(Decimal("0.05"))
    ack = adapter.place_order(
        OrderRequest(
            exchange=first.exchange,
            symbol=first.symbol,
            side=Side.BUY,
            quantity=1,
            order_type=OrderType.LIMIT,
            product=Product.CNC,
            price=price,
            tag=tag,
            instrument_id=first.instrument_id,
        )
    )
    assert ack.order_id
    placed = adapter.find_order(tag)
    assert placed is not None, f"{broker} order book returns our tag"
    assert placed.order_id == ack.order_id
    assert placed.status in (OrderStatus.OPEN, OrderStatus.PENDING)

    adapter.modify_order(OrderModification(order_id=ack.order_id, price=price - Decimal("1")))
    modified = next(o for o in adapter.orders() if o.order_id == ack.order_id)
    assert modified.price == price - Decimal("1")

    adapter.cancel_order(ack.order_id)
    cancelled = next(o for o in adapter.orders() if o.order_id == ack.order_id)
    assert cancelled.status == OrderStatus.CANCELLED

    # Refresh where the broker allows it
    if capabilities.supports_refresh:
        fresh = adapter.refresh()
        used += [fresh.access_token, fresh.refresh_token]
        assert fresh.access_token
        adapter = registry.build(broker, app=app, tokens=fresh, account=tokens.account_id)
        assert adapter.profile().account_id == profile.account_id
    else:
        with pytest.raises(NotSupported):
            adapter.refresh()

    # Logout, then the session is gone
    if capabilities.has_logout:
        adapter.logout()
        with pytest.raises(TokenExpired) as gone:
            adapter.profile()
        assert isinstance(gone.value, BrokerError)
    return used
