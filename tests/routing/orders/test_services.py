"""Placement exactly once against the sandbox: committed before sending, unknown outcomes
reconciled by tag, one retry only for an attempt proven absent."""

import pytest

from brokers.sandbox import kit
from brokers.types import OrderType, Product, Side
from routing.orders import services
from routing.orders.inputs import InvalidOrder, OrderInput
from routing.orders.models import AttemptState, Order, OrderAttempt, OrderState

pytestmark = pytest.mark.django_db(transaction=True)


def buy(instrument="NSE:INFY", quantity=1, **kwargs) -> OrderInput:
    values = {
        "instrument": instrument,
        "side": Side.BUY,
        "quantity": quantity,
        "order_type": OrderType.MARKET,
        "product": Product.CNC,
        **kwargs,
    }
    return OrderInput(**values)


def at_broker(connection, tag_prefix=""):
    return [
        o
        for o in kit.orders(connection.broker, connection.account_id)
        if o.tag.startswith(tag_prefix)
    ]


def test_an_order_is_placed_once_with_its_tag_committed_first(trader, connected):
    zerodha = connected("zerodha")["zerodha"]

    placed = services.place_order(user=trader, order=buy(), idempotency_key="k1").order

    assert placed.status in (OrderState.PLACED, OrderState.OPEN, OrderState.FILLED)
    attempt = placed.attempts.get()
    assert attempt.status == AttemptState.ACCEPTED
    assert len(attempt.tag) == 16 and attempt.tag.isalnum()
    book = at_broker(zerodha)
    assert [(o.order_id, o.tag, o.symbol, o.quantity) for o in book] == [
        (placed.broker_order_id, attempt.tag, "INFY", 1)
    ]
    moves = list(placed.events.values_list("from_status", "to_status"))
    assert moves[:3] == [("NEW", "ROUTED"), ("ROUTED", "SENDING"), ("SENDING", "PLACED")]
    assert "zerodha" in placed.decision["explanation"].lower()


def test_a_lost_reply_after_the_broker_accepted_ends_placed_with_one_order(trader, connected):
    zerodha = connected("zerodha")["zerodha"]
    kit.set_faults("zerodha", zerodha.account_id, lose_order_reply=True)

    placed = services.place_order(user=trader, order=buy()).order

    book = at_broker(zerodha)
    assert len(book) == 1
    assert placed.status in (OrderState.PLACED, OrderState.OPEN, OrderState.FILLED)
    assert placed.broker_order_id == book[0].order_id
    attempt = placed.attempts.get()
    assert attempt.status == AttemptState.ACCEPTED and attempt.error_type
    assert ("SENDING", "UNKNOWN") in placed.events.values_list("from_status", "to_status")


def test_a_request_the_broker_never_got_is_sent_once_more(trader, connected, monkeypatch):
    zerodha = connected("zerodha")["zerodha"]
    kit.set_faults("zerodha", zerodha.account_id, drop_order_request=True)
    real = kit.order_write

    def drop_once(broker, account_id, write):
        answer = real(broker, account_id, write)
        kit.clear_faults(broker, account_id)  # the gateway recovers after one lost request
        return answer

    monkeypatch.setattr(kit, "order_write", drop_once)

    placed = services.place_order(user=trader, order=buy()).order

    first, second = placed.attempts.order_by("number")
    assert first.status == AttemptState.ABSENT and first.reconcile_reads >= 3
    assert second.status == AttemptState.ACCEPTED and second.tag != first.tag
    book = at_broker(zerodha)
    assert [(o.order_id, o.tag) for o in book] == [(placed.broker_order_id, second.tag)]


def test_a_broker_that_never_gets_it_twice_places_nothing(trader, connected):
    zerodha = connected("zerodha")["zerodha"]
    kit.set_faults("zerodha", zerodha.account_id, drop_order_request=True)

    placed = services.place_order(user=trader, order=buy()).order

    assert placed.status == OrderState.REJECTED
    assert "never received it after 2 attempts" in placed.status_reason
    assert placed.attempts.count() == 2
    assert at_broker(zerodha) == []


def test_a_rejection_reaches_the_trader_in_the_brokers_words_and_is_not_retried(trader, connected):
    zerodha = connected("zerodha")["zerodha"]

    # Far more than the demo account's cash: Kite's RMS refuses it.
    placed = services.place_order(user=trader, order=buy("NSE:TCS", quantity=5000)).order
    services.track_order(order_id=placed.pk)  # what the tracker does next
    placed.refresh_from_db()

    assert placed.status == OrderState.REJECTED, placed.status_reason
    # Kite takes it, then its RMS rejects it: the order book says why, in Kite's words.
    assert placed.broker_message and placed.broker_message in placed.status_reason
    assert "Zerodha" in placed.status_reason
    assert placed.attempts.count() == 1  # a proven rejection is never sent again
    assert len(at_broker(zerodha)) == 1


def test_the_same_idempotency_key_gives_the_same_order_and_another_body_is_refused(
    trader, connected
):
    zerodha = connected("zerodha")["zerodha"]
    first = services.place_order(user=trader, order=buy(), idempotency_key="abc")
    again = services.place_order(user=trader, order=buy(), idempotency_key="abc")

    assert first.created and not again.created
    assert again.order.pk == first.order.pk
    assert len(at_broker(zerodha)) == 1
    with pytest.raises(services.IdempotencyConflict):
        services.place_order(user=trader, order=buy(quantity=2), idempotency_key="abc")
    assert Order.objects.count() == 1


def test_an_unknown_instrument_stores_and_sends_nothing(trader, connected):
    zerodha = connected("zerodha")["zerodha"]
    with pytest.raises(InvalidOrder, match="No broker's instrument master lists NSE:NOSUCH"):
        services.place_order(user=trader, order=buy("NSE:NOSUCH"))
    assert not Order.objects.exists() and not OrderAttempt.objects.exists()
    assert at_broker(zerodha) == []


def test_a_refused_order_is_stored_unless_the_caller_asks_for_nothing_stored(trader, connected):
    zerodha = connected("zerodha")["zerodha"]
    nothing = buy(quantity=0)

    with pytest.raises(services.Refused, match="Quantity must be at least 1."):
        services.place_order(user=trader, order=nothing, idempotency_key="t", keep_refused=False)
    assert not Order.objects.exists() and at_broker(zerodha) == []

    # The key stayed free: the corrected order goes with it.
    placed = services.place_order(user=trader, order=buy(), idempotency_key="t", keep_refused=False)
    assert placed.created and len(at_broker(zerodha)) == 1
    refused = services.place_order(user=trader, order=nothing).order
    assert refused.status == OrderState.RISK_REJECTED
