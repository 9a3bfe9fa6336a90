"""Restart drills: tasks whose every run is counted, so a drill can tell lost from doubled.

``prepare`` creates one DrillMark row per task (``manage.py drill_mark`` then sends them);
``mark`` (the task's body) counts an attempt, holds, then counts the run; ``report`` says, per
label, attempts and runs.
A drill passes when every published label ran exactly once (tests/ops/test_drills.py).
"""

from __future__ import annotations

import os
import time

from django.db.models import F

from ops.models import DrillMark


def prepare(prefix: str, count: int) -> list[str]:
    """One row per task about to be published; the labels to publish."""
    labels = [f"{prefix}-{i:03d}" for i in range(count)]
    DrillMark.objects.bulk_create([DrillMark(label=label) for label in labels])
    return labels


def mark(label: str, *, hold_seconds: float = 0.0) -> None:
    DrillMark.objects.filter(label=label).update(attempts=F("attempts") + 1, worker_pid=os.getpid())
    if hold_seconds:
        time.sleep(hold_seconds)
    DrillMark.objects.filter(label=label).update(runs=F("runs") + 1)


def report(prefix: str) -> dict[str, dict]:
    rows = DrillMark.objects.filter(label__startswith=f"{prefix}-").order_by("label")
    return {
        row.label: {"attempts": row.attempts, "runs": row.runs, "pid": row.worker_pid}
        for row in rows
    }
