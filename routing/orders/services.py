"""The order use cases: preview, place, modify, cancel, reconcile and track.

Placement exactly once:

1. The request is checked (``inputs``), the instrument found in the masters, the risk rules
   (``routing.risk.check``) and the routing decision (``routing.route.decide``) made from what
   is stored (``context``), and the chosen broker's own rules checked (then each fallback's,
   in order, until one passes).
2. The order, its decision and its first attempt — with a tag unique to that attempt, which
   every broker accepts (16 upper-case letters and digits) — are committed to the database.
3. Only then is the request sent. An answer with the broker's order id: PLACED. A refusal in
   the broker's words (OrderRejected, InvalidRequest, AuthError): REJECTED, never sent again.
   A refusal that proves the request was not taken — our own rate limiter held it back, or
   the broker answered with the rate-limit refusal its docs describe
   (``Capabilities.throttle_refuses_orders``) — is sent again, the same attempt under the
   same tag, after the wait it names (``THROTTLE_WAIT``, ``THROTTLE_BUDGET``); past that
   budget nothing was placed and the order is REJECTED in those words.
   Anything else — a timeout, a reset, a 5xx, a 429 from a broker whose docs do not say it
   refuses, any exception: UNKNOWN, never "failed".
4. UNKNOWN is reconciled by reading that broker's order book for the tag (``RECONCILE_WAITS``,
   bounded) before anything else happens: found → PLACED with the broker's order id; absent
   from every read → that attempt is proven absent and one new attempt (a new tag) is sent;
   the book unreadable → the order stays UNKNOWN and the tracker keeps reconciling it.

A process that dies between the commit and the send leaves an attempt in SENDING: the tracker
reconciles it by its tag like any UNKNOWN one (``STUCK_SENDING``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from types import MappingProxyType

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from brokers import http
from brokers.adapters import registry
from brokers.clock import IST
from brokers.errors import (
    AuthError,
    BrokerError,
    BrokerUnavailable,
    InvalidRequest,
    OrderRejected,
    OrderStateUnknown,
    RateLimited,
)
from brokers.models import Broker, BrokerConnection
from brokers.push import push_to_user
from brokers.types import Order as BrokerOrder
from brokers.types import (
    OrderModification,
    OrderRequest,
    OrderStatus,
    OrderType,
    Product,
    Side,
    Validity,
)
from health import breaker, metrics
from health.breaker import CircuitOpen
from health.models import ConnectionHealth
from portfolio.tasks import sync_portfolio_task
from routing import risk, route
from routing.intent import Book, Breach, Decision, InstrumentInfo, Intent, Listing
from routing.orders import context, failover, messages, notices
from routing.orders.decisions import breaches_json, decision_json
from routing.orders.inputs import InvalidOrder, OrderInput, find_instrument, intent_of
from routing.orders.models import (
    LIVE,
    AttemptKind,
    AttemptState,
    IdempotencyKey,
    IllegalTransition,
    Order,
    OrderAttempt,
    OrderEvent,
    OrderState,
    QueuedOrder,
    QueueState,
)
from routing.policy import calendar, trips
from routing.policy.effective import EffectivePolicy, effective

logger = logging.getLogger(__name__)

TAG_ALPHABET = string.ascii_uppercase + string.digits
TAG_LENGTH = 16  # within every broker's rule (Angel One < 20; the strictest others 8-20 alnum)
MAX_PLACE_ATTEMPTS = 2  # the first and, only after it was proven absent, one more
# Seconds before each read of the order book when an outcome is unknown: absent from all
# of them (about 2 s) proves the broker never took it.
RECONCILE_WAITS = (0.0, 0.4, 0.6, 1.0)
IDEMPOTENCY_KEEP = timedelta(hours=24)
STUCK_SENDING = timedelta(seconds=30)  # an attempt SENDING this long: the process died
TRACK_BACKOFF = (1, 2, 4, 8, 15, 30)  # seconds between order-book reads while it is open
MAX_KEY_LENGTH = 200
# A write refused for the rate (never taken) is sent again after the wait the refusal names,
# at most THROTTLE_WAIT seconds each time and THROTTLE_BUDGET in all: an order request holds
# a trader's page, and a broker that asks for longer is answered "try again later".
THROTTLE_WAIT = 2.0
THROTTLE_BUDGET = 6.0  # a burst of 50 orders on one account fits Kite's 10/s (8/s with headroom)
LOCAL = "local"  # RateLimited.code of a call our own limiter held back

S = OrderState


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used with another body (422)."""


class Throttled(Exception):
    """A write refused for the rate every time it was sent, past the wait budget: it was
    never taken."""

    def __init__(self, error: BrokerError, *, sends: int, waited: float):
        super().__init__(str(error))
        self.error, self.sends, self.waited = error, sends, waited


class Refused(Exception):
    """The order would not go (risk rules, no broker); raised instead of storing it as
    RISK_REJECTED when the caller asked for that (the ticket: nothing stored)."""

    def __init__(self, preview: Preview):
        super().__init__(" ".join(b.message for b in preview.breaches))
        self.preview = preview


class NotModifiable(Exception):
    """The order cannot be changed or cancelled now (its state, or the risk checks)."""

    def __init__(self, message: str, breaches: list[Breach] | None = None):
        super().__init__(message)
        self.breaches = breaches or []


# --- Preview: risk + routing, nothing stored, nothing sent ----------------------------------
@dataclass
class Preview:
    instrument: InstrumentInfo
    intent: Intent
    last_price: Decimal | None
    breaches: list[Breach]
    decision: Decision
    chosen: str | None  # the policy key the order would go to (None: it would be refused)
    connections: dict[str, BrokerConnection] = field(default_factory=dict)
    book: Book | None = None
    # No broker can take it now only because every fit one is down or paused: the order
    # waits in the queue for ``waits_for`` (a policy key, or "" for any) instead of being
    # refused. None: it is sent now, or refused.
    waits_for: str | None = None

    @property
    def accepted(self) -> bool:
        return self.chosen is not None and not self.breaches

    @property
    def queued(self) -> bool:
        return self.waits_for is not None


def preview_order(*, user, order: OrderInput, now: datetime | None = None) -> Preview:
    """What would happen to ``order`` now: every rule broken, every broker ranked or excluded
    with the reasons and estimated charges, the broker it would go to. Sends nothing."""
    now = now or timezone.now()
    instrument = find_instrument(order.instrument, exchange=order.exchange, user=user)
    intent = intent_of(order, instrument)
    policy = effective(user)
    connections = context.connections_of(user, policy)
    if order.broker:
        if order.broker not in connections:
            raise InvalidOrder([("broker", f"{order.broker} is not one of your brokers.")])
        connections = {order.broker: connections[order.broker]}
    book, held = context.book(user, instrument, connections)
    candidates = context.candidates(instrument, connections, held)
    last = context.last_price(user, instrument, candidates, connections)
    if policy.policy.routing.strategy.value == route.BEST_PRICE:
        candidates = [
            replace(c, quote=context.quote(connections[c.key], c.listing))
            if c.listing is not None and c.status_ok and not c.breaker_open
            else c
            for c in candidates
        ]
    breaches = risk.check(intent, policy=policy, book=book, last_price=last, now=now)
    decision = route.decide(
        intent, candidates, policy=policy, now=now, last_price=last, book=book, seed=_seed(order)
    )
    decision = failover.apply_recovery(decision, held_back(policy, connections, now=now))
    chosen = None
    broker_breaches: list[Breach] = []
    for ranked in decision.ranked:
        found = risk.check(
            intent,
            policy=policy,
            book=book,
            last_price=last,
            now=now,
            broker_key=ranked.candidate.key,
        )
        # Global rules were checked above; keep only this broker's own.
        own = [b for b in found if b.scope != risk.GLOBAL]
        if not own:
            chosen = ranked.candidate.key
            break
        if not broker_breaches:
            broker_breaches = own
    waits_for = None
    if not breaches and chosen is None and not decision.ranked:
        waits_for = _waits_for(intent, candidates, policy, now=now, asked=order.broker)
    if not breaches and chosen is None and waits_for is None:
        breaches = broker_breaches or [
            Breach("NO_BROKER", "No connected broker can take this order now. " + _why(decision))
        ]
    return Preview(
        instrument, intent, last, breaches, decision, chosen, connections, book, waits_for
    )


def held_back(
    policy: EffectivePolicy, connections: dict[str, BrokerConnection], *, now: datetime
) -> dict[str, str]:
    """The brokers that recovered too recently for new orders to go to them first (the
    policy's ``failover.recovery``), each with why."""
    recovery = policy.policy.failover.recovery
    by_connection = {str(c.pk): key for key, c in connections.items()}
    recovered = {
        by_connection[str(cid)]: closed
        for cid, closed in ConnectionHealth.objects.filter(
            connection_id__in=list(by_connection),
            incident_open=False,
            incident_closed_at__gte=now - timedelta(days=1),
        ).values_list("connection_id", "incident_closed_at")
    }
    return failover.held_back(
        recovered,
        healthy_minutes=recovery.healthy_minutes,
        return_to_primary=recovery.return_to_primary,
        now=now,
    )


def _waits_for(intent, candidates, policy: EffectivePolicy, *, now, asked: str) -> str | None:
    """ "" (any) or the broker asked for, when some candidate would take the order if it were
    up and not paused — the order waits for it; None when none would (it is refused)."""
    unpaused = replace(
        policy,
        brokers=MappingProxyType({k: replace(b, paused=False) for k, b in policy.brokers.items()}),
    )
    revived = [replace(c, breaker_open=False, status_ok=True) for c in candidates]
    decision = route.decide(intent, revived, policy=unpaused, now=now)
    if not decision.ranked:
        return None
    return asked or ""


def _why(decision: Decision) -> str:
    return "; ".join(f"{e.candidate.key}: {e.reason}" for e in decision.excluded)


def _seed(order: OrderInput) -> str:
    return hashlib.sha256(json.dumps(order.canonical(), sort_keys=True).encode()).hexdigest()[:16]


# --- Placement -------------------------------------------------------------------------------
@dataclass
class Placement:
    order: Order
    created: bool  # False: the Idempotency-Key named an order placed before


def fingerprint(order: OrderInput) -> str:
    return hashlib.sha256(json.dumps(order.canonical(), sort_keys=True).encode()).hexdigest()


def _replayed(user, key: str, print_: str, now: datetime) -> Order | None:
    """The order an earlier request with this key made; None when the key is new (or older
    than a day, when it is forgotten); IdempotencyConflict when it came with another body."""
    row = IdempotencyKey.objects.filter(user=user, key=key).select_related("order").first()
    if row is None:
        return None
    if row.created_at < now - IDEMPOTENCY_KEEP:
        row.delete()
        return None
    if row.fingerprint != print_:
        raise IdempotencyConflict(
            "This Idempotency-Key was already used for a different order. Use a new key for a "
            "new order."
        )
    return row.order


def place_order(
    *,
    user,
    order: OrderInput,
    idempotency_key: str = "",
    now: datetime | None = None,
    keep_refused: bool = True,
) -> Placement:
    """Check, route, commit, then send ``order`` — exactly once (see the module's doc).

    With ``idempotency_key``, the same key and body give back the order made the first time
    (nothing sent again); the same key with another body raises IdempotencyConflict.
    Raises InvalidOrder for a request that cannot be an order (nothing stored). An order the
    risk rules refuse is stored as RISK_REJECTED, or, with ``keep_refused=False``, raises
    Refused with nothing stored (the key stays free)."""
    now = now or timezone.now()
    key = (idempotency_key or "")[:MAX_KEY_LENGTH]
    print_ = fingerprint(order)
    if key:
        earlier = _replayed(user, key, print_, now)
        if earlier is not None:
            return Placement(earlier, created=False)

    preview = preview_order(user=user, order=order, now=now)
    if not keep_refused and not preview.accepted:
        raise Refused(preview)
    try:
        # One transaction, committed before anything is sent: the order, its events, its
        # first attempt with its tag, and the key (whose unique index meets a second request
        # with the same key: that one rolls back whole and gets this order).
        with transaction.atomic():
            stored, attempt = _store(user, order, preview)
            if key:
                IdempotencyKey.objects.create(user=user, key=key, fingerprint=print_, order=stored)
    except IntegrityError:
        # The same key committed by a concurrent request (a double click): its order.
        earlier = _replayed(user, key, print_, now) if key else None
        if earlier is None:
            raise
        return Placement(earlier, created=False)

    if stored.status == S.QUEUED:
        _announce(stored)
        return Placement(stored, created=True)
    if attempt is None:  # refused by the risk rules
        _trip_on_daily_loss(user, preview)
        _announce(stored)
        return Placement(stored, created=True)
    _send_place(stored, attempt, preview.connections[attempt.broker_key])
    stored.refresh_from_db()
    return Placement(stored, created=True)


def _store(user, order: OrderInput, preview: Preview) -> tuple[Order, OrderAttempt | None]:
    """The intent, its decision and (when it may go) its first attempt, in the caller's
    transaction. An order that may go is written as it stands once routed — SENDING, its
    connection set — with both moves recorded: three statements, not ten, for the same
    rows (Order.moves checks each move against the graph)."""
    instrument = preview.instrument
    stored = Order(
        user=user,
        instrument=order.instrument.strip().upper(),
        isin=instrument.isin,
        exchange=instrument.exchange,
        symbol=instrument.symbol,
        side=order.side,
        quantity=order.quantity if order.quantity > 0 else 0,
        order_type=order.order_type,
        product=order.product,
        validity=order.validity,
        price=order.price,
        trigger_price=order.trigger_price,
        market_protection=order.market_protection,
        broker_key=order.broker,
        last_price=preview.last_price,
        breaches=breaches_json(preview.breaches),
        decision=decision_json(preview.decision),
        next_check_at=timezone.now() + STUCK_SENDING,
    )
    if preview.queued:
        stored.save(force_insert=True)
        target = preview.waits_for or ""
        down = "; ".join(f"{e.candidate.key}: {e.reason}" for e in preview.decision.excluded)
        waits = f"until {target} can take it" if target else "until a broker can take it"
        enqueue(stored, target=target, reason=f"no broker can take it now ({down}): queued {waits}")
        return stored, None
    if not preview.accepted:
        stored.save(force_insert=True)
        reason = " ".join(b.message for b in preview.breaches)
        stored.move(S.RISK_REJECTED, reason)
        return stored, None
    chosen = preview.chosen
    assert chosen is not None  # accepted
    connection = preview.connections[chosen]
    listing = next(c for c in preview.decision.ranked if c.candidate.key == chosen)
    tag = new_tag()
    events = stored.moves(
        [
            (S.ROUTED, f"{chosen}: {_chosen_reason(preview)}"),
            (S.SENDING, f"attempt 1 to {chosen}, tag {tag}"),
        ]
    )
    stored.connection = connection
    stored.save(force_insert=True)
    attempt = _new_attempt(stored, chosen, connection, listing.candidate.listing, number=1, tag=tag)
    events[-1].attempt = attempt
    OrderEvent.objects.bulk_create(events)
    return stored, attempt


def _chosen_reason(preview: Preview) -> str:
    ranked = next(r for r in preview.decision.ranked if r.candidate.key == preview.chosen)
    return "; ".join(ranked.reasons) or "chosen"


# --- The queue: orders that cannot be sent now (drained by routing.orders.queue) -------------
def expiry_of(order: Order, now: datetime) -> datetime:
    """When a queued order stops being worth sending: the end of its exchange's session
    today (a DAY or IOC order lives no longer than the day it was given on)."""
    local = now.astimezone(IST)
    _, closes = calendar.SESSIONS.get(order.exchange, calendar.SESSIONS["NSE"])
    end = datetime.combine(local.date(), closes, IST)
    if end <= local:  # given after the close (the risk checks refuse that): a minute's grace
        end = local + timedelta(minutes=1)
    return end


def enqueue(order: Order, *, target: str, reason: str, attempt=None) -> QueuedOrder:
    """Put ``order`` in the trader's queue (in the caller's transaction) and tell them; the
    first order of an empty queue whose every broker is down also says trading is paused."""
    now = timezone.now()
    with transaction.atomic():
        others = notices.waiting_count(order.user)
        row = QueuedOrder.objects.select_for_update().filter(order=order).first()
        if row is None:
            row = QueuedOrder.objects.create(
                order=order,
                user=order.user,
                target_key=target,
                reason=reason,
                queued_at=now,
                expires_at=expiry_of(order, now),
            )
        else:  # back in the queue after a failed send: it keeps its place (first in, first out)
            row.state, row.target_key, row.reason = QueueState.WAITING, target, reason
            row.next_check_at, row.finished_at = now, None
            row.save()
        order.next_check_at = None
        order.save(update_fields=["next_check_at", "updated_at"])
        order.move(S.QUEUED, reason, attempt=attempt)
        notices.queued(order, row)
        if not target and others == 0:
            notices.all_down(order, 1)
    _announce(order)
    return row


def new_tag() -> str:
    return "".join(secrets.choice(TAG_ALPHABET) for _ in range(TAG_LENGTH))


def _new_attempt(
    order: Order,
    key: str,
    connection: BrokerConnection,
    listing,
    intent: Intent | None = None,
    *,
    number: int | None = None,
    tag: str = "",
) -> OrderAttempt:
    """A new place attempt with its own tag; ``intent``: the similar order a backup gets
    (its order type, product and prices), else the order as the trader gave it. ``number``
    and ``tag`` when the caller knows them already (the first attempt: 1, and the tag its
    SENDING event names)."""
    if number is None:
        number = (order.attempts.aggregate(n=Max("number"))["n"] or 0) + 1
    if intent is not None:
        order_type, product = intent.order_type.value, intent.product.value
        price, trigger, protection = intent.price, intent.trigger_price, intent.market_protection
    else:
        order_type, product = order.order_type, order.product
        price, trigger, protection = order.price, order.trigger_price, order.market_protection
    request = {
        "exchange": listing.exchange,
        "symbol": listing.symbol,
        "instrumentId": listing.instrument_id,
        "side": order.side,
        "quantity": order.quantity,
        "orderType": order_type,
        "product": product,
        "validity": order.validity,
        "price": str(price) if price is not None else None,
        "triggerPrice": str(trigger) if trigger is not None else None,
        "marketProtection": protection,
    }
    return OrderAttempt.objects.create(
        order=order,
        number=number,
        kind=AttemptKind.PLACE,
        connection=connection,
        broker=connection.broker,
        broker_key=key,
        tag=tag or new_tag(),
        request=request,
    )


def _order_request(attempt: OrderAttempt) -> OrderRequest:
    r = attempt.request
    return OrderRequest(
        exchange=r["exchange"],
        symbol=r["symbol"],
        side=Side(r["side"]),
        quantity=int(r["quantity"]),
        order_type=OrderType(r["orderType"]),
        product=Product(r["product"]),
        price=Decimal(r["price"]) if r.get("price") is not None else None,
        trigger_price=Decimal(r["triggerPrice"]) if r.get("triggerPrice") is not None else None,
        validity=Validity(r.get("validity") or Validity.DAY),
        tag=attempt.tag,
        instrument_id=r.get("instrumentId") or "",
        market_protection=int(r.get("marketProtection", -1)),
    )


def _label(broker: str) -> str:
    return Broker(broker).label if broker in Broker.values else broker


def start_attempt(
    order: Order, key: str, connection: BrokerConnection, listing, intent: Intent | None = None
) -> OrderAttempt:
    """A new place attempt, to be committed before it is sent (``send_attempt``)."""
    return _new_attempt(order, key, connection, listing, intent)


def send_attempt(order: Order, attempt: OrderAttempt, connection: BrokerConnection) -> None:
    """Send a committed place attempt, exactly once (reconciled, failed over as the rules say)."""
    _send_place(order, attempt, connection)


def _send_place(order: Order, attempt: OrderAttempt, connection: BrokerConnection) -> None:
    """Send one committed place attempt and settle what its answer proves."""
    adapter = registry.adapter_for(connection)
    request = _order_request(attempt)
    started = time.perf_counter()
    # Saved with the outcome (every outcome saves the attempt whole): a write of its own here
    # would be one more round trip between the commit and the send.
    attempt.sent_at = timezone.now()
    try:
        ack = send_unthrottled(lambda: adapter.place_order(request), broker=attempt.broker)
    except Throttled as refused:
        _throttled_out(order, attempt, refused, started)
        return
    except BrokerUnavailable as error:
        # Refused by our breaker, or the connection failed before any byte left (the door
        # names only that case FAILED_CONNECT): provably never sent, nothing to reconcile.
        # Anything else unavailable after sending is handled below as unknown.
        if not (isinstance(error, CircuitOpen) or error.code == http.FAILED_CONNECT):
            _unknown(order, attempt, adapter, error, started)
            return
        _finish(attempt, AttemptState.ABSENT, error=str(error), started=started, kind=error)
        order.move(S.UNKNOWN, f"not sent: {error.message}", attempt=attempt)
        _after_absent(order, attempt)
        return
    except (InvalidRequest, AuthError) as error:
        _rejected(order, attempt, error, started)
        return
    except Exception as error:
        _unknown(order, attempt, adapter, error, started)
        return
    _finish(attempt, AttemptState.ACCEPTED, order_id=ack.order_id, started=started)
    _placed(order, attempt, ack.order_id, f"{attempt.broker_key} accepted it as {ack.order_id}")


def refusal_wait(error: BrokerError, *, broker: str) -> float | None:
    """Seconds to wait before sending a write again when ``error`` proves it was not taken;
    None when it proves nothing (then it is reconciled, never resent blindly)."""
    if isinstance(error, RateLimited) and error.code == LOCAL:
        return error.retry_after or 1.0  # held back here: no byte left
    if (
        isinstance(error, OrderStateUnknown)
        and error.throttle is not None
        and registry.capabilities(broker).throttle_refuses_orders
    ):
        return error.throttle.retry_after or 1.0
    return None


def send_unthrottled(send: Callable, *, broker: str):
    """``send()``; sent again after the wait when a refusal proves it was not taken, within
    THROTTLE_WAIT per wait and THROTTLE_BUDGET in all (then Throttled). Our own limiter may
    hold the write for what is left of the budget: it queues there, in turn, rather than be
    refused. Every other error is raised as it came."""
    started = time.monotonic()
    deadline, sends = started + THROTTLE_BUDGET, 0
    while True:
        sends += 1
        try:
            with http.order_limit_wait(deadline - time.monotonic()):
                return send()
        except BrokerError as error:
            wait = refusal_wait(error, broker=broker)
            if wait is None:
                raise
            waited = time.monotonic() - started
            if wait > THROTTLE_WAIT or time.monotonic() + wait > deadline:
                raise Throttled(error, sends=sends, waited=waited) from error
            logger.info("%s refused a write for the rate; sending again in %.1f s", broker, wait)
            time.sleep(wait)


def _throttled_words(refused: Throttled, label: str) -> str:
    who = "our rate limiter (to stay under the broker's cap)"
    if refused.error.code != LOCAL:
        # The broker's own rate-limit answer, not the "unknown" it was raised as.
        said = getattr(refused.error, "throttle", None) or refused.error
        who = f"{label} (too many requests: “{said.message}”)"
    return (
        f"refused by {who} {refused.sends} time(s) over {refused.waited:.1f} s; it never "
        "reached the order book"
    )


def _throttled_out(order: Order, attempt: OrderAttempt, refused: Throttled, started) -> None:
    """Refused for the rate past the budget: nothing reached the order book, and the order is
    refused in those words. Not failed over: a broker that answers "too many requests" is up
    and busy (health counts it throttled, not failed), which no failover condition — no
    answer, failing calls, taken out by the trader — describes."""
    label = _label(attempt.broker)
    words = _throttled_words(refused, label)
    _finish(attempt, AttemptState.ABSENT, error=words, started=started, kind=refused.error)
    order.move(
        S.REJECTED,
        f"{label}: {words}, so nothing was placed. Place it again in a moment.",
        attempt=attempt,
    )
    _announce(order)


def _unknown(order: Order, attempt: OrderAttempt, adapter, error: Exception, started) -> None:
    """No answer we can trust: UNKNOWN, then reconciled by tag before anything else."""
    words = error.message if isinstance(error, BrokerError) else type(error).__name__
    if not isinstance(error, BrokerError):
        logger.exception("placing attempt %s at %s", attempt.tag, attempt.broker_key)
    _finish(attempt, AttemptState.UNKNOWN, error=words, started=started, kind=error)
    order.next_check_at = timezone.now() + timedelta(seconds=TRACK_BACKOFF[1])
    order.save(update_fields=["next_check_at", "updated_at"])
    order.move(
        S.UNKNOWN, f"no answer we can trust from {attempt.broker_key}: {words}", attempt=attempt
    )
    _announce(order)
    reconcile_attempt(order=order, attempt=attempt, adapter=adapter)


def _finish(attempt, state, *, error: str = "", order_id: str = "", started=None, kind=None):
    attempt.status = state
    if error:  # a settled attempt keeps what went wrong on the way
        attempt.error = error[:2000]
    if kind is not None:
        attempt.error_type = type(kind).__name__
    if order_id:
        attempt.broker_order_id = order_id
    attempt.finished_at = timezone.now()
    if started is not None:
        attempt.elapsed_ms = (time.perf_counter() - started) * 1000
    attempt.save()


def _rejected(order: Order, attempt: OrderAttempt, error: BrokerError, started=None) -> None:
    words = error.message or str(error)
    ours = messages.explain(error, _label(attempt.broker))
    _finish(attempt, AttemptState.REJECTED, error=words, started=started, kind=error)
    order.broker_message = words
    order.save(update_fields=["broker_message", "updated_at"])
    order.move(S.REJECTED, f"{_label(attempt.broker)}: “{words}” — {ours}", attempt=attempt)
    _announce(order)
    _trip_on_rejections(order.user)


def _placed(order: Order, attempt: OrderAttempt, order_id: str, reason: str) -> None:
    order.broker_order_id = order_id
    order.connection_id = attempt.connection_id
    order.next_check_at = timezone.now()
    order.checks = 0
    order.save(
        update_fields=["broker_order_id", "connection", "next_check_at", "checks", "updated_at"]
    )
    order.move(S.PLACED, reason, attempt=attempt)
    _announce(order)
    _queue_tracking(order)


def reconcile_attempt(*, order: Order, attempt: OrderAttempt, adapter=None, waits=None) -> str:
    """Settle an attempt whose outcome is unknown by reading the broker's order book for its
    tag: "found", "absent" (then at most one new attempt is sent) or "unknown" (the book could
    not be read every time; the tracker tries again later)."""
    if adapter is None:
        adapter = registry.adapter_for(attempt.connection)
    unread = 0
    for wait in RECONCILE_WAITS if waits is None else waits:
        if wait:
            time.sleep(wait)
        attempt.reconcile_reads += 1
        try:
            found = adapter.find_order(attempt.tag)
        except BrokerError as error:
            unread += 1
            logger.info(
                "order book of %s unreadable for tag %s: %s", attempt.broker_key, attempt.tag, error
            )
            continue
        if found is not None:
            attempt.save(update_fields=["reconcile_reads"])
            _found(order, attempt, found)
            return "found"
    attempt.save(update_fields=["reconcile_reads"])
    if unread:
        # The order may be at the broker: it goes nowhere else until the book answers.
        waiting = failover.decide(
            failover.Failure(broker_key=attempt.broker_key, proven=failover.UNKNOWN), (), ()
        )
        order.next_check_at = timezone.now() + timedelta(seconds=TRACK_BACKOFF[1])
        order.status_reason = f"{attempt.error or 'no answer'} — {waiting.reason}"
        order.save(update_fields=["next_check_at", "status_reason", "updated_at"])
        return "unknown"
    _finish(attempt, AttemptState.ABSENT, error=attempt.error)
    _after_absent(order, attempt)
    return "absent"


def _found(order: Order, attempt: OrderAttempt, found: BrokerOrder) -> None:
    attempt.status = AttemptState.ACCEPTED
    attempt.broker_order_id = found.order_id
    attempt.finished_at = timezone.now()
    attempt.save()
    if found.status is OrderStatus.REJECTED:
        order.broker_order_id = found.order_id
        order.broker_message = found.status_message
        order.broker_status = found.broker_status
        order.save(
            update_fields=["broker_order_id", "broker_message", "broker_status", "updated_at"]
        )
        order.move(
            S.REJECTED,
            f"found in {attempt.broker_key}'s order book by tag {attempt.tag}, rejected: "
            f"“{found.status_message}”",
            attempt=attempt,
        )
        _announce(order)
        return
    _placed(
        order,
        attempt,
        found.order_id,
        f"found in {attempt.broker_key}'s order book by tag {attempt.tag} as {found.order_id}",
    )
    follow(order, found)


def _after_absent(order: Order, attempt: OrderAttempt) -> None:
    """The attempt proven absent (or refused before it left): the trader's failover rules
    decide what comes next (routing.orders.failover) — a retry, a similar order at a backup,
    the queue, or the order given up."""
    policy = effective(order.user_id)
    now = timezone.now()
    placed = list(
        order.attempts.filter(kind=AttemptKind.PLACE).values_list("broker_key", flat=True)
    )
    cid = str(attempt.connection_id) if attempt.connection_id else ""
    state = breaker.current(cid)[0] if cid else None
    window = metrics.window(cid, FAILOVER_WINDOW_MINUTES) if cid else None
    rate = window.success_rate if window is not None else None
    here = policy.brokers.get(attempt.broker_key)
    failure = failover.Failure(
        broker_key=attempt.broker_key,
        proven=failover.REJECTED if attempt.status == AttemptState.REJECTED else failover.ABSENT,
        elapsed_ms=attempt.elapsed_ms,
        answered=attempt.error_type == CircuitOpen.__name__,
        error_rate_pct=None if rate is None else round((1 - rate) * 100, 1),
        breaker_open=state is breaker.State.OPEN,
        manual=bool(here and here.paused),
        attempts_here=placed.count(attempt.broker_key),
        attempts_total=len(placed),
    )
    rules = policy.policy.failover.rules
    wants_backup = any(r.action.value == failover.SWITCH for r in rules)
    backups, similar = (
        _backups(order, policy, failed={attempt.broker_key}, now=now) if wants_backup else ([], {})
    )
    verdict = failover.decide(failure, rules, backups, jitter=random.random())  # noqa: S311
    _act(order, attempt, verdict, similar)


def _act(order: Order, attempt: OrderAttempt, verdict: failover.Verdict, similar: dict) -> None:
    if verdict.action == failover.GIVE_UP:
        order.move(S.REJECTED, verdict.reason, attempt=attempt)
        _announce(order)
        return
    if verdict.action == failover.QUEUE:
        enqueue(order, target=verdict.target, reason=verdict.reason, attempt=attempt)
        return
    if verdict.action == failover.RETRY:
        if verdict.delay_seconds:
            time.sleep(verdict.delay_seconds)
        connection = attempt.connection
        r = attempt.request
        listing = Listing(r["exchange"], r["symbol"], r.get("instrumentId") or "")
        with transaction.atomic():
            retry = _new_attempt(order, attempt.broker_key, connection, listing)
            retry.request = {**retry.request, **{k: r.get(k) for k in SIMILAR_FIELDS}}
            retry.save(update_fields=["request"])
            order.move(
                S.SENDING,
                f"attempt {attempt.number} (tag {attempt.tag}) proven absent from "
                f"{attempt.broker_key}'s order book — {verdict.reason}: attempt {retry.number}, "
                f"tag {retry.tag}",
                attempt=retry,
            )
        _send_place(order, retry, connection)
        return
    if verdict.action == failover.SWITCH:
        intent, listing, connection = similar[verdict.target]
        with transaction.atomic():
            switched = _new_attempt(order, verdict.target, connection, listing, intent)
            order.connection = connection
            order.save(update_fields=["connection", "updated_at"])
            order.move(
                S.SENDING,
                f"failover — {verdict.reason}: attempt {switched.number} at {verdict.target}, "
                f"tag {switched.tag}",
                attempt=switched,
            )
            notices.failed_over(
                order,
                from_key=attempt.broker_key,
                to_key=verdict.target,
                reason=verdict.reason,
                attempt_id=switched.pk,
            )
        _send_place(order, switched, connection)
        return
    logger.warning("order %s: %s left as it is", order.pk, verdict.action)


SIMILAR_FIELDS = ("orderType", "product", "price", "triggerPrice", "marketProtection")
FAILOVER_WINDOW_MINUTES = 5  # the broker's error rate is read over health's window


def intent_of_order(order: Order) -> tuple[Intent, InstrumentInfo]:
    instrument = find_instrument(
        order.isin or f"{order.exchange}:{order.symbol}", exchange=order.exchange, user=order.user
    )
    intent = Intent(
        instrument=instrument,
        side=Side(order.side),
        quantity=order.quantity,
        order_type=OrderType(order.order_type),
        product=Product(order.product),
        validity=Validity(order.validity),
        price=order.price,
        trigger_price=order.trigger_price,
        market_protection=order.market_protection,
    )
    return intent, instrument


def _backups(order: Order, policy: EffectivePolicy, *, failed: set[str], now: datetime):
    """The fallback hierarchy for ``order`` now — the priority list, then the order's routing
    ranking, then any other connected broker — each checked as a failover target: the similar
    order it would get (type/product mapped), then capability, instrument mapping by ISIN,
    holdings for a delivery sell, its breaker and connection, and the risk rules (price
    tolerance against the last price included). Returns the backups and, for those that pass,
    {key: (similar intent, listing, connection)}."""
    intent, instrument = intent_of_order(order)
    connections = context.connections_of(order.user, policy)
    book, held = context.book(order.user, instrument, connections)
    candidates = {c.key: c for c in context.candidates(instrument, connections, held)}
    ranked = [r.get("key") for r in (order.decision or {}).get("ranked", [])]
    hierarchy = []
    for key in (*policy.priority, *ranked, *sorted(candidates)):
        if key and key in candidates and key not in failed and key not in hierarchy:
            hierarchy.append(key)
    usable = [candidates[k] for k in hierarchy if candidates[k].listing is not None]
    last = context.last_price(order.user, instrument, usable, connections)
    backups: list[failover.Backup] = []
    similar: dict[str, tuple[Intent, Listing, BrokerConnection]] = {}
    for key in hierarchy:
        candidate = candidates[key]
        broker = policy.brokers[key]
        mapped, changes, why = failover.similar_order(
            intent, candidate, last_price=last, band_pct=broker.trading.price_tolerance_pct
        )
        if mapped is None:
            backups.append(failover.Backup(key, why))
            continue
        decision = route.decide(mapped, [candidate], policy=policy, now=now, last_price=last)
        if decision.chosen is None:
            backups.append(failover.Backup(key, decision.excluded[0].reason, changes))
            continue
        breaches = [
            b
            for b in risk.check(
                mapped, policy=policy, book=book, last_price=last, now=now, broker_key=key
            )
            # The order is already counted among the open ones.
            if b.code != "OPEN_ORDERS"
        ]
        if breaches:
            backups.append(failover.Backup(key, " ".join(b.message for b in breaches), changes))
            continue
        backups.append(failover.Backup(key, "", changes))
        if candidate.listing is not None:  # route.decide excludes a broker without one
            similar[key] = (mapped, candidate.listing, connections[key])
    return backups, similar


# --- Following the broker's order book ---------------------------------------------------------
def _target(found: BrokerOrder) -> str:
    if found.status is OrderStatus.COMPLETE:
        return S.FILLED
    if found.status is OrderStatus.CANCELLED:
        return S.CANCELLED
    if found.status is OrderStatus.REJECTED:
        return S.REJECTED
    if 0 < found.filled_quantity < found.quantity:
        return S.PARTIALLY_FILLED
    return S.OPEN


def follow(order: Order, found: BrokerOrder) -> bool:
    """Bring ``order`` in line with the broker's view of it. True when something changed."""
    before = (order.status, order.filled_quantity)
    order.broker_status = found.broker_status or found.status.value
    order.filled_quantity = found.filled_quantity
    order.average_price = found.average_price if found.filled_quantity else order.average_price
    if found.status_message:
        order.broker_message = found.status_message
    if found.price is not None and order.order_type in (OrderType.LIMIT, OrderType.SL):
        order.price = found.price
    if found.quantity:
        order.quantity = found.quantity
    order.save(
        update_fields=[
            "broker_status",
            "filled_quantity",
            "average_price",
            "broker_message",
            "price",
            "quantity",
            "updated_at",
        ]
    )
    target = _target(found)
    grew = order.filled_quantity > before[1]
    if target != order.status or (target == S.PARTIALLY_FILLED and grew):
        where = _label(order.connection.broker) if order.connection_id else "The broker"
        reason = f"{where} says {order.broker_status}"
        if target == S.REJECTED and order.broker_message:
            error = OrderRejected(order.broker_message)
            reason += f": “{order.broker_message}” — {messages.explain(error, where)}"
        if order.filled_quantity:
            reason += f", {order.filled_quantity} of {order.quantity} filled"
            if order.average_price is not None:
                reason += f" at {order.average_price}"
        try:
            order.move(target, reason)
        except IllegalTransition:
            logger.warning("order %s: %s then %s ignored", order.pk, before[0], target)
    changed = (order.status, order.filled_quantity) != before
    if changed:
        _announce(order)
    if grew:
        _refresh_portfolio(order.user_id)
    return changed


def track_order(*, order_id) -> str:
    """Read the broker's order book for one live order and follow it; reconcile it first when
    its outcome is unknown. Returns its status."""
    order = Order.objects.select_related("connection__app").filter(pk=order_id).first()
    if order is None or order.status not in LIVE:
        return order.status if order else ""
    pending = order.attempts.filter(
        kind=AttemptKind.PLACE, status__in=(AttemptState.UNKNOWN, AttemptState.SENDING)
    ).last()
    if pending is not None:
        if pending.status == AttemptState.SENDING:
            if timezone.now() - pending.created_at < STUCK_SENDING:
                return order.status
            pending.status = AttemptState.UNKNOWN
            pending.save(update_fields=["status"])
            order.move(S.UNKNOWN, "sent, no answer recorded: reconciling by tag", attempt=pending)
        reconcile_attempt(order=order, attempt=pending)
        order.refresh_from_db()
        return order.status
    if order.connection is None or not order.broker_order_id:
        return order.status
    try:
        book = registry.adapter_for(order.connection).orders()
    except BrokerError as error:
        logger.info("order book of %s unreadable: %s", order.connection_id, error)
        _schedule(order)
        return order.status
    found = next((o for o in book if o.order_id == order.broker_order_id), None)
    if found is not None:
        # The poller and a postback may read the same order at once: one follows at a time,
        # from the row as the other left it, so a move or a fill is recorded once.
        with transaction.atomic():
            order = Order.objects.select_for_update().get(pk=order.pk)
            if order.status in LIVE:
                follow(order, found)
    _schedule(order)
    return order.status


def _schedule(order: Order) -> None:
    if order.status not in LIVE:
        Order.objects.filter(pk=order.pk).update(next_check_at=None)
        return
    step = TRACK_BACKOFF[min(order.checks, len(TRACK_BACKOFF) - 1)]
    Order.objects.filter(pk=order.pk).update(
        next_check_at=timezone.now() + timedelta(seconds=step), checks=order.checks + 1
    )


def claim_due_orders(*, now: datetime | None = None, limit: int = 500) -> list:
    """Live orders whose next order-book read is due, claimed so that a second run of the
    beat entry does not read them again at once (a conditional update per order)."""
    now = now or timezone.now()
    due = list(
        Order.objects.filter(status__in=LIVE, next_check_at__lte=now)
        .order_by("next_check_at")
        .values_list("pk", "next_check_at")[:limit]
    )
    claimed = []
    for pk, at in due:
        lease = now + timedelta(seconds=TRACK_BACKOFF[-1])
        if Order.objects.filter(pk=pk, next_check_at=at).update(next_check_at=lease):
            claimed.append(pk)
    return claimed


# --- Modify and cancel: the same path, the same UNKNOWN handling -------------------------------
def get_order(*, user, order_id) -> Order:
    """One of the trader's own orders (Order.DoesNotExist otherwise: another trader's is 404)."""
    return Order.objects.select_related("connection__app").get(pk=order_id, user=user)


def modify_order(
    *,
    user,
    order_id,
    quantity: int | None = None,
    price: Decimal | None = None,
    trigger_price: Decimal | None = None,
    order_type: OrderType | None = None,
    now: datetime | None = None,
) -> OrderAttempt:
    """Change an open order at its broker. The changed order passes the risk rules first —
    those of the broker it is at (``change_breaches``); a change that breaks one is refused
    with every rule broken, nothing stored and nothing sent."""
    now = now or timezone.now()
    order = get_order(user=user, order_id=order_id)
    _must_be_open(order, "changed")
    if quantity is None and price is None and trigger_price is None and order_type is None:
        raise NotModifiable("Nothing to change: give a quantity, price, trigger price or type.")
    placed = (
        order.attempts.filter(kind=AttemptKind.PLACE, status=AttemptState.ACCEPTED)
        .order_by("number")
        .last()
    )
    key = placed.broker_key if placed is not None else None
    breaches = change_breaches(
        user=user,
        order=order,
        placed=placed,
        quantity=quantity,
        price=price,
        trigger_price=trigger_price,
        order_type=order_type,
        now=now,
    )
    if breaches:
        raise NotModifiable("The changed order breaks the risk rules.", breaches)
    change = OrderModification(
        order_id=order.broker_order_id,
        quantity=quantity,
        price=price,
        trigger_price=trigger_price,
        order_type=order_type,
    )
    attempt = _change_attempt(
        order,
        AttemptKind.MODIFY,
        key,
        {
            "quantity": quantity,
            "price": str(price) if price is not None else None,
            "triggerPrice": str(trigger_price) if trigger_price is not None else None,
            "orderType": order_type.value if order_type else None,
        },
    )
    adapter = registry.adapter_for(order.connection)

    def took_effect(found: BrokerOrder) -> bool:
        return (
            (quantity is None or found.quantity == quantity)
            and (price is None or found.price == price)
            and (trigger_price is None or found.trigger_price == trigger_price)
        )

    _send_change(order, attempt, lambda: adapter.modify_order(change), adapter, took_effect)
    return attempt


# Rules on what the trader would hold: the filled part of the order is already in the synced
# book, so they are checked with what is still to come (the new quantity less the filled).
HOLDING_RULES = frozenset(
    ("POSITION_QUANTITY", "POSITION_VALUE", "SELL_NOT_HELD", "GROSS_EXPOSURE", "CONCENTRATION")
)
# Not about the change: the order is already one of the open ones, and the kill switch stops
# new orders (a trader may still move or cut one that is open; cancelling always works).
NOT_FOR_CHANGES = frozenset(("OPEN_ORDERS", "KILL_SWITCH"))


def change_breaches(
    *,
    user,
    order: Order,
    placed: OrderAttempt | None,
    quantity: int | None = None,
    price: Decimal | None = None,
    trigger_price: Decimal | None = None,
    order_type: OrderType | None = None,
    now: datetime,
) -> list[Breach]:
    """Every rule the order as changed would break at the broker it is at: the global rules
    and that broker's (max order value, position size and value, price tolerance against the
    last price now, hours, instruments), tick and lot from that broker's own master row."""
    instrument = find_instrument(
        order.isin or f"{order.exchange}:{order.symbol}", exchange=order.exchange, user=user
    )
    listing = None
    if placed is not None and placed.request.get("symbol"):
        r = placed.request
        listing = Listing(r["exchange"], r["symbol"], r.get("instrumentId") or "")
        instrument = context.as_listed(instrument, broker=placed.broker, listing=listing)
    kind = order_type or OrderType(order.order_type)
    if price is None and kind not in risk.PRICED:
        kept_price = None  # a change to MARKET or SL-M drops the limit price
    else:
        kept_price = price if price is not None else order.price
    if trigger_price is None and kind not in risk.TRIGGERED:
        kept_trigger = None
    else:
        kept_trigger = trigger_price if trigger_price is not None else order.trigger_price
    total = quantity if quantity is not None else order.quantity
    changed = Intent(
        instrument=instrument,
        side=order.side,
        quantity=total,
        order_type=kind,
        product=order.product,
        validity=order.validity,
        price=kept_price,
        trigger_price=kept_trigger,
        market_protection=order.market_protection,
    )
    found: list[Breach] = []
    if quantity is not None and 0 < quantity <= order.filled_quantity:
        found.append(
            Breach(
                "QUANTITY_BELOW_FILLED",
                f"{order.filled_quantity} of this order are already filled: the new quantity "
                f"must be more than that (cancel it to stop the rest).",
            )
        )
    policy = effective(user)
    connections = context.connections_of(user, policy)
    book, _ = context.book(user, instrument, connections)
    last = None
    if placed is not None and listing is not None and order.connection is not None:
        last = context.quote(order.connection, listing)
    last = last if last is not None else order.last_price
    key = placed.broker_key if placed is not None else None
    facts = {"policy": policy, "book": book, "last_price": last, "now": now, "broker_key": key}
    whole = risk.check(changed, **facts)
    rest = total - order.filled_quantity
    held = whole
    if order.filled_quantity and rest > 0:
        held = risk.check(replace(changed, quantity=rest), **facts)
    found += [b for b in whole if b.code not in HOLDING_RULES | NOT_FOR_CHANGES]
    found += [b for b in held if b.code in HOLDING_RULES]
    return found


def cancel_order(*, user, order_id) -> OrderAttempt:
    """Cancel an open order at its broker."""
    order = get_order(user=user, order_id=order_id)
    _must_be_open(order, "cancelled")
    key = (
        order.attempts.filter(kind=AttemptKind.PLACE, status=AttemptState.ACCEPTED)
        .values_list("broker_key", flat=True)
        .last()
    )
    attempt = _change_attempt(order, AttemptKind.CANCEL, key, {})
    adapter = registry.adapter_for(order.connection)
    _send_change(
        order,
        attempt,
        lambda: adapter.cancel_order(order.broker_order_id),
        adapter,
        lambda found: found.status is OrderStatus.CANCELLED,
    )
    return attempt


def _must_be_open(order: Order, what: str) -> None:
    if order.status not in (S.PLACED, S.OPEN, S.PARTIALLY_FILLED) or not order.broker_order_id:
        raise NotModifiable(
            f"This order is {order.get_status_display().lower()}: it cannot be {what}."
        )


def _change_attempt(order: Order, kind: str, key: str | None, request: dict) -> OrderAttempt:
    with transaction.atomic():
        number = (order.attempts.aggregate(n=Max("number"))["n"] or 0) + 1
        return OrderAttempt.objects.create(
            order=order,
            number=number,
            kind=kind,
            connection=order.connection,
            broker=order.connection.broker,
            broker_key=key or order.connection.broker,
            tag=new_tag(),
            request={"orderId": order.broker_order_id, **request},
        )


def _send_change(order, attempt, send, adapter, took_effect) -> None:
    started = time.perf_counter()
    attempt.sent_at = timezone.now()
    attempt.save(update_fields=["sent_at"])
    try:
        send_unthrottled(send, broker=attempt.broker)
    except Throttled as refused:
        label = _label(attempt.broker)
        words = _throttled_words(refused, label)
        _finish(attempt, AttemptState.ABSENT, error=words, started=started, kind=refused.error)
        raise NotModifiable(
            f"{label}: {words}, so nothing was changed. Try again in a moment."
        ) from refused
    except (InvalidRequest, AuthError) as error:
        words = error.message or str(error)
        _finish(attempt, AttemptState.REJECTED, error=words, started=started, kind=error)
        label = _label(attempt.broker)
        raise NotModifiable(f"{label}: “{words}” — {messages.explain(error, label)}") from error
    except Exception as error:
        words = error.message if isinstance(error, BrokerError) else type(error).__name__
        _finish(attempt, AttemptState.UNKNOWN, error=words, started=started, kind=error)
        for wait in RECONCILE_WAITS:
            if wait:
                time.sleep(wait)
            try:
                found = next(
                    (o for o in adapter.orders() if o.order_id == order.broker_order_id), None
                )
            except BrokerError:
                continue
            if found is not None and took_effect(found):
                _finish(attempt, AttemptState.ACCEPTED, order_id=order.broker_order_id)
                follow(order, found)
                return
        raise NotModifiable(
            f"{_label(attempt.broker)} did not answer ({words}) and its order book does not "
            "show the change yet: it was not sent again. Check the order in a moment."
        ) from error
    _finish(attempt, AttemptState.ACCEPTED, order_id=order.broker_order_id, started=started)
    Order.objects.filter(pk=order.pk).update(next_check_at=timezone.now(), checks=0)
    _queue_tracking(order)


# --- Pushes, tracking queue, portfolio, automatic trips ----------------------------------------
def order_update(order: Order) -> dict:
    return {
        "type": "ORDER_UPDATE",
        "data": {
            "orderId": str(order.pk),
            "status": order.status,
            "reason": order.status_reason,
            "instrument": f"{order.exchange}:{order.symbol}",
            "side": order.side,
            "quantity": order.quantity,
            "filledQuantity": order.filled_quantity,
            "averagePrice": str(order.average_price) if order.average_price is not None else None,
            "brokerOrderId": order.broker_order_id,
            "connectionId": str(order.connection_id) if order.connection_id else None,
            "updatedAt": timezone.now().isoformat(),
        },
    }


def announce(order: Order) -> None:
    """ORDER_UPDATE for ``order`` once its change is committed."""
    _announce(order)


def _announce(order: Order) -> None:
    """ORDER_UPDATE to the trader's pages and API clients, once the change is committed."""
    text = json.dumps(order_update(order))
    user_id = order.user_id

    def send() -> None:
        try:
            push_to_user(user_id, text)
        except Exception:  # the order moved; a lost push only delays an open page
            logger.warning("ORDER_UPDATE to user %s was not delivered", user_id, exc_info=True)

    transaction.on_commit(send)


# How a read of the order book is queued for a placed or changed order: routing.tasks
# registers its task here when it is loaded (tasks import services, never the reverse).
_trackers: list[Callable[[str], None]] = []


def register_tracker(queue: Callable[[str], None]) -> None:
    if queue not in _trackers:
        _trackers.append(queue)


def _queue_tracking(order: Order) -> None:
    pk = str(order.pk)
    for queue in _trackers:
        transaction.on_commit(lambda queue=queue: queue(pk))


def _refresh_portfolio(user_id) -> None:
    transaction.on_commit(lambda: sync_portfolio_task.delay(user_id))


def _trip_on_daily_loss(user, preview: Preview) -> None:
    """A refusal for the day's loss may arm the kill switch (the policy's automatic trips)."""
    if preview.book is None or not any(b.code == "DAILY_LOSS" for b in preview.breaches):
        return
    trips.evaluate_trips(
        user=user, realized=preview.book.realized_pnl, unrealized=preview.book.unrealized_pnl
    )


def _trip_on_rejections(user) -> None:
    """Brokers' rejections one after the other may arm the kill switch (automatic trips)."""
    limit = effective(user).policy.emergency.auto_trips.rejections_in_a_row
    if limit is None:
        return
    recent = list(
        Order.objects.filter(user=user)
        .exclude(status__in=(S.NEW, S.ROUTED, S.SENDING, S.RISK_REJECTED))
        .order_by("-created_at")
        .values_list("status", flat=True)[:limit]
    )
    in_a_row = len(recent) if all(s == S.REJECTED for s in recent) else 0
    if in_a_row:
        trips.evaluate_trips(user=user, rejections_in_a_row=in_a_row)


def purge_idempotency_keys(*, now: datetime | None = None) -> int:
    now = now or timezone.now()
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=now - IDEMPOTENCY_KEEP).delete()
    return deleted
