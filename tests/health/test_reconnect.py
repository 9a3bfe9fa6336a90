"""Reconnection waits: exponential, capped, fully jittered."""

from health.reconnect import BASE_SECONDS, CAP_SECONDS, backoff, next_attempt_in


def test_the_ceiling_doubles_then_caps():
    top = [backoff(n, rng=lambda: 1.0) for n in range(12)]
    assert top[:4] == [BASE_SECONDS, BASE_SECONDS * 2, BASE_SECONDS * 4, BASE_SECONDS * 8]
    assert max(top) == CAP_SECONDS


def test_full_jitter_spreads_from_zero_to_the_ceiling():
    assert backoff(3, rng=lambda: 0.0) == 0
    assert backoff(3, rng=lambda: 0.5) == BASE_SECONDS * 4


def test_the_breaker_wait_is_a_floor():
    assert next_attempt_in(0, floor=60, rng=lambda: 0.3) == 60
    assert next_attempt_in(10, floor=60, rng=lambda: 1.0) == CAP_SECONDS
