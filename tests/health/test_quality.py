"""connectionQuality from its documented thresholds."""

from brokers.models import ConnectionStatus as S
from health.metrics import BOUNDS, Window
from health.quality import Quality, colour, grade


def window(ok: int, fail: int, ms: float) -> Window:
    w = Window(n=ok + fail, ok=ok, fail=fail, lat=int(ms * (ok + fail)))
    slot = next((i for i, bound in enumerate(BOUNDS) if ms <= bound), len(BOUNDS))
    w.histogram[slot] = ok + fail
    return w


def test_the_thresholds():
    assert grade(S.CONNECTED, window(100, 0, 90)) is Quality.EXCELLENT
    assert grade(S.CONNECTED, window(97, 3, 90)) is Quality.GOOD
    assert grade(S.CONNECTED, window(100, 0, 700)) is Quality.GOOD
    assert grade(S.CONNECTED, window(100, 0, 1200)) is Quality.POOR
    assert grade(S.CONNECTED, window(85, 15, 90)) is Quality.POOR
    assert grade(S.CONNECTED, window(70, 30, 90)) is Quality.CRITICAL
    assert grade(S.CONNECTED, window(100, 0, 4000)) is Quality.CRITICAL


def test_the_status_comes_first():
    fine = window(100, 0, 90)
    assert grade(S.ERROR, fine) is Quality.CRITICAL
    assert grade(S.TOKEN_EXPIRED, fine) is Quality.CRITICAL
    assert grade(S.RATE_LIMITED, fine) is Quality.POOR
    assert grade(S.MAINTENANCE, fine) is Quality.POOR
    assert grade(S.DISCONNECTED, fine) is Quality.NONE
    assert grade(S.CONNECTED, Window()) is Quality.GOOD  # no calls yet
    assert grade(S.CONNECTED, window(1, 2, 90)) is Quality.EXCELLENT  # too few calls to judge


def test_colours():
    assert [colour(q) for q in ("EXCELLENT", "GOOD", "POOR", "CRITICAL", "NONE")] == [
        "green",
        "green",
        "yellow",
        "red",
        "grey",
    ]
