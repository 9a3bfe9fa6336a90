"""The whole adapter contract, for every registered broker, against its sandbox on a live server.

login → every read → place → find by tag → modify → cancel → refresh where supported → logout,
with every log line of the run captured and searched for the secrets it used.
"""

import importlib
import io
import logging
import secrets
from decimal import Decimal

import pytest

from brokers.adapters import registry
from brokers.errors import BrokerError, NotSupported, TokenExpired
from brokers.sandbox import universe
from brokers.types import (
    InstrumentRef,
    OrderModification,
    OrderStatus,
)
from config.logging import RedactSecrets
from tests.brokers.logins import BROWSER_LOGINS, browser_login, demo_app
from tests.brokers.orders import resting_buy


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
    app = demo_app(broker, base_url)
    used += [app.api_secret, app.pin, *app.extra.values()]
    anonymous = registry.build(broker, app=app)
    capabilities = anonymous.capabilities

    # Login
    if capabilities.login_kind in BROWSER_LOGINS:
        params = browser_login(anonymous, app.redirect_uri)
        used += [v for k, v in params.items() if k != "state"]
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
    order = resting_buy(first, tag=tag)
    price = order.price
    ack = adapter.place_order(order)
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
