"""Restart drills against real services of the drill's own: a Redis server and a PostgreSQL
cluster started here on free ports (never the shared ones), a real Celery worker in a
subprocess. Each drill publishes counted tasks (ops.drills), restarts or kills something while
they run, and fails unless every task ran exactly once: nothing lost, nothing doubled.

Skipped, saying why, when redis-server or PostgreSQL's initdb/pg_ctl are not installed.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from bench.server import free_port
from tests.servers import ROOT, environment

pytestmark = pytest.mark.drill

# Tasks a worker took but never acknowledged (its whole process killed) come back this soon.
VISIBILITY = 5  # seconds; the settings refuse less


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _wait(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = condition()
        except (psycopg.OperationalError, sqlite3.OperationalError):
            value = None  # the database being restarted or busy: look again
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


class OwnRedis:
    def __init__(self, folder: Path):
        self.binary = _binary("redis-server")
        self.port = free_port()
        self.folder = folder
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        # The queue must outlive a restart: append-only file, written at every command.
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.folder),
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        _wait(lambda: self._ping(redis), 10, "redis to start")

    def _ping(self, redis):
        try:
            return redis.Redis(port=self.port, socket_timeout=0.5).ping()
        except redis.ConnectionError:
            return False

    def stop(self):
        if self.process is not None:
            self.process.terminate()  # SIGTERM: Redis flushes its append-only file and exits
            self.process.wait(10)
            self.process = None


class OwnPostgres:
    def __init__(self, folder: Path):
        self.initdb, self.pg_ctl = _binary("initdb"), _binary("pg_ctl")
        self.port = free_port()
        self.data = folder / "pgdata"
        self.log = folder / "pg.log"
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def create(self):
        subprocess.run(
            [self.initdb, "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync"],
            check=True,
            capture_output=True,
            **_as_postgres_user(),
        )

    def ctl(self, *args: str):
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            [self.pg_ctl, "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", *args],
            check=True,
            capture_output=True,
            **_as_postgres_user(),
        )


def _as_postgres_user() -> dict:
    """initdb and postgres refuse to run as root: run them as the postgres user then."""
    if os.geteuid() != 0:
        return {}
    import pwd

    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("running as root and there is no postgres user for initdb")
    return {"user": user.pw_uid, "group": user.pw_gid}


class Worker:
    def __init__(self, env: dict, log: Path):
        self.env, self.log = env, log
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--concurrency",
                "2",
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=open(self.log, "a"),  # noqa: SIM115 - closed with the process
            stderr=subprocess.STDOUT,
        )
        _wait(lambda: "ready" in self.log.read_text(), 60, "the worker to start")

    def kill(self):
        self.process.kill()
        self.process.wait(10)

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()


def _database(env):
    url = env["DATABASE_URL"]
    if url.startswith("sqlite:///"):
        return sqlite3.connect(url.removeprefix("sqlite:///"), timeout=10, isolation_level=None)
    return psycopg.connect(url, autocommit=True, connect_timeout=2)


def publish(env, prefix: str, count: int, hold: float) -> None:
    """One counted row per task, then the tasks, sent to the drill's own Redis."""
    import warnings

    from kombu import Connection

    from config.celery import app

    labels = [f"{prefix}-{i:03d}" for i in range(count)]
    mark = "?" if env["DATABASE_URL"].startswith("sqlite") else "%s"
    with closing(_database(env)) as db:
        for label in labels:
            db.execute(
                "INSERT INTO ops_drill_marks (label, attempts, runs, created_at) "
                f"VALUES ({mark}, 0, 0, {mark})",
                (label, datetime.now(UTC).isoformat()),
            )
    with Connection(env["REDIS_URL"]) as connection, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # send_task ignores the suite's eager setting: wanted
        for label in labels:
            app.send_task("ops.tasks.drill_mark", (label, hold), connection=connection)


def report(env, prefix: str) -> dict:
    """What became of each task, read straight from the drill's database (a query, not a
    process start: the drills poll it)."""
    query = (
        "SELECT label, attempts, runs, worker_pid FROM ops_drill_marks "
        f"WHERE label LIKE '{prefix}-%' ORDER BY label"
    )
    with closing(_database(env)) as db:
        rows = db.execute(query).fetchall()
    return {label: {"attempts": a, "runs": r, "pid": pid} for label, a, r, pid in rows}


def all_ran(env, prefix: str, count: int):
    marks = report(env, prefix)
    return marks if len(marks) == count and all(m["runs"] >= 1 for m in marks.values()) else None


def migrate(env) -> None:
    """The drill's tables only (contenttypes and auth for the post-migrate signals), in one
    process start."""
    code = (
        "import django; django.setup(); from django.core.management import call_command; "
        "[call_command('migrate', app, '--no-input', verbosity=0) "
        "for app in ('contenttypes', 'auth', 'ops')]"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def folder():
    made = Path(tempfile.mkdtemp(prefix="drills-"))
    made.chmod(0o777)  # PostgreSQL's own user makes its cluster in here
    yield made
    if not os.environ.get("KEEP_DRILLS"):
        shutil.rmtree(made, ignore_errors=True)


@pytest.fixture(scope="module")
def redis_server(folder):
    own = OwnRedis(folder)
    if own.binary is None:
        pytest.skip("redis-server is not installed: the restart drills need one of their own")
    own.start()
    yield own
    own.stop()


@pytest.fixture(scope="module")
def drill_env(folder, redis_server):
    env = environment(
        folder,
        REDIS_URL=redis_server.url,
        CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY),
        LOG_LEVEL="INFO",
    )
    migrate(env)
    return env


@pytest.fixture(scope="module")
def worker(drill_env, folder):
    started = Worker(drill_env, folder / "worker.log")
    started.start()
    yield started
    started.stop()


def exactly_once(marks: dict, log: Path) -> None:
    wrong = {label: m for label, m in marks.items() if m["runs"] != 1}
    assert not wrong, f"lost or doubled: {wrong}\n{log.read_text()[-3000:]}"


def test_redis_restarted_while_tasks_run_loses_and_doubles_nothing(drill_env, worker, redis_server):
    publish(drill_env, "redis", 16, hold=0.25)
    _wait(lambda: any(m["attempts"] for m in report(drill_env, "redis").values()), 20, "a start")

    redis_server.stop()
    time.sleep(1)  # tasks finish and try to acknowledge while Redis is away
    redis_server.start()

    _wait(lambda: all_ran(drill_env, "redis", 16), 40, "every task to run")
    time.sleep(VISIBILITY + 2)  # an unacknowledged task would come back by now: none may
    exactly_once(report(drill_env, "redis"), worker.log)

    publish(drill_env, "after", 4, hold=0)  # the worker reconnected by itself and goes on
    exactly_once(_wait(lambda: all_ran(drill_env, "after", 4), 30, "new tasks"), worker.log)


def test_a_worker_killed_mid_task_has_its_task_run_again_once(drill_env, worker):
    # One pool process killed (out of memory, a crash): the task goes back at once.
    publish(drill_env, "child", 1, hold=2.5)
    started = _wait(lambda: report(drill_env, "child")["child-000"]["pid"], 20, "the start")
    os.kill(started, signal.SIGKILL)
    marks = _wait(lambda: all_ran(drill_env, "child", 1), 30, "the task to run again")
    assert marks["child-000"]["attempts"] == 2
    exactly_once(marks, worker.log)

    # The whole worker killed: Redis hands the task to the next worker after the visibility
    # timeout.
    publish(drill_env, "whole", 1, hold=2.5)
    _wait(lambda: report(drill_env, "whole")["whole-000"]["attempts"], 20, "the start")
    worker.kill()
    worker.start()
    marks = _wait(lambda: all_ran(drill_env, "whole", 1), VISIBILITY + 30, "the task to return")
    assert marks["whole-000"]["attempts"] == 2
    time.sleep(2)
    exactly_once(report(drill_env, "whole"), worker.log)


def test_postgresql_restarted_while_tasks_run_loses_and_doubles_nothing(folder):
    postgres = OwnPostgres(folder)
    if postgres.initdb is None or postgres.pg_ctl is None:
        pytest.skip("PostgreSQL's initdb and pg_ctl are not installed")
    postgres.create()
    postgres.ctl("start")
    own = folder / "pg-drill"
    own.mkdir()
    queue = OwnRedis(own)  # a Redis of its own: the other drills' worker never sees its tasks
    queue.start()
    try:
        env = environment(own, REDIS_URL=queue.url, DATABASE_URL=postgres.url)
        migrate(env)
        worker = Worker(env, folder / "pg-worker.log")
        worker.start()
        try:
            publish(env, "pg", 10, hold=0.3)
            _wait(lambda: any(m["attempts"] for m in report(env, "pg").values()), 20, "a start")
            postgres.ctl("restart", "-m", "fast")
            marks = _wait(lambda: all_ran(env, "pg", 10), 60, "every task to run")
            exactly_once(marks, worker.log)
        finally:
            worker.stop()
    finally:
        queue.stop()
        postgres.ctl("stop", "-m", "immediate")
