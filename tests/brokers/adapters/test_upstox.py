"""The Upstox adapter against trimmed real payloads, stubbed at the real hosts."""

import gzip
import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

import pytest
import requests
import responses
import time_machine

from brokers.adapters.registry import build
from brokers.clock import IST
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

PAYLOADS = Path(__file__).parent / "payloads" / "upstox"
API, HFT = "https://api.upstox.com", "https://api-hft.upstox.com"
MASTER = "https://assets.upstox.com/market-quote/instruments/exchange/complete.json.gz"
TOKEN = "upstox-access-0123456789abcdef"
APP = AppCredentials(
    api_key="my-upstox-api-key",
    api_secret="my-upstox-api-secret-42",
    redirect_uri="https://app.example.com/brokers/callback/upstox/",
)
SECRETS = (TOKEN, APP.api_secret)


def payload(name: str):
    return json.loads((PAYLOADS / f"{name}.json").read_text())


@pytest.fixture(autouse=True)
def real_hosts(settings):
    settings.BROKER_HOSTS = {
        **settings.BROKER_HOSTS,
        "upstox": dict(settings.BROKER_REAL_HOSTS["upstox"]),
    }


@pytest.fixture
def stub():
    with responses.RequestsMock() as mock:
        yield mock


def make_adapter(tokens: Tokens | None = None):
    # A fresh account per adapter: the process-wide rate limiter keys buckets by account.
    return build("upstox", app=APP, tokens=tokens, account=f"T-{uuid4().hex[:8]}")


@pytest.fixture
def adapter():
    return make_adapter(Tokens(access_token=TOKEN, expires_at=datetime(2030, 1, 1, tzinfo=IST)))


def raised(call, *args) -> BrokerError:
    with pytest.raises(BrokerError) as info:
        call(*args)
    error = info.value
    assert error.broker == "upstox"
    for secret in SECRETS:
        assert secret not in str(error)
    return error


LIMIT_BUY = OrderRequest(
    exchange="NSE",
    symbol="RELIANCE",
    side=Side.BUY,
    quantity=3,
    order_type=OrderType.LIMIT,
    product=Product.CNC,
    price=Decimal("2400.05"),
    tag="mb-7f3a9c",
    instrument_id="NSE_EQ|INE002A01018",
)


# --- Login ------------------------------------------------------------------------------------
def test_authorization_url_is_the_documented_dialog(adapter):
    url = adapter.authorization_url(
        state="st-1", redirect_uri=APP.redirect_uri, code_challenge="ignored"
    )

    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
        "https://api.upstox.com/v2/login/authorization/dialog"
    )
    assert parse_qs(parts.query) == {
        "response_type": ["code"],
        "client_id": [APP.api_key],
        "redirect_uri": [APP.redirect_uri],
        "state": ["st-1"],
    }


def test_token_exchange_posts_the_documented_form(stub):
    stub.post(f"{API}/v2/login/authorization/token", json=payload("token_exchange"))
    adapter = make_adapter()

    tokens = adapter.complete_login({"code": "mk404x", "state": "st-1"})

    request = stub.calls[0].request
    assert parse_qs(request.body) == {
        "code": ["mk404x"],
        "client_id": [APP.api_key],
        "client_secret": [APP.api_secret],
        "redirect_uri": [APP.redirect_uri],
        "grant_type": ["authorization_code"],
    }
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["Accept"] == "application/json"
    assert "Authorization" not in request.headers
    assert tokens.access_token == payload("token_exchange")["access_token"]
    assert tokens.account_id == "7AB123"
    assert tokens.refresh_token == ""
    assert tokens.extra == {"extended_token": payload("token_exchange")["extended_token"]}


@pytest.mark.parametrize(
    ("issued", "dies"),
    [
        (datetime(2026, 3, 10, 20, 0), datetime(2026, 3, 11, 3, 30)),  # evening: next morning
        (datetime(2026, 3, 10, 2, 30), datetime(2026, 3, 10, 3, 30)),  # the docs' corner case
        (datetime(2026, 3, 10, 3, 29, 59), datetime(2026, 3, 10, 3, 30)),
        (datetime(2026, 3, 10, 3, 30), datetime(2026, 3, 11, 3, 30)),
    ],
    ids=["20:00", "02:30", "03:29:59", "03:30"],
)
def test_the_token_dies_at_0330_ist(stub, issued, dies):
    stub.post(f"{API}/v2/login/authorization/token", json=payload("token_exchange"))

    with time_machine.travel(issued.replace(tzinfo=IST), tick=False):
        tokens = make_adapter().complete_login({"code": "mk404x"}, redirect_uri=APP.redirect_uri)

    assert tokens.expires_at == dies.replace(tzinfo=IST)


def test_a_denied_consent_is_an_auth_error_without_a_call(stub):
    error = raised(make_adapter().complete_login, {"error": "access_denied", "state": "st-1"})

    assert type(error) is AuthError
    assert len(stub.calls) == 0


@pytest.mark.parametrize(
    ("status", "code"), [(400, "UDAPI100057"), (401, "UDAPI100016"), (400, "UDAPI100068")]
)
def test_a_refused_exchange_is_an_auth_error(stub, status, code):
    body = {"status": "error", "errors": [{"errorCode": code, "message": "Invalid Auth code"}]}
    stub.post(f"{API}/v2/login/authorization/token", json=body, status=status)

    error = raised(make_adapter().complete_login, {"code": "used-code-123"})

    assert type(error) is AuthError
    assert error.code == code
    assert error.endpoint == "/v2/login/authorization/token"
    assert "used-code-123" not in str(error)


def test_logout_deletes_the_session(stub, adapter):
    stub.delete(f"{API}/v2/logout", json=payload("logout"))

    adapter.logout()

    assert stub.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_no_refresh(adapter):
    with pytest.raises(InvalidRequest):
        adapter.refresh()


def test_without_tokens_every_call_asks_for_a_login(stub):
    error = raised(make_adapter().holdings)

    assert isinstance(error, TokenExpired)
    assert len(stub.calls) == 0


# --- Reads ------------------------------------------------------------------------------------
def test_reads_send_the_bearer_and_the_version(stub, adapter):
    stub.get(f"{API}/v2/user/profile", json=payload("profile"))

    profile = adapter.profile()

    headers = stub.calls[0].request.headers
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert headers["Api-Version"] == "2.0"
    assert headers["Accept"] == "application/json"
    assert (profile.account_id, profile.name, profile.email) == (
        "7AB123",
        "Asha Kumar",
        "trader@example.com",
    )
    assert profile.exchanges == ("NSE", "NFO", "BSE", "CDS", "BFO", "BCD")
    assert profile.products == ("CNC", "CO", "MIS")


def test_funds(stub, adapter):
    stub.get(f"{API}/v2/user/get-funds-and-margin", json=payload("funds"))

    funds = adapter.funds()

    assert funds.available == Decimal("15507.46")
    assert funds.used == Decimal("3061.0")


def test_holdings(stub, adapter):
    stub.get(f"{API}/v2/portfolio/long-term-holdings", json=payload("holdings"))

    sbin, yes = adapter.holdings()

    assert sbin.symbol == "SBIN" and sbin.exchange == "NSE"
    assert sbin.quantity == 16 and type(sbin.quantity) is int
    assert sbin.average_price == Decimal("801.78")
    assert sbin.last_price == Decimal("762.45")
    assert sbin.close_price == Decimal("766.4")
    assert sbin.isin == "INE062A01020"
    assert sbin.instrument_id == "NSE_EQ|INE062A01020"
    assert sbin.broker_symbol == "SBIN"
    assert sbin.asset_type == AssetType.EQUITY
    assert yes.average_price == Decimal("18.75")


def test_positions(stub, adapter):
    stub.get(f"{API}/v2/portfolio/short-term-positions", json=payload("positions"))

    sbin, option = adapter.positions()

    assert (sbin.symbol, sbin.exchange, sbin.product) == ("SBIN", "NSE", "MIS")
    assert sbin.quantity == 20 and sbin.buy_quantity == 20 and sbin.sell_quantity == 0
    assert sbin.average_price == Decimal("765.2")
    assert sbin.unrealized_pnl == Decimal("56.0")
    assert sbin.isin == "INE062A01020"
    assert (option.exchange, option.product, option.asset_type) == (
        "NFO",
        "NRML",
        AssetType.DERIVATIVE,
    )
    assert option.symbol == "BANKNIFTY23OCT38000PE"
    assert option.instrument_id == "NSE_FO|52618"
    assert option.buy_quantity == 15 and option.isin == ""


def test_orders_map_status_side_product_and_tag(stub, adapter):
    stub.get(f"{API}/v2/order/retrieve-all", json=payload("order_book"))

    done, rejected, live = adapter.orders()

    assert (done.status, done.exchange, done.side, done.product) == (
        OrderStatus.COMPLETE,
        "BSE",
        Side.BUY,
        "CNC",
    )
    assert done.order_id == "231019025057849" and done.tag == ""
    assert done.placed_at == datetime(2023, 10, 19, 9, 23, 23, tzinfo=IST)
    assert (rejected.status, rejected.side, rejected.order_type) == (
        OrderStatus.REJECTED,
        Side.SELL,
        OrderType.SL_M,
    )
    assert rejected.product == "MIS"
    assert rejected.trigger_price == Decimal("570")
    assert rejected.status_message.startswith("You need to add Rs.")
    assert (live.status, live.broker_status, live.tag) == (OrderStatus.OPEN, "open", "mb-7f3a9c")
    assert live.price == Decimal("2400.05")


def test_find_order_by_our_tag(stub, adapter):
    stub.get(f"{API}/v2/order/retrieve-all", json=payload("order_book"))

    assert adapter.find_order("mb-7f3a9c").order_id == "231019025057851"


def test_trades(stub, adapter):
    stub.get(f"{API}/v2/order/trades/get-trades-for-day", json=payload("trades"))

    (trade,) = adapter.trades()

    assert trade.symbol == "GMRINFRA"  # the "-EQ" series is not part of the symbol
    assert (trade.trade_id, trade.order_id) == ("50091502", "221013001021539")
    assert trade.price == Decimal("299.4") and trade.quantity == 1
    assert trade.traded_at == datetime(2017, 8, 3, 15, 3, 42, tzinfo=IST)


def test_quotes_match_rows_by_their_inner_instrument_token(stub, adapter):
    stub.get(f"{API}/v3/market-quote/ltp", json=payload("ltp"))
    sbin = InstrumentRef("NSE", "SBIN", "INE062A01020")  # an ISIN is enough for equities
    put = InstrumentRef("NFO", "NIFTY2543021600PE", "NSE_FO|51834")

    quotes = adapter.quotes([sbin, put])

    query = parse_qs(urlsplit(stub.calls[0].request.url).query)
    assert query == {"instrument_key": ["NSE_EQ|INE062A01020,NSE_FO|51834"]}
    assert quotes[sbin].last_price == Decimal("768.0")
    assert quotes[sbin].previous_close == Decimal("766.4")
    assert quotes[put].symbol == "NIFTY2543021600PE"
    assert quotes[put].last_price == Decimal("303.9")


def test_a_quote_needs_the_instrument_key(stub, adapter):
    error = raised(adapter.quotes, [InstrumentRef("NSE", "SBIN")])

    assert isinstance(error, InvalidRequest)
    assert len(stub.calls) == 0


# --- Instrument master ------------------------------------------------------------------------
def test_instruments_parse_the_gzipped_json_master(stub, adapter):
    stub.get(MASTER, body=gzip.compress((PAYLOADS / "instruments.json").read_bytes()))

    jocil, reliance, put, nifty = adapter.instruments()

    assert (jocil.instrument_id, jocil.exchange, jocil.symbol) == (
        "NSE_EQ|INE839G01010",
        "NSE",
        "JOCIL",
    )
    assert jocil.isin == "INE839G01010" and jocil.tick_size == Decimal("0.05")
    assert (reliance.exchange, reliance.tick_size) == ("BSE", Decimal("0.1"))
    assert (put.exchange, put.segment, put.lot_size) == ("NFO", "NSE_FO", 75)
    assert put.expiry == date(2025, 4, 24)
    assert put.strike == Decimal("21600.0")
    assert (nifty.lot_size, nifty.tick_size, nifty.isin) == (1, Decimal("0.05"), "")
    assert "Authorization" not in stub.calls[0].request.headers


@pytest.mark.parametrize(
    "body",
    [
        gzip.compress(b'[{"segment": "NSE_EQ", "instrument_key": "NSE_EQ|X"')[:-6],
        b"\x1f\x8b\x08garbage",
        gzip.compress(b"[]"),
        gzip.compress(b'{"not": "a list"}'),
        gzip.compress(b'[{"segment": "NSE_EQ", "instrument_key": "NSE_EQ|INE002A01018"}]'),
        b"<html><body>Access Denied</body></html>",
    ],
    ids=["truncated", "corrupt-gzip", "empty", "not-a-list", "no-trading_symbol", "html"],
)
def test_a_broken_master_is_bad_response(stub, adapter, body):
    stub.get(MASTER, body=body)

    error = raised(adapter.instruments)

    assert isinstance(error, BadResponse)
    assert error.endpoint == "/market-quote/instruments/exchange/complete.json.gz"


def test_a_missing_master_is_bad_response(stub, adapter):
    stub.get(MASTER, body="<Error><Code>NoSuchKey</Code></Error>", status=404)

    assert isinstance(raised(adapter.instruments), BadResponse)


# --- Errors → taxonomy ------------------------------------------------------------------------
HOLDINGS = f"{API}/v2/portfolio/long-term-holdings"
TEXT = "text/html"


def upstox_error(code: str, message: str = "message") -> dict:
    return {"status": "error", "errors": [{"errorCode": code, "message": message}]}


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (401, payload("error"), TokenExpired),
        (401, "<html>401 Authorization Required</html>", TokenExpired),
        (429, payload("error_rate_limit"), RateLimited),
        (429, "Too Many Requests", RateLimited),
        (500, upstox_error("UDAPI100500", "Something went wrong"), BrokerUnavailable),
        (502, "<html><h1>502 Bad Gateway</h1></html>", BrokerUnavailable),
        (503, "<html>maintenance</html>", Maintenance),
        (503, "<html><h1>503 Service Temporarily Unavailable</h1></html>", BrokerUnavailable),
        (400, upstox_error("UDAPI100036", "Invalid Input"), InvalidRequest),
        (403, upstox_error("UDAPI100067", "not permitted with an extended_token"), AuthError),
        (200, upstox_error("UDAPI100050", "Invalid token used to access API"), TokenExpired),
        (200, upstox_error("UDAPI10005", "Too Many Request Sent"), RateLimited),
    ],
    ids=[
        "401",
        "401-html",
        "429",
        "429-text",
        "500",
        "502-html",
        "503",
        "503-outage-page",
        "400",
        "extended-token",
        "200-token-error",
        "200-rate-error",
    ],
)
def test_documented_errors_land_in_the_taxonomy(stub, adapter, status, body, expected):
    if isinstance(body, dict):
        stub.get(HOLDINGS, json=body, status=status)
    else:
        stub.get(HOLDINGS, body=body, status=status, content_type=TEXT)

    error = raised(adapter.holdings)

    assert type(error) is expected
    assert error.endpoint == "/v2/portfolio/long-term-holdings"


def test_a_rate_limit_says_when_to_retry(stub, adapter):
    stub.get(HOLDINGS, json=payload("error_rate_limit"), status=429)

    error = raised(adapter.holdings)

    assert error.retry_after == 1.0 and error.retryable
    assert error.code == "UDAPI10005"


def test_the_night_window_is_maintenance_until_0530(stub, adapter):
    stub.get(HOLDINGS, json=upstox_error("UDAPI100074", "API accessible 5:30 AM"), status=423)

    with time_machine.travel(datetime(2026, 3, 10, 1, 0, tzinfo=IST), tick=False):
        error = raised(adapter.holdings)

    assert isinstance(error, Maintenance)
    assert error.until == datetime(2026, 3, 10, 5, 30, tzinfo=IST)


def test_snake_case_error_fields_are_read_too(stub, adapter):
    body = {"status": "error", "errors": [{"error_code": "UDAPI100050", "message": "Invalid"}]}
    stub.get(HOLDINGS, json=body, status=401)

    assert raised(adapter.holdings).code == "UDAPI100050"


def broken_holding(**change) -> dict:
    body = payload("holdings")
    body["data"][0].update(change)
    return {k: v for k, v in body["data"][0].items() if v is not None}


@pytest.mark.parametrize(
    "body",
    [
        '{"status": "success", data: []}',
        "<!DOCTYPE html><html><body>Upstox is down for maintenance</body></html>",
        '{"status": "success", "data": [{"isin": "INE062A01020", "quantity": 1',
        '{"status": "success"}',
        json.dumps({"status": "success", "data": [broken_holding(quantity=None)]}),
        json.dumps({"status": "success", "data": [broken_holding(quantity=-3)]}),
        json.dumps({"status": "success", "data": [broken_holding(quantity=2.5)]}),
        '{"status": "success", "data": [{"average_price": NaN}]}',
        json.dumps({"status": "success", "data": [broken_holding(average_price="abc")]}),
    ],
    ids=[
        "garbage-json",
        "html-page",
        "truncated",
        "no-data",
        "missing-field",
        "negative",
        "fractional-qty",
        "nan",
        "not-a-number",
    ],
)
def test_unreadable_answers_are_bad_response(stub, adapter, body):
    stub.get(HOLDINGS, body=body, content_type="application/json")

    error = raised(adapter.holdings)

    assert isinstance(error, BadResponse)
    assert error.endpoint == "/v2/portfolio/long-term-holdings"


@pytest.mark.parametrize(
    "change",
    [{"status": "teleported"}, {"transaction_type": "HOLD"}, {"order_type": "ICEBERG"}],
    ids=lambda c: next(iter(c)),
)
def test_an_unknown_enum_is_bad_response(stub, adapter, change):
    body = payload("order_book")
    body["data"][2].update(change)
    stub.get(f"{API}/v2/order/retrieve-all", json=body)

    error = raised(adapter.orders)

    assert isinstance(error, BadResponse)
    assert error.endpoint == "/v2/order/retrieve-all"
    assert repr(next(iter(change.values()))) in error.message


# --- Order writes -----------------------------------------------------------------------------
PLACE = f"{HFT}/v3/order/place"


def test_place_sends_the_v3_body_to_the_hft_host(stub, adapter):
    stub.post(PLACE, json=payload("order_place"))

    ack = adapter.place_order(LIMIT_BUY)

    request = stub.calls[0].request
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.body) == {
        "quantity": 3,
        "product": "D",
        "validity": "DAY",
        "price": 2400.05,
        "tag": "mb-7f3a9c",
        "instrument_token": "NSE_EQ|INE002A01018",
        "order_type": "LIMIT",
        "transaction_type": "BUY",
        "disclosed_quantity": 0,
        "trigger_price": 0,
        "is_amo": False,
        "slice": False,
    }
    assert b'"price": 2400.05' in request.body
    assert ack.order_id == "250117010445130"


def test_a_market_order_sends_price_zero_and_protection_only_when_set(stub, adapter):
    stub.post(PLACE, json=payload("order_place"))
    stub.post(PLACE, json=payload("order_place"))
    market = OrderRequest(
        exchange="BSE",
        symbol="SBIN",
        side=Side.SELL,
        quantity=2,
        order_type=OrderType.MARKET,
        product=Product.MIS,
        instrument_id="INE062A01020",
    )

    adapter.place_order(market)
    adapter.place_order(OrderRequest(**{**market.__dict__, "market_protection": 5}))

    first, second = (json.loads(call.request.body) for call in stub.calls)
    assert (first["price"], first["product"], first["instrument_token"]) == (
        0,
        "I",
        "BSE_EQ|INE062A01020",
    )
    assert "market_protection" not in first
    assert second["market_protection"] == 5


def test_a_tag_longer_than_upstox_allows_is_refused_before_sending(stub, adapter):
    error = raised(adapter.place_order, OrderRequest(**{**LIMIT_BUY.__dict__, "tag": "x" * 41}))

    assert isinstance(error, InvalidRequest)
    assert len(stub.calls) == 0


def test_a_refused_order_is_order_rejected(stub, adapter):
    stub.post(
        PLACE, json=upstox_error("UDAPI1052", "The order quantity cannot be zero"), status=400
    )

    error = raised(adapter.place_order, LIMIT_BUY)

    assert type(error) is OrderRejected
    assert (error.code, error.endpoint) == ("UDAPI1052", "/v3/order/place")


@pytest.mark.parametrize(
    "reply",
    [
        {"body": requests.ReadTimeout()},
        {"json": payload("error_rate_limit"), "status": 429},
        {"body": "Too Many Requests", "status": 429},
        {"json": upstox_error("UDAPI100500"), "status": 500},
        {"body": "<html>504 Gateway Time-out</html>", "status": 504},
        {"body": '{"status": "success", "data": {"order_ids": []}}'},
        {"body": "<html>ok?</html>"},
    ],
    ids=["timeout", "429", "429-text", "500", "504", "no-order-id", "html"],
)
def test_an_order_write_with_no_clear_answer_is_order_state_unknown(stub, adapter, reply):
    stub.post(PLACE, **reply)

    error = raised(adapter.place_order, LIMIT_BUY)

    assert isinstance(error, OrderStateUnknown)
    assert error.tag == "mb-7f3a9c"
    assert error.endpoint == "/v3/order/place"


def test_modify_fills_in_what_upstox_requires_from_the_order_book(stub, adapter):
    stub.get(f"{API}/v2/order/retrieve-all", json=payload("order_book"))
    modified = {"status": "success", "data": {"order_id": "231019025057851"}}
    stub.put(f"{HFT}/v3/order/modify", json={**modified, "metadata": {"latency": 40}})

    ack = adapter.modify_order(OrderModification(order_id="231019025057851", quantity=5))

    assert json.loads(stub.calls[1].request.body) == {
        "order_id": "231019025057851",
        "quantity": 5,
        "validity": "DAY",
        "price": 2400.05,
        "order_type": "LIMIT",
        "trigger_price": 0,
    }
    assert ack.order_id == "231019025057851"


def test_modify_with_every_required_field_makes_one_call(stub, adapter):
    stub.put(f"{HFT}/v3/order/modify", json={"status": "success", "data": {"order_id": "9"}})
    change = OrderModification(
        order_id="9", price=Decimal("2410"), order_type=OrderType.LIMIT, trigger_price=None
    )

    adapter.modify_order(change)

    assert len(stub.calls) == 1
    assert json.loads(stub.calls[0].request.body)["price"] == 2410


def test_modify_to_market_sends_price_zero(stub, adapter):
    stub.put(f"{HFT}/v3/order/modify", json={"status": "success", "data": {"order_id": "9"}})

    adapter.modify_order(OrderModification(order_id="9", order_type=OrderType.MARKET))

    body = json.loads(stub.calls[0].request.body)
    assert (body["order_type"], body["price"], body["trigger_price"]) == ("MARKET", 0, 0)


def test_modify_of_an_unknown_order_is_refused(stub, adapter):
    stub.get(f"{API}/v2/order/retrieve-all", json={"status": "success", "data": []})

    error = raised(adapter.modify_order, OrderModification(order_id="nope", quantity=1))

    assert isinstance(error, InvalidRequest)


def test_cancel(stub, adapter):
    stub.delete(
        f"{HFT}/v3/order/cancel?order_id=231019025057851",
        json={"status": "success", "data": {"order_id": "231019025057851"}},
    )

    assert adapter.cancel_order("231019025057851").order_id == "231019025057851"


def test_cancel_of_a_finished_order_is_rejected(stub, adapter):
    message = "Cancel of already cancelled/rejected/completed order is not allowed"
    stub.delete(f"{HFT}/v3/order/cancel", json=upstox_error("UDAPI100040", message), status=400)

    error = raised(adapter.cancel_order, "231019025057849")

    assert isinstance(error, OrderRejected)
    assert error.code == "UDAPI100040"
