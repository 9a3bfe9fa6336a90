"""1,000 and 5,000 idle websocket clients on one Daphne process receiving a broadcast, on
channels-redis' core layer and on its pub/sub layer (the default) in the same run.

For each layer, the production command (config/web.py) runs with one worker process — one
web process — on a free loopback port with that Redis channel layer (BENCH_SOCKET_SERVER=daphne
measures one Daphne instead);
this process opens the sockets with the `websockets` package, round robin over 250 traders
(5,000 sockets are 20 per trader, the default cap), and reports the server's memory (RSS,
from /proc) idle and per socket, and the delivery time of a broadcast: one status message to
every trader's group, sent back to back from one event loop through the same layer, from the
first send to the first, the median and the last socket holding its message. Goal: the last
socket under 500 ms for 5,000 sockets (the worst of BROADCASTS broadcasts).

Needs Redis (REDIS_URL, default redis://127.0.0.1:6379/0): the in-memory layer of the
embedded default cannot be reached from outside the server's process. Raises this process's
open-file limit to its hard limit (the server inherits it). Bounded: at most 5,000 sockets,
BROADCASTS broadcasts per size, then everything is closed and the server stopped.
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
LAYERS = tuple(os.environ.get("BENCH_LAYERS", "core,pubsub").split(","))
BROADCASTS = 10
WAIT_SECONDS = 15
PER_TRADER = 20
OPEN_AT_ONCE = 50
CHILD_FLAG = "BENCH_IDLE_SOCKETS_REDIS"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
# The core layer takes a pooled Redis connection per waiting socket operation: its default
# pool of 2,000 runs out before 5,000 sockets are open ("Too many connections").
LAYER_ENV = {"core": {"CHANNEL_LAYER_MAX_CONNECTIONS": os.environ.get("BENCH_CORE_POOL", "6000")}}


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _serving_pid(pid: int) -> int:
    """The process that holds the sockets: gunicorn's one worker, or the server itself."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            found = [int(child) for child in children.read().split()]
    except OSError:
        found = []
    return found[0] if found else pid


def _raise_file_limit(needed: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, needed)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


def _traders(count: int) -> list[tuple[object, str]]:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from health.store import store

    made = []
    for _ in range(count):
        user = get_user_model().objects.create(username=f"bench-sockets-{time.time_ns()}")
        client = Client()
        client.force_login(user)
        name = settings.SESSION_COOKIE_NAME
        made.append((user, f"{name}={client.cookies[name].value}"))
    # A fresh benchmark database numbers its users from 1 again: leases an earlier run left
    # in Redis under those ids would count against the cap.
    store().forget({str(user.pk) for user, _ in made})
    return made


async def _open(url: str, traders: list, count: int, sockets: list) -> None:
    import websockets

    ws_url = url.replace("http://", "ws://") + "/ws/brokers/?format=json"
    while len(sockets) < count:
        batch = min(OPEN_AT_ONCE, count - len(sockets))
        first = len(sockets)
        opened = await asyncio.gather(
            *(
                websockets.connect(
                    ws_url,
                    additional_headers={
                        # Round robin: sockets opened together belong to different traders,
                        # so their leases (one key per trader) never wait on one another.
                        "Cookie": traders[(first + i) % len(traders)][1],
                        "Origin": url,
                    },
                    open_timeout=30,
                )
                for i in range(batch)
            )
        )
        sockets.extend(opened)


async def _broadcast(layer, sockets: list, user_ids: list) -> tuple[float, float, float, int]:
    from brokers.push import user_group

    arrivals: list[float] = []

    async def wait(socket):
        try:
            json.loads(await asyncio.wait_for(socket.recv(), WAIT_SECONDS))
        except TimeoutError:
            return  # never delivered: counted below
        arrivals.append(time.perf_counter())

    waiters = [asyncio.create_task(wait(s)) for s in sockets]
    await asyncio.sleep(0.05)
    payload = json.dumps({"type": "BROKER_STATUS_UPDATE", "bench": True})
    message = {"type": "broker.status", "json": payload, "html": ""}
    started = time.perf_counter()
    for user_id in user_ids:
        await layer.group_send(user_group(user_id), message)
    await asyncio.gather(*waiters)
    arrivals.sort()
    if not arrivals:
        return (float("nan"),) * 3 + (0,)
    return (
        (arrivals[0] - started) * 1000,
        (statistics.median(arrivals) - started) * 1000,
        (arrivals[-1] - started) * 1000,
        len(arrivals),
    )


async def _measure(url: str, pid: int, traders: list, kind: str) -> None:
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    sockets: list = []
    await asyncio.sleep(0.5)
    idle = _rss_mb(pid)
    print(f"   {kind}: server idle, no socket: {idle:6.1f} MB")
    try:
        for size in SIZES:
            started = time.perf_counter()
            try:
                await _open(url, traders, size, sockets)
            except Exception as error:  # the server gave up: say so, measure the next layer
                print(f"   {kind}: {size:5d} sockets: could not open them all ({error!r})")
                return
            opened = time.perf_counter() - started
            await asyncio.sleep(2)
            rss = _rss_mb(pid)
            user_ids = [user.pk for user, _ in traders[:size]]
            runs = [await _broadcast(layer, sockets, user_ids) for _ in range(BROADCASTS)]
            first = statistics.median(r[0] for r in runs)
            median = statistics.median(r[1] for r in runs)
            last = statistics.median(r[2] for r in runs)
            worst = max(r[2] for r in runs)
            lost = sum(size - r[3] for r in runs)
            print(
                f"   {kind}: {size:5d} sockets: RSS {rss:6.1f} MB "
                f"({(rss - idle) * 1024 / size:4.1f} KB per socket), opened in {opened:4.1f} s; "
                f"broadcast (median of {BROADCASTS}): first {first:5.0f} ms, median "
                f"{median:5.0f} ms, last socket {last:5.0f} ms (worst {worst:5.0f} ms); "
                f"not delivered within {WAIT_SECONDS} s: {lost} of {size * BROADCASTS}"
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

    from django.test import override_settings

    from bench.server import daphne, web
    from config.layers import redis_channel_layer

    serve = daphne if os.environ.get("BENCH_SOCKET_SERVER") == "daphne" else web

    limit = _raise_file_limit(max(SIZES) * 2 + 200)
    print(f"   open-file limit {limit}; {max(SIZES)} sockets at most, {PER_TRADER} per trader")
    made: list = []
    try:
        for number, kind in enumerate(LAYERS):
            if number:
                time.sleep(10)  # the last server's sockets and Redis connections wound down
            # Fresh traders for each server: the last one's socket leases may still be held.
            traders = _traders(-(-max(SIZES) // PER_TRADER))
            made.extend(traders)
            layer = {"default": redis_channel_layer(kind, settings.REDIS_URL)}
            with (
                override_settings(CHANNEL_LAYERS=layer),
                serve(extra_env={"CHANNEL_LAYER": kind, **LAYER_ENV.get(kind, {})}) as (
                    url,
                    process,
                ),
            ):
                asyncio.run(_measure(url, _serving_pid(process.pid), traders, kind))
    finally:
        for user, _ in made:
            user.delete()
