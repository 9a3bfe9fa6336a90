"""The beat schedule of config/celery.py, run in a thread of the web process.

Used only on the embedded default (no REDIS_URL), where there is no beat process: every entry
fires on the same schedule objects Celery beat uses, and the task runs in-process.
"""

import logging
import threading
from datetime import datetime

from celery.schedules import schedule as every
from django.utils import timezone

logger = logging.getLogger(__name__)
_started = threading.Event()


class InProcessScheduler:
    def __init__(self, app, *, tick_seconds: float = 1.0):
        self.app = app
        self.tick_seconds = tick_seconds
        self.last_run: dict[str, datetime] = {}
        self.stop = threading.Event()

    def due_entries(self, now: datetime) -> list[tuple[str, tuple]]:
        due = []
        for name, entry in self.app.conf.beat_schedule.items():
            schedule = entry["schedule"]
            if not hasattr(schedule, "is_due"):
                schedule = every(schedule, app=self.app)
            last = self.last_run.setdefault(name, now)
            is_due, _ = schedule.is_due(last)
            if is_due:
                due.append((entry["task"], tuple(entry.get("args", ()))))
                self.last_run[name] = now
        return due

    def run_due(self) -> None:
        for task_name, args in self.due_entries(timezone.now()):
            try:
                self.app.tasks[task_name].delay(*args)
            except Exception:
                logger.exception("scheduled task %s failed", task_name)

    def run_forever(self) -> None:
        while not self.stop.wait(self.tick_seconds):
            self.run_due()


def start_once() -> None:
    """Start the scheduler thread, once per process."""
    if _started.is_set():
        return
    _started.set()
    from config.celery import app

    app.loader.import_default_modules()
    scheduler = InProcessScheduler(app)
    threading.Thread(target=scheduler.run_forever, name="in-process-beat", daemon=True).start()
    logger.info("in-process scheduler started with %d entries", len(app.conf.beat_schedule))
