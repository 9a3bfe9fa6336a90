"""A real server for benchmarks in a subprocess on a free loopback port: Daphne (the product's
server), or Django's threaded development server where a benchmark needs a broker that answers
many slow requests at once, as seven real brokers would (Daphne runs synchronous views one at
a time).

It gets its own SQLite file (or the configured DATABASE_URL), migrated first, and the sandbox
pointed at itself. The benchmark process shares that database, so it can create the users
and connections it measures. Bounded and loopback only; stopped on exit.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def isolated_database() -> str:
    """Point this process at a fresh SQLite file unless DATABASE_URL is set; return the URL."""
    if not os.environ.get("DATABASE_URL"):
        folder = Path(tempfile.mkdtemp(prefix="bench-"))
        os.environ["DATABASE_URL"] = f"sqlite:///{folder / 'bench.sqlite3'}"
    return os.environ["DATABASE_URL"]


DAPHNE = [
    sys.executable,
    "-m",
    "daphne",
    "-b",
    "127.0.0.1",
    "-p",
    "{port}",
    "config.asgi:application",
]
# Django's WSGI server, one thread per request (runserver itself would be Daphne's here).
THREADED = [
    sys.executable,
    "-c",
    "import sys; from django.core.servers.basehttp import run; "
    "from django.core.wsgi import get_wsgi_application; "
    "run('127.0.0.1', int(sys.argv[1]), get_wsgi_application(), threading=True)",
    "{port}",
]


@contextmanager
def app_server(*, extra_env: dict | None = None, startup_seconds: float = 30, command=DAPHNE):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SITE_URL": url,
        "SANDBOX_BASE_URL": url,
        "INPROCESS_SCHEDULER": "false",
        "LOG_LEVEL": "WARNING",
        **(extra_env or {}),
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v0"], cwd=ROOT, env=env, check=True
    )
    # BENCH_SERVER_LOG=<file> keeps the server's errors, to see why a figure is missing.
    log = os.environ.get("BENCH_SERVER_LOG")
    with open(log or os.devnull, "a") as errors:
        process = subprocess.Popen(
            [part.format(port=port) for part in command],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
    try:
        deadline = time.monotonic() + startup_seconds
        while True:
            try:
                if requests.get(f"{url}/healthz", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the benchmark server did not start")
            time.sleep(0.2)
        yield url, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def daphne(**kwargs):
    return app_server(command=DAPHNE, **kwargs)


def threaded(**kwargs):
    return app_server(command=THREADED, **kwargs)
