"""Groww adapter: each documented payload and each documented error, stubbed at the real hosts."""

import hashlib
import json
import uuid
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
import requests
import responses
import time_machine
from responses import matchers

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
    InstrumentRef,
    OrderModification,
    OrderRequest,
    OrderStatus,
    OrderType,
    Product,
    Side,
    Tokens,
)

PAYLOADS = Path(__file__).parent / "payloads" / "groww"
API = "https://api.groww.in"
ASSETS = "https://growwapi-assets.groww.in"
ACCESS_TOKEN = "groww-access-SECRET-7f3a9c"
API_KEY = "groww-api-key-SECRET-11aa"
API_SECRET = "groww-api-secret-SECRET-22bb"
SECRETS = (ACCESS_TOKEN, API_KEY, API_SECRET)


def load(name: str) -> dict:
    return json.loads((PAYLOADS / f"{name}.json").read_text())


@pytest.fixture(autouse=True)
def real_hosts(settings):
    settings.BROKER_HOSTS = {
        **settings.BROKER_HOSTS,
        "groww": dict(settings.BROKER_REAL_HOSTS["groww"]),
    }


def build(*, logged_in: bool = True):
    tokens = None
    if logged_in:
        tokens = Tokens(access_token=ACCESS_TOKEN, expires_at=datetime(2030, 1, 1, tzinfo=IST))
    # A fresh account per adapter: the rate limiter's buckets are per account.
    return registry.build(
        "groww",
        app=AppCredentials(api_key=API_KEY, api_secret=API_SECRET),
        tokens=tokens,
        account=f"T{uuid.uuid4().hex[:8]}",
    )


@pytest.fixture
def adapter():
    return build()


def assert_clean(error: BrokerError, *extra: str):
    text = str(error)
    for secret in (*SECRETS, *extra):
        assert secret not in text


# --- Login ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("now", "expires"),
    [
        (datetime(2025, 1, 1, 5, 59, 59, tzinfo=IST), datetime(2025, 1, 1, 6, 0, tzinfo=IST)),
        (datetime(2025, 1, 1, 6, 0, 0, tzinfo=IST), datetime(2025, 1, 2, 6, 0, tzinfo=IST)),
        (datetime(2025, 1, 1, 23, 30, tzinfo=IST), datetime(2025, 1, 2, 6, 0, tzinfo=IST)),
    ],
)
@responses.activate
def test_approval_login_sends_the_checksum_and_expires_at_six_ist(now, expires):
    responses.post(f"{API}/v1/token/api/access", json=load("token"))
    responses.get(f"{API}/v1/user/detail", json=load("profile"))
    adapter = build(logged_in=False)

    with time_machine.travel(now, tick=False):
        tokens = adapter.complete_login({})

    stamp = int(now.timestamp())
    request = responses.calls[0].request
    assert json.loads(request.body) == {
        "key_type": "approval",
        "checksum": hashlib.sha256(f"{API_SECRET}{stamp}".encode()).hexdigest(),
        "timestamp": stamp,
    }
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-API-VERSION"] == "1.0"
    assert tokens.access_token == load("token")["token"]
    assert tokens.expires_at == expires
    assert tokens.refresh_token == ""
    assert tokens.account_id == "9123456789"
    # The profile probe already uses the new token.
    assert responses.calls[1].request.headers["Authorization"] == f"Bearer {tokens.access_token}"


@responses.activate
def test_totp_login_sends_the_typed_code():
    responses.post(f"{API}/v1/token/api/access", json=load("token"))
    responses.get(f"{API}/v1/user/detail", json=load("profile"))

    build(logged_in=False).complete_login({"totp": "482913"})

    assert json.loads(responses.calls[0].request.body) == {"key_type": "totp", "totp": "482913"}


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, {"error": {"code": "GA001", "displayMessage": "Invalid checksum"}}),
        (401, {"status": "FAILURE", "error": {"code": "GA005", "message": "Invalid API key"}}),
        (403, {"status": "FAILURE", "error": {"code": "GA005", "message": "Key not approved"}}),
    ],
)
@responses.activate
def test_refused_login_is_an_auth_error_without_secrets(status, body):
    responses.post(f"{API}/v1/token/api/access", json=body, status=status)

    with pytest.raises(AuthError) as caught:
        build(logged_in=False).complete_login({"totp": "482913"})

    assert not isinstance(caught.value, TokenExpired)
    assert caught.value.broker == "groww"
    assert caught.value.endpoint == "token/api/access"
    assert_clean(caught.value, "482913")


@responses.activate
def test_refused_approval_keeps_the_checksum_out_of_the_error():
    now = datetime(2025, 1, 1, 9, 0, tzinfo=IST)
    stamp = int(now.timestamp())
    sent = hashlib.sha256(f"{API_SECRET}{stamp}".encode()).hexdigest()
    echo = {"error": {"code": "GA001", "displayMessage": f"Invalid checksum {sent}"}}
    responses.post(f"{API}/v1/token/api/access", json=echo, status=400)

    with time_machine.travel(now, tick=False), pytest.raises(AuthError) as caught:
        build(logged_in=False).complete_login({})

    assert "Invalid checksum" in str(caught.value)
    assert_clean(caught.value, sent)


@responses.activate
def test_login_reply_without_token_is_bad_response():
    responses.post(f"{API}/v1/token/api/access", json={"isActive": True})

    with pytest.raises(BadResponse):
        build(logged_in=False).complete_login({})


def test_no_refresh_and_no_logout(adapter):
    assert adapter.capabilities.supports_refresh is False
    assert adapter.capabilities.has_logout is False
    with pytest.raises(NotSupported):
        adapter.refresh()
    with pytest.raises(NotSupported):
        adapter.logout()


def test_calls_without_a_token_ask_for_a_login():
    with pytest.raises(TokenExpired):
        build(logged_in=False).holdings()


# --- Reads ------------------------------------------------------------------------------------
@responses.activate
def test_profile(adapter):
    responses.get(f"{API}/v1/user/detail", json=load("profile"))

    profile = adapter.profile()

    assert profile.account_id == "9123456789"
    assert set(profile.exchanges) == {"NSE", "BSE", "NFO", "BFO"}
    assert set(profile.products) == {"CNC", "MIS", "NRML"}
    request = responses.calls[0].request
    assert request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert request.headers["Accept"] == "application/json"
    assert request.headers["X-API-VERSION"] == "1.0"


@responses.activate
def test_funds(adapter):
    responses.get(f"{API}/v1/margins/detail/user", json=load("funds"))

    funds = adapter.funds()

    assert funds.available == Decimal("37453.0")
    assert funds.used == Decimal("12507.0")
    assert funds.total == Decimal("50000.0")
    assert funds.collateral == Decimal("0.0")


@responses.activate
def test_holdings_keep_isin_decimal_prices_and_plain_symbols(adapter):
    payload = load("holdings")
    payload["payload"]["holdings"][1]["trading_symbol"] = "WIPRO-EQ"  # the old doc spelling
    responses.get(f"{API}/v1/holdings/user", json=payload)

    reliance, wipro = adapter.holdings()

    assert reliance.symbol == "RELIANCE"
    assert reliance.isin == "INE002A01018"
    assert reliance.quantity == 10 and isinstance(reliance.quantity, int)
    assert reliance.average_price == Decimal("2412.5")
    assert reliance.exchange == "NSE"
    assert reliance.last_price is None  # holdings carry no live price
    assert wipro.symbol == "WIPRO"
    assert wipro.broker_symbol == "WIPRO-EQ"
    assert wipro.average_price == Decimal("248.2")


@pytest.mark.parametrize("bad", [-2412.5, "NaN"])
@responses.activate
def test_impossible_average_price_is_bad_response(adapter, bad):
    payload = load("holdings")
    payload["payload"]["holdings"][0]["average_price"] = bad
    responses.get(f"{API}/v1/holdings/user", json=payload)

    with pytest.raises(BadResponse):
        adapter.holdings()


@responses.activate
def test_positions(adapter):
    responses.get(f"{API}/v1/positions/user", json=load("positions"))

    reliance, wipro = adapter.positions()

    assert (reliance.exchange, reliance.symbol, reliance.product) == ("NSE", "RELIANCE", "MIS")
    assert reliance.quantity == 5
    assert reliance.average_price == Decimal("2501.4")
    assert reliance.buy_quantity == 5 and reliance.sell_quantity == 0
    assert reliance.isin == "INE002A01018"
    assert reliance.last_price is None
    assert wipro.quantity == 0
    assert wipro.realized_pnl == Decimal("12.5")
    assert (wipro.buy_quantity, wipro.sell_quantity) == (10, 10)


@responses.activate
def test_fno_position_is_on_nfo(adapter):
    payload = load("positions")
    payload["payload"]["positions"][0].update(
        trading_symbol="NIFTY25DEC24000CE", segment="FNO", product="NRML", symbol_isin=""
    )
    responses.get(f"{API}/v1/positions/user", json=payload)

    option = adapter.positions()[0]

    assert (option.exchange, option.symbol) == ("NFO", "NIFTY25DEC24000CE")


@responses.activate
def test_orders_map_status_side_type_and_tag(adapter):
    responses.get(f"{API}/v1/order/list", json=load("order_list"))

    executed, approved = adapter.orders()

    assert executed.order_id == "GMK39038RDT490CCVRO"
    assert executed.status is OrderStatus.COMPLETE
    assert executed.broker_status == "EXECUTED"
    assert executed.side is Side.BUY
    assert executed.order_type is OrderType.LIMIT
    assert executed.filled_quantity == 10
    assert executed.average_price == Decimal("250.1")
    assert executed.tag == "Ab-654321234-1628190"
    assert executed.placed_at == datetime(2025, 1, 1, 10, 15, 30, tzinfo=IST)
    assert approved.status is OrderStatus.OPEN
    assert approved.side is Side.SELL
    assert approved.exchange == "BSE"
    assert approved.price == Decimal("2400.05")
    assert approved.average_price is None
    assert responses.calls[0].request.params == {"page": "0", "page_size": "25"}


@responses.activate
def test_find_order_by_tag(adapter):
    responses.get(f"{API}/v1/order/list", json=load("order_list"))

    assert adapter.find_order("routing-tag-0001").order_id == "GMK40112ABC771XYZQ1"


@responses.activate
def test_orders_follow_pages_until_a_short_page(adapter):
    row = load("order_list")["payload"]["order_list"][0]
    first = [dict(row, groww_order_id=f"GMK{n:016d}") for n in range(25)]
    responses.get(
        f"{API}/v1/order/list",
        json={"status": "SUCCESS", "payload": {"order_list": first}},
        match=[matchers.query_param_matcher({"page": "0", "page_size": "25"})],
    )
    responses.get(
        f"{API}/v1/order/list",
        json={"status": "SUCCESS", "payload": {"order_list": [row]}},
        match=[matchers.query_param_matcher({"page": "1", "page_size": "25"})],
    )

    assert len(adapter.orders()) == 26


@pytest.mark.parametrize(
    ("word", "status"),
    [
        ("NEW", OrderStatus.PENDING),
        ("ACKED", OrderStatus.OPEN),
        ("OPEN", OrderStatus.OPEN),
        ("TRIGGER_PENDING", OrderStatus.TRIGGER_PENDING),
        ("CANCELLATION_REQUESTED", OrderStatus.OPEN),
        ("CANCELLED", OrderStatus.CANCELLED),
        ("REJECTED", OrderStatus.REJECTED),
        ("FAILED", OrderStatus.REJECTED),
        ("DELIVERY_AWAITED", OrderStatus.COMPLETE),
        ("COMPLETED", OrderStatus.COMPLETE),
        ("SOMETHING_NEW", OrderStatus.PENDING),  # unknown words are kept, never final
    ],
)
@responses.activate
def test_order_status_words(adapter, word, status):
    payload = load("order_list")
    payload["payload"]["order_list"][0]["order_status"] = word
    responses.get(f"{API}/v1/order/list", json=payload)

    order = adapter.orders()[0]

    assert order.status is status
    assert order.broker_status == word


@responses.activate
def test_trades_are_read_per_filled_order(adapter):
    responses.get(f"{API}/v1/order/list", json=load("order_list"))
    responses.get(f"{API}/v1/order/trades/GMK39038RDT490CCVRO", json=load("trades"))

    (trade,) = adapter.trades()

    assert trade.trade_id == "GTR1230098ABC"
    assert trade.order_id == "GMK39038RDT490CCVRO"
    assert (trade.exchange, trade.symbol, trade.side) == ("NSE", "WIPRO", Side.BUY)
    assert trade.quantity == 10
    assert trade.price == Decimal("250.1")
    assert trade.traded_at == datetime(2025, 1, 1, 10, 15, 31, tzinfo=IST)
    assert responses.calls[1].request.params == {
        "segment": "CASH",
        "page": "0",
        "page_size": "50",
    }


@responses.activate
def test_quotes_take_ltp_and_the_previous_close_from_ohlc(adapter):
    responses.get(f"{API}/v1/live-data/ltp", json=load("ltp"))
    responses.get(f"{API}/v1/live-data/ohlc", json=load("ohlc"))
    reliance = InstrumentRef("NSE", "RELIANCE")
    sensex = InstrumentRef("BSE", "SENSEX")

    quotes = adapter.quotes([reliance, sensex])

    assert quotes[reliance].last_price == Decimal("2503.85")
    assert quotes[reliance].previous_close == Decimal("2495.30")  # from the string form
    assert quotes[sensex].last_price == Decimal("73243.4")
    assert quotes[sensex].previous_close == Decimal("73150.2")  # from the object form
    assert "exchange_symbols=NSE_RELIANCE&exchange_symbols=BSE_SENSEX" in (
        responses.calls[0].request.url
    )
    assert responses.calls[0].request.params["segment"] == "CASH"


@responses.activate
def test_quotes_leave_out_what_groww_does_not_price(adapter):
    responses.get(f"{API}/v1/live-data/ltp", json={"status": "SUCCESS", "payload": {}})
    responses.get(f"{API}/v1/live-data/ohlc", json={"status": "SUCCESS", "payload": {}})

    assert adapter.quotes([InstrumentRef("NSE", "NOSUCH")]) == {}


# --- Instrument master ----------------------------------------------------------------------
MASTER = (
    "exchange,exchange_token,trading_symbol,groww_symbol,name,instrument_type,segment,series,"
    "isin,underlying_symbol,underlying_exchange_token,expiry_date,strike_price,lot_size,"
    "tick_size,freeze_quantity,is_reserved,buy_allowed,sell_allowed\n"
    "NSE,2885,RELIANCE,NSE-RELIANCE,RELIANCE INDUSTRIES,EQ,CASH,EQ,INE002A01018,,,,,1,0.05,,0,1,1\n"
    "BSE,500325,RELIANCE,BSE-RELIANCE,RELIANCE INDUSTRIES,EQ,CASH,A,INE002A01018,,,,,1,0.05,,0,1,1"
    "\n"
    "NSE,49445,BANKNIFTY25DEC27000PE,NSE-BANKNIFTY-24Dec25-27000-PE,BANKNIFTY,PE,FNO,,,"
    "BANKNIFTY,26009,2025-12-24,27000,35,0.05,601,0,1,1\n"
)


@responses.activate
def test_instrument_master(adapter):
    responses.get(f"{ASSETS}/instruments/instrument.csv", body=MASTER, content_type="text/csv")

    nse, bse, option = adapter.instruments()

    assert (nse.instrument_id, nse.exchange, nse.symbol) == ("2885", "NSE", "RELIANCE")
    assert nse.isin == "INE002A01018"
    assert nse.segment == "CASH"
    assert nse.tick_size == Decimal("0.05")
    assert (bse.instrument_id, bse.exchange) == ("500325", "BSE")
    assert (option.exchange, option.symbol) == ("NFO", "BANKNIFTY25DEC27000PE")
    assert option.lot_size == 35
    assert option.strike == Decimal("27000")
    assert option.expiry.isoformat() == "2025-12-24"
    assert option.instrument_type == "PE"
    assert "Authorization" not in responses.calls[0].request.headers  # a public file


@pytest.mark.parametrize(
    "body",
    [
        "",
        "exchange,trading_symbol\nNSE,RELIANCE\n",  # required columns missing
        MASTER.splitlines()[0] + "\n",  # header only
        MASTER[: MASTER.index("RELIANCE,BSE-") + 3],  # truncated mid-row
        MASTER.replace(",35,0.05,", ",thirty-five,0.05,"),
        "<html><body>Access Denied</body></html>",
    ],
)
@responses.activate
def test_corrupted_instrument_master_is_bad_response(adapter, body):
    responses.get(f"{ASSETS}/instruments/instrument.csv", body=body)

    with pytest.raises(BadResponse) as caught:
        adapter.instruments()

    assert caught.value.endpoint == "instruments"


# --- Orders -------------------------------------------------------------------------------------
def limit_buy(**changes) -> OrderRequest:
    fields = {
        "exchange": "NSE",
        "symbol": "WIPRO",
        "side": Side.BUY,
        "quantity": 10,
        "order_type": OrderType.LIMIT,
        "product": Product.CNC,
        "price": Decimal("250.05"),
        "tag": "Ab-654321234-1628190",
    }
    return OrderRequest(**{**fields, **changes})


@responses.activate
def test_place_order_sends_the_documented_body(adapter):
    responses.post(f"{API}/v1/order/create", json=load("order_place"))

    ack = adapter.place_order(limit_buy())

    assert ack.order_id == "GMK39038RDT490CCVRO"
    assert json.loads(responses.calls[0].request.body) == {
        "trading_symbol": "WIPRO",
        "quantity": 10,
        "price": 250.05,
        "trigger_price": 0,
        "validity": "DAY",
        "exchange": "NSE",
        "segment": "CASH",
        "product": "CNC",
        "order_type": "LIMIT",
        "transaction_type": "BUY",
        "order_reference_id": "Ab-654321234-1628190",
    }


@responses.activate
def test_stop_market_fno_order(adapter):
    responses.post(f"{API}/v1/order/create", json=load("order_place"))

    adapter.place_order(
        limit_buy(
            exchange="NFO",
            symbol="NIFTY25DEC24000CE",
            order_type=OrderType.SL_M,
            product=Product.NRML,
            trigger_price=Decimal("101.5"),
        )
    )

    body = json.loads(responses.calls[0].request.body)
    assert (body["exchange"], body["segment"]) == ("NSE", "FNO")
    assert (body["order_type"], body["price"], body["trigger_price"]) == ("SL_M", 0, 101.5)


@pytest.mark.parametrize("tag", ["short", "x" * 21, "a-b-c-d-e-f", "tag with space"])
def test_tags_groww_cannot_carry_are_refused_before_sending(adapter, tag):
    # Inside RequestsMock any request would fail the test.
    with responses.RequestsMock(), pytest.raises(InvalidRequest):
        adapter.place_order(limit_buy(tag=tag))


@pytest.mark.parametrize("status", [400, 200])  # the SDK checks FAILURE before the HTTP code
@responses.activate
def test_refused_order_is_order_rejected(adapter, status):
    responses.post(f"{API}/v1/order/create", json=load("error"), status=status)

    with pytest.raises(OrderRejected) as caught:
        adapter.place_order(limit_buy())

    assert caught.value.code == "GA001"
    assert caught.value.broker == "groww"
    assert caught.value.endpoint == "order/create"


@pytest.mark.parametrize("status", [400, 200])
@responses.activate
def test_a_reused_reference_id_is_an_order_already_there_not_a_refusal(adapter, status):
    """GA007 says Groww already holds an order under this reference id: the order may well
    be placed, so it is reconciled by its tag, never failed over as refused."""
    responses.post(f"{API}/v1/order/create", json=load("error_duplicate_ref"), status=status)

    with pytest.raises(OrderStateUnknown) as caught:
        adapter.place_order(limit_buy())

    assert caught.value.code == "GA007"
    assert caught.value.tag


@pytest.mark.parametrize(
    "reply",
    [
        {"body": requests.ReadTimeout()},
        {"status": 429, "body": "Too Many Requests", "content_type": "text/plain"},
        {"status": 500, "json": {"status": "FAILURE", "error": {"code": "GA000"}}},
        {"status": 504, "body": "<html><h1>504 Gateway Time-out</h1></html>"},
        {"status": 200, "body": '{"status": "SUCCESS", "payload": {"groww_or'},
    ],
)
@responses.activate
def test_order_write_without_a_known_outcome_is_order_state_unknown(adapter, reply):
    responses.post(f"{API}/v1/order/create", **reply)

    with pytest.raises(OrderStateUnknown) as caught:
        adapter.place_order(limit_buy())

    assert caught.value.tag == "Ab-654321234-1628190"
    assert caught.value.endpoint == "order/create"
    assert_clean(caught.value)


@responses.activate
def test_modify_reads_the_segment_then_sends_the_full_shape(adapter):
    responses.get(f"{API}/v1/order/list", json=load("order_list"))
    responses.post(
        f"{API}/v1/order/modify",
        json={"status": "SUCCESS", "payload": {"groww_order_id": "GMK40112ABC771XYZQ1"}},
    )

    ack = adapter.modify_order(OrderModification("GMK40112ABC771XYZQ1", price=Decimal("2410")))

    assert ack.order_id == "GMK40112ABC771XYZQ1"
    assert json.loads(responses.calls[1].request.body) == {
        "groww_order_id": "GMK40112ABC771XYZQ1",
        "segment": "CASH",
        "order_type": "LIMIT",
        "quantity": 5,
        "price": 2410,
        "trigger_price": 0,
    }


@responses.activate
def test_cancel(adapter):
    responses.get(f"{API}/v1/order/list", json=load("order_list"))
    responses.post(
        f"{API}/v1/order/cancel",
        json={
            "status": "SUCCESS",
            "payload": {
                "groww_order_id": "GMK40112ABC771XYZQ1",
                "order_status": "CANCELLATION_REQUESTED",
            },
        },
    )

    assert adapter.cancel_order("GMK40112ABC771XYZQ1").order_id == "GMK40112ABC771XYZQ1"
    assert json.loads(responses.calls[1].request.body) == {
        "groww_order_id": "GMK40112ABC771XYZQ1",
        "segment": "CASH",
    }


@responses.activate
def test_cancel_of_an_unknown_order_is_refused(adapter):
    responses.get(f"{API}/v1/order/list", json=load("order_list"))

    with pytest.raises(InvalidRequest):
        adapter.cancel_order("GMKNOSUCHORDER")


@responses.activate
def test_cancel_of_a_completed_order_is_rejected(adapter):
    responses.get(f"{API}/v1/order/list", json=load("order_list"))
    responses.post(
        f"{API}/v1/order/cancel",
        json={"status": "FAILURE", "error": {"code": "GA006", "message": "Cannot process"}},
        status=400,
    )

    with pytest.raises(OrderRejected) as caught:
        adapter.cancel_order("GMK39038RDT490CCVRO")

    assert caught.value.code == "GA006"


def test_modify_cannot_change_validity(adapter):
    with pytest.raises(NotSupported):
        adapter.modify_order(OrderModification("GMK1", validity="IOC"))


# --- Errors on reads ----------------------------------------------------------------------------
def failure(code: str, message: str) -> dict:
    return {"status": "FAILURE", "error": {"code": code, "message": message, "metadata": None}}


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ({"status": 401, "json": failure("GA005", "User not authorised")}, TokenExpired),
        ({"status": 401, "body": "Unauthorized"}, TokenExpired),
        ({"status": 403, "json": failure("GA005", "User not authorised")}, AuthError),
        ({"status": 429, "json": failure("GA003", "Rate limit exceeded")}, RateLimited),
        ({"status": 429, "body": "Too Many Requests", "content_type": "text/plain"}, RateLimited),
        ({"status": 500, "json": failure("GA000", "Internal error occurred")}, BrokerUnavailable),
        ({"status": 503, "json": failure("GA003", "Unable to serve request")}, BrokerUnavailable),
        ({"status": 503, "json": failure("GA003", "Scheduled maintenance")}, Maintenance),
        ({"status": 502, "body": "<html><h1>502 Bad Gateway</h1></html>"}, BrokerUnavailable),
        ({"status": 200, "json": failure("GA001", "Bad request")}, InvalidRequest),
        ({"status": 200, "json": failure("GA000", "Internal error occurred")}, BrokerUnavailable),
        (
            {"status": 404, "json": failure("GA004", "Requested entity does not exist")},
            InvalidRequest,
        ),
        ({"status": 200, "body": "not json at all"}, BadResponse),
        ({"status": 200, "body": "<html><body>Groww</body></html>"}, BadResponse),
        (
            {"status": 200, "body": '{"status": "SUCCESS", "payload": {"holdings": [{"isin'},
            BadResponse,
        ),
        ({"status": 200, "json": {"status": "SUCCESS", "payload": {}}}, BadResponse),
        ({"status": 200, "json": {"status": "SUCCESS"}}, BadResponse),
        ({"status": 200, "json": {"status": "PARTIAL", "payload": {"holdings": []}}}, BadResponse),
        ({"status": 200, "json": {"status": "FAILURE"}}, BadResponse),
        ({"status": 404, "body": "<html>Not Found</html>"}, BadResponse),
    ],
)
@responses.activate
def test_read_errors_land_in_the_taxonomy(adapter, reply, expected):
    responses.get(f"{API}/v1/holdings/user", **reply)

    with pytest.raises(BrokerError) as caught:
        adapter.holdings()

    assert type(caught.value) is expected
    assert caught.value.broker == "groww"
    assert caught.value.endpoint == "holdings"
    assert_clean(caught.value)


@responses.activate
def test_rate_limit_honours_retry_after(adapter):
    responses.get(
        f"{API}/v1/holdings/user",
        json=failure("GA003", "Rate limit exceeded"),
        status=429,
        headers={"Retry-After": "7"},
    )

    with pytest.raises(RateLimited) as caught:
        adapter.holdings()

    assert caught.value.retry_after == 7.0


@pytest.mark.parametrize(
    ("field", "value"),
    [("transaction_type", "HOLD"), ("order_type", "ICEBERG"), ("quantity", 2.5)],
)
@responses.activate
def test_unknown_enum_or_nonsense_in_orders_is_bad_response(adapter, field, value):
    payload = load("order_list")
    payload["payload"]["order_list"][0][field] = value
    responses.get(f"{API}/v1/order/list", json=payload)

    with pytest.raises(BadResponse) as caught:
        adapter.orders()

    assert caught.value.endpoint == "order/list"


@responses.activate
def test_missing_field_is_bad_response(adapter):
    payload = load("funds")
    del payload["payload"]["equity_margin_details"]
    responses.get(f"{API}/v1/margins/detail/user", json=payload)

    with pytest.raises(BadResponse) as caught:
        adapter.funds()

    assert caught.value.endpoint == "margins"


@responses.activate
def test_a_token_echoed_in_an_error_is_redacted(adapter):
    responses.get(
        f"{API}/v1/holdings/user",
        json=failure("GA001", f"bad header Authorization: Bearer {ACCESS_TOKEN}"),
        status=400,
    )

    with pytest.raises(InvalidRequest) as caught:
        adapter.holdings()

    assert_clean(caught.value)
