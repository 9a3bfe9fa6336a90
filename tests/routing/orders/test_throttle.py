"""A write refused for the rate was not taken: it is sent again after the wait, the same
attempt under the same tag, within a bound; a broker whose docs do not say its 429 refuses
is reconciled by tag instead. Never two orders."""

from decimal import Decimal

import pytest

from brokers.sandbox import kit
from brokers.types import OrderType, Product, Side
from routing.orders import services
from routing.orders.inputs import OrderInput
from routing.orders.models import AttemptKind, AttemptState, OrderState

pytestmark = pytest.mark.django_db(transaction=True)

# Their docs describe the rate-limit answer as a refusal (docs/brokers, §5 of each).
REFUSING = ["zerodha", "upstox", "dhan", "groww", "angelone"]


def buy(broker, **kwargs) -> OrderInput:
    values = {
        "instrument": "NSE:INFY",
        "side": Side.BUY,
        "quantity": 1,
        "order_type": OrderType.MARKET,
        "product": Product.CNC,
        "broker": broker,
        **kwargs,
    }
    return OrderInput(**values)


def book_of(connection):
    return kit.orders(connection.broker, connection.account_id)


def moves(order):
    return list(order.events.values_list("from_status", "to_status"))


def test_an_order_our_limiter_held_back_is_sent_once_after_the_wait(trader, connected):
    zerodha = connected("zerodha")["zerodha"]
    # The trader's ceiling: 0.5 orders/s (0.4 with headroom): the second order at once waits
    # its turn in the limiter (2.5 s, more than a write waits by default), then goes.
    zerodha.connection_config = {"rateCeilings": {"order": 0.5}}
    zerodha.save(update_fields=["connection_config"])

    first = services.place_order(user=trader, order=buy("zerodha")).order
    second = services.place_order(user=trader, order=buy("zerodha", quantity=2)).order

    assert second.status in (OrderState.PLACED, OrderState.OPEN), second.status_reason
    attempt = second.attempts.get()
    assert attempt.status == AttemptState.ACCEPTED and attempt.reconcile_reads == 0
    assert ("SENDING", "UNKNOWN") not in moves(second)
    tags = sorted(o.tag for o in book_of(zerodha))
    assert tags == sorted([first.attempts.get().tag, attempt.tag])


def test_an_order_our_limiter_cannot_take_within_the_budget_is_refused_unsent(trader, connected):
    zerodha = connected("zerodha")["zerodha"]
    # 0.1 orders/s (0.08 with headroom): the second order would wait 12.5 s, past the budget.
    zerodha.connection_config = {"rateCeilings": {"order": 0.1}}
    zerodha.save(update_fields=["connection_config"])
    services.place_order(user=trader, order=buy("zerodha"))

    refused = services.place_order(user=trader, order=buy("zerodha", quantity=2)).order

    assert refused.status == OrderState.REJECTED
    assert "our rate limiter" in refused.status_reason
    assert "nothing was placed" in refused.status_reason
    assert refused.attempts.get().status == AttemptState.ABSENT
    assert [o.quantity for o in book_of(zerodha)] == [1]


@pytest.mark.parametrize("broker", REFUSING)
def test_a_brokers_rate_limit_refusal_is_sent_again_under_the_same_tag(trader, connected, broker):
    connection = connected(broker)[broker]
    kit.set_faults(broker, connection.account_id, throttle_orders=1)

    placed = services.place_order(user=trader, order=buy(broker)).order

    assert placed.status in (OrderState.PLACED, OrderState.OPEN), placed.status_reason
    attempt = placed.attempts.get()  # one attempt: the refused send was the same one
    assert attempt.status == AttemptState.ACCEPTED and attempt.reconcile_reads == 0
    assert [(o.order_id, o.tag) for o in book_of(connection)] == [
        (placed.broker_order_id, attempt.tag)
    ]
    assert ("SENDING", "UNKNOWN") not in moves(placed)
    assert kit.get_faults(broker, connection.account_id).throttle_orders == 0


def test_a_429_the_brokers_docs_do_not_call_a_refusal_is_reconciled_first(trader, connected):
    iifl = connected("iifl")["iifl"]  # its over-limit answer is undocumented
    kit.set_faults("iifl", iifl.account_id, throttle_orders=1)

    placed = services.place_order(user=trader, order=buy("iifl")).order

    assert placed.status in (OrderState.PLACED, OrderState.OPEN), placed.status_reason
    first, second = placed.attempts.order_by("number")
    assert first.status == AttemptState.ABSENT and first.reconcile_reads > 0
    assert second.status == AttemptState.ACCEPTED
    assert [o.tag for o in book_of(iifl)] == [second.tag]
    assert ("SENDING", "UNKNOWN") in moves(placed)


def test_a_broker_that_keeps_refusing_for_the_rate_places_nothing(trader, connected):
    zerodha = connected("zerodha")["zerodha"]
    kit.set_faults("zerodha", zerodha.account_id, throttle_orders=50)

    placed = services.place_order(user=trader, order=buy("zerodha")).order

    assert placed.status == OrderState.REJECTED
    assert "Too many requests" in placed.status_reason
    assert "unknown" not in placed.status_reason  # the broker's words, not how it was raised
    assert "nothing was placed" in placed.status_reason
    assert placed.attempts.get().status == AttemptState.ABSENT
    assert book_of(zerodha) == []
    # Sent once, then once a second within the budget, never more.
    sent = 50 - kit.get_faults("zerodha", zerodha.account_id).throttle_orders
    assert 2 <= sent <= 1 + int(services.THROTTLE_BUDGET)


def test_a_change_refused_for_the_rate_reaches_the_broker_after_the_wait(trader, connected):
    upstox = connected("upstox")["upstox"]
    order = buy("upstox", order_type=OrderType.LIMIT, price=Decimal("1530.00"), quantity=3)
    placed = services.place_order(user=trader, order=order).order
    kit.set_faults("upstox", upstox.account_id, throttle_orders=1)

    services.modify_order(user=trader, order_id=placed.pk, price=Decimal("1528.00"))

    found = next(o for o in book_of(upstox) if o.order_id == placed.broker_order_id)
    assert Decimal(found.price) == Decimal("1528.00")
    change = placed.attempts.get(kind=AttemptKind.MODIFY)
    assert change.status == AttemptState.ACCEPTED and change.reconcile_reads == 0
