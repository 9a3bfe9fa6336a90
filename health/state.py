"""One health state per connection: the word, the colour, the grade and the reason that the
card, the health pages, the API, the live pushes and uptime all show, decided here only.

``decide`` is pure: it reads ``Facts`` — the connection's status, its breaker, its recent
calls (every real call and every probe, newest first) and each endpoint's own recent calls —
and returns a ``HealthState``. The status the state machine keeps (brokers.states) follows the
state (``HealthState.status``), so the status history, and the uptime read from it, count
exactly the time the connection was red.

| word         | colour | when (first rule that holds)                                          |
|--------------|--------|-----------------------------------------------------------------------|
| Disconnected | grey   | the trader disconnected it (or it is suspended)                       |
| Log in again | red    | the broker refused the session                                        |
| Maintenance  | red    | the newest answer was the broker announcing maintenance               |
| Down         | red    | breaker open; or one endpoint failed DOWN_AFTER times in a row; or     |
|              |        | (connected) under 80 % of the window's calls succeeded                |
| Too slow     | red    | (connected) the window's p95 is 3,000 ms or more                      |
| Recovering   | yellow | after red: answering again, not yet RECOVERY_CALLS good calls in a row |
|              |        | over RECOVERY_SECONDS (or the breaker still half-open)                |
| Rate limited | yellow | the newest answer was the broker's rate-limit answer                   |
| Degraded     | yellow | grade POOR, or one endpoint's last call failed                         |
| Connected    | green  | grade EXCELLENT or GOOD and every endpoint's last call succeeded       |

Red leaves only through Recovering: the newest answered call succeeded, no endpoint is down
and the breaker is not open. Recovering ends after RECOVERY_CALLS good calls in a row, the
first of them at least RECOVERY_SECONDS ago (one burst of calls proves little); then
the grade decides, over the calls since recovery began — the failures of the incident never
count again, whatever kind of incident it was.

The window: the calls of the last WINDOW_SECONDS (at most the newest WINDOW_CALLS), none from
before the last recovery began. Grade (health.quality): success rate = ok ÷ (ok + failed),
judged from MIN_CALLS calls on; p95 = the 95th percentile response time (nearest rank) of
those calls. Throttled calls are neither successes nor failures; refused sessions end in
"Log in again".
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from brokers import http
from brokers.errors import (
    AuthError,
    BadResponse,
    BrokerError,
    BrokerUnavailable,
    Maintenance,
    OrderStateUnknown,
    RateLimited,
)
from brokers.models import ConnectionStatus as S
from health import breaker, metrics, quality
from health.quality import Quality
from health.store import Batch, store

WINDOW_SECONDS = 300
WINDOW_CALLS = 100
MIN_CALLS = quality.MIN_CALLS
DOWN_AFTER = 2
RECOVERY_CALLS = 3
RECOVERY_SECONDS = 20  # ... spread over at least this long: one burst of calls proves little
MAX_ENDPOINTS = 40  # endpoints read per connection (a broker API has a dozen or so)

OK, FAIL, THROTTLED, AUTH = "ok", "fail", "throttled", "auth"

RED, YELLOW, GREEN, GREY = "red", "yellow", "green", "grey"
WORDS = (
    "Connected",
    "Degraded",
    "Rate limited",
    "Recovering",
    "Connecting",
    "Down",
    "Too slow",
    "Maintenance",
    "Log in again",
    "Disconnected",
    "Suspended",
)
# The statuses that mean "unusable": uptime counts the time spent in them as down.
RED_STATUSES = {S.ERROR, S.MAINTENANCE, S.TOKEN_EXPIRED}


# --- What went wrong, in words a trader reads ------------------------------------------------
MAINTENANCE_ANNOUNCED = "maintenance announced by the broker"


def failure_name(error: BrokerError | None, status_code: int | None = None) -> str:
    """What happened on a failed call, truly named: could not connect / no answer / answer
    cut off / server error / maintenance announced by the broker (and a few more)."""
    if error is None:
        return ""
    if isinstance(error, Maintenance):
        return MAINTENANCE_ANNOUNCED
    if isinstance(error, RateLimited):
        return "rate limited"
    if isinstance(error, AuthError):
        return "session refused"
    if isinstance(error, OrderStateUnknown):
        return "order outcome unknown"
    if error.code == http.FAILED_CONNECT:
        return "could not connect"
    if error.code == http.NO_ANSWER:
        return "no answer"
    if error.code == http.CUT_OFF:
        return "answer cut off"
    if isinstance(error, BadResponse):
        return "unreadable answer"
    if isinstance(error, BrokerUnavailable):
        if status_code is not None and status_code < 400:
            return f"error inside an HTTP {status_code} answer"
        return f"server error (HTTP {status_code})" if status_code else "server error"
    return "request refused"


# --- The facts ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Call:
    at: float
    endpoint: str
    outcome: str
    ms: float
    why: str = ""  # failure_name of a failed call

    @classmethod
    def from_dict(cls, raw: dict) -> Call:
        return cls(
            at=float(raw.get("at") or 0),
            endpoint=str(raw.get("endpoint") or ""),
            outcome=str(raw.get("outcome") or ""),
            ms=float(raw.get("ms") or 0),
            why=str(raw.get("why") or raw.get("error") or ""),
        )


@dataclass(frozen=True)
class Facts:
    status: str
    now: float
    breaker: str = "CLOSED"
    calls: list[Call] = field(default_factory=list)  # newest first, every endpoint
    endpoints: dict[str, list[Call]] = field(default_factory=dict)  # each newest first
    recovering_since: float | None = None  # when the last recovery began
    broker: str = "The broker"


@dataclass(frozen=True)
class Figures:
    """What the grade was computed from: shown next to it, so the two always agree."""

    calls: int = 0  # answered + failed, in the window
    ok: int = 0
    failed: int = 0
    p95_ms: float | None = None
    since: float | None = None

    @property
    def success_rate(self) -> float | None:
        return None if not self.calls else self.ok / self.calls

    @property
    def grade(self) -> Quality:
        return quality.from_figures(self.success_rate, self.p95_ms, self.calls)


@dataclass(frozen=True)
class EndpointHealth:
    endpoint: str
    last_at: float
    last_ok: bool
    failures_in_a_row: int
    last_failure: str
    calls: int
    failed: int


@dataclass(frozen=True)
class HealthState:
    word: str
    colour: str
    grade: Quality
    reason: str
    status: str  # the status the connection should have
    figures: Figures = Figures()
    streak: int = 0  # good calls in a row
    streak_since: float | None = None  # when the first of them was made
    endpoints: tuple[EndpointHealth, ...] = ()

    @property
    def failing(self) -> list[str]:
        """Endpoints whose last call failed."""
        return [e.endpoint for e in self.endpoints if not e.last_ok]

    @property
    def failures_in_a_row(self) -> int:
        return max((e.failures_in_a_row for e in self.endpoints), default=0)

    @property
    def usable(self) -> bool:
        return self.colour in (GREEN, YELLOW)

    def as_json(self) -> dict:
        return {
            "word": self.word,
            "colour": self.colour,
            "grade": self.grade.value,
            "reason": self.reason,
        }


def p95(values: list[float]) -> float | None:
    """Nearest rank: the smallest value with at least 95 % of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def streak_of(calls: list[Call]) -> tuple[int, float | None]:
    """Good calls in a row (throttled ones skipped) and when the first of them was made."""
    count, start = 0, None
    for call in calls:
        if call.outcome == THROTTLED:
            continue
        if call.outcome != OK:
            break
        count, start = count + 1, call.at
    return count, start


def figures_of(calls: list[Call], *, since: float) -> Figures:
    counted = [c for c in calls if c.at >= since and c.outcome in (OK, FAIL)][:WINDOW_CALLS]
    ok = sum(c.outcome == OK for c in counted)
    return Figures(
        calls=len(counted),
        ok=ok,
        failed=len(counted) - ok,
        p95_ms=p95([c.ms for c in counted]),
        since=since,
    )


def endpoint_health(endpoint: str, calls: list[Call]) -> EndpointHealth:
    answered = [c for c in calls if c.outcome in (OK, FAIL)]
    in_a_row = 0
    for call in answered:
        if call.outcome == OK:
            break
        in_a_row += 1
    last = answered[0] if answered else calls[0]
    return EndpointHealth(
        endpoint=endpoint,
        last_at=last.at,
        last_ok=last.outcome != FAIL,
        failures_in_a_row=in_a_row,
        last_failure=next((c.why for c in answered if c.outcome == FAIL), ""),
        calls=len(answered),
        failed=sum(c.outcome == FAIL for c in answered),
    )


def _state(word, colour, grade, reason, status, **rest) -> HealthState:
    return HealthState(word=word, colour=colour, grade=grade, reason=reason, status=status, **rest)


def decide(facts: Facts) -> HealthState:
    status, now = facts.status, facts.now
    if status in (S.DISCONNECTED, S.SUSPENDED):
        word = "Suspended" if status == S.SUSPENDED else "Disconnected"
        return _state(word, GREY, Quality.NONE, "", status)
    if status == S.TOKEN_EXPIRED:
        return _state(
            "Log in again",
            RED,
            Quality.CRITICAL,
            f"{facts.broker} refused the session: log in again to reconnect.",
            status,
        )

    recent = [c for c in facts.calls if c.at >= now - WINDOW_SECONDS]
    streak, streak_start = streak_of(recent)
    endpoints = tuple(
        sorted(
            (
                endpoint_health(name, [c for c in calls if c.at >= now - WINDOW_SECONDS])
                for name, calls in facts.endpoints.items()
                if any(c.at >= now - WINDOW_SECONDS for c in calls)
            ),
            key=lambda e: (-e.failures_in_a_row, e.endpoint),
        )
    )
    since = now - WINDOW_SECONDS
    if facts.recovering_since:
        since = max(since, facts.recovering_since)
    was_red = status in (S.ERROR, S.MAINTENANCE)
    if was_red and streak_start is not None:  # answering again: the incident is not graded
        since = max(since, streak_start)
    figures = figures_of(recent, since=since)
    common = {
        "figures": figures,
        "streak": streak,
        "streak_since": streak_start,
        "endpoints": endpoints,
    }
    answered = [c for c in recent if c.outcome in (OK, FAIL)]
    newest = answered[0] if answered else None

    def red(word: str, reason: str, target: str = S.ERROR) -> HealthState:
        return _state(word, RED, Quality.CRITICAL, reason, target, **common)

    # Red: the broker cannot be used now.
    if newest is not None and newest.outcome == FAIL and newest.why == MAINTENANCE_ANNOUNCED:
        return red("Maintenance", f"{facts.broker} announced maintenance.", S.MAINTENANCE)
    down = [e for e in endpoints if e.failures_in_a_row >= DOWN_AFTER]
    if down:
        worst = down[0]
        paused = (
            " Calls are paused and retried by the platform with growing pauses."
            if facts.breaker == "OPEN"
            else ""
        )
        return red(
            "Down",
            f"{worst.endpoint} is failing: {worst.last_failure or 'failed'} "
            f"({worst.failures_in_a_row} calls in a row).{paused}",
        )
    if facts.breaker == "OPEN":
        last = newest.why if newest and newest.outcome == FAIL else "no answer"
        return red(
            "Down",
            f"{facts.broker} is failing (last: {last}); calls are paused and retried by the "
            "platform with growing pauses.",
        )
    if was_red and (newest is None or newest.outcome == FAIL):
        why = newest.why if newest else "no answer since"
        return red("Down", f"{facts.broker} is still failing ({why}).")

    # Recovering: red before, answering again, not yet proven.
    recovering = was_red or status == S.CONNECTING or facts.breaker == "HALF_OPEN"
    proven = (
        streak >= RECOVERY_CALLS
        and streak_start is not None
        and now - streak_start >= RECOVERY_SECONDS
    )
    if recovering and (not proven or facts.breaker == "HALF_OPEN"):
        word = (
            "Recovering"
            if was_red or facts.breaker != "CLOSED" or facts.recovering_since
            else "Connecting"
        )
        return _state(
            word,
            YELLOW,
            Quality.POOR,
            f"Answering again for {now - (streak_start or now):.0f} s ({streak} good calls "
            f"in a row); green after {RECOVERY_SECONDS} s and {RECOVERY_CALLS} calls without a "
            "failure.",
            S.CONNECTING,
            **common,
        )

    grade = figures.grade
    if grade is Quality.CRITICAL:
        if (
            figures.success_rate is not None
            and figures.calls >= MIN_CALLS
            and (figures.success_rate < quality.THRESHOLDS[-1].min_success)
        ):
            last = next((c.why for c in answered if c.outcome == FAIL), "failed")
            return red(
                "Down",
                f"{figures.failed} of the last {figures.calls} calls failed (last: {last}).",
            )
        return red("Too slow", f"Answers take {figures.p95_ms:,.0f} ms (p95).")

    all_recent = recent[0] if recent else None
    if all_recent is not None and all_recent.outcome == THROTTLED:
        return _state(
            "Rate limited",
            YELLOW,
            min(grade, Quality.POOR, key=quality.RANK.get),
            f"{facts.broker} is limiting requests; the platform slows down by itself.",
            S.RATE_LIMITED,
            **common,
        )
    failing = [e for e in endpoints if not e.last_ok]
    if failing:
        first = failing[0]
        return _state(
            "Degraded",
            YELLOW,
            Quality.POOR,
            f"{first.endpoint}: the last call failed ({first.last_failure or 'failed'}).",
            S.CONNECTED,
            **common,
        )
    if grade is Quality.POOR:
        success = figures.success_rate
        if success is not None and figures.calls >= MIN_CALLS and success < 0.95:
            reason = f"{figures.failed} of the last {figures.calls} calls failed."
        else:
            reason = f"Answers are slow: {figures.p95_ms:,.0f} ms (p95)."
        return _state("Degraded", YELLOW, grade, reason, S.CONNECTED, **common)
    return _state("Connected", GREEN, grade, "", S.CONNECTED, **common)


# --- Reading the facts ------------------------------------------------------------------------
def recovering_key(cid: str) -> str:
    return f"recovering:{cid}"


def mark_recovering(cid: str, *, at: float | None = None) -> None:
    """A recovery (or a fresh login) begins: calls before it are not graded any more."""
    at = time.time() if at is None else at
    store().set(recovering_key(cid), at, WINDOW_SECONDS + 120)


def read_facts(connection, *, now: float | None = None) -> Facts:
    """The facts of one connection: three round trips to the health store at most."""
    from brokers.models import Broker

    now = time.time() if now is None else now
    cid = str(connection.pk)
    batch = Batch()
    at_breaker = batch.get(breaker.state_key(cid))
    at_recovering = batch.get(recovering_key(cid))
    at_names = batch.read([metrics.endpoints_key(cid)])
    at_recent = batch.read_list(metrics.recent_key(cid), WINDOW_CALLS)
    store().run(batch)
    breaker_data = batch.values[at_breaker]
    names = sorted(batch.hashes[at_names][0])[:MAX_ENDPOINTS]
    endpoints: dict[str, list[Call]] = {}
    if names:
        more = Batch()
        slots = [more.read_list(metrics.endpoint_key(cid, n), metrics.ENDPOINT_KEEP) for n in names]
        store().run(more)
        endpoints = {
            name: [Call.from_dict(raw) for raw in more.items[slot]]
            for name, slot in zip(names, slots, strict=True)
        }
        endpoints = {name: calls for name, calls in endpoints.items() if calls}
    try:
        label = Broker(connection.broker).label
    except ValueError:
        label = "The broker"
    return Facts(
        status=connection.status,
        now=now,
        breaker=breaker_data["state"] if breaker_data else "CLOSED",
        calls=[Call.from_dict(raw) for raw in batch.items[at_recent]],
        endpoints=endpoints,
        recovering_since=batch.values[at_recovering],
        broker=label,
    )


def current(connection, *, now: float | None = None) -> HealthState:
    return decide(read_facts(connection, now=now))
