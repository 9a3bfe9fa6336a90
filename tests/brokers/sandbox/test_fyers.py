"""The Fyers simulator on the wire: Django's test client, no adapter."""

import base64
import csv
import hashlib
import io
import json
import time
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine

from brokers.clock import IST
from brokers.sandbox import demo, kit, universe
from brokers.sandbox.fyers import ERRORS, demo_login_fields

BASE = "/sandbox/fyers"
APP = demo.DEMO_APPS["fyers"]
APP_ID = APP["api_key"]
APP_ID_HASH = hashlib.sha256(f"{APP_ID}:{APP['api_secret']}".encode()).hexdigest()
CALLBACK = "http://127.0.0.1:8000/brokers/callback/fyers/?from=fyers"
LOGIN = {
    "client_id": APP_ID,
    "redirect_uri": CALLBACK,
    "response_type": "code",
    "state": "st-123",
}
ACCOUNT = universe.default_account("fyers").account_id


def claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def approve(client, **overrides) -> dict:
    form = {**LOGIN, "account_id": ACCOUNT, "decision": "approve", **overrides}
    response = client.post(f"{BASE}/api/v3/generate-authcode", form)
    assert response.status_code == 302
    return {k: v[0] for k, v in parse_qs(urlsplit(response["Location"]).query).items()}


def exchange(client, auth_code, **overrides):
    body = {"grant_type": "authorization_code", "appIdHash": APP_ID_HASH, "code": auth_code}
    body |= overrides
    return client.post(
        f"{BASE}/api/v3/validate-authcode", json.dumps(body), content_type="application/json"
    )


def login(client) -> dict:
    response = exchange(client, approve(client)["auth_code"])
    assert response.status_code == 200
    return response.json()


def auth(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"{APP_ID}:{token}", "HTTP_VERSION": "3"}


@pytest.fixture
def token(client) -> str:
    return login(client)["access_token"]


def send(client, method: str, token: str, body, path="/api/v3/orders/sync"):
    return getattr(client, method)(
        f"{BASE}{path}", json.dumps(body), content_type="application/json", **auth(token)
    )


def place(client, token, **overrides):
    body = {
        "symbol": "NSE:INFY-EQ",
        "qty": 2,
        "type": 1,
        "side": 1,
        "productType": "CNC",
        "limitPrice": 1200.05,
        "stopPrice": 0,
        "validity": "DAY",
        "disclosedQty": 0,
        "offlineOrder": False,
        "orderTag": "tag42",
    }
    return send(client, "post", token, {**body, **overrides})


# --- Login ------------------------------------------------------------------------------------
def test_the_login_page_shows_the_app_and_keeps_the_query(client):
    response = client.get(f"{BASE}/api/v3/generate-authcode", LOGIN)
    page = response.content.decode()
    assert response.status_code == 200
    assert "<title>Fyers sandbox login</title>" in page
    assert APP_ID in page
    assert '<form method="post">' in page
    assert '<input type="hidden" name="state" value="st-123">' in page
    assert f'<option value="{ACCOUNT}" selected>' in page
    assert '<button type="submit" name="decision" value="approve">Log in and authorize' in page
    assert '<button type="submit" name="decision" value="deny">Deny' in page


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"client_id": "NOPE-100"}, "client_id"),
        ({"redirect_uri": "javascript:alert(1)"}, "redirect_uri"),
        ({"response_type": "token"}, "response_type"),
    ],
)
def test_the_login_page_refuses_a_bad_request(client, change, problem):
    response = client.get(f"{BASE}/api/v3/generate-authcode", {**LOGIN, **change})
    assert response.status_code == 400
    assert problem in response.content.decode()
    posted = client.post(
        f"{BASE}/api/v3/generate-authcode", {**LOGIN, **change, "decision": "approve"}
    )
    assert posted.status_code == 400


def test_approval_redirects_with_the_real_callback_parameters(client):
    response = client.post(
        f"{BASE}/api/v3/generate-authcode",
        {**LOGIN, "account_id": ACCOUNT, "decision": "approve"},
    )
    location = urlsplit(response["Location"])
    params = parse_qs(location.query)
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK.split("?")[0]
    assert params["from"] == ["fyers"]
    assert (params["s"], params["code"], params["state"]) == (["ok"], ["200"], ["st-123"])
    assert claims(params["auth_code"][0])["sub"] == "auth_code"


def test_denial_redirects_with_the_oauth2_error_and_state(client):
    response = client.post(f"{BASE}/api/v3/generate-authcode", {**LOGIN, "decision": "deny"})
    params = parse_qs(urlsplit(response["Location"]).query)
    assert params["error"] == ["access_denied"]
    assert params["state"] == ["st-123"]
    assert "auth_code" not in params


def test_the_exchange_returns_jwts_that_expire_at_0600_ist(client):
    with time_machine.travel(datetime(2025, 1, 17, 10, 0, tzinfo=IST), tick=False):
        answer = login(client)
    assert (answer["s"], answer["code"]) == ("ok", 200)
    access = claims(answer["access_token"])
    assert access["fy_id"] == ACCOUNT
    assert access["exp"] == datetime(2025, 1, 18, 6, 0, tzinfo=IST).timestamp()
    assert claims(answer["refresh_token"])["exp"] > access["exp"]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"appIdHash": hashlib.sha256(f"{APP_ID}{APP['api_secret']}".encode()).hexdigest()}, -371),
        ({"appIdHash": ""}, -371),
        ({"grant_type": "refresh_token"}, -441),
        ({"code": ""}, -374),
        ({"code": "eyJhbGciOiJIUzI1NiJ9.eyJ1dWlkIjoibm9wZSJ9.x"}, -437),
    ],
)
def test_the_exchange_refuses_with_fyers_error_codes(client, change, code):
    response = exchange(client, approve(client)["auth_code"], **change)
    assert response.status_code == 400
    assert response.json() == {"s": "error", "code": code, "message": response.json()["message"]}


def test_an_auth_code_works_once(client):
    auth_code = approve(client)["auth_code"]
    assert exchange(client, auth_code).status_code == 200
    again = exchange(client, auth_code)
    assert again.status_code == 400
    assert again.json()["code"] == -437


def test_refresh_needs_the_pin_and_returns_only_an_access_token(client):
    answer = login(client)
    body = {
        "grant_type": "refresh_token",
        "appIdHash": APP_ID_HASH,
        "refresh_token": answer["refresh_token"],
        "pin": APP["pin"],
    }
    url = f"{BASE}/api/v3/validate-refresh-token"
    fresh = client.post(url, json.dumps(body), content_type="application/json").json()
    assert fresh["s"] == "ok" and "refresh_token" not in fresh
    assert client.get(f"{BASE}/api/v3/profile", **auth(fresh["access_token"])).status_code == 200

    wrong_pin = client.post(
        url, json.dumps(body | {"pin": "0000"}), content_type="application/json"
    )
    assert wrong_pin.status_code == 400 and wrong_pin.json()["s"] == "error"
    bad_token = client.post(
        url, json.dumps(body | {"refresh_token": "x.y.z"}), content_type="application/json"
    )
    assert bad_token.json()["code"] == -501


def test_demo_login_fields_are_empty_for_a_browser_login():
    assert demo_login_fields() == {}


# --- Authentication on every call ---------------------------------------------------------------
@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer {token}",
        "{token}",
        "OTHERAPP-100:{token}",
        f"{APP_ID}:not-a-token",
    ],
)
def test_a_missing_or_wrong_auth_header_gets_the_real_auth_error(client, token, header):
    headers = {"HTTP_AUTHORIZATION": header.format(token=token)} if header else {}
    response = client.get(f"{BASE}/api/v3/holdings", **headers)
    assert response.status_code == 401
    assert response.json() == {
        "s": "error",
        "code": -16,
        "message": "Could not authenticate the user",
    }


def test_market_data_answers_a_bad_token_with_http_200_and_code_minus_15(client):
    response = client.get(f"{BASE}/data/quotes", {"symbols": "NSE:SBIN-EQ"})
    assert response.status_code == 200
    assert response.json()["s"] == "error" and response.json()["code"] == -15


def test_logout_ends_the_session(client, token):
    response = client.post(
        f"{BASE}/api/v3/logout", "null", content_type="application/json", **auth(token)
    )
    assert response.json()["s"] == "ok"
    assert client.get(f"{BASE}/api/v3/profile", **auth(token)).status_code == 401


# --- Reads --------------------------------------------------------------------------------------
def test_holdings_in_fyers_shape(client, token):
    body = client.get(f"{BASE}/api/v3/holdings", **auth(token)).json()
    assert (body["s"], body["code"], body["message"]) == ("ok", 200, "")
    by_symbol = {h["symbol"]: h for h in body["holdings"]}
    assert set(by_symbol) == {"BSE:RELIANCE-A", "NSE:HDFCBANK-EQ"}
    reliance = by_symbol["BSE:RELIANCE-A"]
    assert (reliance["exchange"], reliance["segment"], reliance["holdingType"]) == (12, 10, "HLD")
    assert reliance["isin"] == "INE002A01018"
    assert reliance["quantity"] == 4 and reliance["costPrice"] == 2450.0  # JSON numbers
    assert reliance["fyToken"] == "12100000500325"
    assert body["overall"]["count_total"] == 2


def test_profile_and_funds(client, token):
    profile = client.get(f"{BASE}/api/v3/profile", **auth(token)).json()
    assert profile["data"]["fy_id"] == ACCOUNT
    funds = client.get(f"{BASE}/api/v3/funds", **auth(token)).json()["fund_limit"]
    assert [row["id"] for row in funds] == list(range(1, 11))
    assert funds[9]["title"] == "Available Balance" and funds[9]["equityAmount"] == 90000.0


def test_quotes_carry_last_price_and_previous_close(client, token):
    response = client.get(
        f"{BASE}/data/quotes", {"symbols": "NSE:RELIANCE-EQ,NSE:NOPE-EQ"}, **auth(token)
    )
    ok, unknown = response.json()["d"]
    assert ok["n"] == "NSE:RELIANCE-EQ" and ok["s"] == "ok"
    assert (ok["v"]["lp"], ok["v"]["prev_close_price"]) == (2950.5, 2925.0)
    assert unknown["s"] == "error"


def test_the_symbol_master_is_a_headerless_csv_per_exchange(client):
    nse = client.get(f"{BASE}/sym_details/NSE_CM.csv")
    bse = client.get(f"{BASE}/sym_details/BSE_CM.csv")
    assert nse["Content-Type"].startswith("text/csv")
    nse_rows = list(csv.reader(io.StringIO(nse.content.decode())))
    bse_rows = list(csv.reader(io.StringIO(bse.content.decode())))
    assert all(row[9].startswith("NSE:") for row in nse_rows)  # no header row
    tickers = {row[9]: row for row in nse_rows + bse_rows}
    assert tickers["NSE:RELIANCE-EQ"][5] == tickers["BSE:RELIANCE-A"][5] == "INE002A01018"
    assert {f"NSE:{s}-EQ" for s in universe.SECURITIES} <= set(tickers)
    assert client.get(f"{BASE}/sym_details/NSE_FO.csv").status_code == 404


# --- Orders -------------------------------------------------------------------------------------
def test_an_order_is_placed_listed_with_its_tag_modified_and_cancelled(client, token):
    placed = place(client, token).json()
    assert (placed["s"], placed["code"]) == ("ok", 1101)
    order_id = placed["id"]
    book = client.get(f"{BASE}/api/v3/orders", **auth(token)).json()["orderBook"]
    (row,) = [o for o in book if o["id"] == order_id]
    assert (row["orderTag"], row["status"], row["type"], row["side"]) == ("tag42", 6, 1, 1)
    assert row["symbol"] == "NSE:INFY-EQ" and row["limitPrice"] == 1200.05

    modified = send(client, "patch", token, {"id": order_id, "limitPrice": 1199.0, "qty": 3})
    assert (modified.json()["code"], modified.json()["id"]) == (1102, order_id)
    by_tag = client.get(f"{BASE}/api/v3/orders", {"order_tag": "tag42"}, **auth(token)).json()
    assert (by_tag["orderBook"][0]["limitPrice"], by_tag["orderBook"][0]["qty"]) == (1199.0, 3)

    cancelled = send(client, "delete", token, {"id": order_id})
    assert cancelled.json()["code"] == 1103
    again = send(client, "delete", token, {"id": order_id})
    assert (again.status_code, again.json()["code"]) == (400, -161)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"symbol": "NSE:NOPE-EQ"}, -300),
        ({"symbol": "NSE:INFY"}, -300),  # the series suffix is mandatory
        ({"qty": 0}, -310),
        ({"qty": "2"}, -310),
        ({"type": 9}, -101),
        ({"side": 0}, -313),
        ({"productType": "NRML"}, -314),
        ({"validity": "GTC"}, -326),
        ({"limitPrice": 0}, -308),
        ({"limitPrice": 1200.03}, -392),
        ({"type": 3, "stopPrice": 0}, -309),
        ({"offlineOrder": "False"}, -328),
    ],
)
def test_place_validates_like_fyers(client, token, change, code):
    response = place(client, token, **change)
    assert response.status_code == 400
    assert response.json()["s"] == "error" and response.json()["code"] == code


def test_an_order_beyond_the_margin_is_rejected_with_http_200(client, token):
    response = place(client, token, qty=1000)
    assert response.status_code == 200
    assert (response.json()["s"], response.json()["code"]) == ("error", -99)
    book = client.get(f"{BASE}/api/v3/orders", **auth(token)).json()["orderBook"]
    assert book[0]["status"] == 5 and "RMS" in book[0]["message"]


@pytest.mark.parametrize(("order_id", "code"), [("abc", -209), ("25011799999999", -159)])
def test_modify_of_an_unknown_order(client, token, order_id, code):
    response = send(client, "patch", token, {"id": order_id, "qty": 1})
    assert response.json()["code"] == code


def test_a_market_order_fills_and_shows_in_trades_and_positions(client, token):
    order_id = place(client, token, type=2, limitPrice=0, productType="INTRADAY").json()["id"]
    with time_machine.travel(time.time() + 2):
        book = client.get(f"{BASE}/api/v3/orders", **auth(token)).json()["orderBook"]
        trades = client.get(f"{BASE}/api/v3/tradebook", **auth(token)).json()["tradeBook"]
        positions = client.get(f"{BASE}/api/v3/positions", **auth(token)).json()
        cancel = send(client, "delete", token, {"id": order_id})
    assert book[0]["status"] == 2 and book[0]["tradedPrice"] == 1542.3
    assert (trades[0]["orderNumber"], trades[0]["tradedQty"]) == (order_id, 2)
    (position,) = positions["netPositions"]
    assert (position["id"], position["netQty"]) == ("NSE:INFY-EQ-INTRADAY", 2)
    assert (cancel.status_code, cancel.json()["code"]) == (400, -162)


# --- Faults -------------------------------------------------------------------------------------
def test_outage_is_a_503_page(client, token):
    kit.set_faults("fyers", outage=True)
    response = client.get(f"{BASE}/api/v3/holdings", **auth(token))
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")


def test_rate_limited_is_429_with_code_minus_353(client, token):
    kit.set_faults("fyers", ACCOUNT, rate_limited=True)
    response = client.get(f"{BASE}/api/v3/funds", **auth(token))
    assert response.status_code == 429
    assert response.json() == {"s": "error", "code": -353, "message": "API Limit exceeded"}
    assert response["Retry-After"] == "1"


def test_error_rate_100_is_a_500(client, token):
    kit.set_faults("fyers", error_rate=100)
    response = client.get(f"{BASE}/data/quotes", {"symbols": "NSE:SBIN-EQ"}, **auth(token))
    assert response.status_code == 500
    assert response.json()["s"] == "error"


def test_token_expired_kills_the_session_until_the_next_login(client, token):
    kit.set_faults("fyers", token_expired=True)
    response = client.get(f"{BASE}/api/v3/profile", **auth(token))
    assert response.status_code == 401 and response.json()["code"] == -16
    fresh = login(client)["access_token"]
    assert client.get(f"{BASE}/api/v3/profile", **auth(fresh)).status_code == 200


def test_latency_is_added(client, token):
    kit.set_faults("fyers", latency_ms=60)
    started = time.perf_counter()
    assert client.get(f"{BASE}/api/v3/profile", **auth(token)).status_code == 200
    assert time.perf_counter() - started >= 0.06


def test_a_lost_order_reply_is_a_504_but_the_order_exists(client, token):
    kit.set_faults("fyers", lose_order_reply=True)
    response = place(client, token, orderTag="lost1")
    assert response.status_code == 504
    kit.clear_faults("fyers")
    book = client.get(f"{BASE}/api/v3/orders", {"order_tag": "lost1"}, **auth(token)).json()
    assert len(book["orderBook"]) == 1


def test_errors_speak_fyers():
    assert json.loads(ERRORS.token_invalid().content)["code"] == -16
    assert ERRORS.rate_limited().status_code == 429
    assert ERRORS.server_error().status_code == 500
    assert ERRORS.unavailable().status_code == 503


# --- The order path end to end -------------------------------------------------------------
def read(client, token, path, **params):
    response = client.get(f"{BASE}{path}", params, **auth(token))
    assert response.status_code == 200, response.content
    assert response.json()["s"] == "ok"
    return response.json()


def available(client, token) -> float:
    rows = read(client, token, "/api/v3/funds")["fund_limit"]
    return next(r["equityAmount"] for r in rows if r["id"] == 10)


def test_an_order_goes_from_placing_to_positions_and_funds(client, token, market):
    before = available(client, token)
    order_id = place(client, token, type=2, limitPrice=0, orderTag="e2eFyers1").json()["id"]
    (row,) = read(client, token, "/api/v3/orders", order_tag="e2eFyers1")["orderBook"]
    assert (row["id"], row["status"]) == (order_id, 6)
    (by_id,) = read(client, token, "/api/v3/orders", id=order_id)["orderBook"]
    assert by_id == row
    market.shift(2)
    (done,) = read(client, token, "/api/v3/orders", id=order_id)["orderBook"]
    (trade,) = read(client, token, "/api/v3/tradebook", order_tag="e2eFyers1")["tradeBook"]
    positions = read(client, token, "/api/v3/positions")["netPositions"]
    after = available(client, token)
    assert (done["status"], done["filledQty"], done["tradedPrice"]) == (2, 2, 1542.3)
    assert (trade["orderNumber"], trade["tradedQty"], trade["tradePrice"]) == (order_id, 2, 1542.3)
    (infy,) = [p for p in positions if p["symbol"] == "NSE:INFY-EQ"]
    assert (infy["netQty"], infy["productType"], infy["id"]) == (2, "CNC", "NSE:INFY-EQ-CNC")
    assert after == before - 3084.6


def test_a_cnc_sell_beyond_the_holdings_is_rejected(client, token):
    response = place(client, token, symbol="NSE:HDFCBANK-EQ", side=-1, qty=9, limitPrice=1700)
    assert response.status_code == 200
    assert (response.json()["s"], response.json()["code"]) == ("error", -99)
    assert response.json()["message"].startswith("RMS:Insufficient holdings for order")
    (row,) = read(client, token, "/api/v3/orders")["orderBook"]
    assert (row["status"], row["message"]) == (5, "RMS:Insufficient holdings")


def test_market_depth_and_market_status(client, token):
    body = read(client, token, "/data/depth", symbol="NSE:SBIN-EQ", ohlcv_flag=1)
    sbin = body["d"]["NSE:SBIN-EQ"]
    assert (sbin["ltp"], sbin["c"], sbin["ch"]) == (812.6, 805.35, 7.25)
    assert len(sbin["bids"]) == len(sbin["ask"]) == 5
    assert sbin["bids"][0]["price"] < 812.6 < sbin["ask"][0]["price"]
    unknown = client.get(f"{BASE}/data/depth", {"symbol": "NSE:NOPE-EQ"}, **auth(token))
    assert unknown.json()["code"] == -300
    status = read(client, token, "/data/marketStatus")["marketStatus"]
    assert {(s["exchange"], s["segment"], s["status"]) for s in status} == {
        (10, 10, "OPEN"),
        (12, 10, "OPEN"),
    }
    no_token = client.get(f"{BASE}/data/marketStatus", **auth("not-a-token"))
    assert (no_token.status_code, no_token.json()["code"]) == (200, -15)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/api/v3/nothing", 404),
        ("get", "/data/nothing", 404),
        ("put", "/api/v3/orders/sync", 405),
        ("post", "/api/v3/funds", 405),
        ("get", "/api/v3/validate-authcode", 405),
    ],
)
def test_unknown_paths_and_wrong_methods_answer_fyers_json(client, token, method, path, status):
    response = getattr(client, method)(f"{BASE}{path}", **auth(token))
    assert response.status_code == status
    assert (response.json()["s"], response.json()["code"]) == ("error", -50)


def test_a_lost_reply_on_modify_or_cancel_still_changes_the_order(client, token):
    order_id = place(client, token, orderTag="lostChange").json()["id"]
    kit.set_faults("fyers", ACCOUNT, lose_order_reply=True)
    assert send(client, "patch", token, {"id": order_id, "limitPrice": 1199.0}).status_code == 504
    assert send(client, "delete", token, {"id": order_id}).status_code == 504
    kit.clear_faults("fyers", ACCOUNT)
    (row,) = read(client, token, "/api/v3/orders", order_tag="lostChange")["orderBook"]
    assert (row["limitPrice"], row["status"]) == (1199.0, 1)


def test_a_dropped_request_never_reaches_the_book(client, token):
    order_id = place(client, token, orderTag="kept").json()["id"]
    kit.set_faults("fyers", ACCOUNT, drop_order_request=True)
    assert place(client, token, orderTag="dropped").status_code == 502
    assert send(client, "patch", token, {"id": order_id, "limitPrice": 1199.0}).status_code == 502
    assert send(client, "delete", token, {"id": order_id}).status_code == 502
    kit.clear_faults("fyers", ACCOUNT)
    (row,) = read(client, token, "/api/v3/orders")["orderBook"]
    assert (row["orderTag"], row["limitPrice"], row["status"]) == ("kept", 1200.05, 6)
