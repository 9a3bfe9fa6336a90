"""Readiness for load balancers (/readyz): can this process serve, and is the rest running?

Each check answers "ok" or a short reason: the database answers a query, Redis answers a
PING, the channel layer takes a group message, the Celery queue can be read, and a worker ran
beat's heartbeat task recently (ops.tasks.heartbeat, every HEARTBEAT_SECONDS: one task proves
both that beat schedules and that a worker consumes). Without REDIS_URL (the embedded
default) Redis and the queue are "not used", and the in-process scheduler runs the heartbeat.
"""

from __future__ import annotations

import time

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import connection

HEARTBEAT_KEY = "ops:heartbeat"
HEARTBEAT_SECONDS = 15
# Missing three heartbeats in a row: beat or every worker is gone (or the queue is stuck).
HEARTBEAT_STALE_SECONDS = 3 * HEARTBEAT_SECONDS + 15
NOT_USED = "not used"


def beat(hostname: str) -> None:
    cache.set(HEARTBEAT_KEY, {"at": time.time(), "worker": hostname}, 24 * 3600)


def heartbeat_age() -> float | None:
    seen = cache.get(HEARTBEAT_KEY)
    return None if not seen else max(0.0, time.time() - seen["at"])


def _redis():
    import redis

    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


def queue_depths() -> dict[str, int]:
    if not settings.REDIS_URL:
        return {}
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    with _redis() as client:
        return {queue: int(client.llen(queue))}


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def _redis_ping() -> str:
    if not settings.REDIS_URL:
        return NOT_USED
    with _redis() as client:
        client.ping()
    return "ok"


def _channel_layer() -> str:
    # A group nobody joins: the message goes through the layer's Redis and reaches no one.
    async_to_sync(get_channel_layer().group_send)("ops-readyz", {"type": "ops.noop"})
    return "ok"


def _queue() -> str:
    if not settings.REDIS_URL:
        return NOT_USED
    depths = queue_depths()
    return "ok" if depths else "unreadable"


def _workers() -> str:
    age = heartbeat_age()
    if age is None:
        return "no worker has run the heartbeat yet"
    if age > HEARTBEAT_STALE_SECONDS:
        return f"last heartbeat {age:.0f} s ago (beat or the workers are down)"
    return "ok"


CHECKS = {
    "database": _database,
    "redis": _redis_ping,
    "channel_layer": _channel_layer,
    "queue": _queue,
    "workers_and_beat": _workers,
}


def check() -> dict[str, str]:
    results = {}
    for name, run in CHECKS.items():
        try:
            results[name] = run()
        except Exception as error:  # a dependency that is down is an answer, not a crash
            results[name] = f"down ({type(error).__name__})"
    return results


def ready(results: dict[str, str]) -> bool:
    return all(value in ("ok", NOT_USED) for value in results.values())
