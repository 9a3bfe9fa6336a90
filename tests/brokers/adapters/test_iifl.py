"""IIFL (XTS) adapter: payload mapping and error taxonomy, stubbed at ttblaze.iifl.com."""

import copy
import json
import uuid
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

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

PAYLOADS = Path(__file__).parent / "payloads" / "iifl"
HOST = "https://ttblaze.iifl.com"
ACCESS = "eyJhbGciOiJIUzI1NiJ9.eyJ1c2VySUQiOiJJSUZMMjQifQ.interactive-signature"
MARKET = "eyJhbGciOiJIUzI1NiJ9.eyJtZCI6dHJ1ZX0.market-signature"
APP = AppCredentials(
    api_key="iifl-live-interactive-key",
    api_secret="Interactive$ecret9",
    extra={"marketdata_key": "iifl-live-market-key", "marketdata_secret": "Market$ecret7"},
)
SECRETS = (ACCESS, MARKET, APP.api_secret, APP.extra["marketdata_secret"])


def payload(name):
    return json.loads((PAYLOADS / f"{name}.json").read_text())


def url(path):
    return HOST + path


@pytest.fixture(autouse=True)
def real_hosts(settings):
    settings.BROKER_HOSTS = {
        **settings.BROKER_HOSTS,
        "iifl": dict(settings.BROKER_REAL_HOSTS["iifl"]),
    }


def build(tokens=None):
    # A fresh account per adapter: the in-process rate limiter keeps its buckets per account.
    return registry.build("iifl", app=APP, tokens=tokens, account=f"T{uuid.uuid4().hex[:8]}")


@pytest.fixture
def adapter():
    tokens = Tokens(
        access_token=ACCESS,
        expires_at=datetime(2030, 1, 1, tzinfo=IST),
        account_id="IIFL24",
        extra={"marketdata_token": MARKET},
    )
    return build(tokens)


@pytest.fixture
def rsps():
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def master(rsps):
    """POST /apimarketdata/instruments/master answering only the segments asked for."""
    rows = payload("master")["result"].splitlines()

    def answer(request):
        wanted = json.loads(request.body)["exchangeSegmentList"]
        text = "\n".join(r for r in rows if r.split("|")[0] in wanted)
        body = {"type": "success", "code": "s-instrument-0002", "description": "", "result": text}
        return 200, {}, json.dumps(body)

    rsps.add_callback(responses.POST, url("/apimarketdata/instruments/master"), callback=answer)
    return rsps


def master_calls(rsps):
    return [json.loads(c.request.body) for c in rsps.calls if c.request.url.endswith("/master")]


def assert_clean(error: BrokerError, endpoint: str):
    assert error.broker == "iifl"
    assert error.endpoint == endpoint
    for secret in SECRETS:
        assert secret not in str(error)


# --- login ---------------------------------------------------------------------------------
def stub_logins(rsps, interactive=None):
    rsps.post(url("/interactive/user/session"), json=interactive or payload("token"))
    rsps.post(url("/apimarketdata/auth/login"), json=payload("token_marketdata"))


def test_login_opens_both_sessions_with_their_own_keys(rsps):
    stub_logins(rsps)
    with time_machine.travel(datetime(2025, 1, 2, 10, 0, tzinfo=IST), tick=False):
        tokens = build().complete_login({})

    assert tokens.access_token == payload("token")["result"]["token"]
    assert tokens.extra == {"marketdata_token": payload("token_marketdata")["result"]["token"]}
    assert tokens.account_id == "IIFL24"
    assert tokens.refresh_token == ""
    interactive, market = (json.loads(c.request.body) for c in rsps.calls)
    assert interactive == {"appKey": APP.api_key, "secretKey": APP.api_secret, "source": "WEBAPI"}
    assert market == {
        "appKey": "iifl-live-market-key",
        "secretKey": "Market$ecret7",
        "source": "WEBAPI",
    }
    for call in rsps.calls:
        assert "authorization" not in call.request.headers
        assert call.request.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    ("logged_in", "dies"),
    [
        (datetime(2025, 1, 2, 9, 15, tzinfo=IST), datetime(2025, 1, 3, 0, 0, tzinfo=IST)),
        (datetime(2025, 1, 2, 23, 59, 59, tzinfo=IST), datetime(2025, 1, 3, 0, 0, tzinfo=IST)),
        (datetime(2025, 1, 3, 0, 0, 0, tzinfo=IST), datetime(2025, 1, 4, 0, 0, tzinfo=IST)),
        (datetime(2025, 1, 3, 0, 0, 1, tzinfo=IST), datetime(2025, 1, 4, 0, 0, tzinfo=IST)),
    ],
)
def test_sessions_die_at_the_next_ist_midnight(rsps, logged_in, dies):
    stub_logins(rsps)
    with time_machine.travel(logged_in, tick=False):
        tokens = build().complete_login({})
    assert tokens.expires_at == dies


def test_dealer_login_names_the_client_on_every_interactive_call(rsps):
    dealer = copy.deepcopy(payload("token"))
    dealer["result"].update(isInvestorClient=False, userID="DEALER1", clientCodes=["IIFL24"])
    stub_logins(rsps, interactive=dealer)
    rsps.get(url("/interactive/user/profile"), json=payload("profile"))
    adapter = build()
    tokens = adapter.complete_login({})
    adapter.profile()

    assert tokens.account_id == "IIFL24"
    assert rsps.calls[-1].request.params == {"clientID": "IIFL24"}


def test_wrong_app_secret_is_an_auth_error(rsps):
    refused = {"type": "error", "code": "e-app-0005", "description": "Invalid secretKey"}
    rsps.post(url("/interactive/user/session"), json=refused, status=400)
    with pytest.raises(AuthError) as caught:
        build().complete_login({})
    assert not isinstance(caught.value, TokenExpired)
    assert_clean(caught.value, "user/session")


def test_login_without_the_market_data_key_asks_for_it_before_calling(rsps):
    adapter = registry.build("iifl", app=AppCredentials(api_key="k", api_secret="s"), account="X")
    with pytest.raises(AuthError, match="market-data"):
        adapter.complete_login({})
    assert len(rsps.calls) == 0


def test_no_refresh_log_in_again(adapter):
    with pytest.raises(NotSupported):
        adapter.refresh()


def test_logout_ends_both_sessions(adapter, rsps):
    rsps.delete(url("/interactive/user/session"), json={"type": "success", "result": {}})
    rsps.delete(url("/apimarketdata/auth/logout"), json=payload("error"))  # already gone
    adapter.logout()
    assert [c.request.headers["authorization"] for c in rsps.calls] == [ACCESS, MARKET]


# --- reads ---------------------------------------------------------------------------------
def test_profile_sends_the_bare_token(adapter, rsps):
    rsps.get(url("/interactive/user/profile"), json=payload("profile"))
    profile = adapter.profile()

    assert rsps.calls[0].request.headers["authorization"] == ACCESS
    assert (
        rsps.calls[0].request.params == {}
    )  # investor login: no clientID (docs/brokers/iifl.md §1)
    assert profile.account_id == "IIFL24"
    assert profile.name == "ASHA KUMAR"
    assert profile.email == "trader@example.com"
    assert profile.exchanges == ("NFO", "NSE")
    assert profile.products == ("CNC", "MIS", "NRML")


def test_funds_are_decimals_from_strings(adapter, rsps):
    rsps.get(url("/interactive/user/balance"), json=payload("funds"))
    funds = adapter.funds()
    assert funds.available == Decimal("37492.5")
    assert funds.used == Decimal("12507.5")
    assert funds.total == Decimal("50000")
    assert funds.collateral == Decimal(0)


def test_holdings_take_symbols_from_the_master(adapter, master):
    master.get(url("/interactive/portfolio/holdings"), json=payload("holdings"))
    reliance, tcs = sorted(adapter.holdings(), key=lambda h: h.symbol)

    assert reliance.symbol == "RELIANCE"
    assert reliance.exchange == "NSE"
    assert reliance.quantity == 10 and isinstance(reliance.quantity, int)
    assert reliance.average_price == Decimal("2412.5")
    assert reliance.isin == "INE002A01018"
    assert reliance.instrument_id == "2885"
    assert reliance.broker_symbol == "RELIANCE-EQ"
    assert reliance.last_price is None  # XTS holdings carry no price (gotcha 8)
    assert (tcs.symbol, tcs.quantity, tcs.average_price) == ("TCS", 3, Decimal("3890.0"))
    assert master_calls(master) == [{"exchangeSegmentList": ["NSECM"]}]


def test_master_is_fetched_once_a_day_not_per_call(adapter, master):
    master.get(url("/interactive/portfolio/holdings"), json=payload("holdings"))
    adapter.holdings()
    adapter.holdings()
    assert len(master_calls(master)) == 1


def test_a_holding_listed_only_on_bse_and_the_other_xts_shape(adapter, master):
    item = {
        "ISIN": "INE062A01020",
        "ExchangeNSEInstrumentId": 0,
        "ExchangeBSEInstrumentId": 500112,
        "HoldingQuantity": "10",
        "BuyAvgPrice": "760.00",
    }
    body = {
        "type": "success",
        "code": "s-holdings-0001",
        "description": "",
        "result": {"ClientId": "IIFL24", "RMSHoldingList": [{"Holdings": {item["ISIN"]: item}}]},
    }
    master.get(url("/interactive/portfolio/holdings"), json=body)
    (sbin,) = adapter.holdings()
    assert (sbin.exchange, sbin.symbol, sbin.instrument_id) == ("BSE", "SBIN", "500112")
    assert sbin.average_price == Decimal("760.00")


@pytest.mark.parametrize(
    ("path", "method", "code"),
    [
        ("/interactive/portfolio/holdings", "holdings", "e-holdings-0005"),
        ("/interactive/portfolio/positions", "positions", "e-portfolio-0005"),
        ("/interactive/orders", "orders", "e-orders-0005"),
        ("/interactive/orders/trades", "trades", "e-tradebook-0005"),
    ],
)
def test_empty_books_are_http_400_data_not_available(adapter, rsps, path, method, code):
    rsps.get(url(path), json={**payload("error_empty"), "code": code}, status=400)
    assert getattr(adapter, method)() == []


def test_positions(adapter, master):
    master.get(url("/interactive/portfolio/positions"), json=payload("positions"))
    reliance, option = adapter.positions()

    assert master.calls[0].request.params == {"dayOrNet": "NetWise"}
    assert (reliance.symbol, reliance.exchange, reliance.product) == ("RELIANCE", "NSE", "MIS")
    assert reliance.quantity == 5
    assert reliance.average_price == Decimal("2501.50")
    assert reliance.unrealized_pnl == Decimal("11.75")
    assert reliance.instrument_id == "2885"
    assert (option.exchange, option.symbol) == ("NFO", "NIFTY24NOV24000CE")
    assert option.broker_symbol == "NIFTY 28NOV2024 CE 24000"
    assert option.quantity == 0 and option.average_price == Decimal(0)
    assert (option.buy_quantity, option.sell_quantity) == (75, 75)
    assert option.realized_pnl == Decimal("750.00")
    assert option.lot_size == 25
    assert option.asset_type is AssetType.DERIVATIVE
    assert master_calls(master) == [{"exchangeSegmentList": ["NSEFO"]}]  # cash rows need none


def test_orders(adapter, master):
    master.get(url("/interactive/orders"), json=payload("orders"))
    (order,) = adapter.orders()

    assert order.order_id == "10026335"
    assert order.status is OrderStatus.COMPLETE
    assert order.broker_status == "Filled"
    assert (order.exchange, order.symbol) == ("NFO", "NIFTY24NOV24000CE")
    assert order.side is Side.BUY
    assert order.order_type is OrderType.MARKET
    assert (order.quantity, order.filled_quantity) == (75, 75)
    assert order.price is None
    assert order.average_price == Decimal("23.90")
    assert order.tag == "123888"
    assert order.placed_at == datetime(2020, 12, 21, 14, 59, 41, 153546, tzinfo=IST)


@pytest.mark.parametrize(
    ("word", "status"),
    [
        ("New", OrderStatus.OPEN),
        ("PendingNew", OrderStatus.PENDING),
        ("PartiallyFilled", OrderStatus.OPEN),
        ("Trigger Pending", OrderStatus.TRIGGER_PENDING),
        ("Cancelled", OrderStatus.CANCELLED),
        ("Rejected", OrderStatus.REJECTED),
    ],
)
def test_order_statuses(adapter, master, word, status):
    book = payload("orders")
    book["result"][0].update(
        OrderStatus=word, OrderSide="Sell", OrderType="StopLimit", CancelRejectReason="RMS:x"
    )
    master.get(url("/interactive/orders"), json=book)
    (order,) = adapter.orders()
    assert order.status is status
    assert order.side is Side.SELL
    assert order.order_type is OrderType.SL
    assert order.status_message == "RMS:x"


def test_find_order_by_our_tag(adapter, master):
    master.get(url("/interactive/orders"), json=payload("orders"))
    assert adapter.find_order("123888").order_id == "10026335"
    assert adapter.find_order("nope") is None


def test_trades(adapter, master):
    master.get(url("/interactive/orders/trades"), json=payload("trades"))
    (trade,) = adapter.trades()
    assert (trade.trade_id, trade.order_id) == ("2123547", "10026335")
    assert (trade.exchange, trade.symbol, trade.side) == ("NFO", "NIFTY24NOV24000CE", Side.BUY)
    assert trade.quantity == 75
    assert trade.price == Decimal("23.9")
    assert trade.traded_at == datetime(2020, 12, 21, 14, 59, 42, tzinfo=IST)


def test_quotes_parse_json_inside_json(adapter, rsps):
    rsps.post(url("/apimarketdata/instruments/quotes"), json=payload("quotes"))
    ref = InstrumentRef("NSE", "RELIANCE", "2885")
    quote = adapter.quotes([ref])[ref]

    assert quote.last_price == Decimal("2503.85")
    assert quote.previous_close == Decimal("2488.2")
    request = rsps.calls[0].request
    assert request.headers["authorization"] == MARKET
    assert json.loads(request.body) == {
        "instruments": [{"exchangeSegment": 1, "exchangeInstrumentID": 2885}],
        "xtsMessageCode": 1502,
        "publishFormat": "JSON",
    }


def test_quotes_find_the_id_of_a_bare_symbol_and_batch_by_fifty(adapter, master):
    master.post(url("/apimarketdata/instruments/quotes"), json=payload("quotes"))
    many = [InstrumentRef("NSE", f"X{i}", str(10000 + i)) for i in range(50)]
    reliance = InstrumentRef("NSE", "RELIANCE")
    found = adapter.quotes([*many, reliance])

    assert found[reliance].last_price == Decimal("2503.85")
    quote_bodies = [json.loads(c.request.body) for c in master.calls if "quotes" in c.request.url]
    assert [len(b["instruments"]) for b in quote_bodies] == [50, 1]


def test_market_data_invalid_token_comes_with_http_200(adapter, rsps):
    rsps.post(url("/apimarketdata/instruments/quotes"), json=payload("error"), status=200)
    with pytest.raises(TokenExpired) as caught:
        adapter.quotes([InstrumentRef("NSE", "RELIANCE", "2885")])
    assert_clean(caught.value, "instruments/quotes")


def test_quotes_without_a_market_data_session(rsps):
    tokens = Tokens(access_token=ACCESS, expires_at=datetime(2030, 1, 1, tzinfo=IST))
    with pytest.raises(TokenExpired):
        build(tokens).quotes([InstrumentRef("NSE", "RELIANCE", "2885")])
    assert len(rsps.calls) == 0


# --- instrument master ---------------------------------------------------------------------
def test_instruments_parse_cash_and_derivative_layouts(adapter, master):
    found = {(i.exchange, i.symbol): i for i in adapter.instruments()}

    assert master_calls(master) == [
        {"exchangeSegmentList": ["NSECM", "NSEFO", "NSECD", "BSECM", "BSEFO", "MCXFO"]}
    ]
    reliance = found[("NSE", "RELIANCE")]
    assert (reliance.instrument_id, reliance.isin, reliance.segment) == (
        "2885",
        "INE002A01018",
        "NSECM",
    )
    assert (reliance.lot_size, reliance.tick_size, reliance.instrument_type) == (
        1,
        Decimal("0.05"),
        "EQ",
    )
    assert found[("NSE", "NIFTYBEES")].tick_size == Decimal("0.01")
    assert found[("BSE", "SBIN")].instrument_id == "500112"
    option = found[("NFO", "NIFTY24NOV24000CE")]
    assert (option.instrument_type, option.strike, option.expiry) == (
        "CE",
        Decimal("24000"),
        date(2024, 11, 28),
    )
    assert option.lot_size == 25
    future = found[("NFO", "NIFTY24NOVFUT")]
    assert (future.instrument_type, future.strike) == ("FUT", None)


@pytest.mark.parametrize(
    "text",
    [
        "",  # empty
        "NSECM|2885|8|RELIANCE|RELIANCE-EQ",  # missing columns
        "<html>oops</html>",  # not the master at all
        "NSECM|RELI|8|RELIANCE|RELIANCE-EQ|EQ|x|1|2|1|1|0.05|1|1|RELIANCE|INE002A01018",  # bad id
        "NSEFO|39972|2|NIFTY|NIFTY24NOV24000CE|OPTIDX|NIFTY-OPTIDX|1|2|1|1|0.05|25|1|-1|N|2024",
    ],
)
def test_a_corrupt_master_is_a_bad_response(adapter, rsps, text):
    body = {"type": "success", "code": "s-instrument-0002", "description": "", "result": text}
    rsps.post(url("/apimarketdata/instruments/master"), json=body)
    with pytest.raises(BadResponse) as caught:
        adapter.instruments()
    assert_clean(caught.value, "instruments/master")


# --- orders --------------------------------------------------------------------------------
def limit_buy(**overrides):
    fields = {
        "exchange": "NSE",
        "symbol": "RELIANCE",
        "side": Side.BUY,
        "quantity": 1,
        "order_type": OrderType.LIMIT,
        "product": Product.MIS,
        "price": Decimal("2500.05"),
        "tag": "ours-0001",
        "instrument_id": "2885",
    }
    return OrderRequest(**{**fields, **overrides})


def test_place_order_sends_the_whole_xts_body(adapter, rsps):
    rsps.post(url("/interactive/orders"), json=payload("order_place"))
    ack = adapter.place_order(limit_buy())

    assert ack.order_id == "10026325"
    assert json.loads(rsps.calls[0].request.body) == {
        "exchangeSegment": "NSECM",
        "exchangeInstrumentID": 2885,
        "productType": "MIS",
        "orderType": "LIMIT",
        "orderSide": "BUY",
        "timeInForce": "DAY",
        "disclosedQuantity": 0,
        "orderQuantity": 1,
        "limitPrice": 2500.05,
        "stopPrice": 0,
        "orderUniqueIdentifier": "ours-0001",
        "apiOrderSource": "",
    }
    assert rsps.calls[0].request.headers["authorization"] == ACCESS


def test_place_order_by_symbol_resolves_the_exchange_token(adapter, master):
    master.post(url("/interactive/orders"), json=payload("order_place"))
    stop = limit_buy(
        instrument_id="",
        order_type=OrderType.SL_M,
        price=None,
        trigger_price=Decimal("2400"),
        side=Side.SELL,
    )
    adapter.place_order(stop)
    body = json.loads(master.calls[-1].request.body)
    assert (body["exchangeInstrumentID"], body["orderType"], body["orderSide"]) == (
        2885,
        "STOPMARKET",
        "SELL",
    )
    assert (body["limitPrice"], body["stopPrice"]) == (0, 2400.0)


def test_unknown_symbol_is_refused_before_sending(adapter, master):
    with pytest.raises(InvalidRequest):
        adapter.place_order(limit_buy(instrument_id="", symbol="NOSUCH"))
    assert all("/interactive/orders" not in c.request.url for c in master.calls)


def test_a_tag_too_long_is_refused_not_truncated(adapter, rsps):
    with pytest.raises(InvalidRequest):
        adapter.place_order(limit_buy(tag="x" * 21))
    assert len(rsps.calls) == 0


@pytest.mark.parametrize(
    "answer",
    [
        dict(body=requests.ReadTimeout()),
        dict(json={"type": "error", "description": "Too Many Requests"}, status=429),
        dict(body="Too Many Requests", status=429),
        dict(json={"type": "error", "description": "Internal Server Error"}, status=500),
        dict(body="<html>502 Bad Gateway</html>", status=502),
        dict(json={"type": "success", "result": {}}),  # accepted, but no AppOrderID
        dict(json={"status": "ok"}),  # not an XTS envelope
        dict(body="<html>gateway error page</html>", content_type="text/html"),
    ],
)
def test_an_order_write_we_cannot_read_is_state_unknown(adapter, rsps, answer):
    rsps.post(url("/interactive/orders"), **answer)
    with pytest.raises(OrderStateUnknown) as caught:
        adapter.place_order(limit_buy())
    assert caught.value.tag == "ours-0001"
    assert_clean(caught.value, "place order")


def test_place_order_validation_and_rejection(adapter, rsps):
    bad = {
        "type": "error",
        "code": "e-app-0001",
        "description": "Bad Request",
        "result": {"errors": ['"orderQuantity" must be a positive number']},
    }
    rsps.post(url("/interactive/orders"), json=bad, status=400)
    rsps.post(
        url("/interactive/orders"), json={**bad, "description": "Invalid Instrument"}, status=400
    )
    with pytest.raises(InvalidRequest, match="orderQuantity") as caught:
        adapter.place_order(limit_buy())
    assert not isinstance(caught.value, OrderRejected)
    with pytest.raises(OrderRejected, match="Invalid Instrument") as caught:
        adapter.place_order(limit_buy())
    assert_clean(caught.value, "place order")


def history(**changes):
    rows = copy.deepcopy(payload("orders"))
    current = {
        "OrderStatus": "New",
        "OrderType": "Limit",
        "OrderPrice": 2000.0,
        "OrderQuantity": 2,
        "ProductType": "CNC",
        "OrderUniqueIdentifier": "ours-0001",
    }
    rows["result"][0].update({**current, **changes})
    return rows


def test_modify_sends_every_modified_field(adapter, rsps):
    rsps.get(url("/interactive/orders"), json=history())
    rsps.put(url("/interactive/orders"), json=payload("order_place"))
    ack = adapter.modify_order(OrderModification(order_id="10026335", price=Decimal("2010.10")))

    assert ack.order_id == "10026325"
    assert rsps.calls[0].request.params == {"appOrderID": "10026335"}
    assert json.loads(rsps.calls[1].request.body) == {
        "appOrderID": 10026335,
        "modifiedProductType": "CNC",
        "modifiedOrderType": "LIMIT",
        "modifiedOrderQuantity": 2,
        "modifiedDisclosedQuantity": 0,
        "modifiedLimitPrice": 2010.1,
        "modifiedStopPrice": 0,
        "modifiedTimeInForce": "DAY",
        "orderUniqueIdentifier": "ours-0001",
    }


def test_modify_or_cancel_an_unknown_order(adapter, rsps):
    rsps.get(url("/interactive/orders"), json=payload("error_empty"), status=400)
    with pytest.raises(InvalidRequest) as caught:
        adapter.cancel_order("42")
    assert_clean(caught.value, "order history")


def test_modify_of_a_filled_order_is_rejected(adapter, rsps):
    rsps.get(url("/interactive/orders"), json=history(OrderStatus="Filled"))
    refused = {"type": "error", "code": "e-orders-0011", "description": "Order is already Filled"}
    rsps.put(url("/interactive/orders"), json=refused, status=400)
    with pytest.raises(OrderRejected, match="already Filled"):
        adapter.modify_order(OrderModification(order_id="10026335", quantity=3))


def test_cancel_sends_query_parameters(adapter, rsps):
    rsps.get(url("/interactive/orders"), json=history())
    cancelled = {
        "type": "success",
        "code": "s-orders-0003",
        "description": "Request sent",
        "result": [{"AppOrderID": 10026335, "ClientID": "IIFL24"}],
    }
    rsps.delete(url("/interactive/orders"), json=cancelled)
    assert adapter.cancel_order("10026335").order_id == "10026335"
    request = rsps.calls[1].request
    assert request.params == {"appOrderID": "10026335", "orderUniqueIdentifier": "ours-0001"}
    assert request.body is None


# --- the error taxonomy on one read --------------------------------------------------------
@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (dict(json=payload("error"), status=400), TokenExpired),
        (dict(json=payload("error"), status=200), TokenExpired),
        (dict(json={"type": "error", "description": "Too Many Requests"}, status=429), RateLimited),
        (dict(body="rate limited", status=429, headers={"Retry-After": "3"}), RateLimited),
        (dict(json={"type": "error", "description": "Internal Server Error"}, status=500), None),
        (dict(body="<html><h1>503 Service Unavailable</h1></html>", status=503), None),
        (dict(body="<html>Scheduled maintenance</html>", status=503), Maintenance),
        (dict(json={"type": "error", "code": "e-user-0009", "description": "Denied"}), None),
        (dict(body="{not json"), BadResponse),
        (dict(body="<!DOCTYPE html><html>Login</html>", content_type="text/html"), BadResponse),
        (dict(body='{"type": "success", "result": {"ClientId": "IIF'), BadResponse),
        (dict(json={"type": "success", "code": "s-user-0001"}), BadResponse),
        (dict(json={"type": "success", "result": {"ClientName": "no id"}}), BadResponse),
        (dict(json={"status": "ok"}), BadResponse),
    ],
)
def test_every_failure_lands_in_the_taxonomy(adapter, rsps, answer, error):
    rsps.get(url("/interactive/user/profile"), **answer)
    with pytest.raises(BrokerError) as caught:
        adapter.profile()
    status = answer.get("status", 200)
    expected = error or (BrokerUnavailable if status >= 500 else InvalidRequest)
    assert type(caught.value) is expected
    assert_clean(caught.value, "user/profile")
    if expected is RateLimited:
        assert caught.value.retry_after == (3.0 if "headers" in answer else 1.0)


def test_an_unknown_order_status_is_a_bad_response(adapter, rsps):
    book = payload("orders")
    book["result"][0]["OrderStatus"] = "Teleported"
    rsps.get(url("/interactive/orders"), json=book)
    with pytest.raises(BadResponse) as caught:
        adapter.orders()
    assert_clean(caught.value, "orders")


def test_a_read_timeout_is_unavailable_not_unknown(adapter, rsps):
    rsps.get(url("/interactive/user/balance"), body=requests.ReadTimeout())
    with pytest.raises(BrokerUnavailable) as caught:
        adapter.funds()
    assert not isinstance(caught.value, BadResponse)
    assert_clean(caught.value, "user/balance")


def test_a_secret_echoed_in_a_body_never_reaches_the_message(rsps):
    echoed = f'<html>token={ACCESS} secretKey={APP.api_secret} "checksum": "abc"</html>'
    rsps.post(url("/interactive/user/session"), body=echoed)
    with pytest.raises(BadResponse) as caught:
        build().complete_login({})
    assert_clean(caught.value, "user/session")
