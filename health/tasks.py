"""Thin tasks: call a service, own the retries."""

from celery import shared_task
from django.utils import timezone

from health import notices, probes, retention


@shared_task
def warn_expiring_logins(slot: str) -> int:
    return notices.warn_expiring_logins(now=timezone.now(), slot=slot)


@shared_task
def sweep_connections() -> dict:
    """Queue one shard per probes.SHARD due connections; any worker takes any shard."""
    shards = probes.plan_sweep(timezone.now())
    for _ in range(shards):
        sweep_shard.delay()
    return {"shards": shards}


@shared_task
def sweep_shard() -> dict:
    return probes.sweep(limit=probes.SHARD, enrolled=True)


@shared_task
def summarize_health_logs() -> int:
    return retention.summarize_old_logs(now=timezone.now())
