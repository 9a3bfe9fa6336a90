"""The real server commands, run in a subprocess on a free loopback port, for tests that need
what the process itself does (its log, its start-up), not only what the application answers."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from bench.server import free_port, stop, wait_until_serving

ROOT = Path(__file__).resolve().parent.parent


def environment(folder: Path, **values: str) -> dict[str, str]:
    """This process's environment on an SQLite file of its own and no Redis, plus ``values``:
    the server under test shares nothing with the suite's database, cache or queue."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "TEST_DATABASE_NAME"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=f"sqlite:///{folder / 'server.sqlite3'}",
        INPROCESS_SCHEDULER="false",
        PYTHONUNBUFFERED="1",
    )
    env.update(values)
    return env


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@contextmanager
def serving(command: list[str], *, env: dict[str, str], output: Path):
    """Run ``command`` (``{port}`` filled in) until the block ends; yields its base URL. All it
    prints goes to ``output``, complete once the block has ended."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with open(output, "w") as sink:
        process = subprocess.Popen(
            [part.format(port=port) for part in command],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        try:
            wait_until_serving(url, process=process, timeout=60)
        except RuntimeError:
            raise RuntimeError(
                f"{command[:4]} did not start:\n{output.read_text()[-3000:]}"
            ) from None
        yield url
    finally:
        stop(process, timeout=15)
