"""The grade: one word for how well a connection answers, from two figures.

Graded over the window of health.state (the last 5 minutes of calls, none from before the
last recovery), from the success rate (ok ÷ ok + failed) and the p95 response time:

| grade     | success rate | p95 response | colour |
|-----------|--------------|--------------|--------|
| EXCELLENT | ≥ 99 %       | < 500 ms     | green  |
| GOOD      | ≥ 95 %       | < 1,000 ms   | green  |
| POOR      | ≥ 80 %       | < 3,000 ms   | yellow |
| CRITICAL  | below that, or either figure worse                  | red    |

The success rate needs at least MIN_CALLS answered or failed calls in the window; with fewer,
only the response time grades. No calls at all: GOOD. The state (health.state) caps the grade
by its colour, so the badge never says better than the word.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

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


def from_figures(success: float | None, p95_ms: float | None, calls: int) -> Quality:
    if p95_ms is None:
        return Quality.GOOD
    if success is None or calls < MIN_CALLS:
        success = 1.0
    for threshold in THRESHOLDS:
        if success >= threshold.min_success and p95_ms < threshold.max_p95_ms:
            return threshold.quality
    return Quality.CRITICAL


def colour(quality: str) -> str:
    return COLOUR.get(Quality(quality) if quality else Quality.NONE, "grey")
