"""Zerodha adapter: mapping of Kite's documented payloads and errors, stubbed at the real hosts."""

import gzip
import hashlib
import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
import time_machine

from brokers.adapters import registry
from brokers.clock import IST
from brokers.errors import (
    AuthError,
    BadResponse,
    BrokerError,
    BrokerUnavailable,
    InvalidRequest,
    NotSupported,
    OrderRejected,
    OrderStateUnknown,
    RateLimited,
    TokenExpired,
)
from brokers.types import (
    AppCredentials,
    AssetType,
    InstrumentRef,
    LoginKind,
    OrderModification,
    OrderRequest,
    OrderStatus,
    OrderType,
    Product,
    Side,
    Tokens,
)

PAYLOADS = Path(__file__).parent / "payloads" / "zerodha"
API = "https://api.kite.trade"
LOGIN = "https://kite.zerodha.com"
API_KEY = "kitefakeapikey01"
API_SECRET = "kite-test-secret-9f3b2c"
ACCESS = "kiteFakeAccessTokenQ8x2Lm9Zp4Rt7Vw1"
REQUEST_TOKEN = "reqTok7Hn2Qa9Zx1"
CHECKSUM = hashlib.sha256((API_KEY + REQUEST_TOKEN + API_SECRET).encode()).hexdigest()
APP = AppCredentials(api_key=API_KEY, api_secret=API_SECRET)
SECRETS = (ACCESS, API_SECRET, CHECKSUM, REQUEST_TOKEN)


def payload(name: str):
    return json.loads((PAYLOADS / name).read_text())


@pytest.fixture(autouse=True)
def real_hosts(settings):
    settings.BROKER_HOSTS = {
        **settings.BROKER_HOSTS,
        "zerodha": dict(settings.BROKER_REAL_HOSTS["zerodha"]),
    }


@pytest.fixture
def kite():
    with responses.RequestsMock() as mock:
        yield mock


def build(name: str, *, logged_in: bool = True):
    tokens = None
    if logged_in:
        expires = datetime(2030, 1, 1, 6, tzinfo=IST)
        tokens = Tokens(access_token=ACCESS, expires_at=expires, account_id="AB1234")
    # One account per test: each gets its own rate-limit bucket.
    return registry.build("zerodha", app=APP, tokens=tokens, account=f"zerodha-{name}")


@pytest.fixture
def adapter(request):
    return build(request.node.name)


def assert_clean(error: BrokerError, endpoint: str):
    assert error.broker == "zerodha"
    assert error.endpoint == endpoint
    for secret in SECRETS:
        assert secret not in str(error)
        assert secret not in error.message


# --- Capabilities and login ----------------------------------------------------------------------
def test_capabilities_describe_a_daily_browser_login_without_refresh(adapter):
    caps = adapter.capabilities
    assert caps.login_kind is LoginKind.REDIRECT_CHECKSUM
    assert caps.supports_refresh is False
    assert "06:00 IST" in caps.token_expiry_rule
    assert {"NSE", "BSE", "NFO"} <= caps.exchanges
    assert caps.rate_limits["quote"] == 1
    with pytest.raises(NotSupported):
        adapter.refresh()


def test_authorization_url_is_the_v3_login_with_state_in_redirect_params(adapter):
    url = adapter.authorization_url(state="st8te", redirect_uri="https://app.test/cb")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{LOGIN}/connect/login"
    query = parse_qs(parts.query)
    assert query == {"v": ["3"], "api_key": [API_KEY], "redirect_params": ["state=st8te"]}


def redirect_params(**extra):
    base = {"action": "login", "type": "login", "status": "success"}
    return {**base, "request_token": REQUEST_TOKEN, "state": "st8te", **extra}


def test_token_exchange_sends_the_checksum_form_and_maps_the_session(kite, request):
    adapter = build(request.node.name, logged_in=False)
    kite.post(f"{API}/session/token", json=payload("token_exchange.json"))
    with time_machine.travel(datetime(2025, 1, 17, 9, 2, 41, tzinfo=IST), tick=False):
        tokens = adapter.complete_login(redirect_params())

    sent = kite.calls[0].request
    assert sent.headers["X-Kite-Version"] == "3"
    assert "Authorization" not in sent.headers
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(sent.body) == {
        "api_key": [API_KEY],
        "request_token": [REQUEST_TOKEN],
        "checksum": [CHECKSUM],  # sha256(api_key + request_token + api_secret), no separator
    }
    assert API_SECRET not in sent.body
    assert tokens.access_token == "kiteFakeAccessTokenQ8x2Lm9Zp4Rt7Vw1"
    assert tokens.refresh_token == ""
    assert tokens.account_id == "AB1234"
    assert tokens.expires_at == datetime(2025, 1, 18, 6, 0, tzinfo=IST)
    assert adapter.tokens == tokens


@pytest.mark.parametrize(
    ("login_at", "dies_at"),
    [
        (datetime(2025, 1, 17, 5, 59, 59), datetime(2025, 1, 17, 6, 0)),
        (datetime(2025, 1, 17, 6, 0, 0), datetime(2025, 1, 18, 6, 0)),
        (datetime(2025, 1, 17, 23, 59, 0), datetime(2025, 1, 18, 6, 0)),
    ],
)
def test_session_dies_at_the_next_0600_ist(kite, request, login_at, dies_at):
    adapter = build(request.node.name, logged_in=False)
    kite.post(f"{API}/session/token", json=payload("token_exchange.json"))
    with time_machine.travel(login_at.replace(tzinfo=IST), tick=False):
        tokens = adapter.complete_login(redirect_params())
    assert tokens.expires_at == dies_at.replace(tzinfo=IST)


@pytest.mark.parametrize(
    "params",
    [
        {"error": "access_denied", "state": "st8te"},
        redirect_params(status="cancelled"),
        {"action": "login", "type": "login", "status": "success"},
    ],
    ids=["denied", "not-success", "no-request-token"],
)
def test_an_unfinished_login_is_an_auth_error_without_calling_kite(kite, request, params):
    adapter = build(request.node.name, logged_in=False)
    with pytest.raises(AuthError) as caught:
        adapter.complete_login(params)
    assert not isinstance(caught.value, TokenExpired)
    assert len(kite.calls) == 0


def test_a_wrong_checksum_is_an_auth_error_not_an_expiry(kite, request):
    adapter = build(request.node.name, logged_in=False)
    body = {
        "status": "error",
        "message": f"Invalid `checksum` {CHECKSUM} for {REQUEST_TOKEN}",
        "data": None,
        "error_type": "TokenException",
    }
    kite.post(f"{API}/session/token", json=body, status=403)
    with pytest.raises(AuthError) as caught:
        adapter.complete_login(redirect_params())
    assert type(caught.value) is AuthError
    assert caught.value.permanent
    assert_clean(caught.value, "session/token")


def test_logout_deletes_the_session_with_key_and_token_in_the_query(kite, adapter):
    kite.delete(f"{API}/session/token", json=payload("logout.json"))
    adapter.logout()
    sent = kite.calls[0].request
    assert parse_qs(urlsplit(sent.url).query) == {"api_key": [API_KEY], "access_token": [ACCESS]}


# --- Reads -------------------------------------------------------------------------------------
def test_every_read_sends_the_version_and_token_header(kite, adapter):
    kite.get(f"{API}/user/profile", json=payload("profile.json"))
    profile = adapter.probe()
    headers = kite.calls[0].request.headers
    assert headers["X-Kite-Version"] == "3"
    assert headers["Authorization"] == f"token {API_KEY}:{ACCESS}"
    assert profile.account_id == "AB1234"
    assert profile.name == "Asha Kumar"
    assert profile.email == "trader@example.com"
    assert "NSE" in profile.exchanges
    assert "CNC" in profile.products


def test_funds_are_the_equity_segment_net(kite, adapter):
    kite.get(f"{API}/user/margins/equity", json=payload("funds_equity.json"))
    funds = adapter.funds()
    assert funds.available == Decimal("99725.05")
    assert funds.used == Decimal("145706.55")
    assert funds.total == Decimal("245431.60")
    assert funds.collateral == Decimal(0)


def test_holdings_keep_isin_tokens_and_exact_money(kite, adapter):
    body = payload("holdings.json")
    extra = dict(body["data"][0], tradingsymbol="CENTRALBK-BE", isin="INE483A01010")
    dashed = dict(body["data"][0], tradingsymbol="BAJAJ-AUTO", isin="INE917I01010")
    body["data"] += [extra, dashed]
    kite.get(f"{API}/portfolio/holdings", json=body)

    infy, sbin, centralbk, bajaj = adapter.holdings()

    assert (infy.exchange, infy.symbol, infy.isin) == ("NSE", "INFY", "INE009A01021")
    assert infy.quantity == 10 and isinstance(infy.quantity, int)
    assert infy.average_price == Decimal("1450.5")
    assert infy.last_price == Decimal("1512.35")
    assert infy.close_price == Decimal("1498.1")
    assert infy.instrument_id == "408065"
    assert infy.broker_symbol == "INFY"
    assert (sbin.exchange, sbin.symbol, sbin.quantity) == ("BSE", "SBIN", 16)
    assert sbin.average_price == Decimal("801.78")
    assert (centralbk.symbol, centralbk.broker_symbol) == ("CENTRALBK", "CENTRALBK-BE")
    assert bajaj.symbol == "BAJAJ-AUTO"  # a dash that is part of the symbol stays


def test_positions_are_the_net_book(kite, adapter):
    kite.get(f"{API}/portfolio/positions", json=payload("positions.json"))
    sbin, nifty = adapter.positions()
    assert (sbin.symbol, sbin.product, sbin.quantity) == ("SBIN", "MIS", 20)
    assert sbin.average_price == Decimal("765.2")
    assert sbin.unrealized_pnl == Decimal("56.0")
    assert sbin.buy_quantity == 20 and sbin.sell_quantity == 0
    assert sbin.asset_type is AssetType.EQUITY
    assert (nifty.exchange, nifty.symbol, nifty.quantity) == ("NFO", "NIFTY25JANFUT", -75)
    assert nifty.product == "NRML"
    assert nifty.last_price == Decimal("23352.0")
    assert nifty.instrument_id == "13238786"
    assert nifty.asset_type is AssetType.DERIVATIVE


def test_orders_map_status_side_type_and_our_tag(kite, adapter):
    kite.get(f"{API}/orders", json=payload("orders.json"))
    done, rejected = adapter.orders()

    assert done.order_id == "250117000123456"
    assert done.status is OrderStatus.COMPLETE
    assert (done.side, done.order_type, done.product) == (Side.BUY, OrderType.MARKET, "MIS")
    assert (done.quantity, done.filled_quantity) == (20, 20)
    assert done.price is None  # a market order has no price
    assert done.average_price == Decimal("765.2")
    assert done.tag == "sim1"
    assert done.placed_at == datetime(2025, 1, 17, 9, 20, 11, tzinfo=IST)
    assert rejected.status is OrderStatus.REJECTED
    assert rejected.price == Decimal("1514.6")
    assert rejected.status_message.startswith("Insufficient funds")
    assert rejected.tag == ""


def test_find_order_reconciles_by_tag(kite, adapter):
    kite.get(f"{API}/orders", json=payload("orders.json"))
    assert adapter.find_order("sim1").order_id == "250117000123456"


@pytest.mark.parametrize(
    ("word", "status"),
    [
        ("TRIGGER PENDING", OrderStatus.TRIGGER_PENDING),
        ("OPEN", OrderStatus.OPEN),
        ("CANCELLED", OrderStatus.CANCELLED),
        ("VALIDATION PENDING", OrderStatus.PENDING),
        ("AMO REQ RECEIVED", OrderStatus.PENDING),
        ("MODIFY PENDING", OrderStatus.OPEN),
    ],
)
def test_intermediate_order_states(kite, adapter, word, status):
    body = payload("orders.json")
    body["data"] = [dict(body["data"][0], status=word)]
    kite.get(f"{API}/orders", json=body)
    (order,) = adapter.orders()
    assert order.status is status
    assert order.broker_status == word


def test_trades_use_the_full_fill_timestamp(kite, adapter):
    kite.get(f"{API}/trades", json=payload("trades.json"))
    (trade,) = adapter.trades()
    assert (trade.trade_id, trade.order_id) == ("10000000", "250117000123456")
    assert (trade.symbol, trade.side, trade.quantity) == ("SBIN", Side.BUY, 20)
    assert trade.price == Decimal("765.2")
    assert trade.traded_at == datetime(2025, 1, 17, 9, 20, 11, tzinfo=IST)


def test_quotes_give_last_price_and_previous_close_and_skip_unknowns(kite, adapter):
    kite.get(f"{API}/quote/ohlc", json=payload("quote_ohlc.json"))
    infy, sbin, ghost = (
        InstrumentRef("NSE", "INFY"),
        InstrumentRef("BSE", "SBIN"),
        InstrumentRef("NSE", "NOSUCH"),
    )
    quotes = adapter.quotes([infy, sbin, ghost])

    assert parse_qs(urlsplit(kite.calls[0].request.url).query) == {
        "i": ["NSE:INFY", "BSE:SBIN", "NSE:NOSUCH"]
    }
    assert quotes[infy].last_price == Decimal("1512.35")
    assert quotes[infy].previous_close == Decimal("1498.1")
    assert quotes[sbin].previous_close == Decimal("766.4")
    assert ghost not in quotes


# --- Instrument master -------------------------------------------------------------------------
def master(content: bytes, **headers):
    return {"body": content, "content_type": "text/csv", "headers": headers}


@pytest.mark.parametrize("encoding", ["gzip-body", "plain"])
def test_instrument_master_parses_the_gzipped_csv(kite, adapter, encoding):
    csv_bytes = (PAYLOADS / "instruments.csv").read_bytes()
    body = gzip.compress(csv_bytes) if encoding == "gzip-body" else csv_bytes
    kite.get(f"{API}/instruments", **master(body))

    instruments = adapter.instruments()

    assert kite.calls[0].request.headers["Authorization"] == f"token {API_KEY}:{ACCESS}"
    by_key = {(i.exchange, i.symbol): i for i in instruments}
    assert len(instruments) == 5
    infy = by_key[("NSE", "INFY")]
    assert (infy.instrument_id, infy.segment, infy.instrument_type) == ("408065", "NSE", "EQ")
    assert infy.isin == ""  # Kite's master has no ISIN column
    assert infy.expiry is None and infy.strike is None
    assert by_key[("BSE", "INFY")].instrument_id == "128053508"
    assert by_key[("NSE", "CENTRALBK")].tick_size == Decimal("0.01")
    future = by_key[("NFO", "NIFTY25JANFUT")]
    assert (future.lot_size, future.segment) == (75, "NFO-FUT")
    assert future.expiry.isoformat() == "2025-01-30"
    assert by_key[("NFO", "NIFTY25JAN23500CE")].strike == Decimal("23500")


@pytest.mark.parametrize(
    "content",
    [
        gzip.compress((PAYLOADS / "instruments.csv").read_bytes())[:60],
        b"instrument_token,tradingsymbol,exchange\n408065,INFY,NSE\n",
        (PAYLOADS / "instruments.csv").read_bytes().splitlines(keepends=True)[0],
        (PAYLOADS / "instruments.csv").read_bytes().replace(b"0.05,1,EQ", b"0.05,one,EQ"),
        b"\xff\xfe\x00garbage",
    ],
    ids=["truncated-gzip", "missing-columns", "header-only", "bad-number", "not-utf8"],
)
def test_a_corrupted_instrument_master_is_a_bad_response(kite, adapter, content):
    kite.get(f"{API}/instruments", **master(content))
    with pytest.raises(BadResponse) as caught:
        adapter.instruments()
    assert_clean(caught.value, "instruments")


def test_instrument_download_with_an_expired_session(kite, adapter):
    kite.get(f"{API}/instruments", json=payload("error_token.json"), status=403)
    with pytest.raises(TokenExpired):
        adapter.instruments()


# --- Errors on reads -------------------------------------------------------------------------
def kite_error(error_type, message="something"):
    return {"status": "error", "message": message, "data": None, "error_type": error_type}


READ_ERRORS = [
    ("token", {"json": payload("error_token.json"), "status": 403}, TokenExpired),
    ("rate-json", {"json": payload("error_rate_limit.json"), "status": 429}, RateLimited),
    ("rate-text", {"body": "Too many requests", "status": 429}, RateLimited),
    ("oms-down", {"json": kite_error("NetworkException"), "status": 503}, BrokerUnavailable),
    ("general-500", {"json": kite_error("GeneralException"), "status": 500}, BrokerUnavailable),
    ("data-502", {"json": kite_error("DataException"), "status": 502}, BrokerUnavailable),
    (
        "html-502",
        {"body": "<html><h1>502 Bad Gateway</h1></html>", "status": 502},
        BrokerUnavailable,
    ),
    ("input", {"json": kite_error("InputException"), "status": 400}, InvalidRequest),
    ("permission", {"json": kite_error("PermissionException"), "status": 403}, AuthError),
    ("200-error", {"json": kite_error("InputException"), "status": 200}, InvalidRequest),
    ("200-token", {"json": kite_error("TokenException"), "status": 200}, TokenExpired),
    ("garbage", {"body": "{not json", "status": 200}, BadResponse),
    ("html-200", {"body": "<html><body>Kite is down</body></html>", "status": 200}, BadResponse),
    (
        "truncated",
        {"body": '{"status": "success", "data": [{"tradingsym', "status": 200},
        BadResponse,
    ),
    ("list", {"json": [1, 2], "status": 200}, BadResponse),
    ("no-data", {"json": {"status": "success"}, "status": 200}, BadResponse),
]


@pytest.mark.parametrize(
    ("stub", "expected"),
    [(stub, expected) for _, stub, expected in READ_ERRORS],
    ids=[name for name, _, _ in READ_ERRORS],
)
def test_read_errors_land_in_the_taxonomy(kite, adapter, stub, expected):
    kite.get(f"{API}/portfolio/holdings", **stub)
    with pytest.raises(expected) as caught:
        adapter.holdings()
    assert_clean(caught.value, "portfolio/holdings")


def test_429_is_rate_limited_not_an_outage_and_honours_retry_after(kite, adapter):
    kite.get(
        f"{API}/portfolio/holdings",
        json=payload("error_rate_limit.json"),
        status=429,
        headers={"Retry-After": "3"},
    )
    with pytest.raises(RateLimited) as caught:
        adapter.holdings()
    assert caught.value.retry_after == 3.0
    assert caught.value.retryable


def test_503_network_exception_is_an_outage_not_a_rate_limit(kite, adapter):
    kite.get(f"{API}/portfolio/holdings", json=kite_error("NetworkException"), status=503)
    with pytest.raises(BrokerUnavailable) as caught:
        adapter.holdings()
    assert not isinstance(caught.value, RateLimited)
    assert caught.value.retryable


def test_an_error_echoing_the_token_is_redacted(kite, adapter):
    body = kite_error("TokenException", f"Incorrect `api_key` or `access_token` {ACCESS}")
    kite.get(f"{API}/user/profile", json=body, status=403)
    with pytest.raises(TokenExpired) as caught:
        adapter.profile()
    assert_clean(caught.value, "user/profile")


BROKEN_ROWS = [
    ("orders.json", "orders", lambda row: row.update(status="TELEPORTED")),
    ("orders.json", "orders", lambda row: row.update(transaction_type="HOLD")),
    ("orders.json", "orders", lambda row: row.update(order_type="ICEBERG-ISH")),
    ("orders.json", "orders", lambda row: row.pop("order_id")),
    ("holdings.json", "portfolio/holdings", lambda row: row.pop("quantity")),
    ("holdings.json", "portfolio/holdings", lambda row: row.update(average_price="NaN")),
    ("holdings.json", "portfolio/holdings", lambda row: row.update(quantity="ten")),
    ("trades.json", "trades", lambda row: row.update(fill_timestamp="yesterday")),
]


@pytest.mark.parametrize(
    ("sample", "endpoint", "breaker"),
    BROKEN_ROWS,
    ids=[
        "unknown-status",
        "unknown-side",
        "unknown-type",
        "no-order-id",
        "no-quantity",
        "nan-price",
        "text-quantity",
        "bad-timestamp",
    ],
)
def test_missing_fields_and_unknown_enums_are_bad_responses(
    kite, adapter, sample, endpoint, breaker
):
    body = payload(sample)
    breaker(body["data"][0])
    kite.get(f"{API}/{endpoint}", json=body)
    method = {"orders": adapter.orders, "trades": adapter.trades}.get(endpoint, adapter.holdings)
    with pytest.raises(BadResponse) as caught:
        method()
    assert_clean(caught.value, endpoint)


def test_positions_without_the_net_book_are_a_bad_response(kite, adapter):
    kite.get(f"{API}/portfolio/positions", json={"status": "success", "data": {"day": []}})
    with pytest.raises(BadResponse):
        adapter.positions()


def test_a_read_timeout_is_an_outage(kite, adapter):
    kite.get(f"{API}/user/profile", body=requests.ReadTimeout())
    with pytest.raises(BrokerUnavailable) as caught:
        adapter.profile()
    assert_clean(caught.value, "user/profile")


def test_calls_without_a_session_need_a_login(kite, request):
    adapter = build(request.node.name, logged_in=False)
    with pytest.raises(TokenExpired):
        adapter.holdings()
    assert len(kite.calls) == 0


# --- Orders ------------------------------------------------------------------------------------
def limit_buy(**changes):
    fields = {
        "exchange": "NSE",
        "symbol": "INFY",
        "side": Side.BUY,
        "quantity": 5,
        "order_type": OrderType.LIMIT,
        "product": Product.CNC,
        "price": Decimal("1400.05"),
        "tag": "ourTag0001",
    }
    return OrderRequest(**{**fields, **changes})


def test_place_limit_order_sends_a_form_with_our_tag(kite, adapter):
    kite.post(f"{API}/orders/regular", json=payload("order_place.json"))
    ack = adapter.place_order(limit_buy())
    assert ack.order_id == "250117000123456"
    sent = kite.calls[0].request
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert sent.headers["Authorization"] == f"token {API_KEY}:{ACCESS}"
    assert parse_qs(sent.body) == {
        "exchange": ["NSE"],
        "tradingsymbol": ["INFY"],
        "transaction_type": ["BUY"],
        "quantity": ["5"],
        "product": ["CNC"],
        "order_type": ["LIMIT"],
        "validity": ["DAY"],
        "price": ["1400.05"],
        "tag": ["ourTag0001"],
    }


def test_market_and_sl_m_orders_carry_market_protection(kite, adapter):
    kite.post(f"{API}/orders/regular", json=payload("order_place.json"))
    kite.post(f"{API}/orders/regular", json=payload("order_place.json"))
    adapter.place_order(limit_buy(order_type=OrderType.MARKET, price=None, side=Side.SELL))
    adapter.place_order(
        limit_buy(order_type=OrderType.SL_M, price=None, trigger_price=Decimal("1390"))
    )
    market, stop = (parse_qs(call.request.body) for call in kite.calls)
    assert market["market_protection"] == ["-1"]
    assert market["transaction_type"] == ["SELL"]
    assert "price" not in market
    assert stop["market_protection"] == ["-1"]
    assert stop["trigger_price"] == ["1390"]


def test_a_tag_longer_than_kite_allows_is_refused_before_sending(kite, adapter):
    with pytest.raises(InvalidRequest) as caught:
        adapter.place_order(limit_buy(tag="x" * 21))
    assert len(kite.calls) == 0
    assert caught.value.broker == "zerodha"


ORDER_ERRORS = [
    ("margin", {"json": kite_error("MarginException", "Insufficient funds"), "status": 400}),
    ("holding", {"json": kite_error("HoldingException", "Insufficient holdings"), "status": 400}),
    ("order", {"json": kite_error("OrderException", "Order rejected by RMS"), "status": 400}),
    ("input-200", {"json": kite_error("InputException", "Invalid `price`."), "status": 200}),
]


@pytest.mark.parametrize(
    "stub", [s for _, s in ORDER_ERRORS], ids=[name for name, _ in ORDER_ERRORS]
)
def test_refused_orders_are_rejections(kite, adapter, stub):
    kite.post(f"{API}/orders/regular", **stub)
    with pytest.raises(InvalidRequest) as caught:
        adapter.place_order(limit_buy())
    assert not isinstance(caught.value, OrderStateUnknown)
    assert caught.value.permanent
    assert_clean(caught.value, "orders")


def test_margin_exception_is_an_order_rejection(kite, adapter):
    kite.post(f"{API}/orders/regular", json=kite_error("MarginException"), status=400)
    with pytest.raises(OrderRejected):
        adapter.place_order(limit_buy())


UNKNOWN_OUTCOMES = [
    ("timeout", {"body": requests.ReadTimeout()}),
    ("429", {"json": payload("error_rate_limit.json"), "status": 429}),
    ("503", {"json": kite_error("NetworkException"), "status": 503}),
    ("504-html", {"body": "<html><h1>504 Gateway Time-out</h1></html>", "status": 504}),
    ("garbage-200", {"body": "{half a rep", "status": 200}),
    ("no-order-id", {"json": {"status": "success", "data": {}}, "status": 200}),
]


@pytest.mark.parametrize(
    "stub", [s for _, s in UNKNOWN_OUTCOMES], ids=[name for name, _ in UNKNOWN_OUTCOMES]
)
def test_an_order_write_without_a_clear_answer_is_state_unknown(kite, adapter, stub):
    kite.post(f"{API}/orders/regular", **stub)
    with pytest.raises(OrderStateUnknown) as caught:
        adapter.place_order(limit_buy())
    assert caught.value.tag == "ourTag0001"
    assert_clean(caught.value, "orders")


def test_modify_sends_only_what_changes(kite, adapter):
    kite.put(f"{API}/orders/regular/250117000123456", json=payload("order_place.json"))
    change = OrderModification(order_id="250117000123456", quantity=7, price=Decimal("1401.10"))
    assert adapter.modify_order(change).order_id == "250117000123456"
    sent = kite.calls[0].request
    assert parse_qs(sent.body) == {"quantity": ["7"], "price": ["1401.10"]}
    assert sent.headers["X-Kite-Version"] == "3"


def test_cancel_deletes_the_regular_order(kite, adapter):
    kite.delete(f"{API}/orders/regular/250117000123456", json=payload("order_place.json"))
    assert adapter.cancel_order("250117000123456").order_id == "250117000123456"


def test_cancel_that_times_out_is_state_unknown(kite, adapter):
    kite.delete(f"{API}/orders/regular/250117000123456", body=requests.ReadTimeout())
    with pytest.raises(OrderStateUnknown):
        adapter.cancel_order("250117000123456")
