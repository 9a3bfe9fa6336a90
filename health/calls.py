"""Health's two receivers of the HTTP door's signals (connected in HealthConfig.ready).

``before_call`` refuses a call while the connection's breaker is open (trial probes excepted).
``after_call`` counts every call that reached the broker in the rolling metrics and the
breaker, then lets the status follow (services.apply_call). Inside a probe sweep the status
work is deferred (``deferred``): the sweep's threads only talk HTTP and the sweep applies the
outcomes from one thread, in bulk.
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from brokers.errors import (
    AuthError,
    BrokerError,
    InvalidRequest,
    OrderStateUnknown,
    RateLimited,
)
from brokers.http import CallContext, CallRecord
from health import breaker, metrics, services
from health import state as health_state
from health.metrics import Outcome
from health.notes import Note, status_key
from health.store import Batch, store

SUCCESS_WRITE_EVERY = 60  # s: how often a stream of successful calls touches the row

logger = logging.getLogger(__name__)


_deferred: contextvars.ContextVar[list[Note] | None] = contextvars.ContextVar(
    "health_deferred", default=None
)


@contextmanager
def deferred() -> Iterator[list[Note]]:
    """Collect the notes of the calls made inside the block instead of applying them."""
    notes: list[Note] = []
    token = _deferred.set(notes)
    try:
        yield notes
    finally:
        _deferred.reset(token)


def classify(error: BrokerError | None) -> Outcome | None:
    """The outcome of a call for health, or None when the call never reached the broker."""
    if error is None:
        return Outcome.OK
    if isinstance(error, breaker.CircuitOpen):
        return None
    if isinstance(error, RateLimited):
        return None if error.code == "local" else Outcome.THROTTLED
    if isinstance(error, OrderStateUnknown) and error.throttle is not None:
        return Outcome.THROTTLED  # an order write met the rate limit: throttled, not down
    if isinstance(error, AuthError):
        return Outcome.AUTH
    if isinstance(error, InvalidRequest):
        return Outcome.OK  # the broker answered; it refused our input
    return Outcome.FAIL


# The breaker state read before the call, for the after-hook (same thread, same context).
_seen: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar(
    "health_breaker_seen", default=None
)


# A breaker state already read for the next call (the sweep reads it to plan the probe).
prefetched: contextvars.ContextVar[tuple[str, dict | None] | None] = contextvars.ContextVar(
    "health_breaker_prefetched", default=None
)


def before_call(sender=None, *, context: CallContext, **kwargs) -> None:
    cid = context.connection_id
    if not cid:
        return
    try:
        ready = prefetched.get()
        if ready is not None and ready[0] == cid:
            prefetched.set(None)
            data = ready[1]
        else:
            data = store().get(breaker.state_key(cid))
        _seen.set((cid, data["state"] if data else breaker.State.CLOSED.value))
        change = breaker.check(cid, data=data)
    except breaker.CircuitOpen:
        raise
    except Exception:
        # The breaker's store is unreachable: let the call go rather than fail every call.
        logger.exception("breaker check failed for %s; the call goes ahead", cid)
        return
    if change is not None:
        _seen.set((cid, change.after.value))
        _deliver(cid, Note(change=change, endpoint=context.endpoint))


def after_call(sender=None, *, record: CallRecord, **kwargs) -> None:
    """One round trip for a call: metrics, the breaker's window, the known status."""
    cid = record.context.connection_id
    outcome = classify(record.error)
    if not cid or outcome is None:
        return
    error = record.error
    note = Note(
        outcome=outcome, error=error, elapsed_ms=record.elapsed_ms, endpoint=record.context.endpoint
    )
    now = time.time()
    slow = record.elapsed_ms > metrics.SLOW_CALL_MS
    seen = _seen.get()
    state = seen[1] if seen and seen[0] == cid else None
    batch = Batch()
    metrics.add_call(
        batch,
        cid,
        outcome=outcome,
        elapsed_ms=record.elapsed_ms,
        endpoint=record.context.endpoint,
        method=record.method,
        status_code=record.status_code,
        error_type=type(error).__name__ if error else "",
        message=error.message if error else "",
        why=health_state.failure_name(error, record.status_code),
        probe=_deferred.get() is not None,
        at=now,
    )
    counted = note.counts_for_breaker and state == breaker.State.CLOSED
    if counted:
        breaker.add_call(batch, cid, ok=outcome is Outcome.OK, slow=slow, now=now)
    status_at = batch.get(status_key(cid))
    write_at = batch.claim(f"success-write:{cid}", SUCCESS_WRITE_EVERY)
    store().run(batch)
    if counted:
        if outcome is not Outcome.OK or slow:
            note.change = breaker.evaluate(cid, now=now)
    elif note.counts_for_breaker:
        note.change = breaker.record(cid, ok=outcome is Outcome.OK, slow=slow, now=now, state=state)
    note.known = batch.values[status_at]
    note.write_success = batch.claimed[write_at]
    _deliver(cid, note)


def _deliver(cid: str, note: Note) -> None:
    notes = _deferred.get()
    if notes is not None:
        notes.append(note)
        return
    services.apply_call(cid, note)
