"""Market time: India runs on IST (UTC+05:30, no daylight saving)."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

IST = ZoneInfo("Asia/Kolkata")
# Brokers regenerate their instrument masters overnight; the beat fetches them at this time
# (config/celery.py), and a master loaded before the last such moment is yesterday's.
MASTERS_REFRESH = time(8, 0)


def now_ist() -> datetime:
    return timezone.now().astimezone(IST)


def next_ist(at: time, *, after: datetime | None = None) -> datetime:
    """The next moment it is ``at`` in IST, strictly after ``after`` (default: now)."""
    after = (after or timezone.now()).astimezone(IST)
    candidate = datetime.combine(after.date(), at, tzinfo=IST)
    if candidate <= after:
        candidate += timedelta(days=1)
    return candidate


def last_ist(at: time, *, before: datetime | None = None) -> datetime:
    """The last moment it was ``at`` in IST, at or before ``before`` (default: now)."""
    return next_ist(at, after=before) - timedelta(days=1)
