"""An order (the trader's intent), its attempts at brokers, and every transition it made.

``Order.status`` follows one explicit graph (``TRANSITIONS``); ``Order.move`` is the only way
to change it and records each move (``OrderEvent``: from, to, when, why). The intent and each
attempt's tag are committed before any HTTP call leaves for a broker (routing.orders.services).
"""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from brokers.clock import IST
from brokers.models import BrokerConnection
from brokers.types import OrderType, Product, Side, Validity

MONEY = {"max_digits": 16, "decimal_places": 4}


class OrderState(models.TextChoices):
    NEW = "NEW", "New"
    RISK_REJECTED = "RISK_REJECTED", "Refused by risk checks"
    ROUTED = "ROUTED", "Routed"
    QUEUED = "QUEUED", "Queued (waiting for a broker)"
    SENDING = "SENDING", "Sending"
    PLACED = "PLACED", "Placed"
    REJECTED = "REJECTED", "Rejected by the broker"
    UNKNOWN = "UNKNOWN", "Outcome unknown (reconciling)"
    OPEN = "OPEN", "Open"
    PARTIALLY_FILLED = "PARTIALLY_FILLED", "Partially filled"
    FILLED = "FILLED", "Filled"
    CANCELLED = "CANCELLED", "Cancelled"
    EXPIRED = "EXPIRED", "Expired"


S = OrderState
AT_BROKER = (S.PLACED, S.OPEN, S.PARTIALLY_FILLED)
TRANSITIONS: dict[str, frozenset[str]] = {
    S.NEW: frozenset({S.RISK_REJECTED, S.ROUTED, S.QUEUED}),
    S.ROUTED: frozenset({S.SENDING, S.RISK_REJECTED}),
    # Waiting in the queue: sent when a broker can take it, refused when the risk checks say
    # so at that time, cancelled by the trader, expired at the end of its validity.
    S.QUEUED: frozenset({S.SENDING, S.RISK_REJECTED, S.CANCELLED, S.EXPIRED}),
    S.SENDING: frozenset({S.PLACED, S.REJECTED, S.UNKNOWN}),
    # Reconciling: found (PLACED), proven rejected, proven absent and sent again (SENDING,
    # at the same broker or another: failover) or queued (QUEUED).
    S.UNKNOWN: frozenset({S.PLACED, S.REJECTED, S.SENDING, S.QUEUED}),
    S.PLACED: frozenset({S.OPEN, S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.REJECTED, S.EXPIRED}),
    S.OPEN: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.REJECTED, S.EXPIRED}),
    S.PARTIALLY_FILLED: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.EXPIRED}),
    S.RISK_REJECTED: frozenset(),
    S.REJECTED: frozenset(),
    S.FILLED: frozenset(),
    S.CANCELLED: frozenset(),
    S.EXPIRED: frozenset(),
}
FINAL = frozenset(s for s, nexts in TRANSITIONS.items() if not nexts)
# Not final yet: counted as open orders by the risk checks, tracked by the poller.
LIVE = frozenset({S.SENDING, S.UNKNOWN, S.PLACED, S.OPEN, S.PARTIALLY_FILLED})


class IllegalTransition(Exception):
    pass


class OrderQuerySet(models.QuerySet):
    def for_user(self, user):
        return self.filter(user=user)

    def live(self):
        return self.filter(status__in=LIVE)

    def matching(self, wanted: dict):
        """The book's filters (API and page alike): ``status``; ``broker``, where it went or
        was routed; ``date``, the IST trading day it was placed."""
        orders = self
        if "status" in wanted:
            orders = orders.filter(status=wanted["status"])
        if "broker" in wanted:
            broker = wanted["broker"]
            orders = orders.filter(
                models.Q(connection__broker=broker) | models.Q(decision__chosen=broker)
            )
        if "date" in wanted:
            start = datetime.combine(wanted["date"], time(), IST)
            orders = orders.filter(created_at__gte=start, created_at__lt=start + timedelta(days=1))
        return orders


class Order(models.Model):
    """What the trader asked for, where it went, and where it stands."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="orders"
    )
    # The instrument as the trader named it (ISIN or EXCHANGE:SYMBOL), and as resolved.
    instrument = models.CharField(max_length=120)
    isin = models.CharField(max_length=12, blank=True)
    exchange = models.CharField(max_length=10)
    symbol = models.CharField(max_length=100)
    side = models.CharField(max_length=4, choices=[(s.value, s.value) for s in Side])
    quantity = models.PositiveIntegerField()
    order_type = models.CharField(max_length=6, choices=[(t.value, t.value) for t in OrderType])
    product = models.CharField(max_length=4, choices=[(p.value, p.value) for p in Product])
    validity = models.CharField(
        max_length=3, choices=[(v.value, v.value) for v in Validity], default=Validity.DAY
    )
    price = models.DecimalField(**MONEY, null=True, blank=True)
    trigger_price = models.DecimalField(**MONEY, null=True, blank=True)
    market_protection = models.SmallIntegerField(default=-1)
    broker_key = models.CharField(max_length=40, blank=True, help_text="Asked for, if any")

    status = models.CharField(max_length=20, choices=OrderState.choices, default=OrderState.NEW)
    status_reason = models.TextField(blank=True)
    # Where it went (the attempt that reached the broker), and what the broker says of it.
    connection = models.ForeignKey(
        BrokerConnection, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    broker_order_id = models.CharField(max_length=64, blank=True)
    broker_status = models.CharField(max_length=40, blank=True)
    broker_message = models.TextField(blank=True)
    filled_quantity = models.PositiveIntegerField(default=0)
    average_price = models.DecimalField(**MONEY, null=True, blank=True)
    last_price = models.DecimalField(**MONEY, null=True, blank=True)

    # The risk breaches ([{code, message, scope}]) and the routing decision, as decided.
    breaches = models.JSONField(default=list, blank=True)
    decision = models.JSONField(default=dict, blank=True)

    # Tracking: when the order book is next read for it, and how many reads so far.
    next_check_at = models.DateTimeField(null=True, blank=True)
    checks = models.PositiveIntegerField(default=0)

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrderQuerySet.as_manager()

    class Meta:
        db_table = "orders"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="orders_user_created"),
            models.Index(fields=["user", "status"], name="orders_user_status"),
            models.Index(fields=["status", "next_check_at"], name="orders_tracking"),
        ]

    def __str__(self) -> str:
        return f"{self.side} {self.quantity} {self.exchange}:{self.symbol} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL

    def move(
        self, to: str, reason: str = "", *, attempt: OrderAttempt | None = None, actor=None
    ) -> OrderEvent:
        """Change status along the graph, saved, with the event recorded. A move to the same
        status is recorded only where the graph allows it (a further partial fill); ``actor``
        is the person whose hand made it (None: the platform did)."""
        before = self.status
        if to not in TRANSITIONS[before]:
            raise IllegalTransition(f"{before} → {to} is not a move an order makes")
        self.status = to
        self.status_reason = reason
        self.save(update_fields=["status", "status_reason", "updated_at"])
        return OrderEvent.objects.create(
            order=self,
            attempt=attempt,
            from_status=before,
            to_status=to,
            reason=reason,
            actor=actor,
        )

    def moves(self, steps: list[tuple[str, str]]) -> list[OrderEvent]:
        """Walk ``steps`` (to, reason) along the graph on this unsaved or saved order — its
        status and reason end at the last — and return their events for the caller to save
        with the order (bulk): several moves in one write."""
        events = []
        for to, reason in steps:
            before = self.status
            if to not in TRANSITIONS[before]:
                raise IllegalTransition(f"{before} → {to} is not a move an order makes")
            self.status, self.status_reason = to, reason
            events.append(OrderEvent(order=self, from_status=before, to_status=to, reason=reason))
        return events


class AttemptKind(models.TextChoices):
    PLACE = "PLACE", "Place"
    MODIFY = "MODIFY", "Modify"
    CANCEL = "CANCEL", "Cancel"


class AttemptState(models.TextChoices):
    SENDING = "SENDING", "Sending"  # committed; the request may be on its way
    ACCEPTED = "ACCEPTED", "Accepted"  # the broker answered with its order id
    REJECTED = "REJECTED", "Rejected"  # the broker refused it, in its own words
    UNKNOWN = "UNKNOWN", "Unknown"  # sent, no answer we can trust: reconcile by tag
    ABSENT = "ABSENT", "Proven absent"  # not in the broker's order book after reconciling


class OrderAttempt(models.Model):
    """One request to one broker for an order: place, modify or cancel. A place attempt's
    ``tag`` is unique to it and travels with the order, so the broker's order book can tell
    whether it arrived."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=6, choices=AttemptKind.choices, default=AttemptKind.PLACE)
    connection = models.ForeignKey(
        BrokerConnection, null=True, on_delete=models.SET_NULL, related_name="order_attempts"
    )
    broker = models.CharField(max_length=20)
    broker_key = models.CharField(max_length=40)  # the policy key ("zerodha", "zerodha-2")
    tag = models.CharField(max_length=20, unique=True)
    # What was asked (broker symbol, quantity, prices; never a secret).
    request = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=10, choices=AttemptState.choices, default=AttemptState.SENDING
    )
    broker_order_id = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)  # the broker's own words, or what went wrong
    error_type = models.CharField(max_length=40, blank=True)
    reconcile_reads = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    elapsed_ms = models.FloatField(null=True, blank=True)

    class Meta:
        db_table = "order_attempts"
        ordering = ["order", "number"]
        constraints = [
            models.UniqueConstraint(fields=["order", "number"], name="uniq_attempt_number"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.number} at {self.broker_key} ({self.status})"


class OrderEvent(models.Model):
    """One transition of an order: the timeline support staff and the trader read."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    attempt = models.ForeignKey(
        OrderAttempt, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    from_status = models.CharField(max_length=20, choices=OrderState.choices)
    to_status = models.CharField(max_length=20, choices=OrderState.choices)
    reason = models.TextField(blank=True)
    # Who made this move by hand (the trader sending or cancelling a queued order); empty
    # when the platform made it. With ``reason`` (which says why), the audit trail.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "order_events"
        ordering = ["order", "at", "pk"]

    def __str__(self) -> str:
        return f"{self.from_status} → {self.to_status}"


class IdempotencyKey(models.Model):
    """A client's Idempotency-Key for one placement: the same key with the same body gives
    the same order; with another body, a 422. Kept ``KEEP`` (24 h), then purged."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="order_keys"
    )
    key = models.CharField(max_length=200)
    fingerprint = models.CharField(max_length=64)  # sha256 of the canonical request body
    order = models.ForeignKey(Order, null=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "order_idempotency_keys"
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="uniq_idempotency_key"),
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"


class QueueState(models.TextChoices):
    WAITING = "WAITING", "Waiting for a broker"
    CONFIRM = "CONFIRM", "Waiting for your confirmation (the price moved)"
    SENT = "SENT", "Sent"
    CANCELLED = "CANCELLED", "Cancelled by you"
    EXPIRED = "EXPIRED", "Expired"
    REFUSED = "REFUSED", "Refused by the risk checks when it was due"


QUEUE_OPEN = (QueueState.WAITING, QueueState.CONFIRM)


class QueuedOrderQuerySet(models.QuerySet):
    def for_user(self, user):
        return self.filter(user=user)

    def open(self):
        return self.filter(state__in=QUEUE_OPEN)


class QueuedOrder(models.Model):
    """An order that cannot be sent now, kept until a broker can take it (first in, first out
    per trader), the trader cancels it, or its validity ends. The row is the claim: a worker
    that sends it locks it (``SKIP LOCKED``), moves it to SENT and commits the attempt in the
    same transaction, so no two workers ever send it and a crash loses nothing."""

    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="queued")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="queued_orders"
    )
    # The broker it waits for (a policy key), or "" for whichever routing picks then.
    target_key = models.CharField(max_length=40, blank=True)
    state = models.CharField(max_length=10, choices=QueueState.choices, default=QueueState.WAITING)
    reason = models.TextField(blank=True)  # why it was queued, then why it left the queue
    queued_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    # Drain passes that found no broker for it (for the timeline, and to space the checks).
    checks = models.PositiveIntegerField(default=0)
    next_check_at = models.DateTimeField(default=timezone.now)
    attempt = models.ForeignKey(
        OrderAttempt, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = QueuedOrderQuerySet.as_manager()

    class Meta:
        db_table = "order_queue"
        ordering = ["queued_at", "pk"]
        indexes = [
            models.Index(fields=["state", "next_check_at"], name="order_queue_due"),
            models.Index(fields=["user", "state", "queued_at"], name="order_queue_user"),
        ]

    def __str__(self) -> str:
        return f"queued {self.order_id} ({self.state})"
