"""Status change committed → websocket client received: p50 and p99 (goal: p99 under 100 ms).

A trader's connection flips CONNECTED ↔ ERROR through brokers.states.transition, one change at
a time; a websocket client of that trader (the `websockets` package, `?format=json`) waits for
each BROKER_STATUS_UPDATE. The clock starts when the change is committed (the first status
listener runs right after the commit) and stops when the client has the message. The push in
between renders the dashboard card and the health row and sends both forms.

- embedded default: Daphne runs in a thread of this process with the in-memory channel layer,
  as `make run` does (the change is committed in a worker thread, like the in-process sweep);
- Redis: Daphne runs as its own process with the Redis channel layer; the change is committed
  here, as a Celery worker would. Runs when Redis answers at REDIS_URL (default
  redis://127.0.0.1:6379/0), in a child process configured for it.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import threading
import time

from django.conf import settings

CHANGES = 200
CHILD_FLAG = "BENCH_STATUS_PUSH_REDIS"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


def _user_and_connection():
    from django.contrib.auth import get_user_model

    from brokers.models import BrokerConnection

    user, _ = get_user_model().objects.get_or_create(username=f"bench-push-{time.time_ns()}")
    connection = BrokerConnection.objects.create(
        user=user, broker="zerodha", account_id=f"BP{time.time_ns() % 10**8}", status="CONNECTED"
    )
    return user, connection


def _cookie(user) -> str:
    from django.test import Client

    client = Client()
    client.force_login(user)
    name = settings.SESSION_COOKIE_NAME
    return f"{name}={client.cookies[name].value}"


def _flip_forever(connection, committed: dict, go: threading.Event, stop: threading.Event):
    from brokers import states

    target = "ERROR"
    while not stop.is_set():
        if not go.wait(1):
            continue
        go.clear()
        connection.refresh_from_db()
        states.transition(connection, target, reason="bench")
        target = "CONNECTED" if target == "ERROR" else "ERROR"


async def _measure(url: str, cookie: str, connection, go, committed, changes: int) -> list[float]:
    import websockets

    ws_url = url.replace("http://", "ws://") + "/ws/brokers/?format=json"
    samples = []
    async with websockets.connect(
        ws_url, additional_headers={"Cookie": cookie, "Origin": url}, max_size=2**22
    ) as socket:
        await asyncio.sleep(0.2)
        for _ in range(changes):
            committed.clear()
            go.set()
            while True:
                message = json.loads(await asyncio.wait_for(socket.recv(), 10))
                if message.get("type") == "BROKER_STATUS_UPDATE" and message.get(
                    "connectionId"
                ) == str(connection.pk):
                    break
            received = time.perf_counter()
            samples.append((received - committed["at"]) * 1000)
    return samples


def _run(url: str, label: str) -> None:
    from brokers import states

    user, connection = _user_and_connection()
    committed: dict = {}

    def mark(conn, before, after):
        if conn.pk == connection.pk:
            committed["at"] = time.perf_counter()

    states.listeners.insert(0, mark)
    go, stop = threading.Event(), threading.Event()
    worker = threading.Thread(
        target=_flip_forever, args=(connection, committed, go, stop), daemon=True
    )
    worker.start()
    try:
        samples = asyncio.run(_measure(url, _cookie(user), connection, go, committed, CHANGES))
    finally:
        stop.set()
        states.listeners.remove(mark)
        worker.join(5)
        from health.store import store

        store().forget({str(connection.pk), str(user.pk)})
        user.delete()
    samples.sort()
    p50 = statistics.median(samples)
    p99 = samples[max(0, int(len(samples) * 0.99) - 1)]
    print(
        f"   {label:28s} {len(samples)} changes: p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   "
        f"max {samples[-1]:6.1f} ms   (goal p99 < 100 ms)"
    )


def _embedded() -> None:
    from channels.routing import ProtocolTypeRouter

    from bench.server import daphne_in_thread
    from config.asgi import application, django_asgi_app

    url = daphne_in_thread(
        ProtocolTypeRouter(
            {"http": django_asgi_app, "websocket": application.application_mapping["websocket"]}
        )
    )
    _run(url, "embedded (in-memory layer)")


def _with_redis() -> None:
    from bench.server import daphne

    with daphne() as (url, _process):
        _run(url, "Redis (separate processes)")


def _redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_timeout=1).ping())
    except Exception:
        return False


def run() -> None:
    if settings.REDIS_URL:
        _with_redis()
        return
    _embedded()
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)
    if os.environ.get(CHILD_FLAG) or not _redis_answers(redis_url):
        print(f"   Redis: not measured (no Redis at {redis_url})")
        return
    env = {**os.environ, "REDIS_URL": redis_url, CHILD_FLAG: "1"}
    child = subprocess.run(
        [sys.executable, "-m", "bench", "bench_status_push"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    lines = [line for line in child.stdout.splitlines() if not line.startswith("==")]
    print("\n".join(lines) or f"   Redis run failed: {child.stderr[-500:]}")
