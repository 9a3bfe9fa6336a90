"""Thin tasks of the operator's side."""

import socket

from celery import shared_task
from django.db import InterfaceError, OperationalError

from ops import drills, readiness


@shared_task(bind=True, ignore_result=True)
def heartbeat(self) -> None:
    readiness.beat(self.request.hostname or socket.gethostname())


@shared_task(
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=1,
    retry_backoff_max=10,
    max_retries=20,
)
def drill_mark(label: str, hold_seconds: float = 0.0) -> None:
    """A restart drill's task: count the start, hold (the window a drill restarts things in),
    then count the effect. The database gone midway is retried (with backoff) until it is
    back, as every task whose effect must not be lost should."""
    drills.mark(label, hold_seconds=hold_seconds)
