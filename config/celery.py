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
}
