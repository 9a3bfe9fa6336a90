"""Fyers adapter: mapping of the documented v3 payloads and errors, stubbed at the real hosts."""

import base64
import hashlib
import json
import uuid
from datetime import UTC, datetime
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
    Window,
)

PAYLOADS = Path(__file__).parent / "payloads" / "fyers"
API = "https://api-t1.fyers.in"
PUBLIC = "https://public.fyers.in"
APP_ID = "XC4EOD67IM-100"
SECRET = "FYTESTSECRET9"
PIN = "4729"
APP_ID_HASH = hashlib.sha256(f"{APP_ID}:{SECRET}".encode()).hexdigest()
APP = AppCredentials(
    api_key=APP_ID, api_secret=SECRET, redirect_uri="https://app.example/cb", pin=PIN
)


def jwt(**claims) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


ACCESS = jwt(sub="access_token", fy_id="XA01234", exp=1893456000)
REFRESH = jwt(sub="refresh_token", fy_id="XA01234", exp=1894752000)
SECRETS = (ACCESS, REFRESH, SECRET, PIN, APP_ID_HASH)


def payload(name: str):
    return json.loads((PAYLOADS / f"{name}.json").read_text())


@pytest.fixture(autouse=True)
def real_hosts(settings):
    settings.BROKER_HOSTS = {
        **settings.BROKER_HOSTS,
        "fyers": dict(settings.BROKER_REAL_HOSTS["fyers"]),
    }


@pytest.fixture
def fyers():
    with responses.RequestsMock() as mock:
        yield mock


def build(*, logged_in: bool = True, app: AppCredentials = APP):
    tokens = None
    if logged_in:
        expires = datetime(2030, 1, 1, 0, 30, tzinfo=UTC)
        tokens = Tokens(ACCESS, expires, refresh_token=REFRESH, account_id="XA01234")
    # One account per adapter: each gets its own rate-limit bucket.
    return registry.build("fyers", app=app, tokens=tokens, account=f"fyers-{uuid.uuid4().hex}")


def assert_clean(error: BrokerError, endpoint: str):
    assert error.broker == "fyers"
    assert error.endpoint == endpoint
    for secret in SECRETS:
        assert secret not in str(error)


def sent_json(call) -> dict:
    return json.loads(call.request.body)


# --- Capabilities and login -----------------------------------------------------------------
def test_capabilities_describe_an_oauth_login_with_refresh():
    caps = registry.capabilities("fyers")
    assert caps.login_kind is LoginKind.OAUTH2
    assert caps.supports_refresh
    assert caps.rate_limits["default"] == (Window(10), Window(200, 60))  # both documented caps
    assert {"NSE", "BSE", "NFO"} <= caps.exchanges
    assert set(OrderType) == caps.order_types


def test_authorization_url_is_the_real_generate_authcode_with_state():
    url = build(logged_in=False).authorization_url(state="st-42", redirect_uri=APP.redirect_uri)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{API}/api/v3/generate-authcode"
    assert parse_qs(parts.query) == {
        "client_id": [APP_ID],
        "redirect_uri": [APP.redirect_uri],
        "response_type": ["code"],
        "state": ["st-42"],
    }


def test_authorization_url_carries_a_pkce_challenge_when_given():
    url = build(logged_in=False).authorization_url(
        state="st-42", redirect_uri="", code_challenge="chal-123"
    )
    query = parse_qs(urlsplit(url).query)
    assert query["code_challenge"] == ["chal-123"]
    assert query["redirect_uri"] == [APP.redirect_uri]  # the app's own when none is given


def test_complete_login_sends_the_app_id_hash_and_reads_expiry_from_the_jwt(fyers):
    access = jwt(sub="access_token", fy_id="XA01234", exp=1737158400)
    answer = {**payload("token_exchange"), "access_token": access, "refresh_token": REFRESH}
    fyers.post(f"{API}/api/v3/validate-authcode", json=answer)
    adapter = build(logged_in=False)

    tokens = adapter.complete_login(
        {"s": "ok", "code": "200", "auth_code": "eyJauth.code.x", "state": "st-42"}
    )

    request = fyers.calls[0].request
    assert sent_json(fyers.calls[0]) == {
        "grant_type": "authorization_code",
        "appIdHash": APP_ID_HASH,
        "code": "eyJauth.code.x",
    }
    assert request.headers["Content-Type"] == "application/json"
    assert "Authorization" not in request.headers
    assert tokens.access_token == access
    assert tokens.refresh_token == REFRESH
    assert tokens.account_id == "XA01234"
    assert tokens.expires_at == datetime(2025, 1, 18, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2025, 1, 17, 5, 59, tzinfo=IST), datetime(2025, 1, 17, 6, 0, tzinfo=IST)),
        (datetime(2025, 1, 17, 6, 0, tzinfo=IST), datetime(2025, 1, 18, 6, 0, tzinfo=IST)),
        (datetime(2025, 1, 17, 23, 30, tzinfo=IST), datetime(2025, 1, 18, 6, 0, tzinfo=IST)),
    ],
)
def test_a_token_without_a_readable_exp_expires_at_the_next_0600_ist(fyers, now, expected):
    # The sample's tokens are placeholders with no decodable payload.
    fyers.post(f"{API}/api/v3/validate-authcode", json=payload("token_exchange"))
    with time_machine.travel(now, tick=False):
        tokens = build(logged_in=False).complete_login({"s": "ok", "auth_code": "abc"})
    assert tokens.expires_at == expected


def test_the_jwt_exp_wins_over_the_clock_rule(fyers):
    exp = datetime(2025, 1, 17, 23, 59, 59, tzinfo=IST)
    access = jwt(sub="access_token", fy_id="XA01234", exp=int(exp.timestamp()))
    fyers.post(
        f"{API}/api/v3/validate-authcode",
        json={**payload("token_exchange"), "access_token": access},
    )
    with time_machine.travel(datetime(2025, 1, 17, 5, 0, tzinfo=IST), tick=False):
        tokens = build(logged_in=False).complete_login({"s": "ok", "auth_code": "abc"})
    assert tokens.expires_at == exp


@pytest.mark.parametrize(
    "params",
    [
        {"error": "access_denied", "state": "st-42"},
        {"s": "error", "code": "-1", "message": "user cancelled"},
        {"s": "ok", "code": "200", "state": "st-42"},
    ],
)
def test_a_denied_or_empty_callback_is_an_auth_error_without_any_call(fyers, params):
    with pytest.raises(AuthError) as caught:
        build(logged_in=False).complete_login(params)
    assert caught.value.broker == "fyers"
    assert not fyers.calls


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (-437, "invalid auth code"),
        (-371, "Please provide sha256 hash of appId and app secret"),
        (-441, "invalid grant type"),
        (-374, "Please provide authorization code"),
    ],
)
def test_a_refused_token_exchange_is_an_auth_error(fyers, code, message):
    body = {"s": "error", "code": code, "message": message}
    fyers.post(f"{API}/api/v3/validate-authcode", json=body, status=400)
    with pytest.raises(AuthError) as caught:
        build(logged_in=False).complete_login({"s": "ok", "auth_code": "eyJauth.code.x"})
    assert not isinstance(caught.value, TokenExpired)
    assert caught.value.code == str(code)
    assert_clean(caught.value, "validate-authcode")
    assert "eyJauth.code.x" not in str(caught.value)


def test_refresh_sends_the_pin_and_keeps_the_refresh_token(fyers):
    exp = datetime(2025, 1, 19, 0, 30, tzinfo=UTC)
    access = jwt(sub="access_token", fy_id="XA01234", exp=int(exp.timestamp()))
    fyers.post(
        f"{API}/api/v3/validate-refresh-token",
        json={**payload("refresh_token"), "access_token": access},
    )
    tokens = build().refresh()
    assert sent_json(fyers.calls[0]) == {
        "grant_type": "refresh_token",
        "appIdHash": APP_ID_HASH,
        "refresh_token": REFRESH,
        "pin": PIN,
    }
    assert "Authorization" not in fyers.calls[0].request.headers
    assert (tokens.access_token, tokens.refresh_token) == (access, REFRESH)
    assert tokens.expires_at == exp
    assert tokens.account_id == "XA01234"


def test_an_invalid_refresh_token_means_logging_in_again(fyers):
    body = {"code": -501, "message": "Please provide valid refresh token", "s": "error"}
    fyers.post(f"{API}/api/v3/validate-refresh-token", json=body, status=400)
    with pytest.raises(TokenExpired) as caught:
        build().refresh()
    assert_clean(caught.value, "refresh")


def test_refresh_without_a_stored_pin_fails_before_calling(fyers):
    app = AppCredentials(api_key=APP_ID, api_secret=SECRET)
    with pytest.raises(AuthError):
        build(app=app).refresh()
    assert not fyers.calls


def test_logout_posts_with_the_auth_header(fyers):
    fyers.post(f"{API}/api/v3/logout", json={"s": "ok", "code": 200, "message": ""})
    build().logout()
    assert fyers.calls[0].request.headers["Authorization"] == f"{APP_ID}:{ACCESS}"


# --- Reads ------------------------------------------------------------------------------------
def test_reads_send_the_app_id_and_token_without_a_scheme_word(fyers):
    fyers.get(f"{API}/api/v3/profile", json=payload("profile"))
    build().profile()
    headers = fyers.calls[0].request.headers
    assert headers["Authorization"] == f"{APP_ID}:{ACCESS}"
    assert headers["version"] == "3"


def test_profile_is_read_from_the_data_wrapper(fyers):
    fyers.get(f"{API}/api/v3/profile", json=payload("profile"))
    profile = build().profile()
    assert (profile.account_id, profile.name, profile.email) == (
        "XA01234",
        "ASHA KUMAR",
        "trader@example.com",
    )


def test_funds_are_keyed_on_row_ids(fyers):
    fyers.get(f"{API}/api/v3/funds", json=payload("funds"))
    funds = build().funds()
    assert funds.available == Decimal("148064.5")
    assert funds.used == Decimal("3061.0")
    assert funds.total == Decimal("150000.5")
    assert funds.collateral == Decimal("0.0")


def test_holdings_keep_isin_and_fyers_ticker_and_strip_the_series(fyers):
    fyers.get(f"{API}/api/v3/holdings", json=payload("holdings"))
    sbin, infy = build().holdings()
    assert (sbin.exchange, sbin.symbol, sbin.isin) == ("NSE", "SBIN", "INE062A01020")
    assert sbin.quantity == 16 and isinstance(sbin.quantity, int)
    assert sbin.average_price == Decimal("801.78")
    assert sbin.last_price == Decimal("762.45")
    assert (sbin.broker_symbol, sbin.instrument_id) == ("NSE:SBIN-EQ", "NSE:SBIN-EQ")
    assert sbin.asset_type is AssetType.EQUITY
    assert (infy.symbol, infy.quantity) == ("INFY", 5)


def test_a_bse_holding_is_on_bse_with_its_group_suffix_stripped(fyers):
    body = payload("holdings")
    body["holdings"][0] |= {"symbol": "BSE:RELIANCE-A", "exchange": 12, "isin": "INE002A01018"}
    fyers.get(f"{API}/api/v3/holdings", json=body)
    reliance = build().holdings()[0]
    assert (reliance.exchange, reliance.symbol) == ("BSE", "RELIANCE")
    assert reliance.broker_symbol == "BSE:RELIANCE-A"


def test_positions_map_products_segments_and_pnl(fyers):
    fyers.get(f"{API}/api/v3/positions", json=payload("positions"))
    sbin, nifty = build().positions()
    assert (sbin.exchange, sbin.symbol, sbin.product) == ("NSE", "SBIN", "MIS")
    assert (sbin.quantity, sbin.buy_quantity, sbin.sell_quantity) == (20, 20, 0)
    assert sbin.average_price == Decimal("765.2")
    assert sbin.unrealized_pnl == Decimal("56.0")
    assert sbin.broker_symbol == "NSE:SBIN-EQ"
    assert (nifty.exchange, nifty.symbol, nifty.product) == ("NFO", "NIFTY25JANFUT", "NRML")
    assert nifty.asset_type is AssetType.DERIVATIVE
    assert nifty.realized_pnl == Decimal("1125.0")
    assert nifty.quantity == 0


def test_a_short_position_has_a_negative_quantity(fyers):
    body = payload("positions")
    body["netPositions"][0] |= {"netQty": -20, "side": -1, "buyQty": 0, "sellQty": 20}
    fyers.get(f"{API}/api/v3/positions", json=body)
    assert build().positions()[0].quantity == -20


def test_orders_map_numeric_codes_and_read_the_tag_back(fyers):
    fyers.get(f"{API}/api/v3/orders", json=payload("orders"))
    filled, rejected = build().orders()
    assert filled.order_id == "25011700012345"
    assert filled.status is OrderStatus.COMPLETE and filled.broker_status == "TRADED"
    assert (filled.side, filled.order_type, filled.product) == (Side.BUY, OrderType.MARKET, "MIS")
    assert (filled.quantity, filled.filled_quantity) == (20, 20)
    assert filled.average_price == Decimal("765.2")
    assert filled.price is None
    assert filled.tag == "sim1"
    assert filled.placed_at == datetime(2025, 1, 17, 9, 20, 11, tzinfo=IST)
    assert rejected.status is OrderStatus.REJECTED
    assert rejected.status_message == "RMS:Margin Exceeds"
    assert (rejected.order_type, rejected.price) == (OrderType.LIMIT, Decimal("1514.6"))
    assert rejected.product == "CNC"


@pytest.mark.parametrize(
    ("status", "order_type", "expected"),
    [
        (6, 1, OrderStatus.OPEN),
        (6, 4, OrderStatus.TRIGGER_PENDING),
        (4, 1, OrderStatus.PENDING),
        (1, 1, OrderStatus.CANCELLED),
        (7, 1, OrderStatus.CANCELLED),
    ],
)
def test_order_status_codes(fyers, status, order_type, expected):
    body = payload("orders")
    body["orderBook"] = [body["orderBook"][1] | {"status": status, "type": order_type}]
    fyers.get(f"{API}/api/v3/orders", json=body)
    assert build().orders()[0].status is expected


def test_find_order_reconciles_by_tag(fyers):
    fyers.get(f"{API}/api/v3/orders", json=payload("orders"))
    assert build().find_order("sim1").order_id == "25011700012345"


def test_trades(fyers):
    fyers.get(f"{API}/api/v3/tradebook", json=payload("tradebook"))
    (trade,) = build().trades()
    assert (trade.trade_id, trade.order_id) == ("52605023", "25011700012345")
    assert (trade.exchange, trade.symbol, trade.side) == ("NSE", "SBIN", Side.BUY)
    assert (trade.quantity, trade.price) == (20, Decimal("765.2"))


def test_quotes_ask_the_data_host_and_key_answers_by_our_refs(fyers):
    fyers.get(f"{API}/data/quotes", json=payload("quotes"))
    ref = InstrumentRef("NSE", "SBIN")
    quotes = build().quotes([ref])
    assert parse_qs(urlsplit(fyers.calls[0].request.url).query) == {"symbols": ["NSE:SBIN-EQ"]}
    assert quotes[ref].last_price == Decimal("768.0")
    assert quotes[ref].previous_close == Decimal("766.4")


def test_quotes_go_in_batches_of_50_and_skip_symbols_that_fail(fyers):
    refs = [InstrumentRef("NSE", f"S{i}") for i in range(51)]
    first = payload("quotes")
    first["d"] = [
        {"n": "NSE:S0-EQ", "s": "ok", "v": first["d"][0]["v"]},
        {"n": "NSE:S1-EQ", "s": "error", "v": {"code": -300, "errmsg": "invalid symbol"}},
    ]
    fyers.get(f"{API}/data/quotes", json=first)
    fyers.get(f"{API}/data/quotes", json={"s": "ok", "code": 200, "message": "", "d": []})
    quotes = build().quotes(refs)
    sizes = [
        len(parse_qs(urlsplit(c.request.url).query)["symbols"][0].split(",")) for c in fyers.calls
    ]
    assert sizes == [50, 1]
    assert list(quotes) == [refs[0]]


# --- Instrument master --------------------------------------------------------------------------
NSE_CM = (
    "10100000003045,STATE BANK OF INDIA,0,1,0.05,INE062A01020,0915-1530|1815-1915:,"
    "2025-01-17,,NSE:SBIN-EQ,10,10,3045,SBIN,3045,-1.0,XX,10100000003045,None,0,0.0\n"
    "101000000026000,NIFTY 50,10,1,0.05,,0915-1530|1815-1915:,2025-01-17,,"
    "NSE:NIFTY50-INDEX,10,10,26000,NIFTY50,26000,-1.0,XX,101000000026000,None,0,0.0\n"
)
BSE_CM = (
    "12100000500325,RELIANCE INDUSTRIES LTD.,0,1,0.05,INE002A01018,0915-1530|1815-1915:,"
    "2025-01-17,,BSE:RELIANCE-A,12,10,500325,RELIANCE,500325,-1.0,XX,12100000500325,None,0,0.0\n"
)


def test_instruments_parse_the_headerless_masters(fyers):
    fyers.get(f"{PUBLIC}/sym_details/NSE_CM.csv", body=NSE_CM, content_type="text/csv")
    fyers.get(f"{PUBLIC}/sym_details/BSE_CM.csv", body=BSE_CM, content_type="text/csv")
    sbin, nifty, reliance = build(logged_in=False).instruments()
    assert (sbin.instrument_id, sbin.exchange, sbin.symbol) == ("NSE:SBIN-EQ", "NSE", "SBIN")
    assert (sbin.isin, sbin.name, sbin.segment) == ("INE062A01020", "STATE BANK OF INDIA", "NSE_CM")
    assert (sbin.lot_size, sbin.tick_size, sbin.instrument_type) == (1, Decimal("0.05"), "EQ")
    assert (nifty.symbol, nifty.isin, nifty.instrument_type) == ("NIFTY50", "", "INDEX")
    assert (reliance.exchange, reliance.symbol, reliance.isin) == (
        "BSE",
        "RELIANCE",
        "INE002A01018",
    )
    assert "Authorization" not in fyers.calls[0].request.headers


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("", 200),  # empty
        ("Fytoken,Symbol Details,Type\n1,2,3\n", 200),  # a header and too few columns
        (NSE_CM.replace("NSE:SBIN-EQ", "SBIN"), 200),  # the ticker column moved
        (NSE_CM.replace(",1,0.05,", ",one,0.05,", 1), 200),  # unreadable lot size
        (NSE_CM[:60], 200),  # truncated
        ("<html><body>AccessDenied</body></html>", 403),
        (b"\x1f\x8b\x08\x00\xff\xfe garbage", 200),
    ],
)
def test_a_corrupted_master_is_a_bad_response(fyers, body, status):
    fyers.get(f"{PUBLIC}/sym_details/NSE_CM.csv", body=body, status=status)
    with pytest.raises(BadResponse) as caught:
        build(logged_in=False).instruments()
    assert_clean(caught.value, "sym_details/NSE_CM.csv")


# --- Errors on reads ---------------------------------------------------------------------------
ERROR = payload("error")
RATE = payload("error_rate_limit")


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"json": ERROR, "status": 401}, TokenExpired),
        ({"json": ERROR, "status": 200}, TokenExpired),  # an error with HTTP 200
        ({"json": {"s": "error", "code": -8, "message": "Token expired"}}, TokenExpired),
        ({"json": RATE, "status": 429}, RateLimited),
        ({"json": RATE, "status": 200}, RateLimited),
        ({"body": "Too Many Requests", "status": 429}, RateLimited),
        (
            {"json": {"s": "error", "code": -96, "message": "Unexpected"}, "status": 500},
            BrokerUnavailable,
        ),
        (
            {"body": "<html><h1>503 Service Temporarily Unavailable</h1></html>", "status": 503},
            BrokerUnavailable,
        ),
        ({"body": "", "status": 502}, BrokerUnavailable),
        ({"json": {"s": "error", "code": -202, "message": "Connection error"}}, BrokerUnavailable),
        (
            {"json": {"s": "error", "code": -50, "message": "Invalid parameters"}, "status": 400},
            InvalidRequest,
        ),
        (
            {"json": {"s": "error", "code": -1, "message": "No permission"}, "status": 403},
            AuthError,
        ),
        ({"body": "not json at all{"}, BadResponse),
        ({"body": "<!DOCTYPE html><html><body>Login</body></html>"}, BadResponse),
        ({"body": '{"s":"ok","code":200,"holdings":[{"holdingType":"HLD","quant'}, BadResponse),
        ({"json": {"s": "ok", "code": 200, "message": ""}}, BadResponse),  # no holdings key
        ({"json": {"s": "maybe", "code": 200}}, BadResponse),
        ({"json": ["s", "ok"]}, BadResponse),
    ],
)
def test_read_errors_land_in_the_taxonomy(fyers, kwargs, expected):
    fyers.get(f"{API}/api/v3/holdings", **kwargs)
    with pytest.raises(expected) as caught:
        build().holdings()
    assert_clean(caught.value, "holdings")


def test_a_vendor_message_echoing_the_token_is_redacted(fyers):
    body = {"s": "error", "code": -16, "message": f"Invalid token {APP_ID}:{ACCESS}"}
    fyers.get(f"{API}/api/v3/funds", json=body, status=401)
    with pytest.raises(TokenExpired) as caught:
        build().funds()
    assert_clean(caught.value, "funds")


def test_rate_limit_reads_the_retry_after_headers(fyers):
    fyers.get(f"{API}/api/v3/orders", json=RATE, status=429, headers={"X-Retry-After-Ms": "2500"})
    with pytest.raises(RateLimited) as caught:
        build().orders()
    assert caught.value.retry_after == 2.5


def test_quotes_token_error_with_http_200(fyers):
    body = {"s": "error", "code": -15, "message": "Please provide valid token"}
    fyers.get(f"{API}/data/quotes", json=body)
    with pytest.raises(TokenExpired) as caught:
        build().quotes([InstrumentRef("NSE", "SBIN")])
    assert_clean(caught.value, "quotes")


@pytest.mark.parametrize(
    ("change", "endpoint", "path", "key"),
    [
        ({"status": 9}, "orders", "/api/v3/orders", "orderBook"),
        ({"side": 0}, "orders", "/api/v3/orders", "orderBook"),
        ({"type": 7}, "orders", "/api/v3/orders", "orderBook"),
        ({"productType": "SUPERCNC"}, "orders", "/api/v3/orders", "orderBook"),
        ({"exchange": 99}, "orders", "/api/v3/orders", "orderBook"),
        ({"filledQty": None}, "orders", "/api/v3/orders", "orderBook"),
        ({"costPrice": "NaN"}, "holdings", "/api/v3/holdings", "holdings"),
        ({"costPrice": -801.78}, "holdings", "/api/v3/holdings", "holdings"),
        ({"symbol": "SBIN-EQ"}, "holdings", "/api/v3/holdings", "holdings"),
    ],
)
def test_unknown_enums_and_odd_values_are_bad_responses(fyers, change, endpoint, path, key):
    body = payload("orders" if key == "orderBook" else "holdings")
    body[key][0] |= change
    fyers.get(f"{API}{path}", json=body)
    with pytest.raises(BadResponse) as caught:
        getattr(build(), endpoint)()
    assert_clean(caught.value, endpoint)


def test_a_missing_field_is_a_bad_response(fyers):
    body = payload("positions")
    del body["netPositions"][0]["netAvg"]
    fyers.get(f"{API}/api/v3/positions", json=body)
    with pytest.raises(BadResponse) as caught:
        build().positions()
    assert_clean(caught.value, "positions")


def test_calls_without_a_session_are_refused_locally(fyers):
    with pytest.raises(TokenExpired):
        build(logged_in=False).holdings()
    assert not fyers.calls


# --- Writes -----------------------------------------------------------------------------------
LIMIT_BUY = OrderRequest(
    exchange="NSE",
    symbol="SBIN",
    side=Side.BUY,
    quantity=10,
    order_type=OrderType.LIMIT,
    product=Product.CNC,
    price=Decimal("760.05"),
    tag="rt42x",
)


def test_place_order_sends_fyers_codes_and_the_tag(fyers):
    fyers.post(f"{API}/api/v3/orders/sync", json=payload("order_place"))
    ack = build().place_order(LIMIT_BUY)
    assert ack.order_id == "25011700012345"
    assert sent_json(fyers.calls[0]) == {
        "symbol": "NSE:SBIN-EQ",
        "qty": 10,
        "type": 1,
        "side": 1,
        "productType": "CNC",
        "limitPrice": 760.05,
        "stopPrice": 0,
        "validity": "DAY",
        "disclosedQty": 0,
        "offlineOrder": False,
        "stopLoss": 0,
        "takeProfit": 0,
        "orderTag": "rt42x",
    }
    assert fyers.calls[0].request.headers["Authorization"] == f"{APP_ID}:{ACCESS}"


def test_a_stop_sell_on_bse_uses_the_instrument_id_as_the_ticker(fyers):
    fyers.post(f"{API}/api/v3/orders/sync", json=payload("order_place"))
    order = OrderRequest(
        exchange="BSE",
        symbol="RELIANCE",
        side=Side.SELL,
        quantity=4,
        order_type=OrderType.SL_M,
        product=Product.MIS,
        trigger_price=Decimal("2800"),
        instrument_id="BSE:RELIANCE-T",
    )
    build().place_order(order)
    sent = sent_json(fyers.calls[0])
    assert (sent["symbol"], sent["side"], sent["type"]) == ("BSE:RELIANCE-T", -1, 3)
    assert (sent["productType"], sent["stopPrice"]) == ("INTRADAY", 2800.0)
    assert "orderTag" not in sent


@pytest.mark.parametrize("tag", ["x" * 31, "has-dash", "with space"])
def test_a_tag_fyers_cannot_carry_is_refused_before_sending(fyers, tag):
    with pytest.raises(InvalidRequest):
        build().place_order(OrderRequest(**{**LIMIT_BUY.__dict__, "tag": tag}))
    assert not fyers.calls


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"json": {"s": "error", "code": -99, "message": "RMS:Margin Exceeds"}}, OrderRejected),
        (
            {"json": {"s": "error", "code": -300, "message": "Invalid symbol"}, "status": 400},
            InvalidRequest,
        ),
        (
            {
                "json": {"s": "error", "code": -392, "message": "Price not a multiple of tick"},
                "status": 400,
            },
            InvalidRequest,
        ),
        ({"json": ERROR, "status": 401}, TokenExpired),
        ({"body": requests.ReadTimeout()}, OrderStateUnknown),
        ({"body": requests.ConnectionError("Connection aborted.")}, OrderStateUnknown),
        ({"json": RATE, "status": 429}, OrderStateUnknown),
        (
            {"json": {"s": "error", "code": -96, "message": "Unexpected"}, "status": 500},
            OrderStateUnknown,
        ),
        ({"body": "<html>504 Gateway Time-out</html>", "status": 504}, OrderStateUnknown),
        ({"body": "garbage{", "status": 200}, OrderStateUnknown),
        ({"json": {"s": "ok", "code": 1101, "message": "Order Submitted"}}, OrderStateUnknown),
    ],
)
def test_place_order_outcomes(fyers, kwargs, expected):
    fyers.post(f"{API}/api/v3/orders/sync", **kwargs)
    with pytest.raises(expected) as caught:
        build().place_order(LIMIT_BUY)
    assert_clean(caught.value, "place_order")
    if expected is OrderStateUnknown:
        assert caught.value.tag == "rt42x"


def test_modify_order_patches_only_what_changes(fyers):
    fyers.patch(
        f"{API}/api/v3/orders/sync",
        json={"s": "ok", "code": 1102, "message": "Successfully modified order", "id": "2501"},
    )
    change = OrderModification("2501", quantity=5, price=Decimal("761.10"))
    assert build().modify_order(change).order_id == "2501"
    assert sent_json(fyers.calls[0]) == {"id": "2501", "qty": 5, "limitPrice": 761.1}


def test_cancel_order_is_a_delete_with_a_json_body(fyers):
    fyers.delete(
        f"{API}/api/v3/orders/sync",
        json={"s": "ok", "code": 1103, "message": "Successfully cancelled order", "id": "2501"},
    )
    assert build().cancel_order("2501").order_id == "2501"
    assert sent_json(fyers.calls[0]) == {"id": "2501"}
    assert fyers.calls[0].request.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    ("code", "message"),
    [(-162, "Order already traded"), (-161, "Order already cancelled"), (-159, "Order not found")],
)
def test_cancelling_a_finished_or_unknown_order_is_an_invalid_request(fyers, code, message):
    fyers.delete(
        f"{API}/api/v3/orders/sync",
        json={"s": "error", "code": code, "message": message},
        status=400,
    )
    with pytest.raises(InvalidRequest) as caught:
        build().cancel_order("2501")
    assert not isinstance(caught.value, OrderStateUnknown)
    assert_clean(caught.value, "cancel_order")


def test_a_modify_that_times_out_is_unknown(fyers):
    fyers.patch(f"{API}/api/v3/orders/sync", body=requests.ReadTimeout())
    with pytest.raises(OrderStateUnknown) as caught:
        build().modify_order(OrderModification("2501", price=Decimal("761")))
    assert_clean(caught.value, "modify_order")
