"""The grade from its documented thresholds: the figures shown next to it decide it."""

import pytest

from health.quality import Quality, colour, from_figures
from health.state import Call, figures_of, p95


@pytest.mark.parametrize(
    ("success", "p95_ms", "calls", "grade"),
    [
        (1.00, 90, 100, Quality.EXCELLENT),
        (0.99, 499, 100, Quality.EXCELLENT),
        (0.99, 500, 100, Quality.GOOD),  # the documented bound is "< 500 ms"
        (1.00, 712, 100, Quality.GOOD),  # never EXCELLENT above 500 ms
        (0.98, 90, 100, Quality.GOOD),
        (0.95, 999, 100, Quality.GOOD),
        (0.95, 1000, 100, Quality.POOR),
        (0.94, 90, 100, Quality.POOR),
        (0.80, 2999, 100, Quality.POOR),
        (0.79, 90, 100, Quality.CRITICAL),
        (1.00, 3000, 100, Quality.CRITICAL),
        (0.33, 90, 3, Quality.EXCELLENT),  # under 4 calls the success rate is not judged
        (0.33, 712, 3, Quality.GOOD),
        (None, None, 0, Quality.GOOD),  # no calls yet
    ],
)
def test_the_thresholds(success, p95_ms, calls, grade):
    assert from_figures(success, p95_ms, calls) is grade


def test_p95_is_the_nearest_rank_of_the_calls_graded():
    assert p95([100] * 19 + [712]) == 100  # 19 of 20 are at or below 100 ms
    assert p95([100] * 18 + [712, 712]) == 712
    assert p95([]) is None


def test_a_window_with_a_712_ms_p95_is_not_excellent():
    calls = [Call(at=1000 - i, endpoint="orders", outcome="ok", ms=120) for i in range(18)]
    calls += [Call(at=900, endpoint="orders", outcome="ok", ms=712)] * 2
    figures = figures_of(calls, since=0)
    assert (figures.calls, figures.p95_ms, figures.success_rate) == (20, 712, 1.0)
    assert figures.grade is Quality.GOOD


def test_colours():
    assert [colour(q) for q in ("EXCELLENT", "GOOD", "POOR", "CRITICAL", "NONE")] == [
        "green",
        "green",
        "yellow",
        "red",
        "grey",
    ]
