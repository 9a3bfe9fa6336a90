"""Support staff see orders, attempts and the timeline, and nothing there can send one."""

import pytest
from django.urls import reverse

from routing.orders.models import Order, OrderAttempt, OrderState
from tests.factories import BrokerConnectionFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def support(client):
    client.force_login(UserFactory(username="support", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def order(trader):
    connection = BrokerConnectionFactory(user=trader)
    placed = Order.objects.create(
        user=trader,
        instrument="NSE:INFY",
        exchange="NSE",
        symbol="INFY",
        side="BUY",
        quantity=3,
        order_type="MARKET",
        product="CNC",
        connection=connection,
    )
    placed.move(OrderState.ROUTED, "zerodha: chosen: lowest cost")
    attempt = OrderAttempt.objects.create(
        order=placed,
        number=1,
        connection=connection,
        broker="zerodha",
        broker_key="zerodha",
        tag="TAG0TAG0TAG0TAG0",
    )
    placed.move(OrderState.SENDING, "attempt 1", attempt=attempt)
    placed.move(OrderState.UNKNOWN, "no answer we can trust", attempt=attempt)
    return placed


def test_support_sees_the_order_its_attempts_and_timeline(support, order):
    listing = support.get(reverse("admin:routing_order_changelist"))
    assert listing.status_code == 200 and b"INFY" in listing.content
    assert b'name="action"' not in listing.content  # no bulk action at all

    page = support.get(reverse("admin:routing_order_change", args=[order.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "TAG0TAG0TAG0TAG0" in text
    assert "no answer we can trust" in text and "lowest cost" in text
    assert 'name="_save"' not in text
    assert order.connection.access_token not in text


def test_support_cannot_add_change_or_delete_an_order(support, order):
    assert support.get(reverse("admin:routing_order_add")).status_code == 403
    support.post(reverse("admin:routing_order_change", args=[order.pk]), {"quantity": 99})
    order.refresh_from_db()
    assert order.quantity == 3 and order.status == OrderState.UNKNOWN
    assert support.get(reverse("admin:routing_order_delete", args=[order.pk])).status_code == 403


def test_the_state_machine_refuses_moves_an_order_never_makes(order):
    from routing.orders.models import IllegalTransition

    with pytest.raises(IllegalTransition):
        order.move(OrderState.FILLED, "skipping PLACED")
    order.move(OrderState.PLACED, "found by tag")
    order.move(OrderState.FILLED, "filled")
    with pytest.raises(IllegalTransition):
        order.move(OrderState.CANCELLED, "too late")
    assert list(order.events.values_list("to_status", flat=True)) == [
        "ROUTED",
        "SENDING",
        "UNKNOWN",
        "PLACED",
        "FILLED",
    ]
