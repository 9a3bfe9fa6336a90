"""1,000 and 5,000 idle websocket clients on one Daphne process receiving a broadcast.

Daphne runs as its own process (free loopback port, Redis channel layer); this process opens
the sockets with the `websockets` package — all one trader's, so one status push reaches every
one of them — and reports the server's memory (RSS, from /proc) idle and per socket, and the
delivery time of a broadcast sent through health.live (the helper every status push uses):
from the send to the first, the median and the last client holding the message.

Needs Redis (REDIS_URL, default redis://127.0.0.1:6379/0): the in-memory layer of the
embedded default cannot be reached from outside the server's process. Raises this process's
open-file limit to its hard limit (the server inherits it). Bounded: at most 5,000 sockets,
five broadcasts per size, then everything is closed and the server stopped.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import time

from django.conf import settings

SIZES = tuple(int(n) for n in os.environ.get("BENCH_SOCKETS", "1000,5000").split(","))
BROADCASTS = 5
OPEN_AT_ONCE = 100
CHILD_FLAG = "BENCH_IDLE_SOCKETS_REDIS"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _raise_file_limit(needed: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, needed)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


def _trader():
    from django.contrib.auth import get_user_model
    from django.test import Client

    user = get_user_model().objects.create(username=f"bench-sockets-{time.time_ns()}")
    client = Client()
    client.force_login(user)
    name = settings.SESSION_COOKIE_NAME
    return user, f"{name}={client.cookies[name].value}"


async def _open(url: str, cookie: str, count: int, sockets: list) -> None:
    import websockets

    ws_url = url.replace("http://", "ws://") + "/ws/brokers/?format=json"
    headers = {"Cookie": cookie, "Origin": url}
    while len(sockets) < count:
        batch = min(OPEN_AT_ONCE, count - len(sockets))
        opened = await asyncio.gather(
            *(
                websockets.connect(ws_url, additional_headers=headers, open_timeout=30)
                for _ in range(batch)
            )
        )
        sockets.extend(opened)


async def _broadcast(sockets: list, user_id) -> tuple[float, float, float]:
    from asgiref.sync import sync_to_async

    from health import live

    arrivals: list[float] = []

    async def wait(socket):
        json.loads(await asyncio.wait_for(socket.recv(), 60))
        arrivals.append(time.perf_counter())

    waiters = [asyncio.create_task(wait(s)) for s in sockets]
    await asyncio.sleep(0.05)
    payload = json.dumps({"type": "BROKER_STATUS_UPDATE", "bench": True})
    started = time.perf_counter()
    await sync_to_async(live.send, thread_sensitive=False)(user_id, json_text=payload, html="")
    await asyncio.gather(*waiters)
    arrivals.sort()
    return (
        (arrivals[0] - started) * 1000,
        (statistics.median(arrivals) - started) * 1000,
        (arrivals[-1] - started) * 1000,
    )


async def _measure(url: str, pid: int, cookie: str, user_id) -> None:
    sockets: list = []
    await asyncio.sleep(0.5)
    idle = _rss_mb(pid)
    print(f"   Daphne idle, no socket: {idle:6.1f} MB")
    try:
        for size in SIZES:
            started = time.perf_counter()
            await _open(url, cookie, size, sockets)
            opened = time.perf_counter() - started
            await asyncio.sleep(2)
            rss = _rss_mb(pid)
            runs = [await _broadcast(sockets, user_id) for _ in range(BROADCASTS)]
            first = statistics.median(r[0] for r in runs)
            median = statistics.median(r[1] for r in runs)
            last = statistics.median(r[2] for r in runs)
            print(
                f"   {size:5d} sockets: RSS {rss:6.1f} MB ({(rss - idle) * 1024 / size:4.1f} KB "
                f"per socket), opened in {opened:4.1f} s; broadcast (median of {BROADCASTS}): "
                f"first {first:5.0f} ms, median {median:5.0f} ms, all {last:5.0f} ms"
            )
    finally:
        await asyncio.gather(*(s.close() for s in sockets), return_exceptions=True)


def _redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_timeout=1).ping())
    except Exception:
        return False


def run() -> None:
    if not settings.REDIS_URL:
        redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)
        if os.environ.get(CHILD_FLAG) or not _redis_answers(redis_url):
            print(f"   not measured: needs Redis (none at {redis_url})")
            return
        child = subprocess.run(
            [sys.executable, "-m", "bench", "bench_idle_sockets"],
            env={**os.environ, "REDIS_URL": redis_url, CHILD_FLAG: "1"},
            capture_output=True,
            text=True,
            timeout=1200,
            check=False,
        )
        lines = [line for line in child.stdout.splitlines() if not line.startswith("==")]
        print("\n".join(lines) or f"   failed: {child.stderr[-800:]}")
        return

    from bench.server import daphne

    limit = _raise_file_limit(max(SIZES) * 2 + 200)
    print(f"   open-file limit {limit}; Redis channel layer; {max(SIZES)} sockets at most")
    user, cookie = _trader()
    try:
        with daphne() as (url, process):
            asyncio.run(_measure(url, process.pid, cookie, user.pk))
    finally:
        user.delete()
