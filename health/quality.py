"""connectionQuality: one word and one colour for how a connection is doing right now.

Graded over the last QUALITY_MINUTES of calls (probes every 30 s plus every real call), from
the success rate (answered / answered + failed) and the p95 response time:

| quality   | success rate | p95 response | colour |
|-----------|--------------|--------------|--------|
| EXCELLENT | ≥ 99 %       | < 500 ms     | green  |
| GOOD      | ≥ 95 %       | < 1,000 ms   | green  |
| POOR      | ≥ 80 %       | < 3,000 ms   | yellow |
| CRITICAL  | below that, or either figure worse                  | red    |

The success rate needs at least MIN_CALLS answered or failed calls in the window (as the
breaker does); with fewer, only the response time grades.

The status comes first: ERROR, TOKEN_EXPIRED and SUSPENDED are CRITICAL (red) whatever the
figures; RATE_LIMITED, MAINTENANCE and CONNECTING are at best POOR (yellow); with no calls in
the window a CONNECTED connection is GOOD. DISCONNECTED has no quality (grey).
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass

from brokers.models import ConnectionStatus as S
from health import metrics
from health.metrics import Window
from health.store import Batch, store

QUALITY_MINUTES = 15
MIN_CALLS = 4


class Quality(enum.StrEnum):
    EXCELLENT = "EXCELLENT"
    GOOD = "GOOD"
    POOR = "POOR"
    CRITICAL = "CRITICAL"
    NONE = "NONE"  # disconnected: nothing to grade


@dataclass(frozen=True)
class Threshold:
    quality: Quality
    min_success: float
    max_p95_ms: float


THRESHOLDS = (
    Threshold(Quality.EXCELLENT, 0.99, 500),
    Threshold(Quality.GOOD, 0.95, 1000),
    Threshold(Quality.POOR, 0.80, 3000),
)
COLOUR = {
    Quality.EXCELLENT: "green",
    Quality.GOOD: "green",
    Quality.POOR: "yellow",
    Quality.CRITICAL: "red",
    Quality.NONE: "grey",
}
RANK = {Quality.CRITICAL: 0, Quality.POOR: 1, Quality.GOOD: 2, Quality.EXCELLENT: 3}
RED_STATUSES = {S.ERROR, S.TOKEN_EXPIRED, S.SUSPENDED}
YELLOW_STATUSES = {S.RATE_LIMITED, S.MAINTENANCE, S.CONNECTING}


def from_figures(window: Window) -> Quality:
    success, p95 = window.success_rate, window.percentile_ms(0.95)
    if p95 is None:
        return Quality.GOOD
    if success is None or window.ok + window.fail < MIN_CALLS:
        success = 1.0
    for threshold in THRESHOLDS:
        if success >= threshold.min_success and p95 < threshold.max_p95_ms:
            return threshold.quality
    return Quality.CRITICAL


def grade(status: str, window: Window) -> Quality:
    if status == S.DISCONNECTED:
        return Quality.NONE
    if status in RED_STATUSES:
        return Quality.CRITICAL
    quality = from_figures(window)
    if status in YELLOW_STATUSES and RANK[quality] > RANK[Quality.POOR]:
        return Quality.POOR
    return quality


def colour(quality: str) -> str:
    return COLOUR.get(Quality(quality) if quality else Quality.NONE, "grey")


def _recovered_key(cid: str) -> str:
    return f"recovered:{cid}"


def mark_recovered(cid: str, *, at: float | None = None) -> None:
    at = time.time() if at is None else at
    store().set(_recovered_key(cid), at, QUALITY_MINUTES * 60 + 120)


def recent_window(cid: str, *, now: float | None = None) -> Window:
    """The calls quality is graded on: the last QUALITY_MINUTES, or since it came back."""
    return read_for_grading(cid, now=now)[0]


def read_for_grading(
    cid: str, *, now: float | None = None, also: tuple[str, ...] = ()
) -> tuple[Window, list]:
    """The grading window and the values of the keys ``also``, in one round trip."""
    now = time.time() if now is None else now
    batch = Batch()
    recovered_at = batch.get(_recovered_key(cid))
    extra = [batch.get(key) for key in also]
    buckets = batch.read(metrics.minute_keys(cid, QUALITY_MINUTES, now=now))
    store().run(batch)
    since = batch.values[recovered_at]
    minutes = QUALITY_MINUTES
    if since is not None:
        minutes = max(0, min(minutes, int(now // 60) - int(since // 60)))
    window = Window()
    for bucket in batch.hashes[buckets][:minutes]:
        window.add(bucket)
    return window, [batch.values[i] for i in extra]
