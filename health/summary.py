"""One connection's health at a glance: what the card, the health dashboard, the API and the
live pushes all show, computed in one place."""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.utils import timezone

from brokers.models import BrokerConnection
from health import breaker, charts, metrics, quality
from health import state as health_state
from health.metrics import Uptime, Window
from health.quality import Quality
from health.state import HealthState


@dataclass
class HealthSummary:
    connection: BrokerConnection
    state: HealthState
    hour: Window
    day: Window
    uptime: Uptime
    breaker: breaker.Snapshot
    hour_points: list[Window] | None = None
    day_points: list[Window] | None = None

    @property
    def quality(self) -> Quality:
        """The grade, capped by the state's colour (the badge never says better than the word)."""
        return self.state.grade

    @property
    def colour(self) -> str:
        return self.state.colour

    @property
    def word(self) -> str:
        return self.state.word

    @property
    def graded(self) -> health_state.Figures:
        """The figures the grade was computed from."""
        return self.state.figures

    @property
    def average_ms(self) -> float | None:
        return self.hour.average_ms

    @property
    def p95_ms(self) -> float | None:
        return self.hour.percentile_ms(0.95)

    @property
    def success_rate(self) -> float | None:
        return self.hour.success_rate

    @property
    def errors_per_hour(self) -> int:
        return self.hour.errors

    def sort_key(self) -> tuple:
        """Worst first: red before yellow before green, then lower success, then slower."""
        rank = quality.RANK.get(self.quality, 9)
        success = self.success_rate if self.success_rate is not None else 1.0
        return (rank, success, -(self.p95_ms or 0), str(self.connection))

    # Charts (only when asked for with charts=True)
    def response_chart_hour(self):
        return charts.line_chart(
            [p.average_ms for p in self.hour_points or []],
            label="Average response time, last hour (5-minute steps)",
            unit="ms",
            floor_max=100,
        )

    def response_chart_day(self):
        return charts.line_chart(
            [p.average_ms for p in self.day_points or []],
            label="Average response time, last 24 hours (hourly)",
            unit="ms",
            floor_max=100,
        )

    def error_chart_hour(self):
        return charts.line_chart(
            [None if p.error_rate is None else p.error_rate * 100 for p in self.hour_points or []],
            label="Error rate, last hour (5-minute steps)",
            unit="%",
            floor_max=10,
        )

    def error_chart_day(self):
        return charts.line_chart(
            [None if p.error_rate is None else p.error_rate * 100 for p in self.day_points or []],
            label="Error rate, last 24 hours (hourly)",
            unit="%",
            floor_max=10,
        )

    def uptime_chart(self):
        return charts.uptime_bars(self.uptime.bars, label="Uptime per hour, last 24 hours")

    def as_json(self) -> dict:
        c = self.connection
        return {
            "connectionId": str(c.pk),
            "brokerType": c.broker,
            "accountId": c.account_id,
            "displayName": c.display_name,
            "status": c.status,
            "state": self.state.as_json(),
            "quality": self.quality.value,
            "colour": self.colour,
            "graded": {
                "calls": self.graded.calls,
                "successRate": _round(self.graded.success_rate, 4),
                "p95Ms": _round(self.graded.p95_ms),
                "since": _iso_epoch(self.graded.since),
            },
            "endpoints": [
                {
                    "endpoint": e.endpoint,
                    "lastOk": e.last_ok,
                    "failuresInARow": e.failures_in_a_row,
                    "lastFailure": e.last_failure,
                    "lastCallAt": _iso_epoch(e.last_at),
                }
                for e in self.state.endpoints
            ],
            "metrics": {
                "averageMs": _round(self.average_ms),
                "p95Ms": _round(self.p95_ms),
                "successRate": _round(self.success_rate, 4),
                "errorsLastHour": self.errors_per_hour,
                "callsLastHour": self.hour.n,
                "callsLast24h": self.day.n,
                "uptime": {
                    "hour": _round(self.uptime.hour, 4),
                    "day": _round(self.uptime.day, 4),
                    "week": _round(self.uptime.week, 4),
                },
                "consecutiveFailures": self.state.failures_in_a_row,
                "lastSuccessfulCall": _iso(c.last_successful_call),
                "lastHealthCheck": _iso(c.last_health_check),
                "lastError": c.last_error,
            },
            "breaker": {
                "state": self.breaker.state.value,
                "retryAt": _iso_epoch(self.breaker.retry_at),
                "windowCalls": self.breaker.calls,
                "windowFailures": self.breaker.failures,
            },
            "tokenExpiresAt": _iso(c.token_expires_at),
        }


def summarize(connection: BrokerConnection, *, charts_too: bool = False) -> HealthSummary:
    cid = str(connection.pk)
    now = time.time()
    points = metrics.minute_series(cid, minutes=60, step=5, now=now) if charts_too else None
    hour = Window()
    if points is not None:
        for point in points:
            _merge(hour, point)
    else:
        hour = metrics.window(cid, 60, now=now)
    return HealthSummary(
        connection=connection,
        state=health_state.current(connection, now=now),
        hour=hour,
        day=metrics.day_window(cid, now=now),
        uptime=metrics.uptime(connection, now=timezone.now()),
        breaker=breaker.snapshot(cid, now=now),
        hour_points=points,
        day_points=metrics.hour_series(cid, now=now) if charts_too else None,
    )


def _merge(total: Window, part: Window) -> None:
    for name in ("n", "ok", "fail", "throttled", "auth", "slow", "lat"):
        setattr(total, name, getattr(total, name) + getattr(part, name))
    total.histogram = [a + b for a, b in zip(total.histogram, part.histogram, strict=True)]


def _round(value, digits: int = 0):
    if value is None:
        return None
    return round(value, digits) if digits else round(value)


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def _iso_epoch(value: float | None) -> str | None:
    if value is None:
        return None
    from datetime import UTC, datetime

    return datetime.fromtimestamp(value, UTC).isoformat()
