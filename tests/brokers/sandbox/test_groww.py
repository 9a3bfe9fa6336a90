"""The Groww simulator's own wire behaviour, through Django's test client (no adapter)."""

import csv
import hashlib
import io
import time

import pytest
import time_machine

from brokers.clock import next_ist
from brokers.sandbox import groww, kit
from brokers.sandbox.demo import DEMO_APPS

APP = DEMO_APPS["groww"]
BASE = "/sandbox/groww"
HOLDING_FIELDS = {
    "isin",
    "trading_symbol",
    "quantity",
    "average_price",
    "pledge_quantity",
    "demat_locked_quantity",
    "groww_locked_quantity",
    "repledge_quantity",
    "t1_quantity",
    "demat_free_quantity",
    "corporate_action_additional_quantity",
    "active_demat_transfer_quantity",
}


def checksum(stamp) -> str:
    return hashlib.sha256(f"{APP['api_secret']}{stamp}".encode()).hexdigest()


def ask_token(client, body, *, key=APP["api_key"]):
    return client.post(
        f"{BASE}/v1/token/api/access",
        body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}", "X-API-VERSION": "1.0"},
    )


def approval(stamp=None) -> dict:
    stamp = int(time.time()) if stamp is None else stamp
    return {"key_type": "approval", "checksum": checksum(stamp), "timestamp": stamp}


@pytest.fixture
def token(client):
    return ask_token(client, approval()).json()["token"]


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}", "X-API-VERSION": "1.0"}


def get(client, token, path, **params):
    return client.get(f"{BASE}{path}", params, headers=auth(token))


def post(client, token, path, body):
    return client.post(f"{BASE}{path}", body, content_type="application/json", headers=auth(token))


def order(**changes) -> dict:
    return {
        "trading_symbol": "RELIANCE",
        "quantity": 2,
        "price": 2000,
        "trigger_price": 0,
        "validity": "DAY",
        "exchange": "NSE",
        "segment": "CASH",
        "product": "CNC",
        "order_type": "LIMIT",
        "transaction_type": "BUY",
        "order_reference_id": "sbx-ref-0001",
        **changes,
    }


def error_code(response) -> str:
    body = response.json()
    assert body["status"] == "FAILURE"
    return body["error"]["code"]


# --- Token ------------------------------------------------------------------------------------
def test_approval_checksum_mints_an_unwrapped_token_dying_at_six(client):
    response = ask_token(client, approval())

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "tokenRefId", "sessionName", "expiry", "isActive"}
    assert body["expiry"].endswith("T06:00:00")
    assert body["isActive"] is True
    assert kit.account_for_token("groww", body["token"]) == "GW5500"


def test_timestamp_may_be_a_string(client):
    stamp = str(int(time.time()))
    response = ask_token(
        client, {"key_type": "approval", "checksum": checksum(stamp), "timestamp": stamp}
    )

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        # Built when the test runs: a timestamp taken at collection is stale in a long run.
        (lambda: {**approval(), "checksum": "0" * 64}, "Invalid checksum"),
        (lambda: {**approval(), "timestamp": 1}, "Timestamp expired"),
        (lambda: {"key_type": "approval", "checksum": checksum(123)}, "Invalid timestamp"),
        (lambda: {"key_type": "totp", "totp": "000000"}, "Invalid TOTP"),
        (lambda: {"key_type": "password"}, "Invalid key_type"),
    ],
    ids=["checksum", "expired", "timestamp", "totp", "key_type"],
)
def test_refused_token_requests_answer_400_with_display_message(client, body, message):
    response = ask_token(client, body())

    assert response.status_code == 400
    assert error_code(response) == "GA001"
    assert response.json()["error"]["displayMessage"] == message


def test_checksum_is_bound_to_its_timestamp(client):
    body = approval()
    body["timestamp"] -= 1  # replaying the checksum with another timestamp

    assert ask_token(client, body).status_code == 400


def test_totp_key(client):
    response = ask_token(client, {"key_type": "totp", "totp": kit.totp(groww.TOTP_SECRET)})

    assert response.status_code == 200


def test_unknown_api_key_is_401(client):
    response = ask_token(client, approval(), key="someone-elses-key")

    assert response.status_code == 401
    assert error_code(response) == "GA005"


def test_token_dies_at_six_ist(client, token):
    with time_machine.travel(next_ist(groww.TOKEN_DIES).timestamp() + 1):
        response = get(client, token, "/v1/user/detail")

    assert response.status_code == 401


def test_no_browser_login(client):
    assert groww.demo_login_fields() == {}


# --- Auth headers ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "token abc", "X-API-VERSION": "1.0"},
        {"Authorization": "Bearer not-a-token", "X-API-VERSION": "1.0"},
    ],
)
def test_missing_or_wrong_auth_is_401_ga005(client, headers):
    response = client.get(f"{BASE}/v1/holdings/user", headers=headers)

    assert response.status_code == 401
    assert error_code(response) == "GA005"


def test_api_version_header_is_required(client, token):
    response = client.get(f"{BASE}/v1/holdings/user", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 400
    assert error_code(response) == "GA001"


def test_posts_must_be_json(client, token):
    response = client.post(f"{BASE}/v1/order/create", order(), headers=auth(token))

    assert response.status_code == 400
    assert error_code(response) == "GA001"


def test_wrong_method_is_405(client, token):
    assert get(client, token, "/v1/order/create").status_code == 405


# --- Reads ----------------------------------------------------------------------------------
def test_holdings_in_groww_shape(client, token):
    response = get(client, token, "/v1/holdings/user")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "SUCCESS"
    rows = {row["trading_symbol"]: row for row in body["payload"]["holdings"]}
    assert set(rows) == {"RELIANCE", "ITC"}
    assert set(rows["RELIANCE"]) == HOLDING_FIELDS  # no exchange, LTP or P&L
    assert rows["RELIANCE"]["isin"] == "INE002A01018"
    assert rows["RELIANCE"]["quantity"] == 2
    assert rows["RELIANCE"]["average_price"] == 2600
    assert rows["ITC"]["quantity"] == 50


def test_profile_and_margins(client, token):
    profile = get(client, token, "/v1/user/detail").json()["payload"]
    margins = get(client, token, "/v1/margins/detail/user").json()["payload"]

    assert profile["ucc"] == "GW5500"
    assert profile["active_segments"] == ["CASH", "FNO"]
    assert margins["clear_cash"] == 40000
    assert margins["equity_margin_details"]["cnc_balance_available"] == 40000


def test_open_buy_order_blocks_margin(client, token):
    post(client, token, "/v1/order/create", order())

    margins = get(client, token, "/v1/margins/detail/user").json()["payload"]

    assert margins["net_margin_used"] == 4000
    assert margins["equity_margin_details"]["cnc_balance_available"] == 36000


def test_ltp_and_ohlc_take_repeated_or_comma_separated_keys(client, token):
    repeated = client.get(
        f"{BASE}/v1/live-data/ltp?segment=CASH&exchange_symbols=NSE_RELIANCE&exchange_symbols=BSE_ITC",
        headers=auth(token),
    ).json()["payload"]
    commas = get(
        client,
        token,
        "/v1/live-data/ohlc",
        segment="CASH",
        exchange_symbols="NSE_RELIANCE,NSE_NOPE",
    ).json()["payload"]

    assert repeated == {"NSE_RELIANCE": 2950.5, "BSE_ITC": 468.15}
    assert commas == {"NSE_RELIANCE": "{open: 2925.00,high: 2950.50,low: 2925.00,close: 2925.00}"}


def test_ltp_caps_a_batch_at_fifty(client, token):
    keys = ",".join(f"NSE_S{n}" for n in range(51))

    response = get(client, token, "/v1/live-data/ltp", segment="CASH", exchange_symbols=keys)

    assert response.status_code == 400


def test_quote(client, token):
    response = get(
        client, token, "/v1/live-data/quote", exchange="NSE", segment="CASH", trading_symbol="TCS"
    )
    unknown = get(
        client, token, "/v1/live-data/quote", exchange="NSE", segment="CASH", trading_symbol="NOPE"
    )

    payload = response.json()["payload"]
    assert payload["last_price"] == 3890
    assert payload["day_change"] == 28.75
    assert unknown.status_code == 400
    assert unknown.json()["error"]["message"] == "Invalid trading symbol."


def test_instrument_master_is_a_public_csv_with_nse_and_bse_rows(client):
    response = client.get(f"{BASE}/instruments/instrument.csv")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert list(rows[0]) == list(groww.MASTER_HEADER)
    reliance = {r["exchange"]: r for r in rows if r["trading_symbol"] == "RELIANCE"}
    assert reliance["NSE"]["exchange_token"] == "2885"
    assert reliance["BSE"]["exchange_token"] == "500325"
    assert reliance["BSE"]["isin"] == "INE002A01018"


# --- Orders ---------------------------------------------------------------------------------
def test_order_lifecycle(client, token):
    placed = post(client, token, "/v1/order/create", order())
    assert placed.status_code == 200
    created = placed.json()["payload"]
    assert created["order_status"] == "OPEN"
    assert created["order_reference_id"] == "sbx-ref-0001"
    order_id = created["groww_order_id"]

    (row,) = get(client, token, "/v1/order/list", segment="CASH", page=0).json()["payload"][
        "order_list"
    ]
    assert row["groww_order_id"] == order_id
    assert row["order_status"] == "APPROVED"
    assert row["order_reference_id"] == "sbx-ref-0001"

    modified = post(
        client,
        token,
        "/v1/order/modify",
        {
            "groww_order_id": order_id,
            "segment": "CASH",
            "order_type": "LIMIT",
            "quantity": 3,
            "price": 2100.5,
            "trigger_price": 0,
        },
    )
    assert modified.json()["payload"]["order_status"] == "MODIFICATION_REQUESTED"
    detail = get(client, token, f"/v1/order/detail/{order_id}", segment="CASH").json()["payload"]
    assert (detail["quantity"], detail["price"]) == (3, 2100.5)

    cancel = {"groww_order_id": order_id, "segment": "CASH"}
    assert post(client, token, "/v1/order/cancel", cancel).status_code == 200
    detail = get(client, token, f"/v1/order/detail/{order_id}", segment="CASH").json()["payload"]
    assert detail["order_status"] == "CANCELLED"

    again = post(client, token, "/v1/order/cancel", cancel)
    assert again.status_code == 400
    assert error_code(again) == "GA006"


def test_market_order_fills_and_has_a_trade(client, token):
    placed = post(client, token, "/v1/order/create", order(order_type="MARKET", price=0))
    order_id = placed.json()["payload"]["groww_order_id"]

    with time_machine.travel(time.time() + 2):
        detail = get(client, token, f"/v1/order/detail/{order_id}", segment="CASH").json()
        trades = get(client, token, f"/v1/order/trades/{order_id}", segment="CASH").json()
        positions = get(client, token, "/v1/positions/user").json()["payload"]["positions"]

    assert detail["payload"]["order_status"] == "EXECUTED"
    assert detail["payload"]["average_fill_price"] == 2950.5
    (trade,) = trades["payload"]["trade_list"]
    assert (trade["quantity"], trade["price"]) == (2, 2950.5)
    (position,) = positions
    assert (position["trading_symbol"], position["quantity"]) == ("RELIANCE", 2)


@pytest.mark.parametrize(
    ("changes", "code", "message"),
    [
        ({"trading_symbol": None}, "GA001", "Missing required field(s): trading_symbol"),
        ({"trading_symbol": "NOSUCH"}, "GA001", "Invalid trading symbol."),
        ({"order_type": "SL-M"}, "GA001", "Invalid order_type"),
        ({"quantity": 0}, "GA001", "quantity must be a positive integer"),
        ({"price": 0}, "GA001", "price is required for LIMIT and SL orders"),
        ({"order_reference_id": "short"}, "GA001", None),
        ({"exchange": "NFO"}, "GA001", "Invalid exchange"),
    ],
)
def test_place_validates_like_groww(client, token, changes, code, message):
    body = {k: v for k, v in order(**changes).items() if v is not None}

    response = post(client, token, "/v1/order/create", body)

    assert response.status_code == 400
    assert error_code(response) == code
    if message:
        assert response.json()["error"]["message"] == message


def test_duplicate_reference_id_is_ga007(client, token):
    post(client, token, "/v1/order/create", order())

    response = post(client, token, "/v1/order/create", order())

    assert response.status_code == 400
    assert error_code(response) == "GA007"


def test_unknown_order_is_ga004(client, token):
    body = {"groww_order_id": "GMKNOSUCH", "segment": "CASH"}

    response = post(client, token, "/v1/order/cancel", body)

    assert response.status_code == 404
    assert error_code(response) == "GA004"


def test_order_detail_needs_the_segment(client, token):
    placed = post(client, token, "/v1/order/create", order()).json()["payload"]

    response = get(client, token, f"/v1/order/detail/{placed['groww_order_id']}")

    assert response.status_code == 400


# --- Faults ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        ({"outage": True}, 503, "GA003"),
        ({"rate_limited": True}, 429, "GA003"),
        ({"error_rate": 100}, 500, "GA000"),
        ({"token_expired": True}, 401, "GA005"),
    ],
)
def test_faults_answer_groww_errors(client, token, fault, status, code):
    kit.set_faults("groww", **fault)

    response = get(client, token, "/v1/holdings/user")

    assert response.status_code == status
    assert error_code(response) == code


def test_a_new_login_works_after_forced_expiry(client, token):
    kit.set_faults("groww", token_expired=True)
    time.sleep(0.01)  # a token issued after the expiry moment

    fresh = ask_token(client, approval()).json()["token"]

    assert get(client, token, "/v1/holdings/user").status_code == 401
    assert get(client, fresh, "/v1/holdings/user").status_code == 200


def test_latency(client, token):
    kit.set_faults("groww", latency_ms=60)

    started = time.perf_counter()
    response = get(client, token, "/v1/holdings/user")

    assert response.status_code == 200
    assert time.perf_counter() - started >= 0.06


def test_lost_order_reply_still_places_the_order(client, token):
    kit.set_faults("groww", "GW5500", lose_order_reply=True)

    response = post(client, token, "/v1/order/create", order())

    assert response.status_code == 504
    rows = get(client, token, "/v1/order/list").json()["payload"]["order_list"]
    assert [r["order_reference_id"] for r in rows] == ["sbx-ref-0001"]


# --- The order path end to end -------------------------------------------------------------
def payload(response):
    assert response.status_code == 200, response.content
    return response.json()["payload"]


def test_an_order_goes_from_placing_to_positions_and_funds(client, token, market):
    free = payload(get(client, token, "/v1/margins/detail/user"))["equity_margin_details"]
    body = order(order_type="MARKET", price=0, order_reference_id="e2e-groww-01")
    order_id = payload(post(client, token, "/v1/order/create", body))["groww_order_id"]
    by_ref = payload(get(client, token, "/v1/order/status/reference/e2e-groww-01", segment="CASH"))
    assert by_ref == {
        "groww_order_id": order_id,
        "order_status": "APPROVED",
        "remark": "Order placed successfully",
        "filled_quantity": 0,
        "order_reference_id": "e2e-groww-01",
    }
    market.shift(2)
    status = payload(get(client, token, f"/v1/order/status/{order_id}", segment="CASH"))
    trades = payload(get(client, token, f"/v1/order/trades/{order_id}", segment="CASH"))
    (position,) = payload(get(client, token, "/v1/positions/user"))["positions"]
    margins = payload(get(client, token, "/v1/margins/detail/user"))
    assert (status["order_status"], status["filled_quantity"]) == ("EXECUTED", 2)
    (trade,) = trades["trade_list"]
    assert (trade["groww_order_id"], trade["quantity"], trade["price"]) == (order_id, 2, 2950.5)
    assert (position["trading_symbol"], position["product"], position["quantity"]) == (
        "RELIANCE",
        "CNC",
        2,
    )
    assert position["credit_price"] == 2950.5
    assert margins["net_margin_used"] == 5901
    assert margins["equity_margin_details"]["cnc_balance_available"] == (
        free["cnc_balance_available"] - 5901
    )


def test_status_lookups_need_the_segment_and_a_known_order(client, token):
    post(client, token, "/v1/order/create", order())
    assert get(client, token, "/v1/order/status/reference/sbx-ref-0001").status_code == 400
    for path in ("/v1/order/status/GMKNOSUCH", "/v1/order/status/reference/no-such-ref"):
        response = get(client, token, path, segment="CASH")
        assert response.status_code == 404 and error_code(response) == "GA004"


@pytest.mark.parametrize(
    ("reference", "accepted"),
    [
        ("abcd1234", True),
        ("Ab-654321234-1628190", True),  # the docs' own example: 20 characters, two hyphens
        ("abc1234", False),  # 7
        ("a" * 21, False),
        ("ab-cd-ef-12", False),  # three hyphens
        ("abcd_1234", False),
        ("abcd 1234", False),
    ],
)
def test_the_order_reference_id_rules(client, token, reference, accepted):
    response = post(client, token, "/v1/order/create", order(order_reference_id=reference))
    assert (response.status_code == 200) is accepted
    rows = payload(get(client, token, "/v1/order/list"))["order_list"]
    assert [r["order_reference_id"] for r in rows] == ([reference] if accepted else [])


def test_rejections_carry_the_reason(client, token):
    post(client, token, "/v1/order/create", order(quantity=100, order_reference_id="too-big-1"))
    sell = order(transaction_type="SELL", quantity=3, order_reference_id="too-many-1")
    assert post(client, token, "/v1/order/create", sell).status_code == 200
    big = payload(get(client, token, "/v1/order/status/reference/too-big-1", segment="CASH"))
    assert big["order_status"] == "REJECTED"
    assert big["remark"] == "Insufficient funds: required 200000.00, available 40000.00"
    many = payload(get(client, token, "/v1/order/status/reference/too-many-1", segment="CASH"))
    assert many["order_status"] == "REJECTED"  # GW5500 holds 2 RELIANCE
    assert many["remark"].startswith("Insufficient holdings")


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("get", "/v1/no/such/thing", 404, "GA004"),
        ("get", "/v2/order/list", 404, "GA004"),
        ("get", "/v1/order/create", 405, "GA001"),
        ("post", "/v1/order/list", 405, "GA001"),
        ("get", "/v1/token/api/access", 405, "GA001"),
    ],
)
def test_unknown_paths_and_wrong_methods_answer_growws_json(
    client, token, method, path, status, code
):
    response = getattr(client, method)(f"{BASE}{path}", headers=auth(token))
    assert response.status_code == status
    assert response.json()["status"] == "FAILURE"
    assert error_code(response) == code


def test_a_lost_reply_on_modify_or_cancel_still_changes_the_order(client, token):
    order_id = payload(post(client, token, "/v1/order/create", order()))["groww_order_id"]
    kit.set_faults("groww", "GW5500", lose_order_reply=True)
    change = {"groww_order_id": order_id, "segment": "CASH", "order_type": "LIMIT",
              "quantity": 2, "price": 2001, "trigger_price": 0}  # fmt: skip
    assert post(client, token, "/v1/order/modify", change).status_code == 504
    cancel = {"groww_order_id": order_id, "segment": "CASH"}
    assert post(client, token, "/v1/order/cancel", cancel).status_code == 504
    kit.clear_faults("groww", "GW5500")
    detail = payload(get(client, token, f"/v1/order/detail/{order_id}", segment="CASH"))
    assert (detail["price"], detail["order_status"]) == (2001, "CANCELLED")


def test_a_dropped_request_never_reaches_the_book_and_a_retry_is_not_a_duplicate(client, token):
    kit.set_faults("groww", "GW5500", drop_order_request=True)
    assert post(client, token, "/v1/order/create", order()).status_code == 502
    kit.clear_faults("groww", "GW5500")
    assert payload(get(client, token, "/v1/order/list"))["order_list"] == []
    assert post(client, token, "/v1/order/create", order()).status_code == 200  # not GA007


def test_a_retry_after_a_lost_reply_is_a_duplicate(client, token):
    kit.set_faults("groww", "GW5500", lose_order_reply=True)
    assert post(client, token, "/v1/order/create", order()).status_code == 504
    kit.clear_faults("groww", "GW5500")
    again = post(client, token, "/v1/order/create", order())
    assert again.status_code == 400 and error_code(again) == "GA007"
    found = payload(get(client, token, "/v1/order/status/reference/sbx-ref-0001", segment="CASH"))
    assert found["order_status"] == "APPROVED"
