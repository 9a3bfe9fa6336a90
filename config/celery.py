"""The Celery app and the one beat schedule.

With REDIS_URL set, `celery -A config worker` and `celery -A config beat` run it. Without it,
tasks run in-process and config/scheduler.py runs this same schedule in a thread of the web
process.
"""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("multibroker")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # OAuth states live ten minutes; sweep the used and expired ones every ten so the table
    # and the cache never grow with abandoned logins.
    "purge-oauth-states": {
        "task": "brokers.tasks.purge_expired_oauth_states",
        "schedule": 600.0,
    },
    # Brokers regenerate their instrument masters overnight; fetch them at 08:00 IST, before
    # the 09:15 open, so symbol → ISIN lookups are fresh for the day.
    "refresh-instrument-masters": {
        "task": "brokers.tasks.refresh_instrument_masters",
        "schedule": crontab(hour=8, minute=0),
    },
    # Sessions that can be renewed are renewed half an hour before they die; every 5 min so a
    # failed attempt has several more chances before the expiry.
    "refresh-expiring-tokens": {
        "task": "brokers.tasks.refresh_expiring_tokens",
        "schedule": 300.0,
    },
    # Most Indian broker sessions die overnight (Kite 06:00, Upstox 03:30 IST): mark them
    # TOKEN_EXPIRED within a minute so nothing keeps calling with a dead token.
    "expire-due-tokens": {
        "task": "brokers.tasks.expire_due_tokens",
        "schedule": 60.0,
    },
    # Re-login reminders for brokers that cannot refresh: the evening before...
    "warn-expiring-logins-evening": {
        "task": "health.tasks.warn_expiring_logins",
        "schedule": crontab(hour=20, minute=0),
        "args": ("evening",),
    },
    # ...and again at 08:45 IST on trading days, half an hour before the open.
    "warn-expiring-logins-morning": {
        "task": "health.tasks.warn_expiring_logins",
        "schedule": crontab(hour=8, minute=45, day_of_week="mon-fri"),
        "args": ("morning",),
    },
}
