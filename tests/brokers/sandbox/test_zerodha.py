"""The Kite sandbox on the wire: login, token exchange, headers, shapes, orders and faults."""

import csv
import gzip
import hashlib
import io
import time
from datetime import datetime
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import time_machine

from brokers.clock import IST
from brokers.sandbox import demo, kit, universe
from brokers.sandbox import zerodha as sandbox

BASE = "/sandbox/zerodha"
API_KEY = demo.DEMO_APPS["zerodha"]["api_key"]
API_SECRET = demo.DEMO_APPS["zerodha"]["api_secret"]
V3 = {"HTTP_X_KITE_VERSION": "3"}


def login_url(**extra):
    return f"{BASE}/connect/login?" + urlencode({"v": "3", "api_key": API_KEY, **extra})


def approve(client, account_id="ZD1234", decision="approve", state="st8te"):
    form = {
        "v": "3",
        "api_key": API_KEY,
        "redirect_params": f"state={state}",
        "account_id": account_id,
        "decision": decision,
    }
    response = client.post(login_url(), form)
    assert response.status_code == 302
    return {k: v[0] for k, v in parse_qs(urlsplit(response["Location"]).query).items()}


def exchange(client, request_token, checksum=None, **headers):
    checksum = (
        checksum or hashlib.sha256((API_KEY + request_token + API_SECRET).encode()).hexdigest()
    )
    form = {"api_key": API_KEY, "request_token": request_token, "checksum": checksum}
    return client.post(f"{BASE}/session/token", form, **{**V3, **headers})


def log_in(client, account_id="ZD1234"):
    params = approve(client, account_id)
    return exchange(client, params["request_token"]).json()["data"]["access_token"]


def auth(token):
    return {**V3, "HTTP_AUTHORIZATION": f"token {API_KEY}:{token}"}


@pytest.fixture
def token(client):
    return log_in(client)


def place(client, token, **fields):
    form = {
        "exchange": "NSE",
        "tradingsymbol": "INFY",
        "transaction_type": "BUY",
        "quantity": "2",
        "product": "CNC",
        "order_type": "LIMIT",
        "price": "1000.00",
        "validity": "DAY",
        "tag": "sbxTag01",
        **fields,
    }
    return client.post(
        f"{BASE}/orders/regular", {k: v for k, v in form.items() if v is not None}, **auth(token)
    )


def kite_error(response, status, error_type):
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["status"] == "error"
    assert body["error_type"] == error_type
    return body["message"]


# --- Login ---------------------------------------------------------------------------------
def test_login_page_offers_the_demo_accounts_and_carries_the_query(client):
    response = client.get(login_url(redirect_params="state=st8te"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<title>Zerodha sandbox login</title>" in html
    assert "<form method='post'>" in html
    assert f'name="api_key" value="{API_KEY}"' in html
    assert 'name="v" value="3"' in html
    assert 'name="redirect_params" value="state=st8te"' in html
    assert '<option value="ZD1234" selected>' in html
    assert '<option value="ZD5678">' in html
    assert "name='decision' value='approve'>Log in and authorize</button>" in html
    assert "name='decision' value='deny'>Deny</button>" in html


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_unknown_app_gets_an_error_page(client, method):
    url = f"{BASE}/connect/login?v=3&api_key=nosuchapp"
    response = getattr(client, method)(
        url, {"api_key": "nosuchapp", "v": "3"} if method == "post" else None
    )
    assert response.status_code == 400
    assert "api_key" in response.content.decode()


def test_approve_redirects_to_the_registered_url_with_kites_params(client):
    response = client.post(
        login_url(),
        {
            "v": "3",
            "api_key": API_KEY,
            "redirect_params": "state=st8te",
            "account_id": "ZD5678",
            "decision": "approve",
        },
    )
    location = urlsplit(response["Location"])
    assert response.status_code == 302
    assert (
        f"{location.scheme}://{location.netloc}{location.path}"
        == "http://testserver/brokers/callback/zerodha/"
    )
    params = parse_qs(location.query)
    assert params["action"] == ["login"]
    assert params["type"] == ["login"]
    assert params["status"] == ["success"]
    assert params["state"] == ["st8te"]  # redirect_params echoed
    assert params["request_token"][0]


def test_deny_redirects_with_access_denied(client):
    params = approve(client, decision="deny")
    assert params == {"error": "access_denied", "state": "st8te"}


def test_token_exchange_returns_the_session_for_the_chosen_account(client):
    params = approve(client, account_id="ZD5678")
    response = exchange(client, params["request_token"])
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "success"
    data = body["data"]
    assert data["user_id"] == "ZD5678"
    assert data["api_key"] == API_KEY
    assert data["refresh_token"] == ""
    assert data["access_token"]
    assert data["broker"] == "ZERODHA"
    assert datetime.strptime(data["login_time"], "%Y-%m-%d %H:%M:%S")


def test_a_wrong_checksum_is_refused(client):
    params = approve(client)
    wrong = hashlib.sha256(f"{API_KEY}:{params['request_token']}:{API_SECRET}".encode()).hexdigest()
    message = kite_error(
        exchange(client, params["request_token"], checksum=wrong), 403, "TokenException"
    )
    assert "checksum" in message


def test_a_request_token_works_once(client):
    params = approve(client)
    assert exchange(client, params["request_token"]).status_code == 200
    message = kite_error(exchange(client, params["request_token"]), 403, "TokenException")
    assert message == "Token is invalid or has expired."


def test_an_unknown_request_token_is_refused(client):
    kite_error(exchange(client, "made-up-token"), 403, "TokenException")


def test_token_exchange_wants_form_fields(client):
    response = client.post(f"{BASE}/session/token", {"api_key": API_KEY}, **V3)
    assert "request_token" in kite_error(response, 400, "InputException")


def test_the_session_dies_at_0600_ist(client):
    with time_machine.travel(datetime(2026, 3, 2, 5, 58, tzinfo=IST), tick=False) as traveller:
        token = log_in(client)
        assert client.get(f"{BASE}/user/profile", **auth(token)).status_code == 200
        traveller.move_to(datetime(2026, 3, 2, 6, 0, 1, tzinfo=IST))
        kite_error(client.get(f"{BASE}/user/profile", **auth(token)), 403, "TokenException")


def test_logout_kills_the_token(client, token):
    response = client.delete(
        f"{BASE}/session/token?" + urlencode({"api_key": API_KEY, "access_token": token}), **V3
    )
    assert response.json() == {"status": "success", "data": True}
    kite_error(client.get(f"{BASE}/user/profile", **auth(token)), 403, "TokenException")


# --- Headers -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "header",
    [None, "Bearer {token}", "token {token}", "token wrongkey:{token}", "token {key}:nosuchtoken"],
    ids=["missing", "bearer", "no-api-key", "wrong-api-key", "unknown-token"],
)
def test_a_missing_or_wrong_auth_header_is_a_token_exception(client, token, header):
    headers = dict(V3)
    if header:
        headers["HTTP_AUTHORIZATION"] = header.format(token=token, key=API_KEY)
    message = kite_error(client.get(f"{BASE}/portfolio/holdings", **headers), 403, "TokenException")
    assert message == "Incorrect `api_key` or `access_token`."


def test_the_version_header_is_required(client, token):
    headers = {"HTTP_AUTHORIZATION": f"token {API_KEY}:{token}"}
    kite_error(client.get(f"{BASE}/portfolio/holdings", **headers), 400, "InputException")


# --- Shapes --------------------------------------------------------------------------------------
def test_holdings_in_kites_shape(client, token):
    body = client.get(f"{BASE}/portfolio/holdings", **auth(token)).json()
    assert body["status"] == "success"
    rows = {row["tradingsymbol"]: row for row in body["data"]}
    assert set(rows) == {"RELIANCE", "INFY", "NIFTYBEES"}
    reliance = rows["RELIANCE"]
    assert reliance["exchange"] == "NSE"
    assert reliance["instrument_token"] == 738561
    assert reliance["isin"] == "INE002A01018"
    assert reliance["quantity"] == 10
    assert reliance["average_price"] == 2400
    assert reliance["last_price"] == 2950.5
    assert reliance["close_price"] == 2925
    assert reliance["pnl"] == 5505
    assert reliance["t1_quantity"] == 0
    assert set(reliance["mtf"]) == {
        "quantity",
        "used_quantity",
        "average_price",
        "value",
        "initial_margin",
    }


def test_positions_are_net_and_day(client, token):
    data = client.get(f"{BASE}/portfolio/positions", **auth(token)).json()["data"]
    assert set(data) == {"net", "day"}
    (sbin,) = data["net"]
    assert (sbin["tradingsymbol"], sbin["product"], sbin["quantity"]) == ("SBIN", "MIS", 30)
    assert sbin["buy_quantity"] == 50 and sbin["sell_quantity"] == 20
    assert sbin["average_price"] == 808
    assert sbin["realised"] == 60  # 20 sold 3.00 above the buy price


def test_margins_and_profile(client, token):
    margins = client.get(f"{BASE}/user/margins", **auth(token)).json()["data"]
    assert margins["equity"]["net"] == 250000
    assert set(margins["equity"]["available"]) >= {"cash", "collateral", "live_balance"}
    assert "debits" in margins["equity"]["utilised"]
    equity = client.get(f"{BASE}/user/margins/equity", **auth(token)).json()["data"]
    assert equity == margins["equity"]
    kite_error(client.get(f"{BASE}/user/margins/crypto", **auth(token)), 400, "InputException")
    profile = client.get(f"{BASE}/user/profile", **auth(token)).json()["data"]
    assert profile["user_id"] == "ZD1234"
    assert "access_token" not in profile


def test_quotes_carry_last_price_and_previous_close(client, token):
    url = f"{BASE}/quote/ohlc?i=NSE:INFY&i=BSE:RELIANCE&i=NSE:NOSUCH"
    data = client.get(url, **auth(token)).json()["data"]
    assert set(data) == {"NSE:INFY", "BSE:RELIANCE"}
    assert data["NSE:INFY"]["last_price"] == 1542.3
    assert data["NSE:INFY"]["ohlc"]["close"] == 1550.1
    assert data["BSE:RELIANCE"]["instrument_token"] == 128083204
    ltp = client.get(f"{BASE}/quote/ltp?i=NSE:TCS", **auth(token)).json()["data"]
    assert ltp == {"NSE:TCS": {"instrument_token": 2953217, "last_price": 3890}}


def test_instrument_master_is_gzipped_csv_with_nse_and_bse(client, token):
    response = client.get(f"{BASE}/instruments", **auth(token))
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Encoding"] == "gzip"
    rows = list(csv.DictReader(io.StringIO(gzip.decompress(response.content).decode())))
    assert "isin" not in rows[0]
    listed = {(row["exchange"], row["tradingsymbol"]) for row in rows}
    for symbol in universe.SECURITIES:
        assert ("NSE", symbol) in listed and ("BSE", symbol) in listed
    reliance_bse = next(
        r for r in rows if r["tradingsymbol"] == "RELIANCE" and r["exchange"] == "BSE"
    )
    assert reliance_bse["instrument_token"] == "128083204"
    assert reliance_bse["exchange_token"] == "500325"  # the BSE scrip code
    nse_only = client.get(f"{BASE}/instruments/NSE", **auth(token))
    assert {
        r["exchange"]
        for r in csv.DictReader(io.StringIO(gzip.decompress(nse_only.content).decode()))
    } == {"NSE"}


# --- Orders --------------------------------------------------------------------------------------
def test_a_placed_order_is_in_the_book_with_its_tag(client, token):
    response = place(client, token)
    order_id = response.json()["data"]["order_id"]
    assert isinstance(order_id, str)
    book = client.get(f"{BASE}/orders", **auth(token)).json()["data"]
    (order,) = [o for o in book if o["order_id"] == order_id]
    assert order["tag"] == "sbxTag01"
    assert order["status"] == "OPEN"
    assert order["pending_quantity"] == 2
    assert order["price"] == 1000


def test_a_market_order_fills_and_shows_in_trades_and_positions(client, token):
    place(client, token, order_type="MARKET", price=None, market_protection="-1", product="MIS")
    with time_machine.travel(time.time() + 2, tick=False):
        book = client.get(f"{BASE}/orders", **auth(token)).json()["data"]
        trades = client.get(f"{BASE}/trades", **auth(token)).json()["data"]
        positions = client.get(f"{BASE}/portfolio/positions", **auth(token)).json()["data"]
    assert book[0]["status"] == "COMPLETE"
    assert trades[0]["order_id"] == book[0]["order_id"]
    assert trades[0]["quantity"] == 2
    assert len(trades[0]["order_timestamp"]) == 8  # time only
    infy = next(p for p in positions["net"] if p["tradingsymbol"] == "INFY")
    assert infy["quantity"] == 2


def test_a_json_body_is_refused(client, token):
    body = '{"exchange": "NSE"}'
    response = client.post(
        f"{BASE}/orders/regular", body, content_type="application/json", **auth(token)
    )
    kite_error(response, 400, "InputException")


@pytest.mark.parametrize(
    ("fields", "word"),
    [
        ({"quantity": None}, "quantity"),
        ({"quantity": "-3"}, "quantity"),
        ({"transaction_type": "HOLD"}, "transaction_type"),
        ({"order_type": "STOP"}, "order_type"),
        ({"product": "XYZ"}, "product"),
        ({"tradingsymbol": "NOSUCH"}, "tradingsymbol"),
        ({"price": "1000.03"}, "tick size"),
        ({"price": None}, "price"),
        ({"tag": "t" * 21}, "tag"),
        ({"order_type": "MARKET", "price": None}, "market_protection"),
        ({"order_type": "SL", "trigger_price": None}, "trigger_price"),
    ],
)
def test_place_validates_like_kite(client, token, fields, word):
    assert word in kite_error(place(client, token, **fields), 400, "InputException")


def test_an_unaffordable_buy_is_accepted_then_rejected(client, token):
    order_id = place(client, token, quantity="1000").json()["data"]["order_id"]
    (order,) = client.get(f"{BASE}/orders", **auth(token)).json()["data"]
    assert order["order_id"] == order_id
    assert order["status"] == "REJECTED"
    assert order["status_message"].startswith("Insufficient funds")


def test_modify_and_cancel(client, token):
    order_id = place(client, token).json()["data"]["order_id"]
    url = f"{BASE}/orders/regular/{order_id}"
    modified = client.put(
        url,
        urlencode({"price": "1001.50", "quantity": "3"}),
        content_type="application/x-www-form-urlencoded",
        **auth(token),
    )
    assert modified.json() == {"status": "success", "data": {"order_id": order_id}}
    (order,) = client.get(f"{BASE}/orders", **auth(token)).json()["data"]
    assert (order["price"], order["quantity"], order["modified"]) == (1001.5, 3, True)
    assert client.delete(url, **auth(token)).json()["data"] == {"order_id": order_id}
    (order,) = client.get(f"{BASE}/orders", **auth(token)).json()["data"]
    assert order["status"] == "CANCELLED"
    assert order["cancelled_quantity"] == 3
    kite_error(client.delete(url, **auth(token)), 400, "OrderException")


def test_modify_or_cancel_an_unknown_order(client, token):
    url = f"{BASE}/orders/regular/999999999999999"
    kite_error(client.delete(url, **auth(token)), 400, "InputException")
    form = "price=1000"
    kite_error(
        client.put(url, form, content_type="application/x-www-form-urlencoded", **auth(token)),
        400,
        "InputException",
    )


# --- Faults --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fault", "status", "error_type"),
    [
        ({"outage": True}, 503, "NetworkException"),
        ({"rate_limited": True}, 429, "NetworkException"),
        ({"error_rate": 100}, 500, "GeneralException"),
    ],
)
def test_injected_faults_answer_in_kites_words(client, token, fault, status, error_type):
    kit.set_faults("zerodha", "ZD1234", **fault)
    kite_error(client.get(f"{BASE}/portfolio/holdings", **auth(token)), status, error_type)
    kit.clear_faults("zerodha", "ZD1234")
    assert client.get(f"{BASE}/portfolio/holdings", **auth(token)).status_code == 200


def test_rate_limit_fault_body_is_kites(client, token):
    kit.set_faults("zerodha", **{"rate_limited": True})
    body = client.get(f"{BASE}/orders", **auth(token)).json()
    assert body == {
        "status": "error",
        "message": "Too many requests",
        "data": None,
        "error_type": "NetworkException",
    }


def test_forced_expiry_kills_tokens_until_the_next_login(client, token):
    kit.set_faults("zerodha", "ZD1234", token_expired=True)
    kite_error(client.get(f"{BASE}/user/profile", **auth(token)), 403, "TokenException")
    fresh = log_in(client)
    assert client.get(f"{BASE}/user/profile", **auth(fresh)).status_code == 200


def test_latency_is_added(client, token):
    kit.set_faults("zerodha", "ZD1234", latency_ms=60)
    started = time.perf_counter()
    assert client.get(f"{BASE}/user/profile", **auth(token)).status_code == 200
    assert time.perf_counter() - started >= 0.06


def test_a_lost_order_reply_is_a_504_but_the_order_exists(client, token):
    kit.set_faults("zerodha", "ZD1234", lose_order_reply=True)
    response = place(client, token, tag="lostReply1")
    assert response.status_code == 504
    kit.clear_faults("zerodha", "ZD1234")
    book = client.get(f"{BASE}/orders", **auth(token)).json()["data"]
    assert [o["tag"] for o in book] == ["lostReply1"]


def test_demo_login_fields_are_empty_for_a_browser_login():
    assert sandbox.demo_login_fields() == {}


def test_a_bare_submit_logs_into_the_preselected_account(client):
    form = {"v": "3", "api_key": API_KEY, "decision": "approve"}
    location = client.post(login_url(), form)["Location"]
    request_token = parse_qs(urlsplit(location).query)["request_token"][0]
    assert exchange(client, request_token).json()["data"]["user_id"] == "ZD1234"


def test_an_unknown_account_is_refused(client):
    form = {"v": "3", "api_key": API_KEY, "account_id": "ZD0000", "decision": "approve"}
    assert client.post(login_url(), form).status_code == 400


# --- The order path end to end -------------------------------------------------------------
def test_an_order_goes_from_placing_to_positions_and_funds(client, token, market):
    net_before = client.get(f"{BASE}/user/margins", **auth(token)).json()["data"]["equity"]["net"]
    fields = {"order_type": "MARKET", "price": None, "market_protection": "-1", "tag": "e2eKite01"}
    order_id = place(client, token, **fields).json()["data"]["order_id"]

    (booked,) = [o for o in client.get(f"{BASE}/orders", **auth(token)).json()["data"]]
    assert (booked["order_id"], booked["tag"], booked["tags"]) == (
        order_id,
        "e2eKite01",
        ["e2eKite01"],
    )
    history = client.get(f"{BASE}/orders/{order_id}", **auth(token)).json()["data"]
    assert [h["status"] for h in history] == [
        "PUT ORDER REQ RECEIVED",
        "VALIDATION PENDING",
        "OPEN PENDING",
        "OPEN",
    ]
    assert client.get(f"{BASE}/orders/{order_id}/trades", **auth(token)).json()["data"] == []

    market.shift(2)
    history = client.get(f"{BASE}/orders/{order_id}", **auth(token)).json()["data"]
    (fill,) = client.get(f"{BASE}/orders/{order_id}/trades", **auth(token)).json()["data"]
    (trade,) = client.get(f"{BASE}/trades", **auth(token)).json()["data"]
    net = client.get(f"{BASE}/portfolio/positions", **auth(token)).json()["data"]["net"]
    margins = client.get(f"{BASE}/user/margins", **auth(token)).json()["data"]["equity"]
    assert history[-1]["status"] == "COMPLETE"
    assert history[-1]["filled_quantity"] == 2 and history[-1]["average_price"] == 1542.3
    assert history[-2]["filled_quantity"] == 0  # the OPEN step, before the fill
    assert fill == trade
    assert (fill["order_id"], fill["quantity"], fill["average_price"]) == (order_id, 2, 1542.3)
    infy = next(p for p in net if p["tradingsymbol"] == "INFY" and p["product"] == "CNC")
    assert (infy["quantity"], infy["buy_price"]) == (2, 1542.3)
    assert margins["net"] == net_before - 2 * 1542.3
    assert margins["utilised"]["debits"] == 3084.6


def test_a_marketable_limit_fills_at_the_market_and_one_away_from_it_waits(client, token, market):
    marketable = place(client, token, price="1600.00", tag="above").json()["data"]["order_id"]
    waiting = place(client, token, price="1000.00", tag="below").json()["data"]["order_id"]
    ioc = place(client, token, price="1000.00", validity="IOC", tag="ioc").json()["data"]
    market.shift(2)
    book = {o["order_id"]: o for o in client.get(f"{BASE}/orders", **auth(token)).json()["data"]}
    assert (book[marketable]["status"], book[marketable]["average_price"]) == ("COMPLETE", 1542.3)
    assert book[waiting]["status"] == "OPEN"
    assert book[ioc["order_id"]]["status"] == "CANCELLED"  # IOC: not marketable, gone


def test_open_buys_block_funds_until_cancelled(client, token):
    order_id = place(client, token, quantity="10").json()["data"]["order_id"]
    margins = client.get(f"{BASE}/user/margins/equity", **auth(token)).json()["data"]
    assert (margins["net"], margins["utilised"]["debits"]) == (240000, 10000)
    client.delete(f"{BASE}/orders/regular/{order_id}", **auth(token))
    assert client.get(f"{BASE}/user/margins/equity", **auth(token)).json()["data"]["net"] == 250000


@pytest.mark.parametrize(
    ("tag", "accepted"),
    [
        ("t" * 20, True),
        ("t" * 21, False),
        ("connect test order1", True),  # spaces, as the official mocks show
        ("algo@desk", True),  # "@" is whitelisted
        ("algo_desk", False),
        ("algo-desk", False),
        ("ordré", False),
    ],
)
def test_the_tag_is_at_most_20_alphanumerics(client, token, tag, accepted):
    response = place(client, token, tag=tag)
    if accepted:
        assert response.status_code == 200
        (order,) = client.get(f"{BASE}/orders", **auth(token)).json()["data"]
        assert order["tag"] == tag
    else:
        assert "tag" in kite_error(response, 400, "InputException")
        assert client.get(f"{BASE}/orders", **auth(token)).json()["data"] == []


def test_an_untagged_order_has_no_tags_key(client, token):
    place(client, token, tag=None)
    (order,) = client.get(f"{BASE}/orders", **auth(token)).json()["data"]
    assert order["tag"] is None
    assert "tags" not in order


def test_rejections_are_in_kites_words(client, token, market):
    broke = place(client, token, quantity="1000", tag="tooBig").json()["data"]["order_id"]
    short = place(client, token, transaction_type="SELL", quantity="6", tag="tooMany").json()
    book = {o["order_id"]: o for o in client.get(f"{BASE}/orders", **auth(token)).json()["data"]}
    funds = book[broke]
    assert funds["status"] == "REJECTED" and funds["exchange_order_id"] is None
    assert funds["status_message"] == (
        "Insufficient funds. Required margin is 1000000.00 but available margin is 250000.00. "
        "Check the orderbook for open orders."
    )
    assert funds["status_message_raw"].startswith(
        "RMS:Margin Exceeds,Required:1000000.00, Available:250000.00 for entity account-ZD1234"
    )
    holdings = book[short["data"]["order_id"]]  # ZD1234 holds 5 INFY
    assert holdings["status"] == "REJECTED"
    assert holdings["status_message"] == "Insufficient holdings to sell. Check your holdings."
    history = client.get(f"{BASE}/orders/{broke}", **auth(token)).json()["data"]
    assert [h["status"] for h in history][-1] == "REJECTED"
    assert place(client, token, transaction_type="SELL", quantity="5").status_code == 200
    assert client.get(f"{BASE}/orders", **auth(token)).json()["data"][-1]["status"] == "OPEN"


def test_one_order_lookups_of_an_unknown_order_are_refused(client, token):
    kite_error(client.get(f"{BASE}/orders/999999999999999", **auth(token)), 400, "InputException")
    response = client.get(f"{BASE}/orders/999999999999999/trades", **auth(token))
    kite_error(response, 400, "InputException")


def test_another_accounts_order_is_not_found(client, token):
    order_id = place(client, token).json()["data"]["order_id"]
    other = log_in(client, "ZD5678")
    kite_error(client.get(f"{BASE}/orders/{order_id}", **auth(other)), 400, "InputException")
    assert client.get(f"{BASE}/orders", **auth(other)).json()["data"] == []


def test_the_full_quote(client, token):
    data = client.get(f"{BASE}/quote?i=NSE:INFY&i=NSE:NOSUCH", **auth(token)).json()["data"]
    assert set(data) == {"NSE:INFY"}
    infy = data["NSE:INFY"]
    assert (infy["last_price"], infy["ohlc"]["close"], infy["net_change"]) == (1542.3, 1550.1, -7.8)
    assert len(infy["depth"]["buy"]) == len(infy["depth"]["sell"]) == 5
    assert infy["depth"]["buy"][0]["price"] < infy["last_price"] < infy["depth"]["sell"][0]["price"]
    too_many = "&".join(["i=NSE:INFY"] * 501)
    assert "500" in kite_error(
        client.get(f"{BASE}/quote?{too_many}", **auth(token)), 400, "InputException"
    )


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/no/such/path", 404),
        ("get", "/portfolio/holdingz", 404),
        ("post", "/orders", 405),
        ("delete", "/portfolio/holdings", 405),
        ("patch", "/orders/regular", 405),
        ("post", "/orders/123/trades", 405),
        ("put", "/orders/regular/1/trades", 404),
    ],
)
def test_unknown_paths_and_wrong_methods_answer_kites_json(client, token, method, path, status):
    response = getattr(client, method)(f"{BASE}{path}", **auth(token))
    kite_error(response, status, "GeneralException")


def test_a_lost_reply_on_modify_or_cancel_still_changes_the_order(client, token):
    order_id = place(client, token, tag="lostChange").json()["data"]["order_id"]
    url = f"{BASE}/orders/regular/{order_id}"
    kit.set_faults("zerodha", "ZD1234", lose_order_reply=True)
    form = urlencode({"price": "1001.00"})
    modified = client.put(
        url, form, content_type="application/x-www-form-urlencoded", **auth(token)
    )
    assert modified.status_code == 504
    (order,) = client.get(f"{BASE}/orders", **auth(token)).json()["data"]
    assert order["price"] == 1001
    assert client.delete(url, **auth(token)).status_code == 504
    (order,) = client.get(f"{BASE}/orders", **auth(token)).json()["data"]
    assert (order["tag"], order["status"]) == ("lostChange", "CANCELLED")


def test_a_dropped_request_never_reaches_the_book(client, token):
    order_id = place(client, token, tag="kept").json()["data"]["order_id"]
    kit.set_faults("zerodha", "ZD1234", drop_order_request=True)
    assert place(client, token, tag="dropped").status_code == 502
    url = f"{BASE}/orders/regular/{order_id}"
    form = urlencode({"price": "1001.00"})
    assert (
        client.put(
            url, form, content_type="application/x-www-form-urlencoded", **auth(token)
        ).status_code
        == 502
    )
    assert client.delete(url, **auth(token)).status_code == 502
    (order,) = client.get(f"{BASE}/orders", **auth(token)).json()["data"]
    assert (order["tag"], order["price"], order["status"]) == ("kept", 1000, "OPEN")
