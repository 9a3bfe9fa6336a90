"""The trader's hand on the queue, from the API and the pages: the queued orders listed first in
first with the brokers each could go to; one sent now to the broker chosen (there exactly
once) or cancelled, each confirmed, with who and why in the order's timeline; anything that
cannot be done refused in words with nothing changed; another trader's order a 404."""

import copy
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from brokers.clock import IST
from brokers.models import BrokerConnection, ConnectionStatus, InstrumentRecord
from brokers.sandbox import kit
from brokers.types import OrderType, Product, Side
from routing.orders import queue, services
from routing.orders.inputs import OrderInput
from routing.orders.models import Order, OrderState, QueuedOrder, QueueState
from routing.policy import services as policy_services

pytestmark = pytest.mark.django_db(transaction=True)

PLACED = (OrderState.PLACED, OrderState.OPEN, OrderState.FILLED)
WHY = "Kite is paused for the day"


def buy(quantity=1, **kwargs) -> OrderInput:
    values = {
        "instrument": "NSE:INFY",
        "side": Side.BUY,
        "quantity": quantity,
        "order_type": OrderType.MARKET,
        "product": Product.CNC,
        "broker": "zerodha",
        **kwargs,
    }
    return OrderInput(**values)


def tags_at(connection) -> list[str]:
    return [o.tag for o in kit.orders(connection.broker, connection.account_id)]


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def set_policy(user, change) -> None:
    state = policy_services.editing(user)
    document = copy.deepcopy(state.document)
    change(document)
    policy_services.save_profile(user=user, document=document, version=state.version)


@pytest.fixture
def brokers(trader, connected):
    """Zerodha and Upstox connected, Zerodha paused: an order named for Zerodha waits."""
    linked = connected("zerodha", "upstox")
    policy_services.set_paused(user=trader, key="zerodha", paused=True)
    return linked


def queue_one(user, **kwargs) -> Order:
    order = services.place_order(user=user, order=buy(**kwargs)).order
    assert order.status == OrderState.QUEUED, order.status_reason
    return order


def as_it_was(order: Order, brokers) -> None:
    """Still waiting, never sent, nothing added to its timeline."""
    row = QueuedOrder.objects.get(order=order)
    assert row.state == QueueState.WAITING and row.attempt is None
    order.refresh_from_db()
    assert order.status == OrderState.QUEUED and not order.attempts.exists()
    assert list(order.events.values_list("to_status", flat=True)) == ["QUEUED"]
    assert all(tags_at(c) == [] for c in brokers.values())


def send(api, order, **body):
    body = {"broker": "upstox", "reason": WHY, "confirm": True, **body}
    return api.post(f"/api/v1/orders/queue/{order.pk}/send", body, format="json")


def cancel(api, order, **body):
    body = {"reason": "changed my mind", "confirm": True, **body}
    return api.post(f"/api/v1/orders/queue/{order.pk}/cancel", body, format="json")


# --- The API ------------------------------------------------------------------------------------
def test_the_queue_lists_waiting_orders_first_in_first_with_the_brokers_each_could_go_to(
    trader, other_trader, brokers
):
    first = queue_one(trader)
    second = queue_one(trader, quantity=2)

    answer = api_for(trader).get("/api/v1/orders/queue")

    assert answer.status_code == 200
    listed = answer.json()["orders"]
    assert [o["orderId"] for o in listed] == [str(first.pk), str(second.pk)]
    one = listed[0]
    assert one["state"] == "WAITING" and one["waitingForConfirmation"] is False
    assert "you paused it" in one["reason"] and one["waitsFor"] == "zerodha"
    assert one["order"]["quantity"] == 1 and one["order"]["status"] == "QUEUED"
    expires = QueuedOrder.objects.get(order=first).expires_at.astimezone(IST)
    assert one["expiresAt"].startswith("2026-06-03") and expires.strftime("%H:%M") == "15:30"
    candidates = {c["key"]: c for c in one["candidates"]}
    assert one["candidates"][0]["key"] == "upstox"  # the ones that may take it first
    assert candidates["upstox"]["available"] is True and candidates["upstox"]["why"] == ""
    assert candidates["zerodha"]["available"] is False
    assert "paused" in candidates["zerodha"]["why"]
    assert api_for(other_trader).get("/api/v1/orders/queue").json() == {"orders": []}


def test_a_queued_order_sent_to_the_broker_chosen_reaches_it_once_with_who_and_why(trader, brokers):
    order = queue_one(trader)
    api = api_for(trader)

    answer = send(api, order)

    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["status"] in PLACED and body["brokerKey"] == "upstox"
    attempt = Order.objects.get(pk=order.pk).attempts.get()
    assert tags_at(brokers["upstox"]) == [attempt.tag]  # there, once
    assert tags_at(brokers["zerodha"]) == []
    sent = order.events.get(to_status="SENDING")
    assert sent.actor == trader and sent.reason.startswith("sent by you")
    assert sent.reason.endswith(f"Why: {WHY}")
    (entry,) = [e for e in body["timeline"] if e["to"] == "SENDING"]
    assert entry["by"] == "asha" and WHY in entry["reason"]
    assert QueuedOrder.objects.get(order=order).state == QueueState.SENT
    assert api.get("/api/v1/orders/queue").json()["orders"] == []

    again = send(api, order)
    assert again.status_code == 422
    assert "already sent to a broker" in again.json()["error"]["message"]
    policy_services.set_paused(user=trader, key="zerodha", paused=False)
    assert queue.drain_queue().sent == []  # the queue never sends it again
    assert tags_at(brokers["upstox"]) == [attempt.tag] and tags_at(brokers["zerodha"]) == []


def test_a_queued_order_cancelled_by_hand_is_never_sent_and_says_who_and_why(trader, brokers):
    order = queue_one(trader)
    api = api_for(trader)

    answer = cancel(api, order, reason="The price ran away")

    assert answer.status_code == 200, answer.content
    assert answer.json()["status"] == "CANCELLED"
    event = order.events.get(to_status="CANCELLED")
    assert event.actor == trader
    assert event.reason == (
        "cancelled by you while it waited in the queue. Why: The price ran away"
    )
    again = cancel(api, order)
    assert again.status_code == 422
    assert again.json()["error"]["message"] == (
        "This order is no longer in the queue: you already cancelled it."
    )
    assert send(api, order).status_code == 422
    policy_services.set_paused(user=trader, key="zerodha", paused=False)
    assert queue.drain_queue().sent == []
    assert all(tags_at(c) == [] for c in brokers.values())


def test_another_traders_queued_order_is_not_found_and_stays_queued(trader, other_trader, brokers):
    order = queue_one(trader)
    charlie = api_for(other_trader)

    assert send(charlie, order).status_code == 404
    assert cancel(charlie, order).status_code == 404
    assert send(charlie, order).json()["error"]["message"] == "No such order."
    as_it_was(order, brokers)


def _down(trader, brokers, connected):
    BrokerConnection.objects.filter(pk=brokers["upstox"].pk).update(status=ConnectionStatus.ERROR)


def _disconnected(trader, brokers, connected):
    BrokerConnection.objects.filter(pk=brokers["upstox"].pk).update(
        status=ConnectionStatus.DISCONNECTED
    )


def _unlisted(trader, brokers, connected):
    connected("fyers")  # its master still names the instrument; Upstox's no longer does
    InstrumentRecord.objects.filter(broker="upstox", symbol="INFY").delete()


def _too_big(trader, brokers, connected=None):
    def change(document):
        document["brokers"]["upstox"]["trading"]["max_order_value"] = "100"

    set_policy(trader, change)


@pytest.mark.parametrize(
    ("situation", "broker", "words"),
    [
        (None, "dhan", "dhan is not one of your brokers"),
        (None, "zerodha", "zerodha cannot take this order now"),
        (_down, "upstox", "upstox cannot take this order now"),
        (_disconnected, "upstox", "upstox cannot take this order now"),
        (_unlisted, "upstox", "upstox cannot take this order now"),
        (_too_big, "upstox", "₹100.00"),
    ],
    ids=["unknown", "paused", "down", "not-connected", "no-instrument", "risk"],
)
def test_a_send_that_cannot_be_done_says_why_and_changes_nothing(
    trader, brokers, connected, situation, broker, words
):
    order = queue_one(trader)
    if situation:
        situation(trader, brokers, connected)

    answer = send(api_for(trader), order, broker=broker)

    assert answer.status_code == 422, answer.content
    error = answer.json()["error"]
    assert error["code"] == "not_sent" and words in error["message"], error["message"]
    as_it_was(order, brokers)


def test_the_refusals_say_which_rule_or_state_stopped_the_send(trader, brokers):
    order = queue_one(trader)
    api = api_for(trader)

    paused = send(api, order, broker="zerodha").json()["error"]
    assert "you paused it" in paused["message"]
    _too_big(trader, brokers)
    risk = send(api, order).json()["error"]
    assert [b["code"] for b in risk["breaches"]] == ["MAX_ORDER_VALUE"]
    as_it_was(order, brokers)


@pytest.mark.parametrize(
    ("path", "body", "field", "words"),
    [
        ("send", {"reason": ""}, "reason", "Say why"),
        ("send", {"reason": None}, "reason", "Say why"),
        ("send", {"reason": 5}, "reason", "Say why"),
        ("send", {"reason": "x" * 141}, "reason", "140"),
        ("send", {"reason": "two\nlines"}, "reason", "one line"),
        ("send", {"confirm": False}, "confirm", 'send "confirm": true'),
        ("send", {"confirm": "true"}, "confirm", 'send "confirm": true'),
        ("send", {"broker": ""}, "broker", "Choose the broker"),
        ("send", {"broker": 7}, "broker", "Choose the broker"),
        ("cancel", {"reason": "  "}, "reason", "Say why"),
        ("cancel", {"confirm": 1}, "confirm", 'send "confirm": true'),
    ],
)
def test_a_request_missing_its_confirmation_or_its_why_is_refused_and_changes_nothing(
    trader, brokers, path, body, field, words
):
    order = queue_one(trader)
    act = send if path == "send" else cancel

    answer = act(api_for(trader), order, **body)

    assert answer.status_code == 400, answer.content
    problems = answer.json()["error"]["problems"]
    assert problems[0]["field"] == field and words in problems[0]["message"]
    as_it_was(order, brokers)


def test_an_order_that_never_waited_in_the_queue_is_pointed_to_its_own_cancel(trader, brokers):
    policy_services.set_paused(user=trader, key="zerodha", paused=False)
    placed = services.place_order(user=trader, order=buy()).order
    assert placed.status in PLACED

    answer = cancel(api_for(trader), placed)

    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "not_queued"
    assert f"/api/v1/orders/{placed.pk}/cancel" in error["message"]


def test_an_order_waiting_for_the_traders_word_is_sent_at_it(trader, brokers):
    policy_services.set_paused(user=trader, key="zerodha", paused=False)
    last = services.preview_order(user=trader, order=buy()).last_price
    policy_services.set_paused(user=trader, key="zerodha", paused=True)
    tick = Decimal("0.05")
    price = (last * Decimal("1.005") / tick).to_integral_value() * tick
    order = queue_one(trader, order_type=OrderType.LIMIT, price=price)

    def tighter(document):  # the market moved: the price is beyond the tolerance now
        document["brokers"]["zerodha"]["trading"]["price_tolerance_pct"] = "0.1"

    set_policy(trader, tighter)
    policy_services.set_paused(user=trader, key="zerodha", paused=False)
    assert queue.drain_queue().confirm == 1
    api = api_for(trader)
    (waiting,) = api.get("/api/v1/orders/queue").json()["orders"]
    assert waiting["state"] == "CONFIRM" and waiting["waitingForConfirmation"] is True
    assert "Send it yourself to confirm" in waiting["reason"]

    answer = send(api, order, broker="zerodha", reason="the price is still fine")

    assert answer.status_code == 200, answer.content
    assert answer.json()["status"] in PLACED
    attempt = Order.objects.get(pk=order.pk).attempts.get()
    assert tags_at(brokers["zerodha"]) == [attempt.tag]
    assert order.events.get(to_status="SENDING").actor == trader


# --- The pages ----------------------------------------------------------------------------------
HTMX = {"HTTP_HX_REQUEST": "true"}


def in_row(order) -> dict:
    return {**HTMX, "HTTP_HX_TARGET": f"queue-action-{order.pk}"}


def test_the_emergency_page_lists_the_queued_orders_with_their_brokers(client, trader, brokers):
    order = queue_one(trader)
    client.force_login(trader)

    page = client.get("/policy/emergency/").content.decode()

    assert 'id="queued-orders"' in page and f'id="queued-{order.pk}"' in page
    assert "BUY 1 NSE:INFY" in page and "Send now…" in page and "Cancel…" in page
    assert '<option value="upstox">Upstox' in page
    assert "Zerodha" in page and "paused" in page


def test_sending_from_the_page_asks_first_then_sends_and_leaves_the_queue(client, trader, brokers):
    order = queue_one(trader)
    client.force_login(trader)
    url = f"/orders/{order.pk}/queue/send/"

    asked = client.get(url, {"broker": "upstox"}, **in_row(order))

    assert asked.status_code == 200
    text = asked.content.decode()
    assert "Send it to Upstox" in text and "Yes, send it now" in text
    as_it_was(order, brokers)  # asking sends nothing
    unsaid = client.post(url, {"broker": "upstox", "confirm": "1"}, **in_row(order))
    assert unsaid.status_code == 400 and "Say why" in unsaid.content.decode()
    as_it_was(order, brokers)

    done = client.post(url, {"broker": "upstox", "confirm": "1", "reason": WHY}, **in_row(order))

    assert done.status_code == 200
    assert done["HX-Retarget"] == "#queued-orders" and done["HX-Reswap"] == "outerHTML"
    panel = done.content.decode()
    assert "BUY 1 NSE:INFY sent to Upstox" in panel and f'id="queued-{order.pk}"' not in panel
    assert "asha: " in panel and WHY in panel  # the hand actions, who and why
    attempt = Order.objects.get(pk=order.pk).attempts.get()
    assert tags_at(brokers["upstox"]) == [attempt.tag]


def test_a_send_the_broker_cannot_take_is_refused_in_place(client, trader, brokers):
    order = queue_one(trader)
    client.force_login(trader)
    url = f"/orders/{order.pk}/queue/send/"

    asked = client.get(url, {"broker": "zerodha"}, **in_row(order))
    assert 'id="queue-refusal"' in asked.content.decode()
    assert "Yes, send it now" not in asked.content.decode()
    posted = client.post(url, {"broker": "zerodha", "confirm": "1", "reason": WHY}, **in_row(order))

    assert posted.status_code == 422
    assert "you paused it" in posted.content.decode()
    assert "HX-Retarget" not in posted  # shown where it was asked
    as_it_was(order, brokers)


def test_cancelling_from_the_page_asks_first_then_takes_it_out(client, trader, brokers):
    order = queue_one(trader)
    client.force_login(trader)
    url = f"/orders/{order.pk}/queue/cancel/"

    asked = client.get(url, **in_row(order))
    assert "Take it out of the queue?" in asked.content.decode()
    as_it_was(order, brokers)

    done = client.post(url, {"confirm": "1", "reason": "changed my mind"}, **in_row(order))

    assert done.status_code == 200
    assert "taken out of the queue; nothing was sent" in done.content.decode()
    order.refresh_from_db()
    assert order.status == OrderState.CANCELLED
    assert order.events.get(to_status="CANCELLED").actor == trader
    late = client.post(url, {"confirm": "1", "reason": "again"}, **in_row(order))
    assert late.status_code == 422 and "you already cancelled it" in late.content.decode()


def test_without_htmx_the_steps_are_pages_and_the_outcome_a_message(client, trader, brokers):
    order = queue_one(trader)
    client.force_login(trader)
    url = f"/orders/{order.pk}/queue/cancel/"

    step = client.get(url)
    assert "<html" in step.content.decode() and "Yes, cancel it" in step.content.decode()
    done = client.post(url, {"confirm": "1", "reason": "changed my mind"}, follow=True)

    assert done.redirect_chain[-1][0] == "/policy/emergency/#queued-orders"
    assert "taken out of the queue; nothing was sent" in done.content.decode()


def test_the_order_page_offers_the_queue_actions_and_reloads_after_one(client, trader, brokers):
    order = queue_one(trader)
    client.force_login(trader)

    page = client.get(f"/orders/{order.pk}/").content.decode()
    assert "Send now…" in page and f"/orders/{order.pk}/queue/cancel/?back=order" in page

    done = client.post(
        f"/orders/{order.pk}/queue/send/",
        {"broker": "upstox", "confirm": "1", "reason": WHY, "back": "order"},
        **HTMX,
        HTTP_HX_TARGET="order-action",
    )

    assert done.status_code == 200 and done["HX-Trigger"] == "order-updated"
    assert "sent to Upstox" in done.content.decode()
    timeline = client.get(f"/orders/{order.pk}/").content.decode()
    assert "by asha" in timeline and WHY in timeline


def test_another_traders_queued_order_is_a_404_on_the_pages(client, trader, other_trader, brokers):
    order = queue_one(trader)
    client.force_login(other_trader)

    for path in ("send", "cancel"):
        url = f"/orders/{order.pk}/queue/{path}/"
        assert client.get(url, {"broker": "upstox"}).status_code == 404
        body = {"broker": "upstox", "confirm": "1", "reason": "mine now"}
        assert client.post(url, body).status_code == 404
    assert f'id="queued-{order.pk}"' not in client.get("/policy/emergency/").content.decode()
    as_it_was(order, brokers)
