"""The Celery app and the one beat schedule.

With REDIS_URL set, `celery -A config worker` and `celery -A config beat` run it. Without it,
tasks run in-process and config/scheduler.py runs this same schedule in a thread of the web
process.
"""

import os

from celery import Celery
from celery.schedules import crontab

from brokers.clock import MASTERS_REFRESH

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
        "schedule": crontab(hour=MASTERS_REFRESH.hour, minute=MASTERS_REFRESH.minute),
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
    # Consolidated portfolios move with the market: re-sync every trader's brokers every five
    # minutes while NSE/BSE trade (09:00-15:55 IST, Mon-Fri), ending on the closing prices.
    "sync-portfolios": {
        "task": "portfolio.tasks.sync_all_portfolios",
        "schedule": crontab(minute="*/5", hour="9-15", day_of_week="mon-fri"),
    },
    # Health probes: every 10 s the sweep claims the connections whose check is due (each
    # has its own interval, 30 s by default) and probes them with bounded concurrency; runs
    # that overlap never probe a connection twice (conditional-update claims).
    "sweep-connection-health": {
        "task": "health.tasks.sweep_connections",
        "schedule": 10.0,
    },
    # Health logs are kept in full for 7 days, then folded into daily summaries: nightly at
    # 02:30 IST, when no market is open and few traders are about.
    "summarize-health-logs": {
        "task": "health.tasks.summarize_health_logs",
        "schedule": crontab(hour=2, minute=30),
    },
    # Readiness (/readyz): a worker running this proves that beat schedules and that the
    # queue is consumed; three missed in a row make the installation "not ready".
    "ops-heartbeat": {
        "task": "ops.tasks.heartbeat",
        "schedule": 15.0,
    },
    # Each trader's daily policy snapshot (global.backup: on, keep N), at 02:45 IST after the
    # day's last edits; a second run the same day adds nothing.
    "back-up-policies": {
        "task": "routing.tasks.back_up_profiles",
        "schedule": crontab(hour=2, minute=45),
    },
    # Orders at a broker are followed until they are final: every 2 s the due ones (each
    # backs off from 1 s to 30 s while it stays open) are claimed by a conditional update, so
    # overlapping runs never read the same order twice; unknown outcomes are reconciled here.
    "track-open-orders": {
        "task": "routing.tasks.track_open_orders",
        "schedule": 2.0,
    },
    # Queued orders (every broker down, a paused broker, the QUEUE failover action): every 5 s
    # the due ones are tried again (each backs off to 30 s while no broker can take it) and
    # those past their validity expire. Rows are claimed with SKIP LOCKED, so overlapping runs
    # and several workers never send one twice; a broker back to CONNECTED wakes its trader's.
    "drain-order-queue": {
        "task": "routing.tasks.drain_order_queue",
        "schedule": 5.0,
    },
    # Idempotency-Keys are kept 24 hours; hourly is enough to keep the table small.
    "purge-idempotency-keys": {
        "task": "routing.tasks.purge_idempotency_keys",
        "schedule": 3600.0,
    },
}
