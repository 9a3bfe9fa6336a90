"""Automatic reconnection: when to try a failing connection again.

Exponential backoff with full jitter (a uniformly random wait between zero and the capped
exponential), so many connections of a broker that went down together do not come back in
lock-step and hammer it. Attempt n waits up to min(CAP_SECONDS, BASE_SECONDS · 2^n); the
breaker's own wait is a floor. The trader can skip the wait with "Retry now"
(probes.retry_now), which runs the same trial probe at once.
"""

from __future__ import annotations

import random

BASE_SECONDS = 5
CAP_SECONDS = 15 * 60


def backoff(attempt: int, *, rng=random.random) -> float:
    """Seconds to wait before reconnection attempt ``attempt`` (0-based), full jitter."""
    ceiling = min(CAP_SECONDS, BASE_SECONDS * 2 ** min(attempt, 20))
    return rng() * ceiling


def next_attempt_in(attempt: int, *, floor: float = 0.0, rng=random.random) -> float:
    return max(floor, backoff(attempt, rng=rng))
