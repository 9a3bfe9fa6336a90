"""Rolling metrics per connection, fed by every call through the HTTP door.

Each call adds to two buckets — its minute (kept 2 h) and its hour (kept 8 days) — a few
counters and a latency histogram; one round trip on Redis, no database row. Windows are sums
of buckets: the last hour from 60 minute buckets, the last day from 24 hour buckets. p95 is
read from the histogram (interpolated within its bucket), so it costs nothing to keep.

Outcomes (``Outcome``):
- ok: the broker answered (a refused order is the broker working, so it counts as ok);
- fail: no usable answer (5xx, timeout, connection error, garbage, lost order reply);
- throttled: the broker's own rate-limit answer; auth: the session was refused.
Calls refused by our own limiter or an open breaker never reached the broker: not counted.

Uptime comes from the status history in broker_health_logs (durable, see ``uptime``).
"""

from __future__ import annotations

import enum
import time
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from brokers.models import BrokerHealthLog, ConnectionStatus
from health.store import Batch, store

# Latency histogram upper bounds (ms); the last bucket is "above 10 s".
BOUNDS = (25, 50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000)
MINUTE_TTL = 2 * 3600 + 300
HOUR_TTL = 8 * 24 * 3600
RECENT_KEEP = 100
RECENT_TTL = 8 * 24 * 3600
ENDPOINT_KEEP = 20  # the newest calls kept per endpoint
ENDPOINT_TTL = 2 * 3600
SLOW_CALL_MS = 2500  # a call slower than this is "slow" for the breaker and the metrics

# Counted as "up" for uptime: every status whose state is green or yellow (health.state), so
# uptime counts as down exactly the time the card was red. DISCONNECTED (and SUSPENDED) is
# time the trader chose not to be connected and is left out of the window altogether.
UP = {ConnectionStatus.CONNECTED, ConnectionStatus.RATE_LIMITED, ConnectionStatus.CONNECTING}


class Outcome(enum.StrEnum):
    OK = "ok"
    FAIL = "fail"
    THROTTLED = "throttled"
    AUTH = "auth"


def _minute_key(cid: str, minute: int) -> str:
    return f"hm:{cid}:m:{minute}"


def _hour_key(cid: str, hour: int) -> str:
    return f"hm:{cid}:h:{hour}"


def recent_key(cid: str) -> str:
    return f"hm:{cid}:recent"


def endpoints_key(cid: str) -> str:
    """The endpoints a connection called lately (a hash: endpoint → calls)."""
    return f"hm:{cid}:eps"


def endpoint_key(cid: str, endpoint: str) -> str:
    return f"hm:{cid}:ep:{endpoint}"


def add_call(
    batch: Batch,
    cid: str,
    *,
    outcome: Outcome,
    elapsed_ms: float,
    endpoint: str,
    method: str,
    status_code: int | None,
    error_type: str = "",
    message: str = "",
    why: str = "",
    probe: bool = False,
    at: float | None = None,
) -> None:
    """Count one call into ``batch``. ``message`` must already be redacted (the door's are)."""
    at = time.time() if at is None else at
    slot = bisect_left(BOUNDS, elapsed_ms)
    deltas = {"n": 1, outcome.value: 1, "lat": int(elapsed_ms), f"b{slot}": 1}
    if elapsed_ms > SLOW_CALL_MS:
        deltas["slow"] = 1
    call = {
        "at": round(at, 3),
        "endpoint": endpoint,
        "method": method,
        "status": status_code,
        "ms": int(elapsed_ms),
        "outcome": outcome.value,
        "error": error_type,
        "message": message[:300],
        "why": why,
        "probe": probe,
    }
    batch.count(_minute_key(cid, int(at // 60)), deltas, MINUTE_TTL)
    batch.count(_hour_key(cid, int(at // 3600)), deltas, HOUR_TTL)
    batch.push(recent_key(cid), call, RECENT_KEEP, RECENT_TTL)
    # Each endpoint's own newest calls: a good profile probe never hides failing holdings.
    batch.push(endpoint_key(cid, endpoint), call, ENDPOINT_KEEP, ENDPOINT_TTL)
    batch.count(endpoints_key(cid), {endpoint: 1}, ENDPOINT_TTL)


def record(cid: str, **call) -> None:
    """Count one call on its own (``add_call`` in a batch of one)."""
    batch = Batch()
    add_call(batch, cid, **call)
    store().run(batch)


def recent_calls(cid: str, limit: int = 20) -> list[dict]:
    return store().items(recent_key(cid), limit)


@dataclass
class Window:
    """Sums over a window of buckets."""

    n: int = 0
    ok: int = 0
    fail: int = 0
    throttled: int = 0
    auth: int = 0
    slow: int = 0
    lat: int = 0
    histogram: list[int] = field(default_factory=lambda: [0] * (len(BOUNDS) + 1))

    def add(self, bucket: dict[str, int]) -> None:
        for name in ("n", "ok", "fail", "throttled", "auth", "slow", "lat"):
            setattr(self, name, getattr(self, name) + bucket.get(name, 0))
        for i in range(len(self.histogram)):
            self.histogram[i] += bucket.get(f"b{i}", 0)

    @property
    def errors(self) -> int:
        return self.fail + self.throttled + self.auth

    @property
    def success_rate(self) -> float | None:
        """ok / (ok + failed); throttling and refused sessions have their own statuses."""
        answered = self.ok + self.fail
        return None if not answered else self.ok / answered

    @property
    def error_rate(self) -> float | None:
        return None if not self.n else self.errors / self.n

    @property
    def average_ms(self) -> float | None:
        return None if not self.n else self.lat / self.n

    def percentile_ms(self, share: float = 0.95) -> float | None:
        if not self.n:
            return None
        rank, seen = share * self.n, 0
        for i, count in enumerate(self.histogram):
            if count and seen + count >= rank:
                low = BOUNDS[i - 1] if i else 0
                high = BOUNDS[i] if i < len(BOUNDS) else BOUNDS[-1] * 2
                return low + (high - low) * (rank - seen) / count
            seen += count
        return float(BOUNDS[-1])


def minute_keys(cid: str, minutes: int, *, now: float) -> list[str]:
    """The last ``minutes`` minute buckets, newest first."""
    current = int(now // 60)
    return [_minute_key(cid, current - i) for i in range(minutes)]


def window(cid: str, minutes: int, *, now: float | None = None) -> Window:
    """The last ``minutes`` minutes (the current minute included)."""
    now = time.time() if now is None else now
    current = int(now // 60)
    total = Window()
    for bucket in store().hashes([_minute_key(cid, current - i) for i in range(minutes)]):
        total.add(bucket)
    return total


def minute_series(cid: str, *, minutes: int = 60, step: int = 5, now: float | None = None):
    """Points over the last ``minutes``, ``step`` minutes each, oldest first."""
    now = time.time() if now is None else now
    current = int(now // 60)
    buckets = store().hashes([_minute_key(cid, current - i) for i in reversed(range(minutes))])
    points = []
    for start in range(0, minutes, step):
        point = Window()
        for bucket in buckets[start : start + step]:
            point.add(bucket)
        points.append(point)
    return points


def hour_series(cid: str, *, hours: int = 24, now: float | None = None) -> list[Window]:
    now = time.time() if now is None else now
    current = int(now // 3600)
    points = []
    for bucket in store().hashes([_hour_key(cid, current - i) for i in reversed(range(hours))]):
        point = Window()
        point.add(bucket)
        points.append(point)
    return points


def day_window(cid: str, *, hours: int = 24, now: float | None = None) -> Window:
    now = time.time() if now is None else now
    current = int(now // 3600)
    total = Window()
    for bucket in store().hashes([_hour_key(cid, current - i) for i in range(hours)]):
        total.add(bucket)
    return total


# --- Uptime, from the status history -------------------------------------------------------
@dataclass(frozen=True)
class Span:
    start: datetime
    end: datetime
    status: str


def timeline(connection, *, since: datetime, now: datetime | None = None) -> list[Span]:
    """The connection's statuses from ``since`` to now, from its transitions.

    The status at ``since`` is the first later transition's ``from_status`` (or the current
    status when nothing changed since), so no row older than the window is needed.
    """
    now = now or timezone.now()
    since = max(since, connection.created_at) if connection.created_at else since
    moves = list(
        BrokerHealthLog.objects.filter(
            connection_id=connection.pk,
            kind=BrokerHealthLog.Kind.TRANSITION,
            created_at__gt=since,
            created_at__lte=now,
        )
        .order_by("created_at", "pk")
        .values_list("created_at", "from_status", "to_status")
    )
    spans, start = [], since
    status = moves[0][1] if moves else connection.status
    if moves and since == connection.created_at and status == ConnectionStatus.CONNECTING:
        start = moves[0][0]  # the login itself is not downtime
    for at, _before, after in moves:
        if at > start:
            spans.append(Span(start, at, status))
        start, status = at, after
    if now > start:
        spans.append(Span(start, now, status))
    return spans


def uptime_share(spans: list[Span], since: datetime, until: datetime) -> float | None:
    """Share of [since, until) spent up, leaving out time DISCONNECTED; None if no data."""
    up = counted = 0.0
    for span in spans:
        start, end = max(span.start, since), min(span.end, until)
        if end <= start or span.status in (
            ConnectionStatus.DISCONNECTED,
            ConnectionStatus.SUSPENDED,
        ):
            continue
        seconds = (end - start).total_seconds()
        counted += seconds
        up += seconds if span.status in UP else 0
    return None if counted <= 0 else up / counted


@dataclass(frozen=True)
class Uptime:
    hour: float | None
    day: float | None
    week: float | None
    bars: list[float | None]  # the last 24 hours, one bar per hour, oldest first


def uptime(connection, *, now: datetime | None = None) -> Uptime:
    now = now or timezone.now()
    spans = timeline(connection, since=now - timedelta(days=7), now=now)
    hour_start = now.replace(minute=0, second=0, microsecond=0)
    bars = [
        uptime_share(spans, hour_start - timedelta(hours=i), hour_start - timedelta(hours=i - 1))
        for i in reversed(range(24))
    ]
    return Uptime(
        hour=uptime_share(spans, now - timedelta(hours=1), now),
        day=uptime_share(spans, now - timedelta(days=1), now),
        week=uptime_share(spans, now - timedelta(days=7), now),
        bars=bars,
    )
