"""What the trader is told when an order fails over, waits in the queue, expires there, or when
no broker can take orders: one notice each, through health.notify (the trader's channels and
quiet hours decide), keyed so that a retried task never tells twice."""

from __future__ import annotations

from django.urls import reverse

from brokers.clock import IST
from health import notify
from routing.orders.models import Order, QueuedOrder, QueueState
from routing.policy.schema import Event


def _what(order: Order) -> str:
    return f"{order.side} {order.quantity} {order.exchange}:{order.symbol}"


def _page(order: Order) -> str:
    """The order's own page: its timeline says what happened and why."""
    return reverse("routing:order", args=[order.pk])


def failed_over(order: Order, *, from_key: str, to_key: str, reason: str, attempt_id) -> None:
    notify.send(
        user=order.user,
        event=Event.FAILOVER,
        title=f"Order moved from {from_key} to {to_key}: {_what(order)}",
        body=f"{from_key} could not take your order; it went to {to_key}. Why: {reason}",
        link=_page(order),
        key=f"failover:{order.pk}:{attempt_id}",
        connection=order.connection,
    )


def queued(order: Order, row: QueuedOrder) -> None:
    notify.send(
        user=order.user,
        event=Event.FAILOVER,
        title=f"Order queued: {_what(order)}",
        body=f"No broker can take it now; it is sent when one can, or expires at "
        f"{row.expires_at.astimezone(IST):%H:%M} IST. Why: {row.reason}",
        link=_page(order),
        key=f"queued:{order.pk}",
    )


def expired(order: Order, row: QueuedOrder) -> None:
    notify.send(
        user=order.user,
        event=Event.FAILOVER,
        title=f"Queued order expired: {_what(order)}",
        body="Its validity ended before a broker could take it; nothing was sent.",
        link=_page(order),
        key=f"queue-expired:{order.pk}",
    )


def all_down(order: Order, waiting: int) -> None:
    """Every broker that could take orders is down: trading is paused, orders wait."""
    notify.send(
        user=order.user,
        event=Event.FAILOVER,
        title=f"Trading paused — {waiting} order{'s' if waiting != 1 else ''} queued",
        body="None of your brokers can take orders now. Orders wait in the queue and are sent "
        "when a broker recovers; you can cancel them meanwhile.",
        link=reverse("routing:emergency"),
        key=f"all-down:{order.pk}",
    )


def waiting_count(user) -> int:
    return QueuedOrder.objects.filter(user=user, state=QueueState.WAITING).count()
