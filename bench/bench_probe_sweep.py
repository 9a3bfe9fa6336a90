"""One worker sweeping N connections against a sandbox with 100 ms latency: checks/s and CPU.

Goal: at least 300 checks/s per worker (10,000 connections at the default 30 s interval).

A real Daphne process serves the Zerodha sandbox with 100 ms of added latency on every call.
One login through the sandbox gives a session token; N connections share it, each under its
own account id — our rate limiter keeps one bucket per account (Kite: 10/s, we use 8/s), so
distinct accounts measure the sweep, not the limiter. Then `health.probes.sweep` runs as the
beat task would: one warm-up sweep (first grades, first pushes, pooled sessions opened), then
the measured sweep of all N due connections, each probe a real authenticated call through the
HTTP door and its signals, each logged in broker_health_logs.

Two brokers answer, both with 100 ms of latency:

- the sandbox itself (Django on one Daphne process): the figure is bounded by that process —
  it serves about 150-200 requests/s on this machine whatever the client does;
- a replay of the sandbox's own answer to the probe, recorded from it once and served by a
  small asyncio server in another process, so the figure is the sweeper's own capacity.

What bounds the sweeper: with W probe threads and 100 ms per call the ceiling is W * 10/s;
below it, the GIL (our CPU per probe: requests, the door's signals, the bulk database writes).
"""

from __future__ import annotations

import resource
import time
import uuid

from django.conf import settings

SIZES = (1000, 3000)
WORKERS = (32, 64)
LATENCY_MS = 100

# A minimal HTTP/1.1 keep-alive server: every request gets the recorded answer after a delay.
REPLAY_SERVER = r"""
import asyncio, sys
port, delay, body = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3].encode()
head = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
        + str(len(body)).encode() + b"\r\n\r\n")
async def serve(reader, writer):
    try:
        while True:
            request = await reader.readuntil(b"\r\n\r\n")
            if not request:
                break
            await asyncio.sleep(delay)
            writer.write(head + body)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()
async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", port, backlog=2048)
    async with server:
        await server.serve_forever()
asyncio.run(main())
"""


def _token(url: str) -> tuple[str, object]:
    from django.contrib.auth import get_user_model

    from brokers import connections
    from brokers.models import BrokerApp
    from brokers.sandbox import demo
    from tests.brokers.test_connections import approve_at_broker

    user, _ = get_user_model().objects.get_or_create(username=f"bench-sweep-{time.time_ns()}")
    values = demo.DEMO_APPS["zerodha"]
    app = BrokerApp(
        user=user,
        broker="zerodha",
        label=f"bench {time.time_ns()}",
        api_key=values["api_key"],
        redirect_url=f"{url}/brokers/callback/zerodha/",
    )
    app.api_secret = values["api_secret"]
    app.save()
    started = connections.initiate_connection(user=user, app=app, redirect_uri=app.redirect_url)
    params = approve_at_broker(started.authorization_url)
    state = params.pop("state", "") or started.state
    verified = connections.complete_connection(
        user=user, broker="zerodha", state=state, params=params
    )
    return verified.connection, app


def _connections(template, app, n: int) -> list:
    from brokers.models import BrokerConnection

    stamp = uuid.uuid4().hex[:6]
    rows = [
        BrokerConnection(
            user=template.user,
            broker="zerodha",
            account_id=f"SW{stamp}{i:05d}",
            app=app,
            access_token=template.access_token,
            token_expires_at=template.token_expires_at,
            status="CONNECTED",
            capabilities=template.capabilities,
        )
        for i in range(n)
    ]
    return BrokerConnection.objects.bulk_create(rows, batch_size=500)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _process_cpu(pid: int) -> float:
    """User + system CPU seconds of another process (Linux /proc)."""
    import os

    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


created: set[str] = set()


def _sweeps(label: str, template, app, server_pid: int) -> None:
    from django.utils import timezone

    from brokers.models import BrokerConnection
    from health import probes
    from health.models import ConnectionHealth

    for n in SIZES:
        rows = _connections(template, app, n)
        ids = [r.pk for r in rows]
        created.update(str(pk) for pk in ids)
        for workers in WORKERS:
            probes.sweep(workers=workers)  # warm-up: first grades, sessions opened
            ConnectionHealth.objects.filter(pk__in=ids).update(next_check_at=timezone.now())
            cpu, server_cpu = _cpu(), _process_cpu(server_pid)
            started = time.perf_counter()
            stats = probes.sweep(workers=workers)
            seconds = time.perf_counter() - started
            used = _cpu() - cpu
            served = _process_cpu(server_pid) - server_cpu
            print(
                f"   {label}: {n:5d} connections, {workers:2d} threads: {stats['probed']} checks "
                f"in {seconds:5.2f} s = {stats['probed'] / seconds:4.0f} checks/s "
                f"({stats['failed']} failed); CPU: sweeper {used / seconds:4.0%} of a core, "
                f"broker {served / seconds:4.0%}"
            )
        BrokerConnection.objects.filter(pk__in=ids).update(status="DISCONNECTED")


def _recorded_answer(url: str, template) -> str:
    import requests

    from brokers.sandbox import demo

    answer = requests.get(
        f"{url}/sandbox/zerodha/user/profile",
        headers={
            "X-Kite-Version": "3",
            "Authorization": f"token {demo.DEMO_APPS['zerodha']['api_key']}:"
            f"{template.access_token}",
        },
        timeout=10,
    )
    answer.raise_for_status()
    return answer.text


def run() -> None:
    import logging
    import subprocess
    import sys

    from bench.server import daphne, free_port
    from brokers.models import BrokerConnection
    from brokers.sandbox.management.commands.sandbox_faults import remote_faults

    logging.getLogger("health").setLevel(logging.WARNING)
    store = "Redis" if settings.REDIS_URL else "in-process"
    db = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    print(f"   broker latency {LATENCY_MS} ms; database {db}; health store {store}")
    template = None
    try:
        with daphne() as (url, process):
            settings.BROKER_HOSTS = {
                broker: {host: f"{url}/sandbox/{broker}" for host in hosts}
                for broker, hosts in settings.BROKER_REAL_HOSTS.items()
            }
            template, app = _token(url)
            BrokerConnection.objects.filter(pk=template.pk).update(status="DISCONNECTED")
            recorded = _recorded_answer(url, template)
            remote_faults(url, "zerodha", values={"latency_ms": LATENCY_MS})
            try:
                _sweeps("sandbox", template, app, process.pid)
            finally:
                remote_faults(url, "zerodha", clear=True)

        port = free_port()
        replay = subprocess.Popen(
            [sys.executable, "-c", REPLAY_SERVER, str(port), str(LATENCY_MS / 1000), recorded]
        )
        try:
            time.sleep(0.5)
            settings.BROKER_HOSTS["zerodha"]["API"] = f"http://127.0.0.1:{port}"
            _sweeps("replay ", template, app, replay.pid)
        finally:
            replay.terminate()
            replay.wait(timeout=10)
    finally:
        if template is not None:
            _clean_up(template)


def _clean_up(template) -> None:
    """Remove the benchmark's trader (its app, connections and logs go with it)."""
    from health.store import store

    created.add(str(template.pk))
    store().forget(created)
    template.user.delete()
