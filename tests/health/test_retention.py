"""Health logs: 7 days in full, then one summary row per connection and day."""

from datetime import datetime, timedelta

import pytest

from brokers.clock import IST
from brokers.models import BrokerHealthLog
from health.retention import summarize_old_logs

pytestmark = pytest.mark.django_db(transaction=True)

NOW = datetime(2026, 11, 23, 2, 30, tzinfo=IST)


def log(connection, at, **fields):
    return BrokerHealthLog.objects.create(connection=connection, created_at=at, **fields)


def test_old_days_are_folded_into_summaries_and_recent_ones_kept(connection):
    old_day = datetime(2026, 11, 10, 9, 0, tzinfo=IST)
    for i in range(4):
        log(
            connection,
            old_day + timedelta(minutes=i),
            kind="probe",
            success=True,
            response_time_ms=100,
        )
    log(
        connection,
        old_day + timedelta(hours=1),
        kind="probe",
        success=False,
        error_type="BrokerUnavailable",
        response_time_ms=300,
    )
    log(
        connection,
        old_day + timedelta(hours=2),
        kind="transition",
        from_status="CONNECTED",
        to_status="ERROR",
    )
    log(connection, old_day + timedelta(days=1), kind="probe", success=True, response_time_ms=50)
    recent = log(
        connection, NOW - timedelta(days=2), kind="probe", success=True, response_time_ms=70
    )

    assert summarize_old_logs(now=NOW) == 7
    assert summarize_old_logs(now=NOW) == 0  # safe to run twice

    summaries = BrokerHealthLog.objects.filter(kind="summary").order_by("created_at")
    assert [s.created_at.astimezone(IST).date().day for s in summaries] == [10, 11]
    first = summaries[0].details
    assert first["probes"] == 5 and first["failures"] == 1
    assert first["errorsByType"] == {"BrokerUnavailable": 1}
    assert first["averageMs"] == 140.0 and first["maxMs"] == 300
    assert first["transitions"] == 1 and first["statusAtEnd"] == "ERROR"
    assert summaries[0].success is False
    assert list(BrokerHealthLog.objects.exclude(kind="summary")) == [recent]


def test_a_day_folded_again_adds_to_its_summary(connection):
    day = datetime(2026, 11, 10, 9, 0, tzinfo=IST)
    log(connection, day, kind="probe", success=True, response_time_ms=100)
    summarize_old_logs(now=NOW)
    log(
        connection, day + timedelta(hours=1), kind="probe", success=True, response_time_ms=200
    )  # late row
    summarize_old_logs(now=NOW)

    summary = BrokerHealthLog.objects.get(kind="summary")
    assert summary.details["probes"] == 2 and summary.details["averageMs"] == 150.0
