"""The Dhan simulator on the wire: Django's test client, no adapter."""

import csv
import io
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from brokers.sandbox import demo, kit, universe
from brokers.sandbox.dhan import ERRORS, demo_login_fields

BASE = "/sandbox/dhan"
APP = demo.DEMO_APPS["dhan"]
CLIENT = APP["client_id"]
APP_HEADERS = {"app_id": APP["api_key"], "app_secret": APP["api_secret"]}


def consent(client) -> str:
    response = client.post(f"{BASE}/app/generate-consent?client_id={CLIENT}", headers=APP_HEADERS)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "success"
    return body["consentAppId"]


def decide(client, consent_id, decision="approve"):
    return client.post(
        f"{BASE}/login/consentApp-login?consentAppId={consent_id}",
        {"consentAppId": consent_id, "account_id": CLIENT, "decision": decision},
    )


def token_id(client) -> str:
    response = decide(client, consent(client))
    assert response.status_code == 302
    return parse_qs(urlsplit(response["Location"]).query)["tokenId"][0]


def consume(client, tid, headers=APP_HEADERS, method="get"):
    return getattr(client, method)(f"{BASE}/app/consumeApp-consent?tokenId={tid}", headers=headers)


def login(client) -> str:
    response = consume(client, token_id(client))
    assert response.status_code == 200
    return response.json()["accessToken"]


def auth(token, **extra):
    return {"access-token": token, "client-id": CLIENT, "Accept": "application/json", **extra}


def place(client, token, **changes):
    body = {
        "dhanClientId": CLIENT,
        "correlationId": "tag-001",
        "transactionType": "BUY",
        "exchangeSegment": "NSE_EQ",
        "productType": "CNC",
        "orderType": "LIMIT",
        "validity": "DAY",
        "securityId": "11536",
        "quantity": 1,
        "price": 3000.0,
        "triggerPrice": 0,
        "afterMarketOrder": False,
        **changes,
    }
    body = {k: v for k, v in body.items() if v is not None}
    return client.post(
        f"{BASE}/v2/orders", body, content_type="application/json", headers=auth(token)
    )


@pytest.fixture
def token(client):
    return login(client)


# --- Login ------------------------------------------------------------------------------------
def test_login_page_shows_the_app_and_a_form(client):
    consent_id = consent(client)
    page = client.get(f"{BASE}/login/consentApp-login?consentAppId={consent_id}")

    html = page.content.decode()
    assert page.status_code == 200
    assert "<title>Dhan sandbox login</title>" in html
    assert APP["api_key"] in html
    assert '<form method="post">' in html.replace("'", '"')
    assert f"name='consentAppId' value='{consent_id}'" in html
    assert f"<option value='{CLIENT}' selected>" in html
    assert "name='decision' value='approve'>Log in and authorize</button>" in html
    assert "name='decision' value='deny'>Deny</button>" in html


def test_approve_redirects_to_the_registered_url_with_a_token_id(client):
    response = decide(client, consent(client))
    location = urlsplit(response["Location"])
    assert response.status_code == 302
    assert location.path == "/brokers/callback/dhan/"
    assert set(parse_qs(location.query)) == {"tokenId"}  # Dhan echoes no state


def test_deny_redirects_with_access_denied(client):
    response = decide(client, consent(client), decision="deny")
    assert response.status_code == 302
    assert parse_qs(urlsplit(response["Location"]).query) == {"error": ["access_denied"]}


def test_a_consent_serves_one_decision(client):
    consent_id = consent(client)
    decide(client, consent_id)
    again = decide(client, consent_id)
    assert again.status_code == 400
    assert b"consentAppId" in again.content


def test_unknown_consent_is_an_error_page(client):
    page = client.get(f"{BASE}/login/consentApp-login?consentAppId=nope")
    assert page.status_code == 400
    assert b"Invalid or expired consentAppId" in page.content


def test_generate_consent_checks_the_app_secret_and_client(client):
    wrong = client.post(
        f"{BASE}/app/generate-consent?client_id={CLIENT}",
        headers={**APP_HEADERS, "app_secret": "guess"},
    )
    assert wrong.status_code == 401
    assert wrong.json()["errorCode"] == "DH-901"
    unknown = client.post(f"{BASE}/app/generate-consent?client_id=999", headers=APP_HEADERS)
    assert unknown.status_code == 400
    assert unknown.json()["errorType"] == "Input_Exception"


def test_consume_consent_answers_the_token_and_expiry(client):
    response = consume(client, token_id(client), method="post")  # POST works like GET
    body = response.json()
    assert set(body) == {
        "dhanClientId",
        "dhanClientName",
        "dhanClientUcc",
        "givenPowerOfAttorney",
        "accessToken",
        "expiryTime",
    }
    assert body["dhanClientId"] == CLIENT
    assert body["accessToken"].startswith("eyJ")
    assert len(body["expiryTime"]) == 19 and "T" in body["expiryTime"]  # no zone suffix


def test_consume_with_a_wrong_app_secret_is_refused(client):
    response = consume(client, token_id(client), headers={**APP_HEADERS, "app_secret": "x"})
    assert response.status_code == 401
    assert response.json() == {
        "errorType": "Invalid_Authentication",
        "errorCode": "DH-901",
        "errorMessage": "Invalid app_id or app_secret",
    }


def test_token_id_is_single_use(client):
    tid = token_id(client)
    assert consume(client, tid).status_code == 200
    again = consume(client, tid)
    assert again.status_code == 400
    assert again.json()["errorCode"] == "DH-905"


def test_renew_token_needs_the_dhan_client_id_header(client, token):
    refused = client.get(f"{BASE}/v2/RenewToken", headers={"access-token": token})
    assert refused.status_code == 401
    renewed = client.get(
        f"{BASE}/v2/RenewToken", headers={"access-token": token, "dhanClientId": CLIENT}
    )
    fresh = renewed.json()["token"]
    assert fresh != token
    assert client.get(f"{BASE}/v2/profile", headers=auth(fresh)).status_code == 200


def test_credential_login_fields_are_empty_for_a_browser_login():
    assert demo_login_fields() == {}


# --- Authentication on the API host -----------------------------------------------------------
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"access-token": "made-up"},
        {"Authorization": "Bearer {token}"},
        {"access-token": "Bearer {token}"},
        {"access-token": "{token}", "client-id": "1100000000"},
    ],
)
def test_a_missing_or_wrong_token_gets_dh_901(client, token, headers):
    headers = {k: v.format(token=token) for k, v in headers.items()}
    response = client.get(f"{BASE}/v2/holdings", headers=headers)
    assert response.status_code == 401
    assert response.json() == {
        "errorType": "Invalid_Authentication",
        "errorCode": "DH-901",
        "errorMessage": "Client ID or user generated access token is invalid or expired.",
    }


# --- Reads ------------------------------------------------------------------------------------
def test_holdings_in_dhan_shape(client, token):
    rows = client.get(f"{BASE}/v2/holdings", headers=auth(token)).json()
    by_symbol = {row["tradingSymbol"]: row for row in rows}
    tcs = by_symbol["TCS"]
    assert tcs == {
        "exchange": "NSE",
        "tradingSymbol": "TCS",
        "securityId": "11536",
        "isin": "INE467B01029",
        "totalQty": 2,
        "dpQty": 2,
        "t1Qty": 0,
        "availableQty": 2,
        "collateralQty": 0,
        "avgCostPrice": 3700.0,
        "lastTradedPrice": 3890.0,
    }
    assert set(by_symbol) == {h.symbol for h in universe.account("dhan", CLIENT).holdings}


def test_profile_and_funds_keep_dhan_spelling(client, token):
    profile = client.get(f"{BASE}/v2/profile", headers=auth(token)).json()
    assert profile["dhanClientId"] == CLIENT
    assert len(profile["tokenValidity"]) == len("23/09/2025 12:37")
    funds = client.get(f"{BASE}/v2/fundlimit", headers=auth(token)).json()
    assert funds["availabelBalance"] == 60000.0
    assert "receiveableAmount" in funds


def test_positions_are_an_empty_list(client, token):
    assert client.get(f"{BASE}/v2/positions", headers=auth(token)).json() == []


def test_ohlc_is_enveloped_and_keyed_by_string_id(client, token):
    response = client.post(
        f"{BASE}/v2/marketfeed/ohlc",
        {"NSE_EQ": [11536, 424242], "BSE_EQ": [500325], "dhanClientId": CLIENT},
        content_type="application/json",
        headers=auth(token),
    )
    body = response.json()
    assert body["status"] == "success"
    assert body["data"]["NSE_EQ"] == {
        "11536": {
            "last_price": 3890.0,
            "ohlc": {"open": 3861.25, "close": 3861.25, "high": 3890.0, "low": 3861.25},
        }
    }
    assert body["data"]["BSE_EQ"]["500325"]["last_price"] == 2950.5


def test_quote_without_client_id_fails_with_http_200(client, token):
    response = client.post(
        f"{BASE}/v2/marketfeed/ltp",
        {"NSE_EQ": [11536]},
        content_type="application/json",
        headers={"access-token": token},
    )
    assert response.status_code == 200
    assert response.json() == {"errorCode": 810, "errorMessage": "Client ID is invalid"}


def test_scrip_master_is_the_compact_csv(client):
    response = client.get(f"{BASE}/api-data/api-scrip-master.csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert response["Content-Type"].startswith("text/csv")
    assert "ISIN" not in ",".join(rows[0])  # the compact file has none
    listings = {(r["SEM_EXM_EXCH_ID"], r["SEM_TRADING_SYMBOL"]): r for r in rows}
    for security in universe.SECURITIES.values():
        assert listings[("NSE", security.symbol)]["SEM_SMST_SECURITY_ID"] == security.nse_token
        assert listings[("BSE", security.symbol)]["SEM_SMST_SECURITY_ID"] == security.bse_code
    assert listings[("NSE", "RELIANCE")]["SEM_TICK_SIZE"] == "5.0000"  # paise


# --- Orders -----------------------------------------------------------------------------------
def test_place_then_the_order_book_returns_the_tag(client, token):
    placed = place(client, token)
    assert placed.json()["orderStatus"] == "TRANSIT"
    order_id = placed.json()["orderId"]

    (row,) = client.get(f"{BASE}/v2/orders", headers=auth(token)).json()
    assert row["orderId"] == order_id
    assert row["correlationId"] == "tag-001"
    assert (row["orderStatus"], row["tradingSymbol"], row["securityId"]) == (
        "PENDING",
        "TCS",
        "11536",
    )
    assert row["price"] == 3000.0 and row["filledQty"] == 0


def test_a_crossing_limit_order_trades(client, token):
    order_id = place(client, token, price=4000, correlationId=None).json()["orderId"]
    kit_order = kit.find_order("dhan", CLIENT, order_id)
    kit_order.placed_at -= 1
    kit.save_order("dhan", kit_order)
    row = client.get(f"{BASE}/v2/orders/{order_id}", headers=auth(token)).json()
    assert (row["orderStatus"], row["filledQty"], row["correlationId"]) == ("TRADED", 1, "NA")
    (trade,) = client.get(f"{BASE}/v2/trades", headers=auth(token)).json()
    assert (trade["orderId"], trade["tradedQuantity"], trade["tradedPrice"]) == (
        order_id,
        1,
        3890.0,  # a buy limit above the market fills at the market, not at its limit
    )


def test_a_buy_beyond_the_cash_is_rejected_in_the_book(client, token):
    placed = place(client, token, quantity=100, correlationId="too-big")
    assert placed.json()["orderStatus"] == "TRANSIT"  # the place call itself succeeds
    (row,) = client.get(f"{BASE}/v2/orders", headers=auth(token)).json()
    assert row["orderStatus"] == "REJECTED"
    assert row["omsErrorDescription"] == (
        "Insufficient funds (RMS): required 300000.00, available 60000.00"
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"transactionType": None}, "Missing"),
        ({"orderType": "SL"}, "Missing required fields"),
        ({"price": 0}, "Invalid price"),
        ({"quantity": "1.5"}, "Invalid quantity"),
        ({"securityId": "424242"}, "Invalid SecurityId"),
        ({"correlationId": "x" * 26}, "correlationId"),
    ],
)
def test_place_validates_like_dhan(client, token, changes, message):
    response = place(client, token, **changes)
    assert response.status_code == 400
    body = response.json()
    assert (body["errorType"], body["errorCode"]) == ("Input_Exception", "DH-905")
    assert message in body["errorMessage"]


def test_modify_and_cancel(client, token):
    order_id = place(client, token).json()["orderId"]
    modified = client.put(
        f"{BASE}/v2/orders/{order_id}",
        {
            "dhanClientId": CLIENT,
            "orderId": order_id,
            "orderType": "LIMIT",
            "quantity": 2,
            "price": 2999.5,
            "triggerPrice": 0,
            "validity": "DAY",
        },
        content_type="application/json",
        headers=auth(token),
    )
    assert modified.status_code == 200
    row = client.get(f"{BASE}/v2/orders/{order_id}", headers=auth(token)).json()
    assert (row["quantity"], row["price"]) == (2, 2999.5)

    cancelled = client.delete(f"{BASE}/v2/orders/{order_id}", headers=auth(token))
    assert cancelled.json() == {"orderId": order_id, "orderStatus": "CANCELLED"}
    again = client.delete(f"{BASE}/v2/orders/{order_id}", headers=auth(token))
    assert again.status_code == 400
    assert again.json()["errorCode"] == "DH-906"


def test_modify_or_cancel_an_unknown_order(client, token):
    for method in (client.put, client.delete):
        response = method(
            f"{BASE}/v2/orders/123", {}, content_type="application/json", headers=auth(token)
        )
        assert response.status_code == 400
        assert response.json()["errorType"] == "Order_Error"


# --- Faults -----------------------------------------------------------------------------------
def test_outage_is_a_503_page(client, token):
    kit.set_faults("dhan", outage=True)
    response = client.get(f"{BASE}/v2/holdings", headers=auth(token))
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")


def test_rate_limited_is_429_dh_904(client, token):
    kit.set_faults("dhan", CLIENT, rate_limited=True)
    response = client.get(f"{BASE}/v2/fundlimit", headers=auth(token))
    assert response.status_code == 429
    assert response.content == ERRORS.rate_limited().content
    assert response.json()["errorCode"] == "DH-904"


def test_error_rate_100_is_dh_908(client, token):
    kit.set_faults("dhan", error_rate=100)
    response = client.get(f"{BASE}/v2/positions", headers=auth(token))
    assert response.status_code == 500
    assert response.json()["errorType"] == "Internal_Server_Error"


def test_token_expired_kills_tokens_until_next_login(client, token):
    kit.set_faults("dhan", token_expired=True)
    assert client.get(f"{BASE}/v2/profile", headers=auth(token)).status_code == 401
    time.sleep(0.01)
    fresh = login(client)
    assert client.get(f"{BASE}/v2/profile", headers=auth(fresh)).status_code == 200


def test_latency_is_added(client, token):
    kit.set_faults("dhan", latency_ms=120)
    started = time.perf_counter()
    response = client.get(f"{BASE}/v2/profile", headers=auth(token))
    assert response.status_code == 200
    assert time.perf_counter() - started >= 0.12


def test_a_lost_order_reply_still_places_the_order(client, token):
    kit.set_faults("dhan", lose_order_reply=True)
    lost = place(client, token, correlationId="lost-1")
    assert lost.status_code == 504
    kit.clear_faults("dhan")
    book = client.get(f"{BASE}/v2/orders", headers=auth(token)).json()
    assert [row["correlationId"] for row in book] == ["lost-1"]


# --- The order path end to end -------------------------------------------------------------
def get(client, token, path):
    response = client.get(f"{BASE}/v2/{path}", headers=auth(token))
    assert response.status_code == 200, response.content
    return response.json()


def test_an_order_goes_from_placing_to_positions_and_funds(client, token, market):
    available = get(client, token, "fundlimit")["availabelBalance"]
    order_id = place(
        client, token, orderType="MARKET", price=0, productType="INTRADAY", correlationId="e2e-dhan"
    ).json()["orderId"]
    by_tag = get(client, token, "orders/external/e2e-dhan")
    assert (by_tag["orderId"], by_tag["orderStatus"]) == (order_id, "PENDING")
    assert get(client, token, "orders")[0]["correlationId"] == "e2e-dhan"
    market.shift(2)
    one = get(client, token, f"orders/{order_id}")
    (fill,) = get(client, token, f"trades/{order_id}")
    everything = get(client, token, "trades/")
    (position,) = get(client, token, "positions")
    funds = get(client, token, "fundlimit")
    assert (one["orderStatus"], one["filledQty"], one["averageTradedPrice"]) == (
        "TRADED",
        1,
        3890.0,
    )
    assert everything == [fill] == get(client, token, "trades")
    assert (fill["orderId"], fill["tradedQuantity"], fill["tradedPrice"]) == (order_id, 1, 3890.0)
    assert (position["tradingSymbol"], position["productType"], position["netQty"]) == (
        "TCS",
        "INTRADAY",
        1,
    )
    assert (position["positionType"], position["exchangeSegment"], position["securityId"]) == (
        "LONG",
        "NSE_EQ",
        "11536",
    )
    assert position["buyAvg"] == 3890.0 and position["dayBuyValue"] == 3890.0
    assert funds["availabelBalance"] == available - 3890.0
    assert funds["utilizedAmount"] == 3890.0


def test_positions_net_a_buy_and_a_sell(client, token, market):
    place(client, token, orderType="MARKET", price=0, productType="INTRADAY", quantity=3)
    place(client, token, orderType="MARKET", price=0, productType="INTRADAY",
          transactionType="SELL", correlationId="tag-002")  # fmt: skip
    market.shift(2)
    (position,) = get(client, token, "positions")
    assert (position["buyQty"], position["sellQty"], position["netQty"]) == (3, 1, 2)
    assert position["realizedProfit"] == 0.0


def test_lookups_of_unknown_orders_and_tags_are_refused(client, token):
    for path in ("orders/external/no-such-tag", "orders/999"):
        response = client.get(f"{BASE}/v2/{path}", headers=auth(token))
        assert response.status_code == 400
        assert response.json()["errorCode"] == "DH-906"
    assert get(client, token, "trades/999") == []


def test_a_cnc_sell_beyond_the_holdings_is_rejected(client, token):
    place(client, token, transactionType="SELL", quantity=3, correlationId="too-many")
    (row,) = get(client, token, "orders")
    assert row["orderStatus"] == "REJECTED"  # the account holds 2 TCS
    assert row["omsErrorDescription"].startswith("Insufficient holdings (RMS)")


def test_the_full_quote_has_depth(client, token):
    response = client.post(
        f"{BASE}/v2/marketfeed/quote",
        {"NSE_EQ": [11536], "dhanClientId": CLIENT},
        content_type="application/json",
        headers=auth(token),
    )
    quote = response.json()["data"]["NSE_EQ"]["11536"]
    assert (quote["last_price"], quote["ohlc"]["close"], quote["net_change"]) == (
        3890.0,
        3861.25,
        28.75,
    )
    assert len(quote["depth"]["buy"]) == len(quote["depth"]["sell"]) == 5
    assert quote["depth"]["buy"][0]["price"] < 3890.0 < quote["depth"]["sell"][0]["price"]
    assert {"volume", "oi", "last_trade_time", "upper_circuit_limit"} <= set(quote)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/v2/nosuch", 404),
        ("get", "/v2/orders/1/2/3", 404),
        ("put", "/v2/orders", 405),
        ("post", "/v2/trades", 405),
        ("get", "/v2/marketfeed/ltp", 405),
    ],
)
def test_unknown_paths_and_wrong_methods_answer_dhans_json(client, token, method, path, status):
    response = getattr(client, method)(f"{BASE}{path}", headers=auth(token))
    assert response.status_code == status
    assert set(response.json()) == {"errorType", "errorCode", "errorMessage"}
    assert response.json()["errorCode"] == "DH-905"


def modify(client, token, order_id, price):
    body = {"dhanClientId": CLIENT, "orderId": order_id, "orderType": "LIMIT", "quantity": 1,
            "price": price, "triggerPrice": 0, "validity": "DAY"}  # fmt: skip
    return client.put(
        f"{BASE}/v2/orders/{order_id}", body, content_type="application/json", headers=auth(token)
    )


def test_a_lost_reply_on_modify_or_cancel_still_changes_the_order(client, token):
    order_id = place(client, token, correlationId="lost-change").json()["orderId"]
    kit.set_faults("dhan", CLIENT, lose_order_reply=True)
    assert modify(client, token, order_id, 2999.5).status_code == 504
    assert client.delete(f"{BASE}/v2/orders/{order_id}", headers=auth(token)).status_code == 504
    kit.clear_faults("dhan", CLIENT)
    row = get(client, token, "orders/external/lost-change")
    assert (row["price"], row["orderStatus"]) == (2999.5, "CANCELLED")


def test_a_dropped_request_never_reaches_the_book(client, token):
    order_id = place(client, token, correlationId="kept").json()["orderId"]
    kit.set_faults("dhan", CLIENT, drop_order_request=True)
    assert place(client, token, correlationId="dropped").status_code == 502
    assert modify(client, token, order_id, 2999.5).status_code == 502
    assert client.delete(f"{BASE}/v2/orders/{order_id}", headers=auth(token)).status_code == 502
    kit.clear_faults("dhan", CLIENT)
    (row,) = get(client, token, "orders")
    assert (row["correlationId"], row["price"], row["orderStatus"]) == ("kept", 3000.0, "PENDING")
