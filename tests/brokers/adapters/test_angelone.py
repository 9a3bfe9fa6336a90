"""Angel One adapter: payload mapping and error mapping against stubbed real hosts."""

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
import responses
import time_machine

from brokers.adapters import angelone, registry
from brokers.errors import (
    AuthError,
    BadResponse,
    BrokerError,
    BrokerUnavailable,
    InvalidRequest,
    Maintenance,
    OrderRejected,
    OrderStateUnknown,
    RateLimited,
    TokenExpired,
)
from brokers.types import (
    AppCredentials,
    AssetType,
    InstrumentRef,
    OrderModification,
    OrderRequest,
    OrderStatus,
    OrderType,
    Product,
    Side,
    Tokens,
)

PAYLOADS = Path(__file__).parent / "payloads" / "angelone"
IST = ZoneInfo("Asia/Kolkata")
API = "https://apiconnect.angelone.in"
SECURE = API + "/rest/secure/angelbroking"
LOGIN_URL = API + "/rest/auth/angelbroking/user/v1/loginByPassword"
REFRESH_URL = API + "/rest/auth/angelbroking/jwt/v1/generateTokens"
MASTER_URL = "https://margincalculator.angelbroking.com/OpenAPI_File/files/OpenAPIScripMaster.json"
ACCESS = "eyJhbGciOiJIUzUxMiJ9.eyJ1c2VybmFtZSI6IkExMjM0NTYifQ.current-session-signature"
REFRESH = "refresh-token-value-0001"
API_KEY = "angel-test-key"
PIN, TOTP = "9876", "654321"


def payload(name):
    return json.loads((PAYLOADS / name).read_text())


@pytest.fixture(autouse=True)
def real_hosts(settings):
    settings.BROKER_HOSTS = {
        **settings.BROKER_HOSTS,
        "angelone": dict(settings.BROKER_REAL_HOSTS["angelone"]),
    }
    angelone._master_index.clear()
    yield
    angelone._master_index.clear()


@pytest.fixture
def stub():
    with responses.RequestsMock() as mock:
        yield mock


def build(request, tokens=True):
    # One limiter bucket per test: the documented 1/s caps would otherwise slow the suite.
    return registry.build(
        "angelone",
        app=AppCredentials(api_key=API_KEY, api_secret="", client_id="A123456"),
        tokens=Tokens(
            access_token=ACCESS,
            refresh_token=REFRESH,
            expires_at=datetime(2030, 1, 1, tzinfo=IST),
            account_id="A123456",
        )
        if tokens
        else None,
        account=f"X-{request.node.name}",
    )


@pytest.fixture
def adapter(request):
    return build(request)


def sent(call):
    return json.loads(call.request.body)


# --- Login, refresh, logout ------------------------------------------------------------------
def test_login_by_password_sends_pin_and_totp_with_the_client_headers(request, stub):
    stub.post(LOGIN_URL, json=payload("token.json"))
    adapter = build(request, tokens=False)
    with time_machine.travel(datetime(2026, 3, 10, 23, 59, 30, tzinfo=IST), tick=False):
        tokens = adapter.complete_login({"clientcode": "A123456", "pin": PIN, "totp": TOTP})

    call = stub.calls[0].request
    assert sent(stub.calls[0]) == {"clientcode": "A123456", "password": PIN, "totp": TOTP}
    assert call.headers["X-PrivateKey"] == API_KEY
    assert call.headers["X-UserType"] == "USER"
    assert call.headers["X-SourceID"] == "WEB"
    assert call.headers["Content-Type"] == "application/json"
    assert call.headers["Accept"] == "application/json"
    for header in ("X-ClientLocalIP", "X-ClientPublicIP", "X-MACAddress"):
        assert call.headers[header]
    assert "Authorization" not in call.headers
    data = payload("token.json")["data"]
    assert tokens.access_token == data["jwtToken"]  # bare JWT, no "Bearer " prefix
    assert tokens.refresh_token == data["refreshToken"]
    assert tokens.extra == {"feed_token": data["feedToken"]}
    assert tokens.account_id == "A123456"
    # Logged in 30 s before midnight IST: the session ends at that midnight.
    assert tokens.expires_at == datetime(2026, 3, 11, 0, 0, tzinfo=IST)


def test_a_login_just_after_midnight_lasts_until_the_next_midnight(request, stub):
    stub.post(LOGIN_URL, json=payload("token.json"))
    with time_machine.travel(datetime(2026, 3, 11, 0, 0, 1, tzinfo=IST), tick=False):
        tokens = build(request, tokens=False).complete_login(
            {"clientcode": "A123456", "pin": PIN, "totp": TOTP}
        )
    assert tokens.expires_at == datetime(2026, 3, 12, 0, 0, tzinfo=IST)


@pytest.mark.parametrize(
    "body",
    [
        {"status": False, "message": "Invalid totp", "errorcode": "AB1050", "data": None},
        {"status": False, "message": "Login Id or password is invalid", "errorcode": "AB1007"},
        {"success": False, "message": "Invalid API Key", "errorCode": "AG8004", "data": ""},
    ],
)
def test_refused_logins_are_auth_errors_without_the_secrets(request, stub, body):
    stub.post(LOGIN_URL, json=body)
    with pytest.raises(AuthError) as caught:
        build(request, tokens=False).complete_login(
            {"clientcode": "A123456", "pin": PIN, "totp": TOTP}
        )
    error = caught.value
    assert (error.broker, error.endpoint, error.code) == (
        "angelone",
        "loginByPassword",
        body.get("errorcode") or body.get("errorCode"),
    )
    assert PIN not in str(error) and TOTP not in str(error)


def test_login_needs_the_typed_totp(request, stub):
    with pytest.raises(InvalidRequest):
        build(request, tokens=False).complete_login({"clientcode": "A123456", "pin": PIN})
    assert not stub.calls


def test_publisher_redirect_gives_a_session_without_refresh(request, stub):
    adapter = build(request, tokens=False)
    url = adapter.authorization_url(state="st-1", redirect_uri="https://app.example/cb")
    assert url == (
        "https://smartapi.angelone.in/publisher-login?api_key=angel-test-key&state=st-1"
        "&redirect_url=https%3A%2F%2Fapp.example%2Fcb"
    )
    stub.get(SECURE + "/user/v1/getProfile", json=payload("profile.json"))
    jwt = "eyJhbGciOiJIUzUxMiJ9.eyJ1c2VybmFtZSI6IkExMjM0NTYifQ.from-redirect"
    tokens = adapter.complete_login({"auth_token": jwt, "feed_token": "feed-1", "state": "st-1"})
    assert stub.calls[0].request.headers["Authorization"] == f"Bearer {jwt}"
    assert (tokens.access_token, tokens.refresh_token, tokens.account_id) == (jwt, "", "A123456")
    with pytest.raises(TokenExpired):
        adapter.refresh()


def test_a_denied_publisher_login_is_an_auth_error(request):
    with pytest.raises(AuthError):
        build(request, tokens=False).complete_login({"error": "access_denied", "state": "s"})


def test_refresh_sends_the_refresh_token_and_the_current_jwt(adapter, stub):
    stub.post(REFRESH_URL, json=payload("token.json"))
    with time_machine.travel(datetime(2026, 3, 10, 15, 0, tzinfo=IST), tick=False):
        tokens = adapter.refresh()
    assert sent(stub.calls[0]) == {"refreshToken": REFRESH}
    assert stub.calls[0].request.headers["Authorization"] == f"Bearer {ACCESS}"
    assert tokens.access_token == payload("token.json")["data"]["jwtToken"]
    assert tokens.account_id == "A123456"
    assert tokens.expires_at == datetime(2026, 3, 11, tzinfo=IST)


def test_an_expired_refresh_token_means_log_in_again(adapter, stub):
    body = {"status": False, "message": "Refresh Token Expired", "errorcode": "AB8051"}
    stub.post(REFRESH_URL, json=body)
    with pytest.raises(TokenExpired) as caught:
        adapter.refresh()
    assert REFRESH not in str(caught.value) and ACCESS not in str(caught.value)


def test_logout_names_the_client(adapter, stub):
    done = {"status": True, "message": "SUCCESS", "errorcode": "", "data": ""}
    stub.post(SECURE + "/user/v1/logout", json=done)
    adapter.logout()
    assert sent(stub.calls[0]) == {"clientcode": "A123456"}


# --- Reads ----------------------------------------------------------------------------------
def test_profile(adapter, stub):
    stub.get(SECURE + "/user/v1/getProfile", json=payload("profile.json"))
    profile = adapter.profile()
    assert (profile.account_id, profile.name) == ("A123456", "ASHA KUMAR")
    assert "NFO" in profile.exchanges and "DELIVERY" in profile.products
    assert stub.calls[0].request.headers["Authorization"] == f"Bearer {ACCESS}"
    assert stub.calls[0].request.headers["X-PrivateKey"] == API_KEY


def test_funds_use_net_as_what_is_left_to_trade(adapter, stub):
    stub.get(SECURE + "/user/v1/getRMS", json=payload("funds.json"))
    funds = adapter.funds()
    assert funds.available == Decimal("22764.20")
    assert funds.used == Decimal("2235.80")
    assert funds.total == Decimal("25000.00")
    assert funds.collateral == Decimal(0)


def test_holdings(adapter, stub):
    stub.get(SECURE + "/portfolio/v1/getAllHolding", json=payload("holdings.json"))
    tata, sbi = adapter.holdings()
    assert (tata.symbol, tata.broker_symbol, tata.exchange) == ("TATASTEEL", "TATASTEEL-EQ", "NSE")
    assert (tata.isin, tata.instrument_id, tata.quantity) == ("INE081A01020", "3499", 2)
    assert tata.average_price == Decimal("111.87") and isinstance(tata.quantity, int)
    assert (tata.last_price, tata.close_price) == (Decimal("130.15"), Decimal("129.6"))
    assert (sbi.symbol, sbi.average_price, sbi.quantity) == ("SBIN", Decimal("573.1"), 8)


def test_an_empty_demat_is_no_holdings(adapter, stub):
    stub.get(
        SECURE + "/portfolio/v1/getAllHolding",
        json={"status": True, "message": "SUCCESS", "errorcode": "", "data": None},
    )
    assert adapter.holdings() == []


def test_positions(adapter, stub):
    stub.get(SECURE + "/order/v1/getPosition", json=payload("positions.json"))
    reliance, option = adapter.positions()
    assert (reliance.symbol, reliance.product, reliance.quantity) == ("RELIANCE", Product.CNC, 1)
    assert reliance.average_price == Decimal("2235.80")
    assert (reliance.instrument_id, reliance.broker_symbol) == ("2885", "RELIANCE-EQ")
    assert reliance.realized_pnl == 0 and reliance.unrealized_pnl is None
    assert (option.symbol, option.exchange, option.product) == (
        "NIFTY28MAR2422000CE",
        "NFO",
        "NRML",
    )
    assert (option.quantity, option.buy_quantity, option.sell_quantity) == (0, 50, 50)
    assert option.realized_pnl == Decimal("500.00")
    assert (option.lot_size, option.asset_type) == (50, AssetType.DERIVATIVE)


def test_positions_with_live_price_and_the_other_quantity_spelling(adapter, stub):
    row = payload("positions.json")["data"][0]
    row |= {"ltp": "2250.80", "buyquantity": row.pop("buyqty"), "sellquantity": row.pop("sellqty")}
    stub.get(
        SECURE + "/order/v1/getPosition",
        json={"status": True, "message": "SUCCESS", "errorcode": "", "data": [row]},
    )
    (position,) = adapter.positions()
    assert position.buy_quantity == 1 and position.last_price == Decimal("2250.80")
    assert position.unrealized_pnl == Decimal("15.00")


@pytest.mark.parametrize("code", ["AB1013", "AB1016"])
def test_nothing_found_codes_mean_empty_books(adapter, stub, code):
    stub.get(
        SECURE + "/order/v1/getOrderBook",
        json={"status": False, "message": "nothing", "errorcode": code, "data": None},
    )
    assert adapter.orders() == []


def test_orders(adapter, stub):
    stub.get(SECURE + "/order/v1/getOrderBook", json=payload("orders.json"))
    limit, stop, rejected = adapter.orders()
    assert (limit.order_id, limit.status, limit.side) == (
        "251023001073890",
        OrderStatus.OPEN,
        "BUY",
    )
    assert (limit.order_type, limit.product, limit.symbol) == (OrderType.LIMIT, Product.CNC, "SBIN")
    assert (limit.price, limit.trigger_price, limit.quantity) == (Decimal("194.00"), None, 1)
    assert limit.tag == "mb-7f3a9c"
    assert limit.placed_at == datetime(2025, 10, 23, 13, 10, 59, tzinfo=IST)
    assert (stop.status, stop.order_type, stop.side) == (
        OrderStatus.TRIGGER_PENDING,
        OrderType.SL_M,
        Side.SELL,
    )
    assert stop.trigger_price == Decimal("2200.00") and stop.product == Product.MIS
    assert rejected.status == OrderStatus.REJECTED
    assert rejected.status_message.startswith("RMS:Margin Exceeds")
    assert adapter.find_order("mb-7f3a9c") == limit


def test_trades_are_stamped_today_in_ist(adapter, stub):
    stub.get(SECURE + "/order/v1/getTradeBook", json=payload("trades.json"))
    with time_machine.travel(datetime(2026, 3, 10, 16, 0, tzinfo=IST), tick=False):
        (trade,) = adapter.trades()
    assert (trade.trade_id, trade.order_id, trade.symbol) == ("50012345", "251023001073893", "SBIN")
    assert (trade.quantity, trade.price, trade.side) == (2, Decimal("573.10"), Side.BUY)
    assert trade.traded_at == datetime(2026, 3, 10, 13, 27, 53, tzinfo=IST)


def test_quotes_by_token_and_by_symbol(adapter, stub):
    stub.get(MASTER_URL, json=payload("master.json"))
    stub.post(SECURE + "/market/v1/quote", json=payload("quote_ohlc.json"))
    sbi = InstrumentRef("NSE", "SBIN", "3045")
    reliance = InstrumentRef("NSE", "RELIANCE")
    quotes = adapter.quotes([sbi, reliance, InstrumentRef("NSE", "DELISTED")])
    assert sent(stub.calls[-1]) == {
        "mode": "OHLC",
        "exchangeTokens": {"NSE": ["3045", "2885"]},
    }
    assert quotes[sbi].last_price == Decimal("579.05")
    assert quotes[sbi].previous_close == Decimal("570.5")
    assert (quotes[reliance].symbol, quotes[reliance].last_price) == ("RELIANCE", Decimal("2241.4"))
    assert len(quotes) == 2  # a symbol missing from the master gets no quote, not an error


def test_instruments_parse_the_json_master(adapter, stub):
    stub.get(MASTER_URL, json=payload("master.json"))
    by_id = {i.instrument_id: i for i in adapter.instruments()}
    sbi, bse, index = by_id["3045"], by_id["500325"], by_id["99926000"]
    assert (sbi.symbol, sbi.exchange, sbi.segment, sbi.isin) == ("SBIN", "NSE", "NSE", "")
    assert (sbi.tick_size, sbi.lot_size, sbi.strike, sbi.expiry) == (Decimal("0.05"), 1, None, None)
    assert by_id["2885"].tick_size == Decimal("0.10")
    assert (bse.symbol, bse.exchange) == ("RELIANCE", "BSE")
    assert index.segment == "INDICES"
    option = by_id["43650"]
    assert (option.strike, option.expiry, option.lot_size) == (
        Decimal("22000"),
        date(2024, 3, 28),
        50,
    )
    assert (option.segment, option.instrument_type) == ("NFO-OPT", "OPTIDX")
    assert by_id["1147"].strike == Decimal("83.25")


@pytest.mark.parametrize(
    "body",
    [
        "[]",
        '[{"token": "3045", "symbol": "SBIN-EQ"',
        '[{"token": "3045", "symbol": "SBIN-EQ", "name": "SBIN"}]',
        "<html><body>Not Found</body></html>",
    ],
    ids=["empty", "truncated", "missing-columns", "html"],
)
def test_a_broken_master_is_a_bad_response(adapter, stub, body):
    stub.get(MASTER_URL, body=body)
    with pytest.raises(BadResponse) as caught:
        adapter.instruments()
    assert caught.value.broker == "angelone" and caught.value.endpoint == "OpenAPIScripMaster"


# --- Orders ----------------------------------------------------------------------------------
def test_place_order_sends_strings_symbol_token_and_tag(adapter, stub):
    stub.get(MASTER_URL, json=payload("master.json"))
    stub.post(SECURE + "/order/v1/placeOrder", json=payload("order_place.json"))
    ack = adapter.place_order(
        OrderRequest(
            exchange="NSE",
            symbol="SBIN",
            side=Side.BUY,
            quantity=3,
            order_type=OrderType.LIMIT,
            product=Product.CNC,
            price=Decimal("570.5"),
            tag="mb-42",
        )
    )
    assert ack.order_id == "251023001073890"
    assert sent(stub.calls[-1]) == {
        "variety": "NORMAL",
        "tradingsymbol": "SBIN-EQ",
        "symboltoken": "3045",
        "transactiontype": "BUY",
        "exchange": "NSE",
        "ordertype": "LIMIT",
        "producttype": "DELIVERY",
        "duration": "DAY",
        "price": "570.5",
        "triggerprice": "0",
        "squareoff": "0",
        "stoploss": "0",
        "quantity": "3",
        "ordertag": "mb-42",
    }


def test_a_stop_loss_order_uses_the_stoploss_variety_without_a_master_lookup(adapter, stub):
    stub.post(SECURE + "/order/v1/placeOrder", json=payload("order_place.json"))
    adapter.place_order(
        OrderRequest(
            exchange="NFO",
            symbol="NIFTY28MAR2422000CE",
            side=Side.SELL,
            quantity=50,
            order_type=OrderType.SL,
            product=Product.NRML,
            price=Decimal("99.5"),
            trigger_price=Decimal("100"),
            instrument_id="43650",
        )
    )
    body = sent(stub.calls[0])
    assert (body["variety"], body["ordertype"], body["producttype"]) == (
        "STOPLOSS",
        "STOPLOSS_LIMIT",
        "CARRYFORWARD",
    )
    assert (body["triggerprice"], body["symboltoken"]) == ("100", "43650")
    assert "ordertag" not in body


def test_a_too_long_tag_is_refused_before_sending(adapter, stub):
    order = OrderRequest("NSE", "SBIN", Side.BUY, 1, OrderType.MARKET, Product.MIS, tag="x" * 20)
    with pytest.raises(InvalidRequest):
        adapter.place_order(order)
    assert not stub.calls


def test_an_unknown_symbol_is_refused_before_sending(adapter, stub):
    stub.get(MASTER_URL, json=payload("master.json"))
    with pytest.raises(InvalidRequest):
        adapter.place_order(OrderRequest("NSE", "NOPE", Side.BUY, 1, OrderType.MARKET, Product.MIS))
    assert len(stub.calls) == 1


ORDER = OrderRequest(
    "NSE", "SBIN", Side.BUY, 1, OrderType.MARKET, Product.MIS, instrument_id="3045", tag="t-1"
)


def test_a_refused_order_is_order_rejected(adapter, stub):
    stub.get(MASTER_URL, json=payload("master.json"))  # SBIN + token: "SBIN-EQ" comes from there
    stub.post(SECURE + "/order/v1/placeOrder", json=payload("error_order.json"))
    with pytest.raises(OrderRejected) as caught:
        adapter.place_order(ORDER)
    assert (caught.value.code, caught.value.endpoint) == ("AB1012", "placeOrder")
    assert "Invalid Product Type" in str(caught.value)


@pytest.mark.parametrize(
    "reply",
    [
        {"body": requests.ReadTimeout()},
        {"body": requests.ConnectionError("Connection aborted.")},
        {"status": 403, "body": "Access denied because of exceeding access rate"},
        {"status": 429, "body": "Too Many Requests"},
        {"status": 502, "body": "<html><h1>502 Bad Gateway</h1></html>"},
        {"status": 504, "body": "<html><h1>504 Gateway Time-out</h1></html>"},
        {"status": 200, "body": '{"status": true, "message": "SUCC'},
        {"json": {"status": False, "message": "Something Went Wrong", "errorcode": "AB1004"}},
    ],
    ids=["timeout", "dropped", "rate-403", "rate-429", "502", "504", "truncated", "AB1004"],
)
def test_an_order_write_without_a_clear_answer_is_state_unknown(adapter, stub, reply):
    stub.get(MASTER_URL, json=payload("master.json"))
    stub.post(SECURE + "/order/v1/placeOrder", **reply)
    with pytest.raises(OrderStateUnknown) as caught:
        adapter.place_order(ORDER)
    assert caught.value.tag == "t-1" and caught.value.broker == "angelone"
    assert caught.value.endpoint == "placeOrder"
    assert ACCESS not in str(caught.value)


def test_modify_resends_the_whole_order_with_the_changes(adapter, stub):
    stub.get(SECURE + "/order/v1/getOrderBook", json=payload("orders.json"))
    reply = {"status": True, "message": "SUCCESS", "errorcode": "", "data": {"orderid": "1"}}
    stub.post(SECURE + "/order/v1/modifyOrder", json=reply)
    change = OrderModification(order_id="251023001073890", price=Decimal("195.5"), quantity=2)
    assert adapter.modify_order(change).order_id == "1"
    assert sent(stub.calls[1]) == {
        "variety": "NORMAL",
        "orderid": "251023001073890",
        "ordertype": "LIMIT",
        "producttype": "DELIVERY",
        "duration": "DAY",
        "price": "195.5",
        "triggerprice": "0",
        "quantity": "2",
        "tradingsymbol": "SBIN-EQ",
        "symboltoken": "3045",
        "exchange": "NSE",
    }


def test_cancel_sends_the_orders_variety(adapter, stub):
    stub.get(SECURE + "/order/v1/getOrderBook", json=payload("orders.json"))
    reply = {"status": True, "message": "SUCCESS", "errorcode": "", "data": {"orderid": "x"}}
    stub.post(SECURE + "/order/v1/cancelOrder", json=reply)
    adapter.cancel_order("251023001073891")
    assert sent(stub.calls[1]) == {"variety": "STOPLOSS", "orderid": "251023001073891"}


def test_cancelling_an_order_not_in_the_book_is_invalid(adapter, stub):
    stub.get(SECURE + "/order/v1/getOrderBook", json=payload("orders.json"))
    with pytest.raises(InvalidRequest) as caught:
        adapter.cancel_order("999")
    assert caught.value.code == "AB1013"
    assert len(stub.calls) == 1


# --- Errors on reads ----------------------------------------------------------------------------
HOLDINGS = SECURE + "/portfolio/v1/getAllHolding"


@pytest.mark.parametrize(
    ("reply", "error", "code"),
    [
        ({"status": 403, "json": payload("error.json")}, TokenExpired, "AG8001"),
        ({"status": 200, "json": payload("error.json")}, TokenExpired, "AG8001"),
        (
            {"status": 401, "json": {"status": False, "message": "x", "errorcode": "AG8002"}},
            TokenExpired,
            "AG8002",
        ),
        (
            {"json": {"status": "false", "message": "Token missing", "errorcode": "AG8003"}},
            TokenExpired,
            "AG8003",
        ),
        ({"status": 403, "body": (PAYLOADS / "rate_limit.txt").read_text()}, RateLimited, "403"),
        ({"status": 429, "json": {"message": "slow down"}}, RateLimited, "429"),
        ({"status": 500, "body": "<html>Internal Server Error</html>"}, BrokerUnavailable, "500"),
        (
            {"status": 503, "body": "<html>Scheduled maintenance till 06:00</html>"},
            Maintenance,
            "503",
        ),
        (
            {"json": {"status": False, "message": "Internal Error", "errorcode": "AB2001"}},
            BrokerUnavailable,
            "AB2001",
        ),
        (
            {"json": {"status": False, "message": "Invalid Order Variety", "errorcode": "AB1008"}},
            InvalidRequest,
            "AB1008",
        ),
        ({"body": "{not json"}, BadResponse, ""),
        ({"body": "<html><body>Login</body></html>"}, BadResponse, ""),
        ({"body": '{"status": true, "data": {"holdings": [{"tradingsymbol"'}, BadResponse, ""),
        ({"json": ["not", "an", "envelope"]}, BadResponse, ""),
        ({"json": {"data": {"holdings": []}}}, BadResponse, ""),
    ],
    ids=[
        "AG8001-403",
        "AG8001-200",
        "AG8002",
        "AG8003-string-false",
        "rate-plain-403",
        "rate-429",
        "500",
        "maintenance",
        "AB2001-200",
        "AB1008",
        "garbage",
        "html",
        "truncated",
        "list",
        "no-status",
    ],
)
def test_read_errors_land_in_the_taxonomy(adapter, stub, reply, error, code):
    stub.get(HOLDINGS, **reply)
    with pytest.raises(error) as caught:
        adapter.holdings()
    assert caught.value.broker == "angelone"
    assert caught.value.endpoint == "getAllHolding"
    if code:
        assert caught.value.code == code
    assert ACCESS not in str(caught.value) and API_KEY not in str(caught.value)


def test_rate_limited_reads_say_when_to_retry(adapter, stub):
    stub.get(HOLDINGS, status=429, body="slow", headers={"Retry-After": "3"})
    with pytest.raises(RateLimited) as caught:
        adapter.holdings()
    assert caught.value.retry_after == 3.0


@pytest.mark.parametrize(
    ("field", "value"),
    [("quantity", "lots"), ("averageprice", "NaN"), ("quantity", -2)],
)
def test_nonsense_numbers_are_bad_responses(adapter, stub, field, value):
    body = payload("holdings.json")
    body["data"]["holdings"][0][field] = value
    stub.get(HOLDINGS, json=body)
    with pytest.raises(BadResponse):
        adapter.holdings()


@pytest.mark.parametrize(
    ("field", "value"),
    [("status", "partially filled hmm"), ("transactiontype", "SHORT"), ("ordertype", "ICEBERG")],
)
def test_unknown_enum_values_are_bad_responses(adapter, stub, field, value):
    body = payload("orders.json")
    body["data"][0][field] = value
    stub.get(SECURE + "/order/v1/getOrderBook", json=body)
    with pytest.raises(BadResponse) as caught:
        adapter.orders()
    assert caught.value.endpoint == "getOrderBook"


def test_missing_fields_are_bad_responses(adapter, stub):
    body = payload("positions.json")
    del body["data"][0]["netqty"]
    stub.get(SECURE + "/order/v1/getPosition", json=body)
    with pytest.raises(BadResponse):
        adapter.positions()


def test_an_echoed_token_never_reaches_the_error(adapter, stub):
    stub.get(HOLDINGS, status=200, body=f"<html>session {ACCESS} is not valid</html>")
    with pytest.raises(BrokerError) as caught:
        adapter.holdings()
    assert ACCESS not in str(caught.value)


def test_calls_without_a_session_are_token_expired(request, stub):
    with pytest.raises(TokenExpired):
        build(request, tokens=False).holdings()
    assert not stub.calls


def test_a_registered_static_ip_is_sent_as_the_public_ip(request, stub):
    stub.get(SECURE + "/user/v1/getProfile", json=payload("profile.json"))
    app = AppCredentials(api_key=API_KEY, api_secret="", extra={"client_public_ip": "203.0.113.7"})
    tokens = Tokens(access_token=ACCESS, expires_at=datetime(2030, 1, 1, tzinfo=IST))
    registry.build("angelone", app=app, tokens=tokens, account=request.node.name).profile()
    assert stub.calls[0].request.headers["X-ClientPublicIP"] == "203.0.113.7"
