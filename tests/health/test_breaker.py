"""The breaker's rules, on its own clock."""

import pytest

from health import breaker
from health.breaker import State

CID = "00000000-0000-0000-0000-000000000001"


@pytest.fixture(autouse=True)
def _db(db):
    """The breaker lives in the cache; the database is only here for the cache fixture."""


def feed(outcomes, *, slow=False, start=1000.0, step=5.0):
    change = None
    for i, ok in enumerate(outcomes):
        change = breaker.record(CID, ok=ok, slow=slow, now=start + i * step) or change
    return change


def test_few_calls_never_open_it_whatever_they_say():
    assert feed([False, False, False]) is None
    assert breaker.snapshot(CID, now=1011).state is State.CLOSED


def test_half_failures_over_the_minimum_open_it():
    change = feed([True, True, False, False])
    assert change.after is State.OPEN
    assert "2 of the last 4" in change.why


def test_mostly_slow_calls_open_it_too():
    assert feed([True] * 5, slow=True).after is State.OPEN


def test_old_calls_leave_the_window():
    feed([False, False, False], start=1000)
    assert breaker.record(CID, ok=True, slow=False, now=1000 + breaker.WINDOW_SECONDS + 20) is None
    assert breaker.snapshot(CID, now=1200).calls == 1


def test_open_refuses_all_but_trials_then_every_call_is_a_trial():
    feed([False] * 4)
    with pytest.raises(breaker.CircuitOpen, match="next trial"):
        breaker.check(CID, now=1030)
    with breaker.trial(CID):
        assert breaker.check(CID, now=1030 + breaker.OPEN_WAIT_SECONDS).after is State.HALF_OPEN
    # Half-open, every call is a trial: a portfolio refresh after a good retry goes through.
    assert breaker.check(CID, now=1100) is None
    assert breaker.record(CID, ok=True, slow=False, now=1101) is None
    assert breaker.record(CID, ok=True, slow=False, now=1106).after is State.CLOSED
    breaker.check(CID, now=1107)  # closed: anyone may call


def test_a_failed_trial_opens_it_again():
    feed([False] * 4)
    breaker.force_trial(CID, now=1020)
    assert breaker.record(CID, ok=False, slow=False, now=1021).after is State.OPEN
    assert [h["to"] for h in breaker.history(CID)] == ["OPEN", "HALF_OPEN", "OPEN"]
