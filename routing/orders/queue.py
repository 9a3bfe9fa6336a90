"""The order queue in PostgreSQL: orders that cannot be sent now wait here, first in, first
out per trader, until a broker can take them, the trader cancels them, or their validity ends.

Draining (the beat entry, and a status change to CONNECTED) runs the risk checks and the
routing decision again for each waiting order, as if it were placed now: a broker that can
take it gets it; still no broker, it keeps waiting; a LIMIT price now beyond the broker's
price tolerance waits for the trader's confirmation (``send_queued``); any other rule broken
refuses it, in words.

Exactly once: a worker claims a row by locking it (``SELECT … FOR UPDATE SKIP LOCKED``); in
the same transaction the row becomes SENT and the order's attempt, with its tag, is
committed. Only then does the request leave. A second worker skips the locked row and, once
committed, no longer finds it WAITING. A process that dies before that commit leaves the row
WAITING (nothing sent); one that dies after it leaves an attempt in SENDING, which the
tracker reconciles by its tag like any other (routing.orders.services.track_order).

First in, first out per trader: a row is sent only when no older row of the same trader is
still waiting and no order of theirs sent from the queue is still on its way (SENDING or
UNKNOWN).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from brokers.clock import IST
from brokers.types import OrderType, Product, Side, Validity
from routing.intent import Breach, InstrumentInfo
from routing.orders import notices, services
from routing.orders.context import connections_of, listings
from routing.orders.decisions import breaches_json, decision_json
from routing.orders.inputs import InvalidOrder, OrderInput
from routing.orders.models import (
    QUEUE_OPEN,
    Order,
    OrderState,
    QueuedOrder,
    QueueState,
)
from routing.policy import controls
from routing.policy.effective import effective

logger = logging.getLogger(__name__)

S = OrderState
Q_ = QueueState
CHECK_BACKOFF = (2, 4, 8, 15, 30)  # seconds between drain passes that find no broker for a row
IN_FLIGHT = (S.SENDING, S.UNKNOWN)
CONFIRMABLE = frozenset({"PRICE_TOLERANCE"})


class QueueRefusal(Exception):
    """What the trader asked of a queued order cannot be done (the message says why)."""

    def __init__(self, message: str, breaches: list[Breach] | None = None):
        super().__init__(message)
        self.breaches = breaches or []


@dataclass
class Drained:
    sent: list[str] = field(default_factory=list)  # order ids
    waiting: int = 0
    confirm: int = 0
    refused: int = 0
    expired: int = 0


def input_of(order: Order, broker: str) -> OrderInput:
    return OrderInput(
        instrument=order.isin or f"{order.exchange}:{order.symbol}",
        exchange=order.exchange,
        side=Side(order.side),
        quantity=order.quantity,
        order_type=OrderType(order.order_type),
        product=Product(order.product),
        validity=Validity(order.validity),
        price=order.price,
        trigger_price=order.trigger_price,
        market_protection=order.market_protection,
        broker=broker,
    )


# --- Reading ---------------------------------------------------------------------------------
def queued_orders(*, user) -> list[QueuedOrder]:
    """The trader's orders waiting in the queue (or for their confirmation), first in first."""
    return list(
        QueuedOrder.objects.for_user(user)
        .open()
        .select_related("order")
        .order_by("queued_at", "pk")
    )


def _row_of(user, order_id) -> QueuedOrder:
    """The trader's own queued order (QueuedOrder.DoesNotExist otherwise: 404)."""
    return QueuedOrder.objects.get(order_id=order_id, user=user)


LEFT: dict[str, str] = {
    Q_.SENT: "it was already sent to a broker; cancel it there (the order's cancel)",
    Q_.CANCELLED: "you already cancelled it",
    Q_.EXPIRED: "it expired at the end of its validity",
    Q_.REFUSED: "the risk checks refused it when it was due",
}


def _left_already(row: QueuedOrder) -> QueueRefusal:
    said = LEFT.get(row.state, "it left the queue")
    return QueueRefusal(f"This order is no longer in the queue: {said}.")


def still_queued(*, user, order_id) -> QueuedOrder:
    """The trader's own row, still waiting (QueueRefusal saying where it went otherwise)."""
    row = _row_of(user, order_id)
    if row.state not in QUEUE_OPEN:
        raise _left_already(row)
    return row


# --- Cancel ----------------------------------------------------------------------------------
def cancel_queued(*, user, order_id, why: str = "", actor=None) -> QueuedOrder:
    """Take one of the trader's orders out of the queue; nothing is sent. An order already
    sent is refused with what to do instead. ``actor`` (who asked) and ``why`` go into the
    order's timeline."""
    _row_of(user, order_id)  # 404 before any lock for another trader's id
    with transaction.atomic():
        row = (
            QueuedOrder.objects.select_for_update()
            .select_related("order")
            .get(order_id=order_id, user=user)
        )
        if row.state not in QUEUE_OPEN:
            raise _left_already(row)
        reason = "cancelled by you while it waited in the queue" + _why(why)
        _close(row, Q_.CANCELLED, S.CANCELLED, reason, actor=actor)
    services.announce(row.order)
    return row


def _why(why: str) -> str:
    """The trader's own words, kept with the move."""
    why = " ".join((why or "").split())
    return f". Why: {why}" if why else ""


def _close(row: QueuedOrder, state: str, order_state: str, reason: str, *, actor=None) -> None:
    row.state = state
    row.reason = reason
    row.finished_at = timezone.now()
    row.save(update_fields=["state", "reason", "finished_at"])
    row.order.move(order_state, reason, actor=actor)


# --- Expiry ----------------------------------------------------------------------------------
def expire_queued(*, now: datetime | None = None, user_id=None) -> int:
    """Every open row past its validity: expired, the trader told. Safe to run twice."""
    now = now or timezone.now()
    due = QueuedOrder.objects.open().filter(expires_at__lte=now)
    if user_id is not None:
        due = due.filter(user_id=user_id)
    count = 0
    for pk in due.values_list("pk", flat=True):
        with transaction.atomic():
            row = (
                QueuedOrder.objects.select_for_update(skip_locked=True)
                .select_related("order__user")
                .filter(pk=pk, state__in=QUEUE_OPEN)
                .first()
            )
            if row is None:
                continue
            _close(
                row,
                Q_.EXPIRED,
                S.EXPIRED,
                f"its validity ended at {row.expires_at.astimezone(IST):%H:%M} IST before a "
                "broker could take it; nothing was sent",
            )
            notices.expired(row.order, row)
        services.announce(row.order)
        count += 1
    return count


# --- Draining --------------------------------------------------------------------------------
def drain_queue(*, user_id=None, now: datetime | None = None, limit: int = 200) -> Drained:
    """Send what can be sent now, first in first out per trader; see the module's doc."""
    now = now or timezone.now()
    result = Drained(expired=expire_queued(now=now, user_id=user_id))
    due = QueuedOrder.objects.filter(state=Q_.WAITING, next_check_at__lte=now)
    if user_id is not None:
        due = due.filter(user_id=user_id)
    rows = list(due.order_by("user_id", "queued_at", "pk").values_list("pk", "user_id")[:limit])
    stopped: set = set()
    for pk, owner in rows:
        if owner in stopped:
            continue
        outcome = _drain_one(pk, now=now, result=result)
        if outcome != "sent":
            stopped.add(owner)  # first in, first out: nothing later of theirs goes first
    return result


def wake(*, user_id) -> int:
    """A broker of the trader's came back: their waiting rows are due now."""
    return QueuedOrder.objects.filter(user_id=user_id, state=Q_.WAITING).update(
        next_check_at=timezone.now()
    )


def _drain_one(pk, *, now: datetime, result: Drained) -> str:
    row = QueuedOrder.objects.select_related("order__user").filter(pk=pk).first()
    if row is None or row.state != Q_.WAITING:
        return "gone"
    order = row.order
    try:
        preview = services.preview_order(
            user=order.user, order=input_of(order, row.target_key), now=now
        )
    except InvalidOrder as invalid:  # the instrument left the masters, the broker was removed
        _refuse(row, str(invalid))
        result.refused += 1
        return "refused"
    if preview.accepted:
        return _claim_and_send(row.pk, preview, result=result, fifo=True)
    if preview.queued:
        step = CHECK_BACKOFF[min(row.checks, len(CHECK_BACKOFF) - 1)]
        QueuedOrder.objects.filter(pk=row.pk, state=Q_.WAITING).update(
            checks=row.checks + 1, next_check_at=now + timedelta(seconds=step)
        )
        result.waiting += 1
        return "waiting"
    codes = {b.code for b in preview.breaches}
    words = " ".join(b.message for b in preview.breaches)
    if codes <= CONFIRMABLE:
        with transaction.atomic():
            held = QueuedOrder.objects.select_for_update(skip_locked=True).filter(
                pk=row.pk, state=Q_.WAITING
            )
            if held.update(
                state=Q_.CONFIRM,
                reason=f"the price moved while it waited: {words} Send it yourself to confirm, "
                "or cancel it.",
            ):
                Order.objects.filter(pk=order.pk).update(
                    breaches=breaches_json(preview.breaches),
                    status_reason=f"waiting for your confirmation: {words}",
                )
        result.confirm += 1
        return "confirm"
    _refuse(row, words, breaches=preview.breaches)
    result.refused += 1
    return "refused"


def _refuse(row: QueuedOrder, words: str, *, breaches=()) -> None:
    with transaction.atomic():
        held = (
            QueuedOrder.objects.select_for_update(skip_locked=True)
            .select_related("order")
            .filter(pk=row.pk, state=Q_.WAITING)
            .first()
        )
        if held is None:
            return
        if breaches:
            held.order.breaches = breaches_json(list(breaches))
            held.order.save(update_fields=["breaches", "updated_at"])
        _close(held, Q_.REFUSED, S.RISK_REJECTED, f"refused when it was due: {words}")
    services.announce(held.order)


def _ahead(row: QueuedOrder) -> bool:
    """An older row of the same trader still waits, or one of theirs is still on its way."""
    older = QueuedOrder.objects.filter(user_id=row.user_id, state=Q_.WAITING).filter(
        Q(queued_at__lt=row.queued_at) | Q(queued_at=row.queued_at, pk__lt=row.pk)
    )
    on_its_way = QueuedOrder.objects.filter(
        user_id=row.user_id, state=Q_.SENT, order__status__in=IN_FLIGHT
    ).exclude(pk=row.pk)
    return older.exists() or on_its_way.exists()


def _claim_and_send(
    pk,
    preview,
    *,
    result: Drained,
    fifo: bool,
    states=(Q_.WAITING,),
    by: str = "",
    why: str = "",
    actor=None,
) -> str:
    """Lock the row (skipping it when another worker holds it), commit SENT with the attempt,
    then send it."""
    key = preview.chosen
    connection = preview.connections[key]
    listing = next(r.candidate.listing for r in preview.decision.ranked if r.candidate.key == key)
    with transaction.atomic():
        row = (
            QueuedOrder.objects.select_for_update(skip_locked=True)
            .filter(pk=pk, state__in=states)
            .first()
        )
        if row is None:
            return "taken"
        if fifo and _ahead(row):
            return "behind"
        order = Order.objects.select_for_update().get(pk=row.order_id)
        if order.status != S.QUEUED:
            return "taken"
        waited = (timezone.now() - row.queued_at).total_seconds()
        chosen = next(r for r in preview.decision.ranked if r.candidate.key == key)
        because = "; ".join(chosen.reasons) or "chosen"
        attempt = services.start_attempt(order, key, connection, listing)
        order.connection = connection
        order.decision = decision_json(preview.decision)
        order.last_price = preview.last_price
        order.next_check_at = timezone.now() + services.STUCK_SENDING
        order.save(
            update_fields=["connection", "decision", "last_price", "next_check_at", "updated_at"]
        )
        order.move(
            S.SENDING,
            f"{by or 'from the queue'} after {waited:,.0f} s — risk checks passed again, "
            f"{key}: {because}; attempt {attempt.number}, tag {attempt.tag}{_why(why)}",
            attempt=attempt,
            actor=actor,
        )
        row.state = Q_.SENT
        row.attempt = attempt
        row.finished_at = timezone.now()
        row.reason = f"sent to {key}{' by you' if actor is not None else ''}{_why(why)}"
        row.save(update_fields=["state", "attempt", "reason", "finished_at"])
    services.send_attempt(order, attempt, connection)
    result.sent.append(str(order.pk))
    return "sent"


# --- The trader's own hand -------------------------------------------------------------------
@dataclass(frozen=True)
class Choice:
    """One of the trader's brokers as a place to send a queued order to now, as far as is
    known without the checks (``send_queued`` runs them)."""

    key: str  # the policy key
    label: str
    available: bool
    why: str  # why it cannot take the order now; "" when it may
    note: str = ""  # the same in a word or two, for a list of choices


def choices(*, user, rows: list[QueuedOrder]) -> dict:
    """Each row's order id → every broker of the trader's, the ones that may take it first:
    connected, up, not paused and listing the instrument."""
    brokers = controls.controls(user)
    by_key = {key: c.broker for key, c in connections_of(user, effective(user)).items()}
    found: dict = {}
    for row in rows:
        order = row.order
        listed = listings(
            InstrumentInfo(isin=order.isin, exchange=order.exchange, symbol=order.symbol),
            set(by_key.values()),
        )
        options = []
        for broker in brokers:
            why, note = broker.refusal, "cannot take orders now"
            if why and broker.health_colour != "green":
                note = broker.health_word.lower()  # down, maintenance, log in again...
            if not why and broker.paused:
                why, note = (
                    f"{broker.label} is paused: resume it first, or choose another.",
                    "paused",
                )
            if not why and by_key.get(broker.key) not in listed:
                why = f"{broker.label} does not list {order.exchange}:{order.symbol}."
                note = "does not list it"
            options.append(Choice(broker.key, broker.label, not why, why, note if why else ""))
        found[row.order_id] = sorted(options, key=lambda c: not c.available)
    return found


def check_send(*, user, order_id, broker: str) -> services.Preview:
    """What sending one of the trader's queued orders to ``broker`` now would find: the
    checks passed (the preview, ready to send), or QueueRefusal saying why. Nothing changes."""
    row = still_queued(user=user, order_id=order_id)
    if not broker:
        raise QueueRefusal("Choose the broker to send it to.")
    try:
        preview = services.preview_order(user=user, order=input_of(row.order, broker))
    except InvalidOrder as invalid:
        yours = ", ".join(sorted(effective(user).brokers)) or "none connected"
        raise QueueRefusal(f"{invalid} Yours: {yours}.") from invalid
    breaches = preview.breaches
    if row.state == Q_.CONFIRM:  # the trader saw the moved price and sends it anyway
        breaches = [b for b in breaches if b.code not in CONFIRMABLE]
        if not breaches and preview.chosen is None and preview.decision.ranked:
            preview.chosen = preview.decision.ranked[0].candidate.key
    if preview.chosen is None or breaches:
        # The rules broken in their words; "no broker" is said by why this one was left out.
        why = " ".join(b.message for b in breaches if b.code != "NO_BROKER") or "; ".join(
            e.reason for e in preview.decision.excluded
        )
        why = why.rstrip(".") + "."
        raise QueueRefusal(f"{broker} cannot take this order now: {why}", breaches)
    return preview


def send_queued(*, user, order_id, broker: str, why: str = "", actor=None) -> Order:
    """Send one of the trader's queued orders to ``broker`` (a policy key) now, ahead of the
    queue. The risk checks run for that broker; an order waiting for confirmation because its
    price moved beyond the tolerance is sent at the trader's word. Refused, with why and
    nothing changed: a broker not connected, down, paused or without the instrument; an order
    no longer in the queue. ``actor`` (who asked) and ``why`` go into the order's timeline."""
    preview = check_send(user=user, order_id=order_id, broker=broker)
    row = _row_of(user, order_id)
    outcome = _claim_and_send(
        row.pk,
        preview,
        result=Drained(),
        fifo=False,
        states=QUEUE_OPEN,
        by="sent by you",
        why=why,
        actor=actor,
    )
    if outcome != "sent":
        row.refresh_from_db()
        if row.state not in QUEUE_OPEN:
            raise _left_already(row)
        raise QueueRefusal("This order is being sent from the queue right now.")
    order = row.order
    order.refresh_from_db()
    return order
