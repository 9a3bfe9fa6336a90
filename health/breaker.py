"""A circuit breaker per connection, so the platform stops hammering a failing broker.

CLOSED: calls flow; each outcome is counted in a time-based sliding window — the calls of the
last WINDOW_SECONDS, in slices of SLICE_SECONDS. Once the window holds at least MIN_CALLS
calls — four, because a quiet connection sees little more than its probe every 30 s (and a
failed probe is confirmed 10 s later) — the breaker OPENs when the failure rate reaches
FAILURE_RATE or the slow-call rate (calls over metrics.SLOW_CALL_MS) reaches SLOW_RATE. Only a
failed or slow call can open it, so a successful call only adds to its slice: one pipelined
round trip with the metrics.

OPEN: every call is refused before it leaves (``CircuitOpen``, a BrokerUnavailable), except
the breaker's own trial probes. After OPEN_WAIT_SECONDS a trial probe moves it to HALF_OPEN.

HALF_OPEN: every call passes and is a trial — the probes, and the trader's own calls (a
portfolio refresh right after a good "Retry now" is not refused); TRIAL_SUCCESSES successful
trials in a row CLOSE it, any failed trial OPENs it again. Calls counted before the last change
of state do not count after.

Throttling, refused sessions and refused orders are not failures of the broker: they do not
count. State lives in health.store (Redis when configured), so every process sees the same
breaker.
"""

from __future__ import annotations

import contextvars
import enum
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from brokers.errors import BrokerUnavailable
from health.store import Batch, store

WINDOW_SECONDS = 120
SLICE_SECONDS = 10
MIN_CALLS = 4
FAILURE_RATE = 0.5
SLOW_RATE = 0.8
OPEN_WAIT_SECONDS = 60
TRIAL_SUCCESSES = 2
STATE_TTL = 8 * 24 * 3600
HISTORY_KEEP = 20


class State(enum.StrEnum):
    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"


class CircuitOpen(BrokerUnavailable):
    """Refused by our breaker: the call never left."""


@dataclass(frozen=True)
class Change:
    before: State
    after: State
    why: str


@dataclass(frozen=True)
class Snapshot:
    state: State
    since: float
    retry_at: float | None  # OPEN: when a trial may run
    calls: int
    failures: int
    slow: int

    @property
    def failure_rate(self) -> float | None:
        return None if not self.calls else self.failures / self.calls


_trials: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar(
    "breaker_trials", default=frozenset()
)


def _key(cid: str) -> str:
    return f"breaker:{cid}"


def _slice_key(cid: str, number: int) -> str:
    return f"breaker:{cid}:w:{number}"


def _history_key(cid: str) -> str:
    return f"breaker:{cid}:history"


def state_key(cid: str) -> str:
    return _key(cid)


def _fresh(now: float) -> dict:
    return {"state": State.CLOSED.value, "since": now, "trials": 0}


# --- The window -----------------------------------------------------------------------------
def add_call(batch: Batch, cid: str, *, ok: bool, slow: bool, now: float) -> None:
    """Count a call of a CLOSED breaker into ``batch`` (one slice, three counters)."""
    deltas = {"n": 1}
    if not ok:
        deltas["f"] = 1
    if slow:
        deltas["s"] = 1
    batch.count(
        _slice_key(cid, int(now // SLICE_SECONDS)), deltas, WINDOW_SECONDS + 2 * SLICE_SECONDS
    )


def _counts(cid: str, *, since: float | None, now: float) -> tuple[int, int, int]:
    last = int(now // SLICE_SECONDS)
    first = int((now - WINDOW_SECONDS) // SLICE_SECONDS) + 1
    if since is not None:
        first = max(first, int(since // SLICE_SECONDS) + 1)
    if first > last:
        return 0, 0, 0
    slices = store().hashes([_slice_key(cid, n) for n in range(first, last + 1)])
    return (
        sum(s.get("n", 0) for s in slices),
        sum(s.get("f", 0) for s in slices),
        sum(s.get("s", 0) for s in slices),
    )


def _since(data: dict | None) -> float | None:
    """Calls before the last change of state do not count; a breaker never moved has none."""
    return None if data is None else data.get("since")


def snapshot(cid: str, *, now: float | None = None, data: dict | None = None) -> Snapshot:
    now = time.time() if now is None else now
    data = data if data is not None else store().get(_key(cid))
    state = State(data["state"]) if data else State.CLOSED
    since = data["since"] if data else now
    calls, failures, slow = _counts(cid, since=_since(data), now=now)
    return Snapshot(
        state=state,
        since=since,
        retry_at=since + OPEN_WAIT_SECONDS if state is State.OPEN else None,
        calls=calls,
        failures=failures,
        slow=slow,
    )


def read(cid: str) -> dict | None:
    """The stored state as it is (None: never moved, so CLOSED)."""
    return store().get(_key(cid))


def current(cid: str, *, data: dict | None = None) -> tuple[State, float | None]:
    """The state and, when OPEN, the time a trial may run (one read, no window)."""
    data = data if data is not None else store().get(_key(cid))
    if not data:
        return State.CLOSED, None
    state = State(data["state"])
    return state, data["since"] + OPEN_WAIT_SECONDS if state is State.OPEN else None


def history(cid: str, limit: int = HISTORY_KEEP) -> list[dict]:
    return store().items(_history_key(cid), limit)


# --- Before a call ----------------------------------------------------------------------------
@contextmanager
def trial(cid: str) -> Iterator[None]:
    """Calls for ``cid`` inside this block are the breaker's trial probes."""
    token = _trials.set(_trials.get() | {cid})
    try:
        yield
    finally:
        _trials.reset(token)


def in_trial(cid: str) -> bool:
    return cid in _trials.get()


def check(cid: str, *, now: float | None = None, data: dict | None = None) -> Change | None:
    """Before a call: refuse it while the breaker is OPEN, unless it is a trial probe.

    A trial on an OPEN breaker whose wait is over moves it to HALF_OPEN (returned).
    """
    now = time.time() if now is None else now
    data = data if data is not None else store().get(_key(cid))
    if data is None or data["state"] in (State.CLOSED, State.HALF_OPEN):
        return None
    if not in_trial(cid):
        raise CircuitOpen(_refusal(data, now))
    return _move(cid, State.OPEN, State.HALF_OPEN, "trial probe after the wait", now=now)


def _refusal(data: dict, now: float) -> str:
    wait = max(0, int(data["since"] + OPEN_WAIT_SECONDS - now))
    return (
        f"circuit open after repeated failures: calls are paused, the next trial is in "
        f"{wait} s or later"
    )


# --- After a call ---------------------------------------------------------------------------
def record(
    cid: str, *, ok: bool, slow: bool, now: float | None = None, state: str | None = None
) -> Change | None:
    """After a counted call: count it and move the breaker if the thresholds say so.

    ``state``: the state read before the call, when the caller has it (saves a read).
    """
    now = time.time() if now is None else now
    if state is None:
        data = store().get(_key(cid))
        state = data["state"] if data else State.CLOSED
    if state == State.HALF_OPEN:
        return _trial_outcome(cid, ok=ok, now=now)
    if state == State.OPEN:
        return None  # a straggler that left before it opened
    batch = Batch()
    add_call(batch, cid, ok=ok, slow=slow, now=now)
    store().run(batch)
    return None if ok and not slow else evaluate(cid, now=now)


def evaluate(cid: str, *, now: float | None = None) -> Change | None:
    """Open a CLOSED breaker whose window crossed a threshold."""
    now = time.time() if now is None else now
    data = store().get(_key(cid))
    if data is not None and data["state"] != State.CLOSED:
        return None
    calls, failures, slow = _counts(cid, since=_since(data), now=now)
    if calls < MIN_CALLS:
        return None
    if failures / calls >= FAILURE_RATE:
        why = f"{failures} of the last {calls} calls failed"
    elif slow / calls >= SLOW_RATE:
        why = f"{slow} of the last {calls} calls were slow"
    else:
        return None
    return _move(cid, State.CLOSED, State.OPEN, why, now=now)


def _trial_outcome(cid: str, *, ok: bool, now: float) -> Change | None:
    def change(data):
        data = data or _fresh(now)
        if data["state"] != State.HALF_OPEN:
            return data, None
        if not ok:
            opened = {"state": State.OPEN.value, "since": now, "trials": 0}
            return opened, Change(State.HALF_OPEN, State.OPEN, "a trial probe failed")
        trials = data.get("trials", 0) + 1
        if trials >= TRIAL_SUCCESSES:
            why = f"{trials} trial probes succeeded"
            return _fresh(now), Change(State.HALF_OPEN, State.CLOSED, why)
        return {**data, "trials": trials}, None

    moved = store().update(_key(cid), change, STATE_TTL)
    if moved:
        _remember(cid, moved, now)
    return moved


def _move(cid: str, before: State, after: State, why: str, *, now: float) -> Change | None:
    def change(data):
        current = data["state"] if data else State.CLOSED.value
        if current != before:
            return data, None
        return {"state": after.value, "since": now, "trials": 0}, Change(before, after, why)

    moved = store().update(_key(cid), change, STATE_TTL)
    if moved:
        _remember(cid, moved, now)
    return moved


def force_trial(cid: str, *, now: float | None = None) -> Change | None:
    """ "Retry now": skip the rest of the wait, the next trial probe decides."""
    now = time.time() if now is None else now
    return _move(cid, State.OPEN, State.HALF_OPEN, "retry asked by the trader", now=now)


def reset(cid: str) -> None:
    """A fresh login starts with a closed breaker."""
    store().set(_key(cid), _fresh(time.time()), STATE_TTL)


def _remember(cid: str, moved: Change, now: float) -> None:
    item = {"at": round(now, 3), "from": moved.before.value, "to": moved.after.value}
    item["why"] = moved.why
    store().run(Batch(pushes=[(_history_key(cid), item, HISTORY_KEEP, STATE_TTL)]))
