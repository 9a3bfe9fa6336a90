"""Tasks run through the real queue: in-process without Redis, a real worker on Redis."""

from datetime import timedelta

import pytest
from django.utils import timezone

from brokers.models import OAuthState
from brokers.tasks import purge_expired_oauth_states
from config.celery import app
from config.scheduler import InProcessScheduler

pytestmark = pytest.mark.django_db(transaction=True)


def make_state(user, *, minutes: int, used: bool = False) -> OAuthState:
    return OAuthState.objects.create(
        state=f"s-{minutes}-{used}",
        user=user,
        broker="zerodha",
        redirect_uri="http://127.0.0.1:8000/cb",
        expires_at=timezone.now() + timedelta(minutes=minutes),
        used_at=timezone.now() if used else None,
    )


def test_the_purge_task_removes_expired_and_used_logins_only(trader, worker):
    make_state(trader, minutes=-1)
    make_state(trader, minutes=5, used=True)
    live = make_state(trader, minutes=5)

    result = purge_expired_oauth_states.delay()
    if worker is not None:
        import time

        deadline = time.monotonic() + 10
        while OAuthState.objects.count() > 1 and time.monotonic() < deadline:
            time.sleep(0.05)
    else:
        assert result.get() == 2

    assert list(OAuthState.objects.all()) == [live]


def test_the_in_process_scheduler_runs_the_beat_schedule(trader, settings):
    eager = app.conf.task_always_eager  # put back after: later tests send through the queue
    settings.CELERY_TASK_ALWAYS_EAGER = True
    app.conf.task_always_eager = True
    try:
        make_state(trader, minutes=-1)
        scheduler = InProcessScheduler(app)
        start = timezone.now()
        scheduler.due_entries(start)  # first sight of each entry starts its clock

        assert scheduler.due_entries(start + timedelta(seconds=30)) == []
        scheduler.last_run = {name: start - timedelta(hours=1) for name in scheduler.last_run}
        scheduler.run_due()

        assert not OAuthState.objects.exists()
    finally:
        app.conf.task_always_eager = eager


def test_every_beat_entry_names_a_registered_task():
    app.loader.import_default_modules()
    for name, entry in app.conf.beat_schedule.items():
        assert entry["task"] in app.tasks, name
