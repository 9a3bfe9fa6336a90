"""The health sweep in shards over 1, 2 and 4 Celery workers: 10,000 connections, checks/s.

Goal: 10,000 connections at the default 30 s interval (333 checks/s) with 2 workers.

Each worker is a real `celery -A config worker --concurrency 1` process on this machine's
PostgreSQL and Redis (DATABASE_URL and REDIS_URL must be set: SQLite takes one writer at a
time). The broker is a replay of a Kite profile answer served by a small asyncio server in
its own process, 100 ms late, as in bench_probe_sweep. For each number of workers, every
connection is made due, the beat task (health.tasks.sweep_connections) is sent once, as beat
would, and the clock runs until every connection holds a new probe row in broker_health_logs;
each connection must hold exactly one (a second probe in the interval fails the run). Which
worker ran how many shards is read from their logs: adding a worker must take shards off the
others.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from django.conf import settings

CONNECTIONS = int(os.environ.get("BENCH_SWEEP_CONNECTIONS", "10000"))
WORKER_COUNTS = tuple(int(n) for n in os.environ.get("BENCH_SWEEP_WORKERS", "1,2,4").split(","))
LATENCY_MS = 100
PROFILE = '{"status": "success", "data": {"user_id": "ZX1", "user_name": "Bench", "email": ""}}'
ROOT = Path(__file__).resolve().parent.parent


def _connections(n: int):
    from django.contrib.auth import get_user_model

    from brokers.models import BrokerApp, BrokerConnection

    user = get_user_model().objects.create(username=f"bench-shards-{time.time_ns()}")
    app = BrokerApp(user=user, broker="zerodha", label="bench", api_key="kitebench01")
    app.redirect_url = "http://127.0.0.1/brokers/callback/zerodha/"
    app.api_secret = "bench-secret"
    app.save()
    stamp = uuid.uuid4().hex[:6]
    rows = [
        BrokerConnection(
            user=user,
            broker="zerodha",
            account_id=f"SH{stamp}{i:05d}",
            app=app,
            access_token=f"bench-token-{i:05d}",
            status="CONNECTED",
        )
        for i in range(n)
    ]
    BrokerConnection.objects.bulk_create(rows, batch_size=1000)
    return user


def _workers(count: int, env: dict, folder: Path) -> list[tuple[subprocess.Popen, Path]]:
    started = []
    for i in range(count):
        log = folder / f"worker{i}.log"
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--concurrency",
                "1",
                "--hostname",
                f"bench{i}@%h",
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=env,
            stdout=open(log, "w"),  # noqa: SIM115 - closed with the process
            stderr=subprocess.STDOUT,
        )
        started.append((process, log))
    deadline = time.monotonic() + 60
    while not all("ready" in log.read_text() for _, log in started):
        if time.monotonic() > deadline:
            raise RuntimeError("the workers did not start")
        time.sleep(0.2)
    return started


def _shards_by_worker(workers) -> list[int]:
    pattern = re.compile(r"health sweep: \{'claimed': (\d+)")
    return [
        sum(1 for m in pattern.finditer(log.read_text()) if int(m.group(1)) > 0)
        for _, log in workers
    ]


def _measure(count: int, user, env: dict, folder: Path) -> None:
    from django.db.models import Count
    from django.utils import timezone

    from brokers.models import BrokerHealthLog
    from health.models import ConnectionHealth
    from health.tasks import sweep_connections

    workers = _workers(count, env, folder)
    try:
        ConnectionHealth.objects.filter(connection__user=user).update(next_check_at=timezone.now())
        since = timezone.now()
        probes = BrokerHealthLog.objects.filter(
            connection__user=user, kind="probe", created_at__gte=since
        )
        started = time.perf_counter()
        sweep_connections.delay()
        done = 0
        deadline = time.monotonic() + 900
        while done < CONNECTIONS and time.monotonic() < deadline:
            time.sleep(0.25)
            done = probes.count()
        seconds = time.perf_counter() - started
        twice = probes.values("connection_id").annotate(n=Count("id")).filter(n__gt=1).count()
        shards = _shards_by_worker(workers)
        print(
            f"   {count} worker{'s' if count > 1 else ' '}: {done} checks in {seconds:5.1f} s = "
            f"{done / seconds:4.0f} checks/s; shards per worker {shards}; "
            f"connections probed twice: {twice}"
        )
        if twice or done < CONNECTIONS:
            raise SystemExit("a connection was probed twice or not at all")
    finally:
        for process, _ in workers:
            process.terminate()
        for process, _ in workers:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def run() -> None:
    from bench.bench_probe_sweep import REPLAY_SERVER
    from bench.server import free_port
    from health import probes
    from health.store import store

    if not settings.REDIS_URL or settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        print("   not measured: needs DATABASE_URL (PostgreSQL) and REDIS_URL")
        return
    import logging

    logging.getLogger("health").setLevel(logging.WARNING)
    port = free_port()
    replay = subprocess.Popen(
        [sys.executable, "-c", REPLAY_SERVER, str(port), str(LATENCY_MS / 1000), PROFILE]
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "BROKER_ZERODHA_API_URL": f"http://127.0.0.1:{port}",
        "LOG_LEVEL": "INFO",
    }
    print(
        f"   {CONNECTIONS} connections, broker latency {LATENCY_MS} ms, shards of "
        f"{probes.SHARD}, {probes.WORKERS} probe threads per shard; worker = one Celery "
        "process, concurrency 1"
    )
    user = _connections(CONNECTIONS)
    # Warm-up, in this process: every connection's first probe (first grade, first quality
    # announcement) costs more than the steady state a sweep every 30 s sees.
    settings.BROKER_HOSTS["zerodha"]["API"] = env["BROKER_ZERODHA_API_URL"]
    probes.sweep()
    folder = Path(tempfile.mkdtemp(prefix="bench-shards-"))
    try:
        for count in WORKER_COUNTS:
            _measure(count, user, env, folder)
    finally:
        replay.terminate()
        replay.wait(timeout=10)
        ids = {str(pk) for pk in user.broker_connections.values_list("pk", flat=True)}
        store().forget(ids)
        user.delete()
