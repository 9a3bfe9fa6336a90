"""The Dhan adapter against stubbed real hosts: payload mapping and every documented error."""

import json
import uuid
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlparse

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
    Maintenance,
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
    OrderModification,
    OrderRequest,
    OrderStatus,
    OrderType,
    Product,
    Side,
    Tokens,
)

PAYLOADS = Path(__file__).parent / "payloads" / "dhan"
API = "https://api.dhan.co/v2"
AUTH = "https://auth.dhan.co"
MASTER = "https://images.dhan.co/api-data/api-scrip-master.csv"
ACCESS_TOKEN = "eyJhbGciOiJIUzUxMiJ9.eyJkaGFuQ2xpZW50SWQiOiIxMTAwMDAzNjI2In0.c2lnbmF0dXJl"
APP_SECRET = "dhan-app-secret-0042"
CLIENT_ID = "1100003626"
SECRETS = (ACCESS_TOKEN, APP_SECRET)


def payload(name):
    return json.loads((PAYLOADS / name).read_text())


@pytest.fixture(autouse=True)
def real_hosts(settings):
    settings.BROKER_HOSTS = {
        **settings.BROKER_HOSTS,
        "dhan": dict(settings.BROKER_REAL_HOSTS["dhan"]),
    }


def build(tokens=True, name=""):
    app = AppCredentials(api_key="dhan-app-id-42", api_secret=APP_SECRET, client_id=CLIENT_ID)
    issued = Tokens(
        access_token=ACCESS_TOKEN,
        expires_at=datetime(2030, 1, 1, tzinfo=IST),
        account_id=CLIENT_ID,
        extra={"name": name} if name else {},
    )
    # A fresh account per adapter: the quote bucket allows one call a second per account.
    account = f"T{uuid.uuid4().hex[:8]}"
    return registry.build("dhan", app=app, tokens=issued if tokens else None, account=account)


@pytest.fixture
def adapter():
    return build()


@pytest.fixture
def stub():
    with responses.RequestsMock() as mock:
        yield mock


def assert_clean(error: BrokerError, endpoint: str):
    assert error.broker == "dhan"
    assert error.endpoint == endpoint
    for secret in SECRETS:
        assert secret not in str(error)


# --- Login ------------------------------------------------------------------------------------
def test_authorization_url_generates_a_consent_first(stub):
    stub.post(
        f"{AUTH}/app/generate-consent",
        json={"consentAppId": "0f6c1c", "consentAppStatus": "GENERATED", "status": "success"},
    )
    url = build(tokens=False).authorization_url(state="s1", redirect_uri="https://x/cb")

    assert url == f"{AUTH}/login/consentApp-login?consentAppId=0f6c1c"
    request = stub.calls[0].request
    assert parse_qs(urlparse(request.url).query) == {"client_id": [CLIENT_ID]}
    assert request.headers["app_id"] == "dhan-app-id-42"
    assert request.headers["app_secret"] == APP_SECRET
    assert "access-token" not in request.headers


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, {"errorType": "Input_Exception", "errorCode": "DH-905", "errorMessage": "bad app"}),
        (401, payload("error.json")),  # a wrong app secret is not an expired session
        (200, {"status": "failure", "consentAppId": ""}),
    ],
)
def test_a_refused_consent_is_an_auth_error(stub, status, body):
    stub.post(f"{AUTH}/app/generate-consent", status=status, json=body)
    with pytest.raises(AuthError) as caught:
        build(tokens=False).authorization_url(state="s", redirect_uri="")
    assert type(caught.value) is AuthError
    assert_clean(caught.value, "generate_consent")


@time_machine.travel(datetime(2025, 9, 22, 12, 37, 23, tzinfo=IST), tick=False)
def test_complete_login_consumes_the_token_id(stub):
    stub.get(f"{AUTH}/app/consumeApp-consent", json=payload("token.json"))
    adapter = build(tokens=False)

    tokens = adapter.complete_login({"tokenId": "tok-123"})

    request = stub.calls[0].request
    assert parse_qs(urlparse(request.url).query) == {"tokenId": ["tok-123"]}
    assert request.headers["app_id"] == "dhan-app-id-42"
    assert request.headers["app_secret"] == APP_SECRET
    assert tokens.access_token == payload("token.json")["accessToken"]
    assert tokens.account_id == "1100003626"
    assert tokens.refresh_token == ""
    # expiryTime "2025-09-23T12:37:23" has no zone: read as IST, exactly 24 h after login.
    assert tokens.expires_at == datetime(2025, 9, 23, 12, 37, 23, tzinfo=IST)


@pytest.mark.parametrize(
    ("now", "expiry_time", "expected"),
    [
        # One second after issue: the broker's expiryTime stands (23:59:59 left).
        ("2025-09-22T12:37:24", "2025-09-23T12:37:23", "2025-09-23T12:37:23"),
        # Logged in earlier than the broker claims: never trust more than 24 h from now.
        ("2025-09-22T10:00:00", "2025-09-23T12:37:23", "2025-09-23T10:00:00"),
        # No expiryTime at all: the documented 24 h maximum.
        ("2025-09-22T10:00:00", None, "2025-09-23T10:00:00"),
    ],
)
def test_token_expiry_follows_the_24_hour_rule(stub, now, expiry_time, expected):
    body = {**payload("token.json"), "expiryTime": expiry_time}
    stub.get(f"{AUTH}/app/consumeApp-consent", json=body)
    with time_machine.travel(datetime.fromisoformat(now).replace(tzinfo=IST), tick=False):
        tokens = build(tokens=False).complete_login({"tokenId": "t"})
    assert tokens.expires_at == datetime.fromisoformat(expected).replace(tzinfo=IST)


def test_a_consent_approved_by_another_client_is_refused(stub):
    # The consent was generated for the app's client (§1b.1); a tokenId that Dhan answers for
    # another client is not the login we asked for, whoever brought it to our callback.
    body = {**payload("token.json"), "dhanClientId": "1100999999"}
    stub.get(f"{AUTH}/app/consumeApp-consent", json=body)
    with pytest.raises(AuthError, match="another Dhan client") as caught:
        build(tokens=False).complete_login({"tokenId": "t"})
    assert_clean(caught.value, "login")


@pytest.mark.parametrize("params", [{"error": "access_denied"}, {}])
def test_denied_or_empty_callback_is_an_auth_error(stub, params):
    with pytest.raises(AuthError):
        build(tokens=False).complete_login(params)
    assert not stub.calls


def test_a_used_token_id_is_an_auth_error_without_secrets(stub):
    stub.get(
        f"{AUTH}/app/consumeApp-consent",
        status=400,
        json={"errorType": "Input_Exception", "errorCode": "DH-905", "errorMessage": "Invalid"},
    )
    with pytest.raises(AuthError) as caught:
        build(tokens=False).complete_login({"tokenId": "used-token-id"})
    assert_clean(caught.value, "consume_consent")
    assert not isinstance(caught.value, TokenExpired)


def test_refresh_renews_with_the_dhan_client_id_header(stub, adapter):
    stub.get(
        f"{API}/RenewToken",
        json={"token": "eyJuZXc.eyJyZW5ld2Vk.c2ln", "expiryTime": "2030-01-02T09:00:00"},
    )
    with time_machine.travel(datetime(2030, 1, 1, 9, 0, tzinfo=IST), tick=False):
        tokens = adapter.refresh()

    request = stub.calls[0].request
    assert request.headers["access-token"] == ACCESS_TOKEN
    assert request.headers["dhanClientId"] == CLIENT_ID
    assert tokens.access_token == "eyJuZXc.eyJyZW5ld2Vk.c2ln"
    assert tokens.expires_at == datetime(2030, 1, 2, 9, 0, tzinfo=IST)
    assert tokens.account_id == CLIENT_ID


def test_a_login_answer_without_a_token_is_a_bad_response(stub):
    body = {k: v for k, v in payload("token.json").items() if k != "accessToken"}
    stub.get(f"{AUTH}/app/consumeApp-consent", json=body)
    with pytest.raises(BadResponse) as caught:
        build(tokens=False).complete_login({"tokenId": "t"})
    assert_clean(caught.value, "consume_consent")


def test_refresh_of_an_expired_token_says_so(stub, adapter):
    stub.get(f"{API}/RenewToken", status=401, json=payload("error.json"))
    with pytest.raises(TokenExpired) as caught:
        adapter.refresh()
    assert_clean(caught.value, "renew_token")


def test_there_is_no_logout_endpoint(adapter):
    assert adapter.capabilities.has_logout is False
    with pytest.raises(NotSupported):
        adapter.logout()


# --- Reads ------------------------------------------------------------------------------------
def test_profile_sends_bare_token_and_client_id(stub):
    stub.get(f"{API}/profile", json=payload("profile.json"))
    profile = build(name="ASHA KUMAR").profile()

    headers = stub.calls[0].request.headers
    assert headers["access-token"] == ACCESS_TOKEN  # no "Bearer"
    assert headers["client-id"] == CLIENT_ID
    assert profile.account_id == "1100003626"
    assert profile.name == "ASHA KUMAR"
    assert set(profile.exchanges) == {"NSE", "BSE", "NFO", "BFO", "CDS", "BCD", "MCX"}
    assert "MTF" in profile.products


def test_funds_read_the_misspelled_fields(stub, adapter):
    stub.get(f"{API}/fundlimit", json=payload("funds.json"))
    funds = adapter.funds()
    assert funds.available == Decimal("48231.55")
    assert funds.used == Decimal("1768.45")
    assert funds.total == Decimal("50000.0")
    assert funds.collateral == Decimal(0)


def test_holdings_map_to_plain_symbols_with_isin(stub, adapter):
    stub.get(f"{API}/holdings", json=payload("holdings.json"))
    bees, hdfc = adapter.holdings()

    assert (bees.exchange, bees.symbol, bees.isin) == ("NSE", "NIFTYBEES", "INF204KB14I2")
    assert bees.quantity == 2 and isinstance(bees.quantity, int)
    assert bees.average_price == Decimal("252.05")
    assert bees.last_price == Decimal("251.06")
    assert bees.asset_type is AssetType.ETF
    assert (bees.instrument_id, bees.broker_symbol) == ("10576", "NIFTYBEES")
    assert (hdfc.exchange, hdfc.symbol, hdfc.quantity) == ("NSE", "HDFCBANK", 5)
    assert hdfc.average_price == Decimal("1612.4")
    assert hdfc.asset_type is AssetType.EQUITY


def test_no_holdings_error_body_means_empty(stub, adapter):
    stub.get(
        f"{API}/holdings",
        status=500,
        json={
            "errorType": "HOLDING_ERROR",
            "errorCode": "DHOLDING_ERROR",
            "internalErrorCode": "DH-1111",
            "internalErrorMessage": "No holdings available",
        },
    )
    assert adapter.holdings() == []


def test_positions_map_products_and_segments(stub, adapter):
    stub.get(f"{API}/positions", json=payload("positions.json"))
    tcs, option = adapter.positions()

    assert (tcs.exchange, tcs.symbol, tcs.product, tcs.quantity) == ("NSE", "TCS", "MIS", 2)
    assert tcs.average_price == Decimal("4520.0")
    assert tcs.unrealized_pnl == Decimal("12.4")
    assert tcs.instrument_id == "11536"
    assert (option.exchange, option.product, option.quantity) == ("NFO", "NRML", 0)
    assert option.realized_pnl == Decimal("412.5")
    assert (option.buy_quantity, option.sell_quantity) == (75, 75)
    assert option.asset_type is AssetType.DERIVATIVE


def test_orders_map_status_side_and_tag(stub, adapter):
    pending = payload("orders.json")[0]
    traded = {
        **pending,
        "orderId": "952502167320",
        "correlationId": "ord-7f3a",
        "orderStatus": "TRADED",
        "transactionType": "SELL",
        "exchangeSegment": "NSE_EQ",
        "productType": "INTRADAY",
        "orderType": "STOP_LOSS_MARKET",
        "filledQty": 20,
        "averageTradedPrice": 0.37,
    }
    stub.get(f"{API}/orders", json=[pending, traded])

    first, second = adapter.orders()

    assert first.order_id == "952502167319"
    assert first.status is OrderStatus.OPEN and first.broker_status == "PENDING"
    assert (first.exchange, first.symbol, first.side) == ("BSE", "THINKINK", Side.BUY)
    assert (first.order_type, first.product, first.quantity) == (OrderType.LIMIT, "CNC", 20)
    assert first.price == Decimal("0.36") and first.trigger_price is None
    assert first.tag == ""  # "NA" means no correlation id
    assert first.placed_at == datetime(2025, 2, 16, 16, 4, 37, tzinfo=IST)
    assert second.status is OrderStatus.COMPLETE
    assert (second.side, second.order_type, second.product) == (Side.SELL, OrderType.SL_M, "MIS")
    assert second.filled_quantity == 20 and second.average_price == Decimal("0.37")
    assert second.tag == "ord-7f3a"


def test_find_order_by_tag(stub, adapter):
    tagged = {**payload("orders.json")[0], "correlationId": "ord-7f3a", "orderStatus": "TRANSIT"}
    stub.get(f"{API}/orders", json=[payload("orders.json")[0], tagged])
    found = adapter.find_order("ord-7f3a")
    assert found is not None and found.status is OrderStatus.PENDING
    assert adapter.find_order("nobody") is None


def test_trades(stub, adapter):
    stub.get(f"{API}/trades", json=payload("trades.json"))
    (trade,) = adapter.trades()
    assert (trade.trade_id, trade.order_id) == ("15112111182045", "112111182045")
    assert (trade.exchange, trade.symbol, trade.side, trade.quantity) == ("NSE", "TCS", "BUY", 2)
    assert trade.price == Decimal("4519.85")
    assert trade.traded_at == datetime(2025, 9, 22, 9, 41, 13, tzinfo=IST)


def test_quotes_ask_by_integer_security_id(stub, adapter):
    stub.post(f"{API}/marketfeed/ohlc", json=payload("ohlc.json"))
    tcs = InstrumentRef("NSE", "TCS", "11536")
    reliance = InstrumentRef("BSE", "RELIANCE", "500325")
    missing = InstrumentRef("NSE", "GONE", "999999")

    quotes = adapter.quotes([tcs, reliance, missing])

    request = stub.calls[0].request
    assert json.loads(request.body) == {"NSE_EQ": [11536, 999999], "BSE_EQ": [500325]}
    assert request.headers["client-id"] == CLIENT_ID
    assert quotes[tcs].last_price == Decimal("4526.2")
    assert quotes[tcs].previous_close == Decimal("4501.35")
    assert quotes[reliance].last_price == Decimal("2950.55")
    assert missing not in quotes


def test_quotes_refuse_an_id_that_is_not_a_security_id(stub, adapter):
    with pytest.raises(InvalidRequest):
        adapter.quotes([InstrumentRef("NSE", "TCS", "NSE_EQ|INE467B01029")])
    assert not stub.calls


def test_quote_rows_without_ohlc_are_a_bad_response(stub, adapter):
    stub.post(f"{API}/marketfeed/ohlc", json={"data": {"NSE_EQ": {"11536": {"last_price": 1}}}})
    with pytest.raises(BadResponse) as caught:
        adapter.quotes([InstrumentRef("NSE", "TCS", "11536")])
    assert_clean(caught.value, "quotes")


def test_quotes_by_symbol_look_the_id_up_in_the_master(stub, adapter):
    stub.get(MASTER, body=(PAYLOADS / "api-scrip-master.csv").read_text())
    stub.post(f"{API}/marketfeed/ohlc", json=payload("ohlc.json"))
    ref = InstrumentRef("BSE", "RELIANCE")
    assert adapter.quotes([ref])[ref].previous_close == Decimal("2925.0")
    assert json.loads(stub.calls[1].request.body) == {"BSE_EQ": [500325]}


@pytest.mark.parametrize(
    "body",
    [
        payload("error_data_api.json"),  # recorded: HTTP 200, numeric errorCode
        {"status": "failed", "remarks": "", "data": {"806": "Data APIs not subscribed"}},
    ],
)
def test_quote_failure_with_http_200(stub, adapter, body):
    stub.post(f"{API}/marketfeed/ohlc", json=body)
    with pytest.raises(AuthError) as caught:
        adapter.quotes([InstrumentRef("NSE", "TCS", "11536")])
    assert caught.value.code == "806"
    assert_clean(caught.value, "quotes")


def test_quote_token_expired_with_http_200(stub, adapter):
    stub.post(f"{API}/marketfeed/ohlc", json={"errorCode": 807, "errorMessage": "expired"})
    with pytest.raises(TokenExpired):
        adapter.quotes([InstrumentRef("NSE", "TCS", "11536")])


# --- Instrument master ------------------------------------------------------------------------
def test_instruments_parse_the_compact_master(stub, adapter):
    stub.get(MASTER, body=(PAYLOADS / "api-scrip-master.csv").read_text())
    found = {(i.exchange, i.symbol): i for i in adapter.instruments()}

    assert ("XYZ", "ODD") not in found  # unknown segments are skipped
    reliance = found[("NSE", "RELIANCE")]
    assert (reliance.instrument_id, reliance.segment) == ("2885", "NSE_EQ")
    assert reliance.tick_size == Decimal("0.10")  # 10.0000 paise
    assert reliance.name == "RELIANCE INDUSTRIES LTD"
    assert found[("BSE", "RELIANCE")].instrument_id == "500325"
    assert found[("NSE", "NIFTYBEES")].tick_size == Decimal("0.01")
    assert found[("NSE", "NIFTY")].segment == "IDX_I"
    option = found[("NFO", "NIFTY-Oct2025-25000-CE")]
    assert (option.lot_size, option.strike) == (75, Decimal("25000.00000"))
    assert option.expiry == datetime(2025, 10, 28).date()
    assert found[("MCX", "GOLD-Dec2025-FUT")].tick_size == Decimal(1)


@pytest.mark.parametrize(
    "body",
    [
        "",  # empty download
        "SEM_EXM_EXCH_ID,SEM_SEGMENT\nNSE,E\n",  # required columns missing
        "<html><body>Access Denied</body></html>",  # an error page at HTTP 200
        (PAYLOADS / "api-scrip-master.csv").read_text().splitlines()[0] + "\n",  # header only
        (PAYLOADS / "api-scrip-master.csv").read_text()[:400],  # cut off mid-row
        (PAYLOADS / "api-scrip-master.csv").read_text().replace("10.0000", "ten"),
    ],
)
def test_a_corrupted_master_is_a_bad_response(stub, adapter, body):
    stub.get(MASTER, body=body)
    with pytest.raises(BadResponse) as caught:
        adapter.instruments()
    assert_clean(caught.value, "instruments")


# --- Orders -----------------------------------------------------------------------------------
def order_request(**changes):
    values = dict(
        exchange="NSE",
        symbol="TCS",
        instrument_id="11536",
        side=Side.BUY,
        quantity=5,
        order_type=OrderType.LIMIT,
        product=Product.MIS,
        price=Decimal("3500.05"),
        tag="route-abc-001",
    )
    return OrderRequest(**{**values, **changes})


def test_place_order_sends_dhan_words(stub, adapter):
    stub.post(f"{API}/orders", json=payload("order_place.json"))
    ack = adapter.place_order(order_request())

    assert ack.order_id == "752502167405"
    sent = json.loads(stub.calls[0].request.body)
    assert sent == {
        "dhanClientId": CLIENT_ID,
        "correlationId": "route-abc-001",
        "transactionType": "BUY",
        "exchangeSegment": "NSE_EQ",
        "productType": "INTRADAY",
        "orderType": "LIMIT",
        "validity": "DAY",
        "securityId": "11536",
        "quantity": 5,
        "disclosedQuantity": 0,
        "price": 3500.05,
        "triggerPrice": 0,
        "afterMarketOrder": False,
    }
    assert stub.calls[0].request.headers["access-token"] == ACCESS_TOKEN


def test_stop_loss_market_order_words(stub, adapter):
    stub.post(f"{API}/orders", json=payload("order_place.json"))
    adapter.place_order(
        order_request(
            order_type=OrderType.SL_M,
            price=None,
            trigger_price=Decimal("3400"),
            product=Product.CNC,
        )
    )
    sent = json.loads(stub.calls[0].request.body)
    assert (sent["orderType"], sent["productType"]) == ("STOP_LOSS_MARKET", "CNC")
    assert (sent["price"], sent["triggerPrice"]) == (0, 3400.0)


def test_a_tag_too_long_for_correlation_id_is_refused_before_sending(stub, adapter):
    with pytest.raises(InvalidRequest):
        adapter.place_order(order_request(tag="x" * 26))
    assert not stub.calls


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (
            400,
            {"errorType": "Order_Error", "errorCode": "DH-906", "errorMessage": "RMS"},
            OrderRejected,
        ),
        (
            400,
            {"errorType": "Input_Exception", "errorCode": "DH-905", "errorMessage": "x"},
            InvalidRequest,
        ),
        (401, payload("error.json"), TokenExpired),
    ],
)
def test_refused_orders(stub, adapter, status, body, expected):
    stub.post(f"{API}/orders", status=status, json=body)
    with pytest.raises(expected) as caught:
        adapter.place_order(order_request())
    assert_clean(caught.value, "place_order")


@pytest.mark.parametrize(
    "reply",
    [
        {"body": requests.ReadTimeout()},
        {"status": 429, "json": payload("error_rate_limit.json")},
        {"status": 500, "json": {"errorType": "Internal_Server_Error", "errorCode": "DH-908"}},
        {"status": 504, "body": "<html><h1>504 Gateway Time-out</h1></html>"},
        {"status": 200, "body": '{"orderId": "7525'},  # cut off
    ],
)
def test_an_order_write_with_no_clear_answer_is_unknown(stub, adapter, reply):
    stub.post(f"{API}/orders", **reply)
    with pytest.raises(OrderStateUnknown) as caught:
        adapter.place_order(order_request())
    assert caught.value.tag == "route-abc-001"
    assert_clean(caught.value, "place_order")


def test_modify_order_sends_the_whole_order(stub, adapter):
    current = {**payload("orders.json")[0], "orderId": "952502167319"}
    stub.get(f"{API}/orders/952502167319", json=current)
    stub.put(
        f"{API}/orders/952502167319", json={"orderId": "952502167319", "orderStatus": "TRANSIT"}
    )

    ack = adapter.modify_order(OrderModification(order_id="952502167319", price=Decimal("0.40")))

    assert ack.order_id == "952502167319"
    assert json.loads(stub.calls[1].request.body) == {
        "dhanClientId": CLIENT_ID,
        "orderId": "952502167319",
        "orderType": "LIMIT",
        "quantity": 20,
        "price": 0.4,
        "triggerPrice": 0.0,
        "disclosedQuantity": 0,
        "validity": "DAY",
    }


def test_modify_of_an_unreadable_order_sends_nothing(stub, adapter):
    stub.get(f"{API}/orders/1", json={**payload("orders.json")[0], "orderType": "ICEBERG"})
    with pytest.raises(BadResponse):
        adapter.modify_order(OrderModification(order_id="1", quantity=3))
    assert len(stub.calls) == 1


def test_cancel_order(stub, adapter):
    stub.delete(
        f"{API}/orders/952502167319", json={"orderId": "952502167319", "orderStatus": "CANCELLED"}
    )
    assert adapter.cancel_order("952502167319").order_id == "952502167319"


def test_cancel_of_a_finished_order_is_rejected(stub, adapter):
    stub.delete(
        f"{API}/orders/1",
        status=400,
        json={"errorType": "Order_Error", "errorCode": "DH-906", "errorMessage": "traded"},
    )
    with pytest.raises(OrderRejected) as caught:
        adapter.cancel_order("1")
    assert_clean(caught.value, "cancel_order")


# --- Every documented error on a read ---------------------------------------------------------
@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ({"status": 401, "json": payload("error.json")}, TokenExpired),
        ({"status": 429, "json": payload("error_rate_limit.json")}, RateLimited),
        ({"status": 429, "body": "Too Many Requests"}, RateLimited),
        (
            {"status": 403, "json": {"errorType": "Invalid_Access", "errorCode": "DH-902"}},
            AuthError,
        ),
        (
            {"status": 400, "json": {"errorType": "User_Account", "errorCode": "DH-903"}},
            InvalidRequest,
        ),
        (
            {"status": 500, "json": {"errorType": "Internal_Server_Error", "errorCode": "DH-908"}},
            BrokerUnavailable,
        ),
        ({"status": 502, "body": "<html><body>502 Bad Gateway</body></html>"}, BrokerUnavailable),
        ({"status": 503, "body": "Scheduled maintenance until 07:00"}, Maintenance),
        (
            {
                "status": 200,
                "json": {"errorType": "Others", "errorCode": "DH-910", "errorMessage": "x"},
            },
            InvalidRequest,
        ),
        ({"status": 200, "json": payload("error.json")}, TokenExpired),
        ({"status": 200, "body": "not json at all"}, BadResponse),
        ({"status": 200, "body": "<!doctype html><html><body>Login</body></html>"}, BadResponse),
        ({"status": 200, "body": '{"dhanClientId": "1100003626", "availabelBal'}, BadResponse),
        ({"status": 200, "json": {"dhanClientId": "1100003626"}}, BadResponse),
        (
            {"status": 200, "json": {**payload("funds.json"), "availabelBalance": "NaN"}},
            BadResponse,
        ),
    ],
)
def test_read_errors_land_in_the_taxonomy(stub, adapter, reply, expected):
    stub.get(f"{API}/fundlimit", **reply)
    with pytest.raises(expected) as caught:
        adapter.funds()
    assert_clean(caught.value, "funds")


def test_rate_limit_keeps_retry_after(stub, adapter):
    stub.get(f"{API}/fundlimit", status=429, headers={"Retry-After": "3"}, body="slow down")
    with pytest.raises(RateLimited) as caught:
        adapter.funds()
    assert caught.value.retry_after == 3.0


def test_unknown_order_status_is_a_bad_response(stub, adapter):
    stub.get(f"{API}/orders", json=[{**payload("orders.json")[0], "orderStatus": "WOBBLING"}])
    with pytest.raises(BadResponse) as caught:
        adapter.orders()
    assert_clean(caught.value, "orders")


def test_missing_order_field_is_a_bad_response(stub, adapter):
    row = payload("orders.json")[0]
    del row["transactionType"]
    stub.get(f"{API}/orders", json=[row])
    with pytest.raises(BadResponse):
        adapter.orders()


def test_negative_holding_is_a_bad_response(stub, adapter):
    stub.get(f"{API}/holdings", json=[{**payload("holdings.json")[0], "totalQty": -2}])
    with pytest.raises(BadResponse):
        adapter.holdings()


def test_a_read_timeout_is_unavailable(stub, adapter):
    stub.get(f"{API}/positions", body=requests.ReadTimeout())
    with pytest.raises(BrokerUnavailable) as caught:
        adapter.positions()
    assert not isinstance(caught.value, BadResponse)
    assert_clean(caught.value, "positions")


def test_an_error_echoing_the_token_is_redacted(stub, adapter):
    stub.get(
        f"{API}/fundlimit",
        status=400,
        json={"errorCode": "DH-905", "errorMessage": f"bad header access-token {ACCESS_TOKEN}"},
    )
    with pytest.raises(InvalidRequest) as caught:
        adapter.funds()
    assert_clean(caught.value, "funds")


def test_reads_without_tokens_are_token_expired(stub):
    with pytest.raises(TokenExpired):
        build(tokens=False).holdings()
    assert not stub.calls


def test_capabilities_state_the_documented_limits(adapter):
    caps = adapter.capabilities
    assert caps.rate_limits["quote"] == 1 and caps.rate_limits["order"] == 25
    assert caps.supports_refresh is True
    assert {OrderType.SL_M, OrderType.SL} <= caps.order_types
    assert "24 h" in caps.token_expiry_rule
