"""The Angel One simulator's own wire behaviour, through Django's test client."""

import re
import time
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest

from brokers.sandbox import angelone, kit
from brokers.sandbox.demo import DEMO_APPS

BASE = "/sandbox/angelone/"
SECURE = BASE + "rest/secure/angelbroking/"
DEMO = DEMO_APPS["angelone"]
CALLBACK = "http://127.0.0.1:8000/brokers/callback/"
CLIENT = {
    "HTTP_X_PRIVATEKEY": DEMO["api_key"],
    "HTTP_X_USERTYPE": "USER",
    "HTTP_X_SOURCEID": "WEB",
    "HTTP_X_CLIENTLOCALIP": "127.0.0.1",
    "HTTP_X_CLIENTPUBLICIP": "127.0.0.1",
    "HTTP_X_MACADDRESS": "02:00:00:00:00:01",
    "HTTP_ACCEPT": "application/json",
}


def post(client, url, body, **headers):
    return client.post(url, body, content_type="application/json", **{**CLIENT, **headers})


def login(client):
    reply = post(client, BASE + "rest/auth/angelbroking/user/v1/loginByPassword", {
        "clientcode": DEMO["client_id"],
        "password": DEMO["pin"],
        "totp": kit.totp(DEMO["totp_secret"]),
    })  # fmt: skip
    assert reply.status_code == 200, reply.content
    return reply.json()["data"]


@pytest.fixture
def session(client):
    return login(client)


@pytest.fixture
def auth(session):
    return {**CLIENT, "HTTP_AUTHORIZATION": f"Bearer {session['jwtToken']}"}


def place(client, auth, **changes):
    body = {
        "variety": "NORMAL",
        "tradingsymbol": "INFY-EQ",
        "symboltoken": "1594",
        "transactiontype": "BUY",
        "exchange": "NSE",
        "ordertype": "LIMIT",
        "producttype": "DELIVERY",
        "duration": "DAY",
        "price": "1000.00",
        "triggerprice": "0",
        "squareoff": "0",
        "stoploss": "0",
        "quantity": "2",
        "ordertag": "sbx-1",
    }
    return client.post(
        SECURE + "order/v1/placeOrder", {**body, **changes}, content_type="application/json", **auth
    )


def order_book(client, auth):
    reply = client.get(SECURE + "order/v1/getOrderBook", **auth)
    assert reply.status_code == 200
    return reply.json()["data"] or []


# --- Publisher login page -------------------------------------------------------------------------
def login_page(client, **query):
    params = {"api_key": DEMO["api_key"], "state": "st-9", "redirect_url": CALLBACK, **query}
    return client.get(BASE + "publisher-login", params)


def form_fields(page) -> dict:
    text = page.content.decode()
    hidden = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', text)
    return {name: unescape(value) for name, value in hidden}


def test_the_login_page_shows_the_app_and_the_demo_accounts(client):
    page = login_page(client)
    text = page.content.decode()
    assert page.status_code == 200
    assert "<title>Angel One sandbox login</title>" in text
    assert DEMO["api_key"] in text
    assert '<form method="post">' in text
    assert '<option value="AO7788" selected>' in text
    assert 'name="decision" value="approve">Log in and authorize</button>' in text
    assert 'name="decision" value="deny">Deny</button>' in text
    fields = form_fields(page)
    assert (fields["api_key"], fields["state"], fields["redirect_url"]) == (
        DEMO["api_key"],
        "st-9",
        CALLBACK,
    )


def test_approving_redirects_with_auth_and_feed_tokens_and_the_state(client):
    fields = form_fields(login_page(client))
    reply = client.post(
        BASE + "publisher-login", {**fields, "account_id": "AO7788", "decision": "approve"}
    )
    assert reply.status_code == 302
    location = urlsplit(reply["Location"])
    assert location._replace(query="").geturl() == CALLBACK
    params = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert set(params) == {"auth_token", "feed_token", "state"}
    assert params["state"] == "st-9"
    assert kit.account_for_token("angelone", params["auth_token"]) == "AO7788"
    profile = client.get(
        SECURE + "user/v1/getProfile", **CLIENT, HTTP_AUTHORIZATION=f"Bearer {params['auth_token']}"
    )
    assert profile.json()["data"]["clientcode"] == "AO7788"


def test_denying_redirects_with_access_denied(client):
    fields = form_fields(login_page(client))
    reply = client.post(
        BASE + "publisher-login", {**fields, "account_id": "AO7788", "decision": "deny"}
    )
    query = parse_qs(urlsplit(reply["Location"]).query)
    assert reply.status_code == 302
    assert query == {"error": ["access_denied"], "state": ["st-9"]}


def test_the_login_form_works_once(client):
    fields = form_fields(login_page(client))
    form = {**fields, "account_id": "AO7788", "decision": "approve"}
    assert client.post(BASE + "publisher-login", form).status_code == 302
    again = client.post(BASE + "publisher-login", form)
    assert again.status_code == 400
    assert "already used" in again.content.decode()


@pytest.mark.parametrize(
    ("query", "problem"),
    [({"api_key": "nope"}, "Invalid API Key"), ({"redirect_url": "javascript:x"}, "redirect URL")],
)
def test_the_login_page_refuses_unknown_apps_and_bad_redirects(client, query, problem):
    page = login_page(client, **query)
    assert page.status_code == 400
    assert problem in page.content.decode()


# --- loginByPassword / generateTokens / logout ---------------------------------------------------
def test_login_by_password_answers_three_jwts(client):
    data = login(client)
    assert set(data) == {"jwtToken", "refreshToken", "feedToken", "state"}
    assert all(data[k].startswith("eyJ") and data[k].count(".") == 2 for k in set(data) - {"state"})


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"password": "0000"}, "AB1007"),
        ({"clientcode": "ZZ9999"}, "AB1007"),
        ({"totp": "000000"}, "AB1050"),
    ],
)
def test_wrong_credentials_are_refused_with_http_200(client, changes, code):
    body = {
        "clientcode": DEMO["client_id"],
        "password": DEMO["pin"],
        "totp": kit.totp(DEMO["totp_secret"]),
    }
    reply = post(
        client, BASE + "rest/auth/angelbroking/user/v1/loginByPassword", {**body, **changes}
    )
    assert reply.status_code == 200
    assert reply.json() == {
        "status": False,
        "message": reply.json()["message"],
        "errorcode": code,
        "data": None,
    }


def test_login_with_an_unknown_api_key_is_refused(client):
    reply = post(
        client,
        BASE + "rest/auth/angelbroking/user/v1/loginByPassword",
        {"clientcode": DEMO["client_id"], "password": DEMO["pin"], "totp": "123456"},
        HTTP_X_PRIVATEKEY="someone-elses-key",
    )
    assert reply.status_code == 403
    assert reply.json()["errorCode"] == "AG8004" and reply.json()["success"] is False


def test_refresh_issues_new_tokens_and_retires_the_refresh_token(client, session, auth):
    url = BASE + "rest/auth/angelbroking/jwt/v1/generateTokens"
    reply = client.post(
        url, {"refreshToken": session["refreshToken"]}, content_type="application/json", **auth
    )
    fresh = reply.json()["data"]
    assert set(fresh) == {"jwtToken", "refreshToken", "feedToken"}
    assert kit.account_for_token("angelone", fresh["jwtToken"]) == "AO7788"
    again = client.post(
        url, {"refreshToken": session["refreshToken"]}, content_type="application/json", **auth
    )
    assert again.json()["errorcode"] == "AB8050"


def test_logout_ends_the_session(client, auth):
    reply = client.post(
        SECURE + "user/v1/logout", {"clientcode": "AO7788"}, content_type="application/json", **auth
    )
    assert reply.json() == {"status": True, "message": "SUCCESS", "errorcode": "", "data": ""}
    after = client.get(SECURE + "user/v1/getProfile", **auth)
    assert after.status_code == 403 and after.json()["errorCode"] == "AG8001"


# --- The gateway's checks ------------------------------------------------------------------------
def test_a_missing_token_is_ag8003(client):
    reply = client.get(SECURE + "portfolio/v1/getAllHolding", **CLIENT)
    assert reply.status_code == 403
    assert reply.json() == {
        "success": False,
        "message": "Token missing",
        "errorCode": "AG8003",
        "data": "",
    }


@pytest.mark.parametrize("header", ["Bearer not-a-token", "{jwt}", "token {jwt}"])
def test_a_wrong_authorization_header_is_ag8001(client, session, header):
    value = header.format(jwt=session["jwtToken"])
    reply = client.get(SECURE + "portfolio/v1/getAllHolding", **CLIENT, HTTP_AUTHORIZATION=value)
    assert reply.status_code == 403
    assert reply.json() == {
        "success": False,
        "message": "Invalid Token",
        "errorCode": "AG8001",
        "data": "",
    }


def test_the_user_type_header_must_be_user(client, auth):
    reply = client.get(SECURE + "user/v1/getRMS", **{**auth, "HTTP_X_USERTYPE": "ADMIN"})
    assert reply.json()["errorcode"] == "AB1005"


def test_the_client_ip_headers_must_be_present(client, auth):
    headers = {k: v for k, v in auth.items() if k != "HTTP_X_MACADDRESS"}
    reply = client.get(SECURE + "user/v1/getRMS", **headers)
    assert reply.json()["status"] is False


def test_an_sdk_style_json_query_string_is_ignored(client, auth):
    reply = client.get(SECURE + "user/v1/getProfile" + '?{"refreshToken": "x"}', **auth)
    assert reply.json()["data"]["clientcode"] == "AO7788"


# --- Reads --------------------------------------------------------------------------------------
def test_holdings_in_angels_shape(client, auth):
    data = client.get(SECURE + "portfolio/v1/getAllHolding", **auth).json()["data"]
    rows = {row["tradingsymbol"]: row for row in data["holdings"]}
    assert set(rows) == {"INFY-EQ", "SBIN-EQ", "RELIANCE-EQ"}
    reliance = rows["RELIANCE-EQ"]
    assert (reliance["symboltoken"], reliance["isin"], reliance["exchange"]) == (
        "2885",
        "INE002A01018",
        "NSE",
    )
    assert reliance["quantity"] == 3 and reliance["averageprice"] == 2800.0  # numbers, not strings
    assert reliance["ltp"] == 2950.5 and reliance["close"] == 2925.0
    assert reliance["product"] == "DELIVERY"
    assert set(data["totalholding"]) == {
        "totalholdingvalue",
        "totalinvvalue",
        "totalprofitandloss",
        "totalpnlpercentage",
    }
    plain = client.get(SECURE + "portfolio/v1/getHolding", **auth).json()["data"]
    assert [r["tradingsymbol"] for r in plain] == [r["tradingsymbol"] for r in data["holdings"]]


def test_rms_values_are_strings(client, auth):
    data = client.get(SECURE + "user/v1/getRMS", **auth).json()["data"]
    assert data["availablecash"] == "75000.00" and data["net"] == "75000.00"
    assert all(isinstance(v, str) for v in data.values())


def test_empty_books_are_data_null(client, auth):
    for path in ("order/v1/getPosition", "order/v1/getOrderBook", "order/v1/getTradeBook"):
        assert client.get(SECURE + path, **auth).json() == {
            "status": True,
            "message": "SUCCESS",
            "errorcode": "",
            "data": None,
        }


def test_quotes_are_camel_case_with_the_previous_close(client, auth):
    body = {"mode": "OHLC", "exchangeTokens": {"NSE": ["2885", "424242"], "BSE": ["500325"]}}
    data = client.post(
        SECURE + "market/v1/quote", body, content_type="application/json", **auth
    ).json()["data"]
    by_token = {row["symbolToken"]: row for row in data["fetched"]}
    assert by_token["2885"]["tradingSymbol"] == "RELIANCE-EQ" and by_token["2885"]["ltp"] == 2950.5
    assert by_token["2885"]["close"] == 2925.0
    assert by_token["500325"]["tradingSymbol"] == "RELIANCE"
    assert data["unfetched"] == [
        {
            "exchange": "NSE",
            "symbolToken": "424242",
            "message": "Symbol Not Found",
            "errorCode": "AB1009",
        }
    ]


def test_the_instrument_master_is_a_json_array_of_strings(client):
    rows = client.get(BASE + "OpenAPI_File/files/OpenAPIScripMaster.json").json()
    keys = [
        "token",
        "symbol",
        "name",
        "expiry",
        "strike",
        "lotsize",
        "instrumenttype",
        "exch_seg",
        "tick_size",
    ]
    assert all(list(row) == keys for row in rows)
    listings = {(r["exch_seg"], r["symbol"]): r for r in rows}
    assert listings[("NSE", "RELIANCE-EQ")]["token"] == "2885"
    assert listings[("BSE", "RELIANCE")]["token"] == "500325"
    assert listings[("NSE", "NIFTYBEES-EQ")]["tick_size"] == "1.000000"  # paise
    assert listings[("NSE", "SBIN-EQ")]["strike"] == "-1.000000"


# --- Orders -------------------------------------------------------------------------------------
def test_a_placed_order_is_in_the_book_with_its_tag(client, auth):
    reply = place(client, auth).json()
    assert reply["status"] is True
    assert reply["data"]["script"] == "INFY-EQ" and len(reply["data"]["orderid"]) == 15
    (row,) = order_book(client, auth)
    assert (row["orderid"], row["ordertag"], row["status"]) == (
        reply["data"]["orderid"],
        "sbx-1",
        "open",
    )
    assert row["uniqueorderid"] == reply["data"]["uniqueorderid"]
    assert (row["price"], row["quantity"], row["variety"]) == ("1000.00", "2", "NORMAL")


def test_a_market_order_fills_and_shows_in_trades_positions_and_funds(client, auth):
    place(client, auth, ordertype="MARKET", price="0", producttype="INTRADAY")
    placed = time.time()
    while time.time() - placed < 0.6:
        time.sleep(0.1)
    (row,) = order_book(client, auth)
    assert (row["status"], row["filledshares"], row["averageprice"]) == ("complete", "2", "1542.30")
    (trade,) = client.get(SECURE + "order/v1/getTradeBook", **auth).json()["data"]
    assert (trade["fillsize"], trade["fillprice"], trade["orderid"]) == (
        "2",
        "1542.30",
        row["orderid"],
    )
    (position,) = client.get(SECURE + "order/v1/getPosition", **auth).json()["data"]
    assert (position["netqty"], position["producttype"], position["buyavgprice"]) == (
        "2",
        "INTRADAY",
        "1542.30",
    )
    assert position["netvalue"] == "- 3084.60"
    rms = client.get(SECURE + "user/v1/getRMS", **auth).json()["data"]
    assert (rms["utiliseddebits"], rms["net"]) == ("3084.60", "71915.40")


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"producttype": "CNC"}, "AB1012"),
        ({"variety": "FANCY"}, "AB1008"),
        ({"ordertype": "STOPLOSS_LIMIT", "triggerprice": "990"}, "AB1008"),
        ({"variety": "ROBO"}, "AB2002"),
        ({"symboltoken": "99999"}, "AB1009"),
        ({"tradingsymbol": "INFY"}, "AB1009"),
        ({"ordertag": "x" * 21}, "AB4008"),
        ({"quantity": "0"}, "AB2000"),
        ({"price": "0"}, "AB2000"),
    ],
)
def test_place_order_validation(client, auth, changes, code):
    reply = place(client, auth, **changes)
    assert reply.status_code == 200
    assert (reply.json()["status"], reply.json()["errorcode"]) == (False, code)
    assert order_book(client, auth) == []


def test_modify_and_cancel(client, auth):
    order_id = place(client, auth).json()["data"]["orderid"]
    (row,) = order_book(client, auth)
    fields = (
        "variety",
        "ordertype",
        "producttype",
        "duration",
        "tradingsymbol",
        "symboltoken",
        "exchange",
    )
    body = {k: row[k] for k in fields} | {"orderid": order_id, "price": "1001.50", "quantity": "3"}
    reply = client.post(
        SECURE + "order/v1/modifyOrder", body, content_type="application/json", **auth
    )
    assert reply.json()["data"]["orderid"] == order_id
    (row,) = order_book(client, auth)
    assert (row["price"], row["quantity"]) == ("1001.50", "3")
    cancel = {"variety": "NORMAL", "orderid": order_id}
    reply = client.post(
        SECURE + "order/v1/cancelOrder", cancel, content_type="application/json", **auth
    )
    assert reply.json()["status"] is True
    assert order_book(client, auth)[0]["status"] == "cancelled"
    again = client.post(
        SECURE + "order/v1/cancelOrder", cancel, content_type="application/json", **auth
    )
    assert again.json()["status"] is False


def test_unknown_orders_cannot_be_modified_or_cancelled(client, auth):
    for path in ("order/v1/modifyOrder", "order/v1/cancelOrder"):
        body = {"variety": "NORMAL", "orderid": "123456789012345"}
        reply = client.post(SECURE + path, body, content_type="application/json", **auth)
        assert reply.json()["errorcode"] == "AB1013"


# --- Faults --------------------------------------------------------------------------------------
HOLDINGS = SECURE + "portfolio/v1/getAllHolding"


def test_outage_answers_503(client, auth):
    kit.set_faults("angelone", outage=True)
    reply = client.get(HOLDINGS, **auth)
    assert reply.status_code == 503 and reply["Content-Type"].startswith("text/html")


def test_rate_limited_is_plain_text_403(client, auth):
    kit.set_faults("angelone", rate_limited=True)
    reply = client.get(HOLDINGS, **auth)
    assert reply.status_code == 403
    assert reply.content == b"Access denied because of exceeding access rate"
    assert reply["Content-Type"].startswith("text/plain")


def test_error_rate_100_is_a_server_error(client, auth):
    kit.set_faults("angelone", "AO7788", error_rate=100)
    reply = client.get(HOLDINGS, **auth)
    assert reply.status_code == 500 and reply.json()["errorcode"] == "AB2001"


def test_forced_expiry_kills_issued_tokens_until_the_next_login(client, auth):
    kit.set_faults("angelone", token_expired=True)
    assert client.get(HOLDINGS, **auth).json()["errorCode"] == "AG8001"
    time.sleep(0.01)
    fresh = login(client)["jwtToken"]
    assert client.get(HOLDINGS, **CLIENT, HTTP_AUTHORIZATION=f"Bearer {fresh}").status_code == 200


def test_latency_delays_the_answer(client, auth):
    kit.set_faults("angelone", latency_ms=150)
    started = time.perf_counter()
    assert client.get(HOLDINGS, **auth).status_code == 200
    assert time.perf_counter() - started >= 0.15


def test_a_lost_order_reply_still_places_the_order(client, auth):
    kit.set_faults("angelone", lose_order_reply=True)
    reply = place(client, auth, ordertag="lost-1")
    assert reply.status_code == 504
    kit.clear_faults("angelone")
    assert [row["ordertag"] for row in order_book(client, auth)] == ["lost-1"]


def test_demo_login_fields_log_in():
    fields = angelone.demo_login_fields()
    assert fields["clientcode"] == "AO7788" and fields["pin"] == DEMO["pin"]
    assert kit.totp_valid(DEMO["totp_secret"], fields["totp"])


# --- The order path end to end -------------------------------------------------------------
def details(client, auth, unique_id):
    return client.get(SECURE + f"order/v1/details/{unique_id}", **auth).json()


def test_an_order_goes_from_placing_to_positions_and_funds(client, auth, market):
    net_before = client.get(SECURE + "user/v1/getRMS", **auth).json()["data"]["net"]
    reply = place(client, auth, ordertype="MARKET", price="0", ordertag="e2e-angel-01").json()
    unique_id = reply["data"]["uniqueorderid"]
    (row,) = [r for r in order_book(client, auth) if r["ordertag"] == "e2e-angel-01"]
    assert row["orderid"] == reply["data"]["orderid"]
    one = details(client, auth, unique_id)
    assert (one["status"], one["data"]["orderid"], one["data"]["status"]) == (
        True,
        reply["data"]["orderid"],
        "open",
    )
    market.shift(2)
    one = details(client, auth, unique_id)["data"]
    (trade,) = client.get(SECURE + "order/v1/getTradeBook", **auth).json()["data"]
    (position,) = client.get(SECURE + "order/v1/getPosition", **auth).json()["data"]
    rms = client.get(SECURE + "user/v1/getRMS", **auth).json()["data"]
    assert (one["status"], one["filledshares"], one["averageprice"]) == ("complete", "2", "1542.30")
    assert (trade["orderid"], trade["fillsize"]) == (one["orderid"], "2")
    assert (position["tradingsymbol"], position["producttype"], position["netqty"]) == (
        "INFY-EQ",
        "DELIVERY",
        "2",
    )
    assert rms["net"] == f"{float(net_before) - 3084.60:.2f}"


def test_a_single_order_lookup_wants_a_known_uniqueorderid(client, auth):
    reply = details(client, auth, "00000000-0000-0000-0000-000000000000")
    assert (reply["status"], reply["errorcode"], reply["message"]) == (
        False,
        "AB1013",
        "Order not found",
    )


@pytest.mark.parametrize(("length", "accepted"), [(20, True), (21, False)])
def test_the_ordertag_is_at_most_20_characters(client, auth, length, accepted):
    reply = place(client, auth, ordertag="t" * length).json()
    assert reply["status"] is accepted
    if not accepted:
        assert (reply["errorcode"], reply["message"]) == (
            "AB4008",
            "Ordertag length should not exceed 20 characters",
        )
    assert len(order_book(client, auth)) == (1 if accepted else 0)


def test_rejections_are_in_the_book_with_the_reason(client, auth):
    broke = place(client, auth, quantity="100", ordertag="too-big").json()
    assert broke["status"] is True  # the RMS refuses after the order is accepted
    short = place(client, auth, transactiontype="SELL", quantity="11", ordertag="too-many").json()
    book = {row["ordertag"]: row for row in order_book(client, auth)}
    assert book["too-big"]["status"] == "rejected"
    assert book["too-big"]["text"].startswith(
        "Your order has been rejected due to Insufficient Funds. Available funds - Rs. 75000.00"
    )
    assert book["too-many"]["status"] == "rejected"  # AO7788 holds 10 INFY
    assert "insufficient holdings" in book["too-many"]["text"]
    assert details(client, auth, short["data"]["uniqueorderid"])["data"]["status"] == "rejected"


def test_ltp_data_is_strings_with_the_previous_close(client, auth):
    body = {"exchange": "NSE", "tradingsymbol": "SBIN-EQ", "symboltoken": "3045"}
    reply = post(client, SECURE + "order/v1/getLtpData", body, **auth).json()
    assert reply["status"] is True
    assert reply["data"] == {
        "exchange": "NSE",
        "tradingsymbol": "SBIN-EQ",
        "symboltoken": "3045",
        "open": "805.35",
        "high": "812.60",
        "low": "805.35",
        "close": "805.35",
        "ltp": "812.60",
    }
    wrong = post(client, SECURE + "order/v1/getLtpData", {**body, "tradingsymbol": "SBIN"}, **auth)
    assert wrong.json()["errorcode"] == "AB1009"
    empty = post(client, SECURE + "order/v1/getLtpData", {**body, "symboltoken": ""}, **auth)
    assert empty.json()["errorcode"] == "AB4018"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "rest/secure/angelbroking/order/v1/noSuchThing", 404),
        ("get", "nowhere", 404),
        ("get", "rest/secure/angelbroking/order/v1/placeOrder", 405),
        ("post", "rest/secure/angelbroking/order/v1/getOrderBook", 405),
    ],
)
def test_unknown_paths_and_wrong_methods_answer_angels_json(client, auth, method, path, status):
    reply = getattr(client, method)(BASE + path, **auth)
    assert reply.status_code == status
    assert reply.json()["status"] is False and reply.json()["errorcode"] == "AB2000"


def modify_body(client, auth, order_id, price):
    (row,) = [r for r in order_book(client, auth) if r["orderid"] == order_id]
    fields = ("variety", "ordertype", "producttype", "duration", "tradingsymbol", "symboltoken")
    return {k: row[k] for k in fields} | {
        "exchange": row["exchange"],
        "orderid": order_id,
        "price": price,
        "quantity": row["quantity"],
    }


def test_a_lost_reply_on_modify_or_cancel_still_changes_the_order(client, auth):
    order_id = place(client, auth, ordertag="lost-change").json()["data"]["orderid"]
    body = modify_body(client, auth, order_id, "1001.00")
    kit.set_faults("angelone", lose_order_reply=True)
    assert post(client, SECURE + "order/v1/modifyOrder", body, **auth).status_code == 504
    assert order_book(client, auth)[0]["price"] == "1001.00"
    cancel = {"variety": "NORMAL", "orderid": order_id}
    assert post(client, SECURE + "order/v1/cancelOrder", cancel, **auth).status_code == 504
    (row,) = order_book(client, auth)
    assert (row["ordertag"], row["status"]) == ("lost-change", "cancelled")


def test_a_dropped_request_never_reaches_the_book(client, auth):
    order_id = place(client, auth, ordertag="kept").json()["data"]["orderid"]
    body = modify_body(client, auth, order_id, "1001.00")
    kit.set_faults("angelone", "AO7788", drop_order_request=True)
    assert place(client, auth, ordertag="dropped").status_code == 502
    assert post(client, SECURE + "order/v1/modifyOrder", body, **auth).status_code == 502
    cancel = {"variety": "NORMAL", "orderid": order_id}
    assert post(client, SECURE + "order/v1/cancelOrder", cancel, **auth).status_code == 502
    (row,) = order_book(client, auth)
    assert (row["ordertag"], row["price"], row["status"]) == ("kept", "1000.00", "open")
