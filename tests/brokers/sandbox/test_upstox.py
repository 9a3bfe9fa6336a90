"""The Upstox simulator on the wire: Django's test client, no adapter."""

import gzip
import json
import time
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine

from brokers.clock import IST
from brokers.sandbox import demo, kit, universe
from brokers.sandbox.upstox import ERRORS, demo_login_fields

BASE = "/sandbox/upstox"
APP = demo.DEMO_APPS["upstox"]
CALLBACK = "http://127.0.0.1:8000/brokers/callback/upstox/"
DIALOG = {
    "response_type": "code",
    "client_id": APP["api_key"],
    "redirect_uri": CALLBACK,
    "state": "st-123",
}
RELIANCE = "NSE_EQ|INE002A01018"


def approve(client, **overrides):
    response = client.post(
        f"{BASE}/v2/login/authorization/dialog",
        {**DIALOG, "account_id": "UP4321", "decision": "approve", **overrides},
    )
    assert response.status_code == 302
    return parse_qs(urlsplit(response["Location"]).query)


def exchange(client, code, **overrides):
    form = {
        "code": code,
        "client_id": APP["api_key"],
        "client_secret": APP["api_secret"],
        "redirect_uri": CALLBACK,
        "grant_type": "authorization_code",
        **overrides,
    }
    return client.post(f"{BASE}/v2/login/authorization/token", form)


def login(client) -> dict:
    response = exchange(client, approve(client)["code"][0])
    assert response.status_code == 200
    return response.json()


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}", "HTTP_ACCEPT": "application/json"}


def place(client, token, **overrides):
    body = {
        "quantity": 1,
        "product": "D",
        "validity": "DAY",
        "price": 2000.5,
        "tag": "ours-1",
        "instrument_token": RELIANCE,
        "order_type": "LIMIT",
        "transaction_type": "BUY",
        "disclosed_quantity": 0,
        "trigger_price": 0,
        "is_amo": False,
        **overrides,
    }
    body = {k: v for k, v in body.items() if v is not None}
    return client.post(
        f"{BASE}/v3/order/place", json.dumps(body), "application/json", **bearer(token)
    )


def only_error(response) -> dict:
    body = response.json()
    assert body["status"] == "error"
    return body["errors"][0]


# --- Login ------------------------------------------------------------------------------------
def test_login_page_offers_the_demo_accounts_and_carries_the_query(client):
    response = client.get(f"{BASE}/v2/login/authorization/dialog", DIALOG)

    page = response.content.decode()
    assert response.status_code == 200
    assert "<title>Upstox sandbox login</title>" in page
    assert '<form method="post">' in page
    assert '<option value="UP4321" selected>' in page
    for name, value in DIALOG.items():
        assert f'name="{name}" value="{value}"' in page
    assert 'name="decision" value="approve">Log in and authorize</button>' in page
    assert 'name="decision" value="deny">Deny</button>' in page
    assert demo_login_fields() == {}


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize(
    "change", [{"client_id": "someone-else"}, {"redirect_uri": "not a url"}], ids=str
)
def test_an_unknown_app_or_redirect_gets_the_udapi100068_page(client, method, change):
    response = getattr(client, method)(
        f"{BASE}/v2/login/authorization/dialog",
        {**DIALOG, **change, "account_id": "UP4321", "decision": "approve"},
    )

    assert response.status_code == 400
    assert "UDAPI100068" in response.content.decode()


def test_approval_redirects_with_a_code_and_the_state(client):
    params = approve(client)

    assert set(params) == {"code", "state"}
    assert params["state"] == ["st-123"]


def test_denial_redirects_with_access_denied(client):
    response = client.post(
        f"{BASE}/v2/login/authorization/dialog",
        {**DIALOG, "account_id": "UP4321", "decision": "deny"},
    )

    assert response.status_code == 302
    assert response["Location"].startswith(CALLBACK)
    assert parse_qs(urlsplit(response["Location"]).query) == {
        "error": ["access_denied"],
        "state": ["st-123"],
    }


def test_an_unknown_account_is_refused(client):
    response = client.post(
        f"{BASE}/v2/login/authorization/dialog",
        {**DIALOG, "account_id": "NOBODY", "decision": "approve"},
    )

    assert response.status_code == 400
    assert "Unknown account NOBODY" in response.content.decode()


def test_token_exchange_answers_the_flat_profile_with_tokens(client):
    body = login(client)

    assert "status" not in body and "data" not in body
    assert body["user_id"] == "UP4321"
    assert body["broker"] == "UPSTOX"
    assert body["access_token"] and body["extended_token"]


def test_a_code_works_once(client):
    code = approve(client)["code"][0]
    assert exchange(client, code).status_code == 200

    again = exchange(client, code)

    assert again.status_code == 400
    assert only_error(again)["errorCode"] == "UDAPI100057"


def test_a_wrong_secret_is_invalid_credentials_and_spends_the_code(client):
    code = approve(client)["code"][0]

    wrong = exchange(client, code, client_secret="guess")
    retry = exchange(client, code)

    assert wrong.status_code == 401
    assert only_error(wrong) == {
        "errorCode": "UDAPI100016",
        "message": "Invalid Credentials",
        "propertyPath": None,
        "invalidValue": None,
    }
    assert only_error(retry)["errorCode"] == "UDAPI100057"


def test_the_redirect_uri_must_match_the_dialogs(client):
    code = approve(client)["code"][0]

    response = exchange(client, code, redirect_uri="http://elsewhere.example/cb")

    assert only_error(response)["errorCode"] == "UDAPI100057"


def test_a_token_minted_at_0230_dies_at_0330_the_same_night(client):
    with time_machine.travel(datetime(2026, 3, 10, 2, 30, tzinfo=IST), tick=False) as traveller:
        token = login(client)["access_token"]
        traveller.move_to(datetime(2026, 3, 10, 3, 29, tzinfo=IST))
        assert client.get(f"{BASE}/v2/user/profile", **bearer(token)).status_code == 200

        traveller.move_to(datetime(2026, 3, 10, 3, 31, tzinfo=IST))
        response = client.get(f"{BASE}/v2/user/profile", **bearer(token))

    assert response.status_code == 401
    assert only_error(response)["errorCode"] == "UDAPI100050"


# --- Authentication and headers ---------------------------------------------------------------
@pytest.mark.parametrize(
    "header", [None, "token abc", "Bearer not-a-token", "upstox-demo-key"], ids=str
)
def test_a_missing_or_wrong_authorization_is_udapi100050(client, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}

    response = client.get(f"{BASE}/v2/portfolio/long-term-holdings", **extra)

    assert response.status_code == 401
    assert only_error(response) == {
        "errorCode": "UDAPI100050",
        "message": "Invalid token used to access API",
        "propertyPath": None,
        "invalidValue": None,
    }


def test_an_unknown_api_version_is_refused(client):
    token = login(client)["access_token"]

    response = client.get(f"{BASE}/v2/user/profile", HTTP_API_VERSION="9.9", **bearer(token))

    assert response.status_code == 400
    assert only_error(response)["errorCode"] == "UDAPI100015"


def test_the_extended_token_reads_but_cannot_place_orders(client):
    extended = login(client)["extended_token"]

    holdings = client.get(f"{BASE}/v2/portfolio/long-term-holdings", **bearer(extended))
    order = place(client, extended)

    assert holdings.status_code == 200
    assert only_error(order)["errorCode"] == "UDAPI100067"


def test_logout_ends_the_session(client):
    token = login(client)["access_token"]

    response = client.delete(f"{BASE}/v2/logout", **bearer(token))

    assert response.json() == {"status": "success", "data": True}
    assert client.get(f"{BASE}/v2/user/profile", **bearer(token)).status_code == 401


def test_an_unknown_path_is_udapi10000(client):
    response = client.get(f"{BASE}/v2/nothing/here")

    assert response.status_code == 404
    assert only_error(response)["errorCode"] == "UDAPI10000"


# --- Portfolio and quotes ---------------------------------------------------------------------
def test_holdings_in_upstox_shape(client):
    token = login(client)["access_token"]

    body = client.get(f"{BASE}/v2/portfolio/long-term-holdings", **bearer(token)).json()

    assert body["status"] == "success"
    reliance = next(h for h in body["data"] if h["trading_symbol"] == "RELIANCE")
    assert reliance["instrument_token"] == RELIANCE
    assert reliance["isin"] == "INE002A01018"
    assert reliance["tradingsymbol"] == "RELIANCE"
    assert reliance["product"] == "D"
    assert reliance["exchange"] == "NSE"
    assert reliance["quantity"] == 5
    assert reliance["average_price"] == 2500
    assert reliance["last_price"] == 2950.5
    assert reliance["close_price"] == 2925


def test_funds_put_everything_in_equity(client):
    token = login(client)["access_token"]

    data = client.get(f"{BASE}/v2/user/get-funds-and-margin", **bearer(token)).json()["data"]

    assert data["equity"]["available_margin"] == 120000
    assert data["commodity"]["available_margin"] == 0


def test_ltp_is_keyed_by_segment_and_symbol_with_the_previous_close(client):
    token = login(client)["access_token"]

    response = client.get(
        f"{BASE}/v3/market-quote/ltp",
        {"instrument_key": f"{RELIANCE},BSE_EQ|INE009A01021"},
        **bearer(token),
    )

    assert response.json()["data"] == {
        "NSE_EQ:RELIANCE": {
            "last_price": 2950.5,
            "instrument_token": RELIANCE,
            "ltq": 5,
            "volume": 1000000,
            "cp": 2925,
        },
        "BSE_EQ:INFY": {
            "last_price": 1542.3,
            "instrument_token": "BSE_EQ|INE009A01021",
            "ltq": 5,
            "volume": 1000000,
            "cp": 1550.1,
        },
    }


@pytest.mark.parametrize(
    ("keys", "code"),
    [("", "UDAPI1009"), ("RELIANCE", "UDAPI1011"), ("NSE_EQ|INE000000000", "UDAPI1087")],
)
def test_ltp_refuses_bad_keys(client, keys, code):
    token = login(client)["access_token"]

    response = client.get(f"{BASE}/v3/market-quote/ltp", {"instrument_key": keys}, **bearer(token))

    assert response.status_code == 400
    assert only_error(response)["errorCode"] == code


def test_the_instrument_master_is_gzipped_json_with_nse_and_bse_listings(client):
    response = client.get(f"{BASE}/market-quote/instruments/exchange/complete.json.gz")

    rows = json.loads(gzip.decompress(response.content))
    keys = {row["instrument_key"]: row for row in rows}
    assert keys[RELIANCE]["isin"] == "INE002A01018"
    assert keys[RELIANCE]["exchange_token"] == "2885"
    assert keys["BSE_EQ|INE002A01018"]["exchange_token"] == "500325"
    assert keys[RELIANCE]["tick_size"] == 5.0  # paise
    assert len(rows) >= 2 * len(universe.SECURITIES)


# --- Orders -----------------------------------------------------------------------------------
def test_a_placed_order_is_in_the_book_with_its_tag(client):
    token = login(client)["access_token"]

    placed = place(client, token).json()
    book = client.get(f"{BASE}/v2/order/retrieve-all", **bearer(token)).json()["data"]

    assert placed["status"] == "success"
    assert "latency" in placed["metadata"]
    (order_id,) = placed["data"]["order_ids"]
    row = next(o for o in book if o["order_id"] == order_id)
    assert row["tag"] == "ours-1"
    assert row["status"] == "open"
    assert row["instrument_token"] == RELIANCE
    assert row["price"] == 2000.5


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"instrument_token": None}, "UDAPI1026"),
        ({"quantity": 0}, "UDAPI1052"),
        ({"order_type": None}, "UDAPI1004"),
        ({"order_type": "STOP"}, "UDAPI1056"),
        ({"validity": None}, "UDAPI1007"),
        ({"validity": "GTC"}, "UDAPI1055"),
        ({"price": 0}, "UDAPI100036"),
        ({"instrument_token": "NSE_EQ|INE000000000"}, "UDAPI1087"),
        ({"tag": "x" * 41}, "UDAPI1119"),
    ],
    ids=lambda v: str(v),
)
def test_place_validates_like_upstox(client, change, code):
    token = login(client)["access_token"]

    response = place(client, token, **change)

    assert response.status_code == 400
    assert only_error(response)["errorCode"] == code


def test_place_wants_json(client):
    token = login(client)["access_token"]

    response = client.post(f"{BASE}/v3/order/place", {"quantity": "1"}, **bearer(token))

    assert only_error(response)["errorCode"] == "UDAPI100038"


def test_modify_and_cancel_move_the_order(client):
    token = login(client)["access_token"]
    order_id = place(client, token).json()["data"]["order_ids"][0]
    change = {
        "order_id": order_id,
        "quantity": 2,
        "validity": "DAY",
        "price": 2100,
        "order_type": "LIMIT",
        "trigger_price": 0,
    }

    modified = client.put(
        f"{BASE}/v3/order/modify", json.dumps(change), "application/json", **bearer(token)
    )
    cancelled = client.delete(f"{BASE}/v3/order/cancel?order_id={order_id}", **bearer(token))
    book = client.get(f"{BASE}/v2/order/retrieve-all", **bearer(token)).json()["data"]

    assert modified.json()["data"] == {"order_id": order_id}
    assert cancelled.json()["data"] == {"order_id": order_id}
    assert book[0]["status"] == "cancelled"
    assert (book[0]["quantity"], book[0]["price"]) == (2, 2100)


@pytest.mark.parametrize(
    ("query", "code"),
    [("", "UDAPI1023"), ("?order_id=a$b", "UDAPI1010"), ("?order_id=123", "UDAPI100010")],
)
def test_cancel_of_a_missing_order(client, query, code):
    token = login(client)["access_token"]

    response = client.delete(f"{BASE}/v3/order/cancel{query}", **bearer(token))

    assert response.status_code == 400
    assert only_error(response)["errorCode"] == code


def test_cancel_of_a_filled_order_is_udapi100040(client):
    token = login(client)["access_token"]
    order_id = place(client, token, order_type="MARKET", price=0).json()["data"]["order_ids"][0]
    filled = kit.find_order("upstox", "UP4321", order_id)
    filled.placed_at -= 5  # a market order fills a moment after it is placed
    kit.save_order("upstox", filled)

    response = client.delete(f"{BASE}/v3/order/cancel?order_id={order_id}", **bearer(token))
    trades = client.get(f"{BASE}/v2/order/trades/get-trades-for-day", **bearer(token)).json()

    assert only_error(response)["errorCode"] == "UDAPI100040"
    assert trades["data"][0]["order_id"] == order_id
    assert trades["data"][0]["average_price"] == 2950.5


def test_a_filled_order_shows_in_positions_and_uses_the_cash_it_cost(client):
    token = login(client)["access_token"]
    order_id = place(client, token, order_type="MARKET", price=0).json()["data"]["order_ids"][0]
    filled = kit.find_order("upstox", "UP4321", order_id)
    filled.placed_at -= 5
    kit.save_order("upstox", filled)
    place(client, token, price=1000, quantity=2)  # stays open: 2000 blocked

    (row,) = client.get(f"{BASE}/v2/portfolio/short-term-positions", **bearer(token)).json()["data"]
    funds = client.get(f"{BASE}/v2/user/get-funds-and-margin", **bearer(token)).json()["data"]

    assert (row["instrument_token"], row["product"], row["quantity"]) == (RELIANCE, "D", 1)
    assert (row["average_price"], row["day_buy_quantity"], row["realised"]) == (2950.5, 1, 0)
    assert funds["equity"]["used_margin"] == 4950.5  # the fill (2950.50) and the open buy
    assert funds["equity"]["available_margin"] == 115049.5


# --- Faults -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        ({"rate_limited": True}, 429, "UDAPI10005"),
        ({"error_rate": 100}, 500, "UDAPI100500"),
        ({"token_expired": True}, 401, "UDAPI100050"),
    ],
    ids=["rate_limited", "error_rate", "token_expired"],
)
def test_faults_answer_upstox_errors(client, fault, status, code):
    token = login(client)["access_token"]
    kit.set_faults("upstox", **fault)

    response = client.get(f"{BASE}/v2/portfolio/long-term-holdings", **bearer(token))

    assert response.status_code == status
    assert only_error(response)["errorCode"] == code


def test_an_outage_is_a_gateway_503(client):
    token = login(client)["access_token"]
    kit.set_faults("upstox", outage=True)

    response = client.get(f"{BASE}/v2/user/profile", **bearer(token))

    assert response.status_code == 503
    assert response.content == ERRORS.unavailable().content


def test_after_a_forced_expiry_the_next_login_works(client):
    login(client)
    kit.set_faults("upstox", token_expired=True)
    time.sleep(0.01)  # the next token is minted after the expiry moment

    token = login(client)["access_token"]

    assert client.get(f"{BASE}/v2/user/profile", **bearer(token)).status_code == 200


def test_latency_delays_the_answer(client):
    token = login(client)["access_token"]
    kit.set_faults("upstox", latency_ms=60)

    started = time.perf_counter()
    response = client.get(f"{BASE}/v2/user/profile", **bearer(token))

    assert response.status_code == 200
    assert time.perf_counter() - started >= 0.06


def test_a_lost_reply_is_a_504_but_the_order_is_in_the_book(client):
    token = login(client)["access_token"]
    kit.set_faults("upstox", lose_order_reply=True)

    response = place(client, token, tag="lost-1")
    book = client.get(f"{BASE}/v2/order/retrieve-all", **bearer(token)).json()["data"]

    assert response.status_code == 504
    assert [o["tag"] for o in book] == ["lost-1"]


# --- The order path end to end -------------------------------------------------------------
def data(client, token, path, **params):
    response = client.get(f"{BASE}{path}", params, **bearer(token))
    assert response.status_code == 200, response.content
    return response.json()["data"]


def test_an_order_goes_from_placing_to_positions_and_funds(client, market):
    token = login(client)["access_token"]
    available = data(client, token, "/v2/user/get-funds-and-margin")["equity"]["available_margin"]
    placed = place(client, token, order_type="MARKET", price=0, product="I", tag="e2e-upstox")
    order_id = placed.json()["data"]["order_ids"][0]
    assert data(client, token, "/v2/order/details", order_id=order_id)["status"] == "open"
    history = data(client, token, "/v2/order/history", tag="e2e-upstox")
    assert [h["status"] for h in history] == [
        "put order req received",
        "validation pending",
        "open pending",
        "open",
    ]
    assert {h["order_id"] for h in history} == {order_id}
    assert data(client, token, "/v2/order/trades", order_id=order_id) == []
    market.shift(2)
    one = data(client, token, "/v2/order/details", order_id=order_id)
    (fill,) = data(client, token, "/v2/order/trades", order_id=order_id)
    (position,) = data(client, token, "/v2/portfolio/short-term-positions")
    funds = data(client, token, "/v2/user/get-funds-and-margin")["equity"]
    history = data(client, token, "/v2/order/history", order_id=order_id, tag="e2e-upstox")
    assert (one["status"], one["filled_quantity"], one["average_price"]) == ("complete", 1, 2950.5)
    assert (one["tag"], history[-1]["status"]) == ("e2e-upstox", "complete")
    assert fill == data(client, token, "/v2/order/trades/get-trades-for-day")[0]
    assert (fill["order_id"], fill["quantity"], fill["average_price"]) == (order_id, 1, 2950.5)
    assert (position["product"], position["quantity"], position["instrument_token"]) == (
        "I",
        1,
        RELIANCE,
    )
    assert funds["available_margin"] == available - 2950.5


def test_one_order_lookups_refuse_missing_bad_and_unknown_ids(client):
    token = login(client)["access_token"]
    place(client, token)
    for path in ("/v2/order/details", "/v2/order/trades", "/v2/order/history"):
        assert only_error(client.get(f"{BASE}{path}", **bearer(token)))["errorCode"] == "UDAPI1023"
        bad = client.get(f"{BASE}{path}?order_id=a%20b", **bearer(token))
        assert only_error(bad)["errorCode"] == "UDAPI1010"
        missing = client.get(f"{BASE}{path}?order_id=999", **bearer(token))
        assert (missing.status_code, only_error(missing)["errorCode"]) == (400, "UDAPI100010")
    nobody = client.get(f"{BASE}/v2/order/history?tag=nobody", **bearer(token))
    assert only_error(nobody)["errorCode"] == "UDAPI100010"


def test_rejections_carry_the_reason(client):
    token = login(client)["access_token"]
    broke = place(client, token, quantity=100, tag="too-big").json()["data"]["order_ids"][0]
    short = place(client, token, transaction_type="SELL", quantity=6, tag="too-many")
    row = data(client, token, "/v2/order/details", order_id=broke)
    assert row["status"] == "rejected"
    assert row["status_message"] == (
        "Insufficient funds. Required margin is 200050.00 but available margin is 120000.00."
    )
    assert row["status_message_raw"].startswith("RMS:Margin Exceeds,Required:200050.00")
    many = data(client, token, "/v2/order/details", order_id=short.json()["data"]["order_ids"][0])
    assert many["status"] == "rejected"  # UP4321 holds 5 RELIANCE


def test_v2_ltp_and_full_quotes(client):
    token = login(client)["access_token"]
    ltp = data(client, token, "/v2/market-quote/ltp", instrument_key=RELIANCE)
    assert ltp == {"NSE_EQ:RELIANCE": {"last_price": 2950.5, "instrument_token": RELIANCE}}
    assert data(client, token, "/v2/market-quote/ltp", symbol=RELIANCE) == ltp  # the SDK's name
    quotes = data(
        client, token, "/v2/market-quote/quotes", symbol=f"{RELIANCE},BSE_EQ|INE009A01021"
    )
    assert set(quotes) == {"NSE_EQ:RELIANCE", "BSE_EQ:INFY"}
    reliance = quotes["NSE_EQ:RELIANCE"]
    assert (reliance["last_price"], reliance["net_change"], reliance["instrument_token"]) == (
        2950.5,
        25.5,
        RELIANCE,
    )
    assert len(reliance["depth"]["buy"]) == len(reliance["depth"]["sell"]) == 5
    bad = client.get(f"{BASE}/v2/market-quote/quotes?instrument_key=NSE_EQ|NOPE", **bearer(token))
    assert only_error(bad)["errorCode"] == "UDAPI1087"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/v2/order/nothing", 404),
        ("delete", "/v2/order/retrieve-all", 405),
        ("post", "/v2/order/details", 405),
        ("get", "/v3/order/place", 405),
    ],
)
def test_unknown_paths_and_wrong_methods_answer_upstoxs_json(client, method, path, status):
    token = login(client)["access_token"]
    response = getattr(client, method)(f"{BASE}{path}", **bearer(token))
    assert response.status_code == status
    assert only_error(response)["errorCode"] == "UDAPI10000"


def test_a_lost_reply_on_modify_or_cancel_still_changes_the_order(client):
    token = login(client)["access_token"]
    order_id = place(client, token, tag="lost-change").json()["data"]["order_ids"][0]
    kit.set_faults("upstox", lose_order_reply=True)
    change = {"order_id": order_id, "quantity": 1, "validity": "DAY", "price": 2001,
              "order_type": "LIMIT", "trigger_price": 0}  # fmt: skip
    modified = client.put(
        f"{BASE}/v3/order/modify", json.dumps(change), "application/json", **bearer(token)
    )
    assert modified.status_code == 504
    assert (
        client.delete(f"{BASE}/v3/order/cancel?order_id={order_id}", **bearer(token)).status_code
        == 504
    )
    kit.clear_faults("upstox")
    (step,) = [h for h in data(client, token, "/v2/order/history", tag="lost-change")][-1:]
    assert (step["status"], step["price"]) == ("cancelled", 2001)


def test_a_dropped_request_never_reaches_the_book(client):
    token = login(client)["access_token"]
    order_id = place(client, token, tag="kept").json()["data"]["order_ids"][0]
    kit.set_faults("upstox", "UP4321", drop_order_request=True)
    assert place(client, token, tag="dropped").status_code == 502
    assert (
        client.delete(f"{BASE}/v3/order/cancel?order_id={order_id}", **bearer(token)).status_code
        == 502
    )
    kit.clear_faults("upstox", "UP4321")
    (row,) = data(client, token, "/v2/order/retrieve-all")
    assert (row["tag"], row["status"]) == ("kept", "open")
