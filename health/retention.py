"""Retention: health logs are kept in full for KEEP_DAYS, then folded into daily summaries.

A summary row (kind "summary", created_at = the start of its IST day) holds the day's counts:
probes and calls, failures, failures by error type, average response time, status changes
and the status at the end of the day. Run nightly by beat; safe to run twice (and twice at
once): each connection's day is folded under a lock on the connection's row, and a day
already folded has nothing left to fold.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from brokers.clock import IST
from brokers.models import BrokerConnection, BrokerHealthLog

KEEP_DAYS = 7
DETAIL = [
    BrokerHealthLog.Kind.PROBE,
    BrokerHealthLog.Kind.CALL,
    BrokerHealthLog.Kind.TRANSITION,
]


def cutoff(now: datetime) -> datetime:
    """Midnight IST, KEEP_DAYS before ``now``'s day: whole days before it are summarized."""
    day = (now.astimezone(IST) - timedelta(days=KEEP_DAYS)).date()
    return datetime.combine(day, datetime.min.time(), tzinfo=IST)


def summarize_old_logs(*, now: datetime | None = None) -> int:
    """Fold every whole day older than KEEP_DAYS into one summary row per connection and day.

    Returns the number of detail rows folded.
    """
    now = now or timezone.now()
    limit = cutoff(now)
    folded = 0
    old = BrokerHealthLog.objects.filter(kind__in=DETAIL, created_at__lt=limit)
    for connection_id in old.values_list("connection_id", flat=True).distinct():
        while True:
            first = old.filter(connection_id=connection_id).aggregate(at=Min("created_at"))["at"]
            if first is None:
                break
            day = first.astimezone(IST).date()
            start = datetime.combine(day, datetime.min.time(), tzinfo=IST)
            done = _fold_day(connection_id, start, min(start + timedelta(days=1), limit))
            if not done:
                break
            folded += done
    return folded


def _fold_day(connection_id, start: datetime, end: datetime) -> int:
    with transaction.atomic():
        # One folder per connection at a time (a no-op lock on SQLite, which serializes writes).
        BrokerConnection.objects.select_for_update().filter(pk=connection_id).first()
        rows = list(
            BrokerHealthLog.objects.filter(
                connection_id=connection_id,
                kind__in=DETAIL,
                created_at__gte=start,
                created_at__lt=end,
            ).order_by("created_at", "pk")
        )
        if not rows:
            return 0
        checks = [r for r in rows if r.kind != BrokerHealthLog.Kind.TRANSITION]
        moves = [r for r in rows if r.kind == BrokerHealthLog.Kind.TRANSITION]
        timed = [r.response_time_ms for r in checks if r.response_time_ms is not None]
        failures = [r for r in checks if r.success is False]
        summary, _ = BrokerHealthLog.objects.get_or_create(
            connection_id=connection_id,
            kind=BrokerHealthLog.Kind.SUMMARY,
            created_at=start,
            defaults={"details": {}, "message": f"Summary of {start:%Y-%m-%d} (IST)"},
        )
        totals = summary.details or {}
        errors = Counter(totals.get("errorsByType", {}))
        errors.update(r.error_type or "unknown" for r in failures)
        count = totals.get("checks", 0) + len(checks)
        timed_before = totals.get("timedChecks", 0)
        total_ms = totals.get("averageMs", 0) * timed_before + sum(timed)
        summary.details = {
            "checks": count,
            "probes": totals.get("probes", 0)
            + sum(1 for r in checks if r.kind == BrokerHealthLog.Kind.PROBE),
            "failures": totals.get("failures", 0) + len(failures),
            "errorsByType": dict(errors),
            "timedChecks": timed_before + len(timed),
            "averageMs": round(total_ms / (timed_before + len(timed)), 1)
            if timed_before + len(timed)
            else 0,
            "maxMs": max([totals.get("maxMs", 0), *timed]),
            "transitions": totals.get("transitions", 0) + len(moves),
            "statusAtEnd": moves[-1].to_status if moves else totals.get("statusAtEnd", ""),
        }
        summary.success = not failures and not totals.get("failures")
        summary.save(update_fields=["details", "success"])
        BrokerHealthLog.objects.filter(pk__in=[r.pk for r in rows]).delete()
        return len(rows)
