"""The orders API: Idempotency-Key, errors a person can act on, isolation."""

import uuid
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from brokers.sandbox import kit
from routing.orders.models import Order

pytestmark = pytest.mark.django_db(transaction=True)

BODY = {
    "instrument": "NSE:INFY",
    "side": "BUY",
    "quantity": 1,
    "orderType": "MARKET",
    "product": "CNC",
}


@pytest.fixture
def api(trader):
    client = APIClient()
    client.force_authenticate(trader)
    return client


def place(api, body=None, key=None):
    headers = {} if key is False else {"HTTP_IDEMPOTENCY_KEY": key or str(uuid.uuid4())}
    return api.post("/api/v1/orders", body or BODY, format="json", **headers)


def test_preview_ranks_the_brokers_and_sends_nothing(api, connected, settings):
    settings.STATIC_EGRESS_IP = "203.0.113.7"
    linked = connected("zerodha", "upstox")

    answer = api.post("/api/v1/orders/preview", BODY, format="json")

    assert answer.status_code == 200, answer.content
    data = answer.json()
    assert data["accepted"] is True and data["brokerKey"] in ("zerodha", "upstox")
    assert {r["key"] for r in data["decision"]["ranked"]} == {"zerodha", "upstox"}
    assert all(r["charges"]["total"] for r in data["decision"]["ranked"])
    assert "chosen" in data["decision"]["explanation"]
    assert (
        Decimal(data["lastPrice"]) == Decimal("1542.30")
        and data["instrument"]["isin"] == "INE009A01021"
    )
    assert data["staticEgressIp"] == "203.0.113.7"
    assert not Order.objects.exists()
    for connection in linked.values():
        assert kit.orders(connection.broker, connection.account_id) == []


def test_place_detail_and_list(api, connected):
    connected("zerodha")
    key = str(uuid.uuid4())

    first = place(api, key=key)
    again = place(api, key=key)

    assert first.status_code == 201, first.content
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    detail = api.get(f"/api/v1/orders/{first.json()['id']}").json()
    assert detail["attempts"][0]["status"] == "ACCEPTED"
    assert [e["to"] for e in detail["timeline"]][:3] == ["ROUTED", "SENDING", "PLACED"]
    assert detail["decision"]["chosen"] == "zerodha"
    listed = api.get("/api/v1/orders", {"broker": "zerodha"}).json()["orders"]
    assert [o["id"] for o in listed] == [first.json()["id"]]
    assert api.get("/api/v1/orders", {"status": "CANCELLED"}).json()["orders"] == []
    assert api.get("/api/v1/orders", {"date": "2026-06-03"}).json()["orders"]
    assert api.get("/api/v1/orders", {"date": "2026-06-02"}).json()["orders"] == []


def test_a_reused_key_with_another_body_is_refused(api, connected):
    connected("zerodha")
    key = str(uuid.uuid4())
    assert place(api, key=key).status_code == 201

    answer = place(api, {**BODY, "quantity": 2}, key=key)

    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "idempotency_key_reused"
    assert Order.objects.count() == 1


def test_a_missing_key_is_refused_before_anything(api, connected):
    connected("zerodha")
    answer = place(api, key=False)
    assert answer.status_code == 400
    assert "Idempotency-Key" in answer.json()["error"]["message"]
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"quantity": 0}, "quantity"),
        ({"quantity": -3}, "quantity"),
        ({"quantity": 1.5}, "quantity"),
        ({"side": "HOLD"}, "side"),
        ({"instrument": "NSE:NOSUCH"}, "instrument"),
        ({"instrument": "hello world"}, "instrument"),
    ],
)
def test_bad_input_gets_a_clear_error_and_nothing_is_sent(api, connected, change, field):
    zerodha = connected("zerodha")["zerodha"]
    answer = place(api, {**BODY, **change})
    assert answer.status_code == 400, answer.content
    assert answer.json()["error"]["problems"][0]["field"] == field
    assert not Order.objects.exists()
    assert kit.orders("zerodha", zerodha.account_id) == []


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"orderType": "LIMIT", "price": "1542.33"}, "TICK_SIZE"),
        ({"orderType": "LIMIT", "price": "9999.00"}, "PRICE_TOLERANCE"),
        ({"price": "1542.30"}, "PRICE_NOT_ALLOWED"),
        ({"marketProtection": 0}, "MARKET_PROTECTION"),
        ({"side": "SELL", "quantity": 100000}, "SELL_NOT_HELD"),
    ],
)
def test_risk_refusals_list_each_rule_with_its_code_and_nothing_is_sent(
    api, connected, change, code
):
    zerodha = connected("zerodha")["zerodha"]
    answer = place(api, {**BODY, **change})
    assert answer.status_code == 422, answer.content
    error = answer.json()["error"]
    assert code in [b["code"] for b in error["breaches"]]
    assert all(b["message"] for b in error["breaches"])
    assert Order.objects.get().status == "RISK_REJECTED"
    assert kit.orders("zerodha", zerodha.account_id) == []


def test_another_traders_order_is_not_found(api, connected, other_trader):
    connected("zerodha")
    order_id = place(api).json()["id"]
    theirs = APIClient()
    theirs.force_authenticate(other_trader)

    assert theirs.get(f"/api/v1/orders/{order_id}").status_code == 404
    assert theirs.post(f"/api/v1/orders/{order_id}/cancel").status_code == 404
    answer = theirs.post(f"/api/v1/orders/{order_id}/modify", {"quantity": 2}, format="json")
    assert answer.status_code == 404
    assert Order.objects.get().attempts.count() == 1


def test_a_change_that_breaks_the_brokers_rules_is_refused_with_codes(api, connected):
    upstox = connected("upstox")["upstox"]
    body = {**BODY, "orderType": "LIMIT", "price": "1530.00", "quantity": 3, "broker": "upstox"}
    placed = place(api, body).json()

    answer = api.post(f"/api/v1/orders/{placed['id']}/modify", {"price": "1490.03"}, format="json")

    assert answer.status_code == 422, answer.content
    error = answer.json()["error"]
    assert {b["code"] for b in error["breaches"]} == {"PRICE_TOLERANCE", "TICK_SIZE"}
    assert all(b["message"] for b in error["breaches"])
    assert Order.objects.get().attempts.count() == 1  # nothing stored for the change
    found = kit.orders("upstox", upstox.account_id)
    assert [Decimal(o.price) for o in found] == [Decimal("1530.00")]
