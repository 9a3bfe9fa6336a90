"""Modify and cancel go the same way as a placement: committed attempt, then the broker; an
unanswered change is settled from the order book and never sent twice."""

from decimal import Decimal

import pytest

from brokers.sandbox import kit
from brokers.types import OrderType, Product, Side
from routing.orders import services
from routing.orders.inputs import OrderInput
from routing.orders.models import AttemptKind, AttemptState, OrderState
from routing.policy import services as policy_services

pytestmark = pytest.mark.django_db(transaction=True)


def resting_buy(trader, broker="upstox"):
    """A limit buy below the market: it waits in the book."""
    order = OrderInput(
        instrument="NSE:INFY",
        side=Side.BUY,
        quantity=3,
        order_type=OrderType.LIMIT,
        product=Product.CNC,
        price=Decimal("1530.00"),
        broker=broker,
    )
    placed = services.place_order(user=trader, order=order).order
    assert placed.status in (OrderState.PLACED, OrderState.OPEN), placed.status_reason
    return placed


def at_broker(connection, order_id):
    return next(
        o for o in kit.orders(connection.broker, connection.account_id) if o.order_id == order_id
    )


def test_a_price_change_and_a_cancel_reach_the_broker(trader, connected):
    upstox = connected("upstox")["upstox"]
    placed = resting_buy(trader)

    services.modify_order(user=trader, order_id=placed.pk, price=Decimal("1528.00"))
    assert Decimal(at_broker(upstox, placed.broker_order_id).price) == Decimal("1528.00")

    services.cancel_order(user=trader, order_id=placed.pk)
    services.track_order(order_id=placed.pk)
    placed.refresh_from_db()
    assert placed.status == OrderState.CANCELLED
    assert at_broker(upstox, placed.broker_order_id).status == "CANCELLED"
    kinds = list(placed.attempts.values_list("kind", "status"))
    assert kinds == [
        (AttemptKind.PLACE, AttemptState.ACCEPTED),
        (AttemptKind.MODIFY, AttemptState.ACCEPTED),
        (AttemptKind.CANCEL, AttemptState.ACCEPTED),
    ]


def test_a_cancel_whose_reply_is_lost_is_settled_from_the_order_book(trader, connected):
    upstox = connected("upstox")["upstox"]
    placed = resting_buy(trader)
    kit.set_faults("upstox", upstox.account_id, lose_order_reply=True)

    attempt = services.cancel_order(user=trader, order_id=placed.pk)

    attempt.refresh_from_db()
    placed.refresh_from_db()
    assert attempt.status == AttemptState.ACCEPTED and attempt.error_type
    assert placed.status == OrderState.CANCELLED
    assert placed.attempts.filter(kind=AttemptKind.CANCEL).count() == 1


def test_a_change_the_broker_never_got_is_reported_and_not_resent(trader, connected):
    upstox = connected("upstox")["upstox"]
    placed = resting_buy(trader)
    kit.set_faults("upstox", upstox.account_id, drop_order_request=True)

    with pytest.raises(services.NotModifiable, match="was not sent again"):
        services.modify_order(user=trader, order_id=placed.pk, price=Decimal("1528.00"))

    assert Decimal(at_broker(upstox, placed.broker_order_id).price) == Decimal("1530.00")
    assert placed.attempts.get(kind=AttemptKind.MODIFY).status == AttemptState.UNKNOWN


def test_a_change_that_breaks_the_rules_is_refused_before_the_broker(trader, connected):
    upstox = connected("upstox")["upstox"]
    placed = resting_buy(trader)

    with pytest.raises(services.NotModifiable) as refused:
        services.modify_order(user=trader, order_id=placed.pk, price=Decimal("1528.03"))

    assert [b.code for b in refused.value.breaches] == ["TICK_SIZE"]
    assert not placed.attempts.filter(kind=AttemptKind.MODIFY).exists()
    assert Decimal(at_broker(upstox, placed.broker_order_id).price) == Decimal("1530.00")


def test_a_filled_order_cannot_be_cancelled(trader, connected, market):
    connected("zerodha")
    order = OrderInput(
        instrument="NSE:INFY",
        side=Side.BUY,
        quantity=1,
        order_type=OrderType.MARKET,
        product=Product.CNC,
    )
    placed = services.place_order(user=trader, order=order).order
    market.shift(1)
    services.track_order(order_id=placed.pk)

    with pytest.raises(services.NotModifiable, match="filled: it cannot be cancelled"):
        services.cancel_order(user=trader, order_id=placed.pk)


def set_policy(trader, change):
    state = policy_services.editing(trader)
    document = state.document
    change(document)
    policy_services.save_profile(user=trader, document=document, version=state.version)


def refused_codes(trader, placed, **change):
    with pytest.raises(services.NotModifiable) as refused:
        services.modify_order(user=trader, order_id=placed.pk, **change)
    return [(b.code, b.scope) for b in refused.value.breaches], refused.value


def test_a_bigger_order_meets_the_value_limit_of_the_broker_it_is_at(trader, connected):
    linked = connected("upstox", "zerodha")
    upstox = linked["upstox"]
    placed = resting_buy(trader)  # 3 at ₹1,530 at Upstox: ₹4,590

    def limits(upstox_most, zerodha_most):
        def change(document):
            document["brokers"]["upstox"]["trading"]["max_order_value"] = upstox_most
            document["brokers"]["zerodha"]["trading"]["max_order_value"] = zerodha_most

        set_policy(trader, change)

    limits("6000", None)
    codes, refused = refused_codes(trader, placed, quantity=4)  # ₹6,120
    assert codes == [("MAX_ORDER_VALUE", "upstox")]
    assert "₹6,120.00" in refused.breaches[0].message and "Upstox" in refused.breaches[0].message
    assert not placed.attempts.filter(kind=AttemptKind.MODIFY).exists()
    assert at_broker(upstox, placed.broker_order_id).quantity == 3

    limits(None, "5000")  # another broker's limit is not this order's
    services.modify_order(user=trader, order_id=placed.pk, quantity=4)
    assert at_broker(upstox, placed.broker_order_id).quantity == 4


def test_a_bigger_order_meets_the_position_limit_of_its_broker(trader, connected):
    upstox = connected("upstox")["upstox"]
    placed = resting_buy(trader)

    def most(document):
        document["brokers"]["upstox"]["risk"]["max_position_quantity"] = 4

    set_policy(trader, most)

    codes, refused = refused_codes(trader, placed, quantity=5)
    assert codes == [("POSITION_QUANTITY", "upstox")]
    assert "would be 5 INFY, over its limit of 4" in refused.breaches[0].message
    assert at_broker(upstox, placed.broker_order_id).quantity == 3
    services.modify_order(user=trader, order_id=placed.pk, quantity=4)
    assert at_broker(upstox, placed.broker_order_id).quantity == 4


def test_a_new_price_meets_the_brokers_tolerance_against_the_last_price_now(trader, connected):
    upstox = connected("upstox")["upstox"]
    placed = resting_buy(trader)

    codes, refused = refused_codes(trader, placed, price=Decimal("1490.00"))
    assert codes == [("PRICE_TOLERANCE", "upstox")]
    assert "allows 1 %" in refused.breaches[0].message
    assert Decimal(at_broker(upstox, placed.broker_order_id).price) == Decimal("1530.00")

    def wider(document):
        document["brokers"]["upstox"]["trading"]["price_tolerance_pct"] = "5"

    set_policy(trader, wider)
    services.modify_order(user=trader, order_id=placed.pk, price=Decimal("1490.00"))
    assert Decimal(at_broker(upstox, placed.broker_order_id).price) == Decimal("1490.00")


def test_every_rule_a_change_breaks_is_listed_and_nothing_is_sent(trader, connected):
    upstox = connected("upstox")["upstox"]
    placed = resting_buy(trader)

    codes, _ = refused_codes(trader, placed, quantity=0, price=Decimal("1528.03"))

    assert {code for code, _ in codes} == {"QUANTITY_NOT_POSITIVE", "TICK_SIZE"}
    assert not placed.attempts.filter(kind=AttemptKind.MODIFY).exists()
    found = at_broker(upstox, placed.broker_order_id)
    assert (found.quantity, Decimal(found.price)) == (3, Decimal("1530.00"))
