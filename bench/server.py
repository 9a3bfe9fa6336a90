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
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_serving(url: str, *, process=None, timeout: float = 30) -> None:
    """Until the server at ``url`` answers /healthz at all (a 503 too: it is up); RuntimeError
    if ``process`` ends first or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            requests.get(f"{url}/healthz", timeout=1, allow_redirects=False)
            return
        except (requests.ConnectionError, requests.Timeout):  # not up, or slow to first answer
            pass
        if (process is not None and process.poll() is not None) or time.monotonic() > deadline:
            raise RuntimeError(f"the server at {url} did not start")
        time.sleep(0.1)


def daphne_in_thread(application) -> str:
    """Daphne serving ``application`` from a daemon thread of this process, on a free loopback
    port; returns its URL. Twisted's reactor runs once per process: one such server each."""
    from daphne.server import Server

    port = free_port()
    server = Server(
        application,
        endpoints=[f"tcp:port={port}:interface=127.0.0.1"],
        signal_handlers=False,
        verbosity=0,
    )
    threading.Thread(target=server.run, name="daphne", daemon=True).start()
    url = f"http://127.0.0.1:{port}"
    wait_until_serving(url, timeout=20)
    return url


def stop(process: subprocess.Popen, timeout: float = 10) -> None:
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


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
# The production command (config/web.py): gunicorn and {workers} uvicorn worker processes.
WEB = [
    sys.executable,
    "-m",
    "config.web",
    "-b",
    "127.0.0.1",
    "-p",
    "{port}",
    "--workers",
    "{workers}",
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
        wait_until_serving(url, process=process, timeout=startup_seconds)
        yield url, process
    finally:
        stop(process)


def daphne(**kwargs):
    return app_server(command=DAPHNE, **kwargs)


def web(*, workers: int = 1, **kwargs):
    return app_server(command=[part.replace("{workers}", str(workers)) for part in WEB], **kwargs)


def threaded(**kwargs):
    return app_server(command=THREADED, **kwargs)
