"""The IIFL (XTS) simulator on the wire, through Django's test client; then the adapter
against it on the live server."""

import json
import time
import uuid
from decimal import Decimal
from urllib.parse import urlencode

import pytest
import time_machine

from brokers.adapters import registry
from brokers.errors import NotSupported, OrderStateUnknown, TokenExpired
from brokers.sandbox import iifl, kit, universe
from brokers.sandbox.demo import DEMO_APPS
from brokers.types import (
    AppCredentials,
    InstrumentRef,
    OrderModification,
    OrderRequest,
    OrderStatus,
    OrderType,
    Product,
    Side,
)

BASE = "/sandbox/iifl"
DEMO = DEMO_APPS["iifl"]
ACCOUNT = "IIFL9001"


def login(client, *, market=False, form=True, **overrides):
    path = "/apimarketdata/auth/login" if market else "/interactive/user/session"
    key, secret = ("marketdata_key", "marketdata_secret") if market else ("api_key", "api_secret")
    body = {"appKey": DEMO[key], "secretKey": DEMO[secret], "source": "WEBAPI", **overrides}
    if form:  # the official SDK posts the login form-encoded
        return client.post(BASE + path, body)
    return client.post(BASE + path, json.dumps(body), content_type="application/json")


@pytest.fixture
def token(client):
    return login(client).json()["result"]["token"]


@pytest.fixture
def market_token(client):
    return login(client, market=True, form=False).json()["result"]["token"]


def get(client, path, token, **query):
    return client.get(BASE + path, query, headers={"authorization": token})


def send(client, method, path, token, body):
    call = getattr(client, method)
    headers = {"authorization": token}
    return call(BASE + path, json.dumps(body), content_type="application/json", headers=headers)


def cancel(client, token, **query):
    """DELETE takes query parameters (docs/brokers/iifl.md §3), like GET."""
    path = f"{BASE}/interactive/orders?{urlencode(query)}"
    return client.delete(path, headers={"authorization": token})


def order_body(**overrides):
    return {
        "exchangeSegment": "NSECM",
        "exchangeInstrumentID": 2885,
        "productType": "MIS",
        "orderType": "LIMIT",
        "orderSide": "BUY",
        "timeInForce": "DAY",
        "disclosedQuantity": 0,
        "orderQuantity": 1,
        "limitPrice": 2000.0,
        "stopPrice": 0,
        "orderUniqueIdentifier": "sbx-1",
        "apiOrderSource": "",
        **overrides,
    }


def place(client, token, **overrides):
    return send(client, "post", "/interactive/orders", token, order_body(**overrides))


# --- logins --------------------------------------------------------------------------------
def test_interactive_login_answers_like_xts(client):
    answer = login(client)
    assert answer.status_code == 200
    body = answer.json()
    assert (body["type"], body["code"], body["description"]) == (
        "success",
        "s-user-0001",
        "Valid User.",
    )
    result = body["result"]
    assert result["userID"] == ACCOUNT
    assert result["clientCodes"] == [ACCOUNT]
    assert result["isInvestorClient"] is True
    assert result["token"].startswith("eyJ")  # XTS tokens are JWTs
    assert result["enums"]["orderType"] == ["Market", "Limit", "StopLimit", "StopMarket"]


def test_the_two_sessions_do_not_open_each_others_doors(client, token, market_token):
    wrong_way = get(client, "/interactive/user/profile", market_token)
    assert wrong_way.status_code == 400
    assert wrong_way.json()["description"] == "Invalid Token"
    quotes = send(client, "post", "/apimarketdata/instruments/quotes", token, {})
    # docs/brokers/iifl.md §5: market data answers "Invalid Token" with HTTP 200
    assert quotes.status_code == 200
    assert quotes.json() == {
        "type": "error",
        "code": "e-session-0007",
        "description": "Invalid Token",
        "result": {},
    }


@pytest.mark.parametrize(
    ("overrides", "market"),
    [
        ({"secretKey": "wrong"}, False),
        ({"appKey": DEMO["marketdata_key"]}, False),  # the other pair's key
        ({"secretKey": DEMO["api_secret"]}, True),
    ],
)
def test_wrong_app_credentials_are_refused(client, overrides, market):
    answer = login(client, market=market, **overrides)
    assert answer.status_code == 400
    body = answer.json()
    assert (body["type"], body["code"]) == ("error", "e-app-0005")
    assert "token" not in json.dumps(body)


def test_a_login_missing_fields_is_a_bad_request(client):
    answer = client.post(BASE + "/interactive/user/session", {"appKey": DEMO["api_key"]})
    assert answer.status_code == 400
    body = answer.json()
    assert body["description"] == "Bad Request"
    assert body["result"]["errors"] == ['"secretKey" is required', '"source" is required']


@pytest.mark.parametrize("header", [None, "", "Bearer {token}", "{token}x"])
def test_a_missing_or_wrong_authorization_header_is_invalid_token(client, token, header):
    headers = {} if header is None else {"authorization": header.format(token=token)}
    answer = client.get(BASE + "/interactive/portfolio/holdings", headers=headers)
    assert answer.status_code == 400
    assert answer.json()["code"] == "e-session-0007"


def test_logout_ends_the_session(client, token, market_token):
    bye = client.delete(BASE + "/interactive/user/session", headers={"authorization": token})
    assert bye.json()["type"] == "success"
    assert get(client, "/interactive/user/profile", token).status_code == 400
    bye = client.delete(
        BASE + "/apimarketdata/auth/logout", headers={"authorization": market_token}
    )
    assert bye.json()["type"] == "success"
    again = client.delete(
        BASE + "/apimarketdata/auth/logout", headers={"authorization": market_token}
    )
    assert again.json()["description"] == "Invalid Token"


def test_investor_sessions_must_not_name_a_client(client, token):
    answer = get(client, "/interactive/user/profile", token, clientID=ACCOUNT)
    assert answer.status_code == 400
    assert answer.json()["result"]["errors"] == ['"clientID" is not allowed']


# --- reads ---------------------------------------------------------------------------------
def test_holdings_are_keyed_by_isin_with_instrument_ids_only(client, token):
    answer = get(client, "/interactive/portfolio/holdings", token)
    holdings = answer.json()["result"]["RMSHoldings"]["Holdings"]
    hdfc, sbin = holdings["INE040A01034"], holdings["INE062A01020"]
    assert (hdfc["ExchangeNSEInstrumentId"], hdfc["HoldingQuantity"], hdfc["BuyAvgPrice"]) == (
        1333,
        5,
        1650.0,
    )
    # SBIN is held from BSE: no NSE id, its BSE scrip code
    assert (sbin["ExchangeNSEInstrumentId"], sbin["ExchangeBSEInstrumentId"]) == (0, 500112)
    assert not any("Symbol" in key for item in holdings.values() for key in item)


def test_balance_and_profile(client, token):
    limits = get(client, "/interactive/user/balance", token).json()["result"]["BalanceList"][0]
    sub = limits["limitObject"]["RMSSubLimits"]
    assert (sub["cashAvailable"], sub["netMarginAvailable"], sub["marginUtilized"]) == (
        "30000.00",
        "30000.00",
        "0.00",
    )
    profile = get(client, "/interactive/user/profile", token).json()["result"]
    assert (profile["ClientId"], profile["IsInvestorClient"]) == (ACCOUNT, True)


def test_empty_books_are_http_400_data_not_available(client, token):
    for path, code in (
        ("/interactive/orders", "e-orders-0005"),
        ("/interactive/orders/trades", "e-tradebook-0005"),
    ):
        answer = get(client, path, token)
        assert answer.status_code == 400
        assert answer.json() == {
            "type": "error",
            "code": code,
            "description": "Data Not Available",
            "result": {},
        }
    flat = get(client, "/interactive/portfolio/positions", token, dayOrNet="NetWise")
    assert (flat.status_code, flat.json()["code"]) == (400, "e-portfolio-0005")
    unasked = get(client, "/interactive/portfolio/positions", token)  # dayOrNet is required
    assert unasked.json()["description"] == "Bad Request"


def test_quotes_are_json_text_inside_json(client, market_token):
    body = {
        "instruments": [
            {"exchangeSegment": 1, "exchangeInstrumentID": 2885},
            {"exchangeSegment": 11, "exchangeInstrumentID": 500112},
        ],
        "xtsMessageCode": 1502,
        "publishFormat": "JSON",
    }
    answer = send(client, "post", "/apimarketdata/instruments/quotes", market_token, body)
    listed = answer.json()["result"]["listQuotes"]
    assert all(isinstance(item, str) for item in listed)
    reliance, sbin = (json.loads(item) for item in listed)
    assert reliance["Touchline"]["LastTradedPrice"] == 2950.5
    assert reliance["Touchline"]["Close"] == 2925.0
    assert (sbin["ExchangeSegment"], sbin["ExchangeInstrumentID"]) == (11, 500112)
    too_many = {**body, "instruments": body["instruments"] * 26}
    refused = send(client, "post", "/apimarketdata/instruments/quotes", market_token, too_many)
    assert refused.status_code == 400


def test_master_is_one_headerless_pipe_string(client):
    answer = client.post(
        BASE + "/apimarketdata/instruments/master",
        json.dumps({"exchangeSegmentList": ["NSECM", "BSECM", "NSEFO"]}),
        content_type="application/json",
    )
    rows = [line.split("|") for line in answer.json()["result"].splitlines()]
    assert len(rows) == 2 * len(universe.SECURITIES)
    assert all(len(row) == 22 for row in rows)
    nse = {row[3]: row for row in rows if row[0] == "NSECM"}
    bse = {row[3]: row for row in rows if row[0] == "BSECM"}
    assert nse["RELIANCE"][1] == "2885" and nse["RELIANCE"][15] == "INE002A01018"
    assert nse["RELIANCE"][4] == "RELIANCE-EQ" and nse["RELIANCE"][5] == "EQ"
    assert bse["RELIANCE"][1] == "500325" and bse["RELIANCE"][15] == "INE002A01018"
    assert nse["NIFTYBEES"][11] == "0.01"


# --- orders --------------------------------------------------------------------------------
def test_an_order_goes_through_its_states(client, token):
    placed = place(client, token)
    assert placed.json()["description"] == "Request sent"
    app_order_id = placed.json()["result"]["AppOrderID"]
    assert isinstance(app_order_id, int)

    (row,) = get(client, "/interactive/orders", token).json()["result"]
    assert (row["OrderStatus"], row["OrderType"], row["OrderSide"]) == ("New", "Limit", "Buy")
    assert (row["OrderUniqueIdentifier"], row["ExchangeInstrumentID"]) == ("sbx-1", 2885)
    history = get(client, "/interactive/orders", token, appOrderID=app_order_id).json()["result"]
    assert [h["OrderStatus"] for h in history] == ["PendingNew", "New"]

    change = {
        "appOrderID": app_order_id,
        "modifiedProductType": "MIS",
        "modifiedOrderType": "LIMIT",
        "modifiedOrderQuantity": 2,
        "modifiedDisclosedQuantity": 0,
        "modifiedLimitPrice": 2100.0,
        "modifiedStopPrice": 0,
        "modifiedTimeInForce": "DAY",
        "orderUniqueIdentifier": "sbx-1",
    }
    partial = {k: v for k, v in change.items() if k != "modifiedStopPrice"}
    refused = send(client, "put", "/interactive/orders", token, partial)
    assert refused.json()["result"]["errors"] == ['"modifiedStopPrice" is required']
    assert send(client, "put", "/interactive/orders", token, change).status_code == 200
    (row,) = get(client, "/interactive/orders", token).json()["result"]
    assert (row["OrderQuantity"], row["OrderPrice"]) == (2, 2100.0)

    gone = cancel(client, token, appOrderID=app_order_id, orderUniqueIdentifier="sbx-1")
    assert gone.json()["result"]["AppOrderID"] == app_order_id
    (row,) = get(client, "/interactive/orders", token).json()["result"]
    assert row["OrderStatus"] == "Cancelled"
    again = cancel(client, token, appOrderID=app_order_id, orderUniqueIdentifier="sbx-1")
    assert again.status_code == 400 and again.json()["type"] == "error"


def test_a_market_order_fills_into_trades_and_positions(client, token):
    with time_machine.travel(time.time(), tick=False) as traveller:
        place(client, token, orderType="MARKET", limitPrice=0, orderQuantity=3)
        traveller.shift(1)
        (trade,) = get(client, "/interactive/orders/trades", token).json()["result"]
        positions = get(client, "/interactive/portfolio/positions", token, dayOrNet="NetWise")
    assert (trade["OrderStatus"], trade["LastTradedQuantity"]) == ("Filled", 3)
    assert trade["LastTradedPrice"] == 2950.5
    assert trade["OrderAverageTradedPrice"] == "2950.50"
    (position,) = positions.json()["result"]["positionList"]
    assert (position["TradingSymbol"], position["Quantity"], position["ExchangeInstrumentId"]) == (
        "RELIANCE",
        "3",
        "2885",
    )


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"orderQuantity": 0}, '"orderQuantity" must be a positive number'),
        ({"orderSide": "HOLD"}, '"orderSide" must be one of [BUY, SELL]'),
        ({"limitPrice": 0}, '"limitPrice" must be a positive number'),
        ({"orderType": "STOPLIMIT", "stopPrice": 0}, '"stopPrice" must be a positive number'),
        ({"orderUniqueIdentifier": "x" * 21}, '"orderUniqueIdentifier" length must be <= 20'),
        ({"clientID": ACCOUNT}, '"clientID" is not allowed'),
    ],
)
def test_place_validates_like_xts(client, token, overrides, error):
    answer = place(client, token, **overrides)
    assert answer.status_code == 400
    assert answer.json()["result"]["errors"] == [error]


def test_unknown_instruments_and_orders(client, token):
    unknown = place(client, token, exchangeInstrumentID=999999)
    assert (unknown.status_code, unknown.json()["description"]) == (400, "Invalid Instrument")
    nothing = cancel(client, token, appOrderID=1, orderUniqueIdentifier="x")
    assert nothing.json()["description"] == "Order Not Found"
    assert get(client, "/interactive/orders", token, appOrderID=1).status_code == 400


def test_the_rms_rejects_after_request_sent(client, token):
    answer = place(client, token, productType="CNC", orderQuantity=100, limitPrice=2950.0)
    assert answer.json()["description"] == "Request sent"
    (row,) = get(client, "/interactive/orders", token).json()["result"]
    assert row["OrderStatus"] == "Rejected"
    assert row["CancelRejectReason"].startswith("RMS:Margin Exceeds")


# --- faults --------------------------------------------------------------------------------
def test_outage_rate_limit_and_errors(client, token):
    kit.set_faults("iifl", outage=True)
    down = get(client, "/interactive/user/profile", token)
    assert (down.status_code, down["Content-Type"]) == (503, "text/html")
    kit.set_faults("iifl", outage=False, rate_limited=True)
    limited = get(client, "/interactive/user/profile", token)
    assert limited.status_code == 429 and limited.json()["type"] == "error"
    kit.set_faults("iifl", rate_limited=False, error_rate=100)
    broken = get(client, "/interactive/user/profile", token)
    assert broken.status_code == 500 and broken.json()["description"] == "Internal Server Error"


def test_token_expired_fault_kills_issued_tokens_only(client, token):
    kit.set_faults("iifl", token_expired=True)
    assert get(client, "/interactive/user/profile", token).json()["description"] == "Invalid Token"
    time.sleep(0.01)  # a new token is issued strictly after the expiry mark
    fresh = login(client).json()["result"]["token"]
    assert get(client, "/interactive/user/profile", fresh).status_code == 200


def test_latency_is_added(client, token):
    kit.set_faults("iifl", latency_ms=60)
    started = time.perf_counter()
    assert get(client, "/interactive/user/profile", token).status_code == 200
    assert time.perf_counter() - started >= 0.06


def test_a_lost_order_reply_still_places_the_order(client, token):
    kit.set_faults("iifl", lose_order_reply=True)
    lost = place(client, token, orderUniqueIdentifier="lost-1")
    assert lost.status_code == 504
    (row,) = get(client, "/interactive/orders", token).json()["result"]
    assert row["OrderUniqueIdentifier"] == "lost-1"


def test_no_typed_login_fields():
    assert iifl.demo_login_fields() == {}


# --- the adapter against the simulator, on the live server ----------------------------------
def demo_adapter(tag):
    app = AppCredentials(
        api_key=DEMO["api_key"],
        api_secret=DEMO["api_secret"],
        extra={
            "marketdata_key": DEMO["marketdata_key"],
            "marketdata_secret": DEMO["marketdata_secret"],
        },
    )
    return registry.build("iifl", app=app, account=f"{ACCOUNT}-{tag}")


def test_round_trip(sandbox_hosts):
    adapter = demo_adapter(uuid.uuid4().hex[:6])
    tokens = adapter.complete_login({})
    assert tokens.account_id == ACCOUNT
    assert tokens.extra["marketdata_token"] != tokens.access_token

    assert adapter.profile().account_id == ACCOUNT
    assert adapter.funds().available == Decimal("30000.00")
    held = {(h.exchange, h.symbol): h for h in adapter.holdings()}
    assert set(held) == {("NSE", "HDFCBANK"), ("BSE", "SBIN")}
    assert (held[("BSE", "SBIN")].quantity, held[("BSE", "SBIN")].isin) == (10, "INE062A01020")
    assert held[("NSE", "HDFCBANK")].average_price == Decimal("1650.0")
    assert adapter.positions() == []
    assert adapter.orders() == [] and adapter.trades() == []

    refs = [InstrumentRef(h.exchange, h.symbol, h.instrument_id) for h in held.values()]
    refs.append(InstrumentRef("NSE", "RELIANCE"))
    quotes = adapter.quotes(refs)
    sbin = universe.SECURITIES["SBIN"]
    assert quotes[refs[1]].last_price == sbin.last_price
    assert quotes[refs[1]].previous_close == sbin.close_price
    assert quotes[refs[2]].last_price == universe.SECURITIES["RELIANCE"].last_price

    listed = {(i.exchange, i.symbol): i for i in adapter.instruments()}
    assert listed[("NSE", "RELIANCE")].instrument_id == "2885"
    assert listed[("BSE", "RELIANCE")].instrument_id == "500325"
    assert listed[("NSE", "RELIANCE")].isin == "INE002A01018"

    tag = f"rt{uuid.uuid4().hex[:10]}"
    far = OrderRequest(
        "NSE", "RELIANCE", Side.BUY, 1, OrderType.LIMIT, Product.CNC, price=Decimal("1500"), tag=tag
    )
    ack = adapter.place_order(far)
    found = adapter.find_order(tag)
    assert (found.order_id, found.status, found.symbol) == (
        ack.order_id,
        OrderStatus.OPEN,
        "RELIANCE",
    )
    assert found.price == Decimal("1500.0")

    adapter.modify_order(OrderModification(order_id=ack.order_id, price=Decimal("1501.50")))
    assert adapter.find_order(tag).price == Decimal("1501.5")
    adapter.cancel_order(ack.order_id)
    assert adapter.find_order(tag).status is OrderStatus.CANCELLED

    with pytest.raises(NotSupported):
        adapter.refresh()
    adapter.logout()
    with pytest.raises(TokenExpired):
        adapter.profile()


def test_lost_reply_is_reconciled_by_tag(sandbox_hosts):
    adapter = demo_adapter(uuid.uuid4().hex[:6])
    adapter.complete_login({})
    kit.set_faults("iifl", lose_order_reply=True)
    tag = f"lost{uuid.uuid4().hex[:8]}"
    order = OrderRequest(
        "NSE", "INFY", Side.BUY, 1, OrderType.LIMIT, Product.MIS, Decimal("1000"), tag=tag
    )
    with pytest.raises(OrderStateUnknown) as caught:
        adapter.place_order(order)
    assert caught.value.tag == tag
    kit.clear_faults("iifl")
    assert adapter.find_order(tag).symbol == "INFY"

    kit.set_faults("iifl", token_expired=True)
    with pytest.raises(TokenExpired):
        adapter.orders()
    time.sleep(0.01)
    adapter.complete_login({})
    assert adapter.find_order(tag).status is OrderStatus.OPEN


# --- the order path end to end --------------------------------------------------------------
def result(response):
    assert response.status_code == 200, response.content
    return response.json()["result"]


def net_margin(client, token) -> float:
    balance = result(get(client, "/interactive/user/balance", token))
    return float(balance["BalanceList"][0]["limitObject"]["RMSSubLimits"]["netMarginAvailable"])


def test_an_order_goes_from_placing_to_positions_and_funds(client, token):
    before = net_margin(client, token)
    with time_machine.travel(time.time(), tick=False) as traveller:
        placed = result(place(client, token, orderType="MARKET", limitPrice=0, orderQuantity=3,
                              orderUniqueIdentifier="e2e-iifl-01"))  # fmt: skip
        book = result(get(client, "/interactive/orders", token))
        (row,) = [r for r in book if r["OrderUniqueIdentifier"] == "e2e-iifl-01"]
        assert (row["AppOrderID"], row["OrderStatus"]) == (placed["AppOrderID"], "New")
        traveller.shift(1)
        history = result(get(client, "/interactive/orders", token, appOrderID=row["AppOrderID"]))
        (trade,) = result(get(client, "/interactive/orders/trades", token))
        (position,) = result(
            get(client, "/interactive/portfolio/positions", token, dayOrNet="DayWise")
        )["positionList"]
        after = net_margin(client, token)
    assert history[-1]["OrderStatus"] == "Filled"
    assert (trade["AppOrderID"], trade["LastTradedQuantity"]) == (row["AppOrderID"], 3)
    assert (position["TradingSymbol"], position["ProductType"], position["Quantity"]) == (
        "RELIANCE",
        "MIS",
        "3",
    )
    assert after == before - 8851.5


def test_a_cnc_sell_beyond_the_holdings_is_rejected_after_request_sent(client, token):
    answer = place(client, token, exchangeInstrumentID=1333, productType="CNC", orderSide="SELL",
                   orderQuantity=6, limitPrice=1700.0)  # fmt: skip
    assert answer.json()["description"] == "Request sent"  # IIFL9001 holds 5 HDFCBANK
    (row,) = result(get(client, "/interactive/orders", token))
    assert (row["OrderStatus"], row["CancelRejectReason"]) == (
        "Rejected",
        "RMS:Insufficient holdings, Available:5",
    )


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/interactive/nothing", 404),
        ("get", "/apimarketdata/nothing", 404),
        ("patch", "/interactive/orders", 405),
        ("post", "/interactive/user/balance", 405),
        ("get", "/apimarketdata/instruments/master", 405),
    ],
)
def test_unknown_paths_and_wrong_methods_answer_the_xts_envelope(
    client, token, method, path, status
):
    response = getattr(client, method)(BASE + path, headers={"authorization": token})
    assert response.status_code == status
    assert response.json()["type"] == "error" and response.json()["code"].startswith("e-")


def change_body(app_order_id, price):
    return {"appOrderID": app_order_id, "modifiedProductType": "MIS", "modifiedOrderType": "LIMIT",
            "modifiedOrderQuantity": 1, "modifiedDisclosedQuantity": 0,
            "modifiedLimitPrice": price, "modifiedStopPrice": 0, "modifiedTimeInForce": "DAY",
            "orderUniqueIdentifier": "sbx-1"}  # fmt: skip


def modify_then_cancel(client, token, app_order_id) -> tuple[int, int]:
    changed = send(client, "put", "/interactive/orders", token, change_body(app_order_id, 2100.0))
    gone = cancel(client, token, appOrderID=app_order_id, orderUniqueIdentifier="sbx-1")
    return changed.status_code, gone.status_code


def test_a_lost_reply_on_modify_or_cancel_still_changes_the_order(client, token):
    app_order_id = result(place(client, token))["AppOrderID"]
    kit.set_faults("iifl", ACCOUNT, lose_order_reply=True)
    assert modify_then_cancel(client, token, app_order_id) == (504, 504)
    kit.clear_faults("iifl", ACCOUNT)
    (row,) = result(get(client, "/interactive/orders", token))
    assert (row["OrderPrice"], row["OrderStatus"]) == (2100.0, "Cancelled")


def test_a_dropped_request_never_reaches_the_book(client, token):
    app_order_id = result(place(client, token))["AppOrderID"]
    kit.set_faults("iifl", ACCOUNT, drop_order_request=True)
    assert place(client, token, orderUniqueIdentifier="dropped").status_code == 502
    assert modify_then_cancel(client, token, app_order_id) == (502, 502)
    kit.clear_faults("iifl", ACCOUNT)
    (row,) = result(get(client, "/interactive/orders", token))
    assert (row["OrderUniqueIdentifier"], row["OrderPrice"], row["OrderStatus"]) == (
        "sbx-1",
        2000.0,
        "New",
    )
