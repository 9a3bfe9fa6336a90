"""Bad days: the kill switch's "cancel open orders", and whether trading is paused because no
broker can take an order.

The kill switch's "cancel open orders": every live order of the trader, at every broker,
cancelled through the order path's own ``cancel_order`` (its UNKNOWN handled as that path does:
settled from the broker's order book, never sent twice); queued orders (never sent) leave the
queue. ``cancel_open_orders`` runs once an arming committed (routing.tasks, from the
``kill_switch_armed`` signal of whichever process armed it: the page, the API, support's admin
action or an automatic trip). Exactly once per arming: each order's row
(``KillSwitchCancel``, unique per arming and order) is created before its cancel is sent, so a
second run — a redelivered task, two workers — skips what the first claimed. A row a dead
process left SENDING is settled from the order's state, never by sending the cancel again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from brokers.models import Broker, BrokerConnection, ConnectionStatus
from routing.models import KillSwitchCancel, KillSwitchEvent
from routing.orders import queue, services
from routing.orders.models import AT_BROKER, LIVE, AttemptKind, AttemptState, Order, OrderState

logger = logging.getLogger(__name__)

Outcome = KillSwitchCancel.Outcome
S = OrderState
# A row left SENDING this long was claimed by a process that died mid-cancel.
ABANDONED_SECONDS = 60


def cancel_open_orders(*, event_id: int) -> list[KillSwitchCancel]:
    """Cancel every live order of the trader whose arming ``event_id`` asked for it; the rows
    this arming holds, one per order, each with its outcome."""
    event = (
        KillSwitchEvent.objects.select_related("policy")
        .filter(pk=event_id, action=KillSwitchEvent.Action.ARM, cancel_open_orders=True)
        .first()
    )
    if event is None:
        return []
    user = event.policy.user
    live = Order.objects.filter(user=user, status__in={*LIVE, S.QUEUED}).order_by("created_at")
    for order in live:
        row = _claim(event, order)
        if row is None:
            continue
        if order.status == S.QUEUED:
            _take_out_of_queue(row, order, user)
        else:
            _cancel(row, order, user)
    _settle_abandoned(event)
    if not event.cancels.filter(outcome=Outcome.SENDING).exists():
        KillSwitchEvent.objects.filter(pk=event.pk, cancels_finished_at=None).update(
            cancels_finished_at=timezone.now()
        )
    return list(event.cancels.select_related("order"))


def _claim(event: KillSwitchEvent, order: Order) -> KillSwitchCancel | None:
    try:
        with transaction.atomic():
            return KillSwitchCancel.objects.create(
                event=event, order=order, broker_key=_broker_key(order)
            )
    except IntegrityError:  # another run of this arming has it
        return None


def _broker_key(order: Order) -> str:
    return (
        order.attempts.filter(kind=AttemptKind.PLACE)
        .exclude(status=AttemptState.ABSENT)
        .values_list("broker_key", flat=True)
        .last()
        or order.broker_key
    )


def _cancel(row: KillSwitchCancel, order: Order, user) -> None:
    if order.status in (S.SENDING, S.UNKNOWN):
        # Its placement's fate is unknown: settled from the broker's book (by tag) first.
        services.track_order(order_id=order.pk)
        order.refresh_from_db()
    if order.status in (S.SENDING, S.UNKNOWN):
        _finish(
            row,
            Outcome.FAILED,
            "Its placement is still being reconciled with the broker's order book, so there "
            "is nothing known to cancel yet. Check it in a moment and cancel it by hand if it "
            "was placed.",
        )
        return
    if order.status not in AT_BROKER:
        _finish(row, Outcome.CLOSED, f"Already {order.get_status_display().lower()}.")
        return
    try:
        services.cancel_order(user=user, order_id=order.pk)
    except services.NotModifiable as refused:
        order.refresh_from_db()
        if order.is_final:
            _finish(row, Outcome.CLOSED, f"Already {order.get_status_display().lower()}.")
        else:
            _finish(row, Outcome.FAILED, str(refused))
        return
    except Exception as error:  # a bug must not stop the other orders' cancels
        logger.exception("cancelling order %s for the kill switch", order.pk)
        _finish(row, Outcome.FAILED, f"Not cancelled: {type(error).__name__}.")
        return
    services.track_order(order_id=order.pk)  # the broker's word on it, for the page
    order.refresh_from_db()
    said = (
        ""
        if order.status == S.CANCELLED
        else f"; the order is {order.get_status_display().lower()} so far"
    )
    _finish(row, Outcome.CANCELLED, f"The broker accepted the cancel{said}.")


def _take_out_of_queue(row: KillSwitchCancel, order: Order, user) -> None:
    """A queued order never reached a broker: it leaves the queue, nothing is sent."""
    try:
        queue.cancel_queued(user=user, order_id=order.pk)
    except queue.QueueRefusal as refused:  # it left the queue meanwhile (sent, expired)
        order.refresh_from_db()
        if order.is_final:
            _finish(row, Outcome.CLOSED, f"Already {order.get_status_display().lower()}.")
        else:
            _finish(row, Outcome.FAILED, str(refused))
        return
    _finish(row, Outcome.CANCELLED, "Taken out of the queue; it was never sent.")


def _finish(row: KillSwitchCancel, outcome: str, reason: str) -> None:
    row.outcome, row.reason, row.finished_at = outcome, reason, timezone.now()
    row.save(update_fields=["outcome", "reason", "finished_at"])


def _settle_abandoned(event: KillSwitchEvent) -> None:
    """Rows a process claimed and then died on: what the order's state says now."""
    cutoff = timezone.now() - timedelta(seconds=ABANDONED_SECONDS)
    for row in event.cancels.filter(outcome=Outcome.SENDING, created_at__lt=cutoff):
        order = Order.objects.get(pk=row.order_id)
        if order.status == S.CANCELLED:
            _finish(row, Outcome.CANCELLED, "Cancelled (confirmed from the order's state).")
        elif order.is_final:
            _finish(row, Outcome.CLOSED, f"Already {order.get_status_display().lower()}.")
        else:
            _finish(
                row,
                Outcome.FAILED,
                "The process sending this cancel stopped before its answer was recorded; it "
                f"was not sent again. The order is {order.get_status_display().lower()}: "
                "cancel it by hand if it is still open.",
            )


# --- Every broker down ---------------------------------------------------------------------------
# The state the durable queue gives an order that waits for a broker; counted once it exists.
QUEUED = "QUEUED"


@dataclass(frozen=True)
class TradingPaused:
    """No connected broker can take an order now (each is down, refused the session, in
    maintenance, rate limited or reconnecting)."""

    brokers: tuple[tuple[str, str], ...]  # (label, its status in words), each connection
    queued: int  # the trader's orders waiting in the queue


def trading_paused(user) -> TradingPaused | None:
    """Whether every active connection of ``user`` is unusable for orders (the order path
    routes only to CONNECTED ones); None while one can take an order, or with none at all."""
    rows = list(
        BrokerConnection.objects.for_user(user)
        .active()
        .order_by("broker", "account_id")
        .values_list("broker", "account_id", "status")
    )
    if not rows or any(status == ConnectionStatus.CONNECTED for _, _, status in rows):
        return None
    queued = (
        Order.objects.filter(user=user, status=QUEUED).count() if QUEUED in OrderState.values else 0
    )
    return TradingPaused(
        brokers=tuple(
            (f"{Broker(broker).label} {account}", ConnectionStatus(status).label)
            for broker, account, status in rows
        ),
        queued=queued,
    )
