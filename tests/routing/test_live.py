"""Live application: a saved change reaches other processes without a restart.

With REDIS_URL, a second process (``manage.py policy_watch``, reading effective() in a loop
on the test database and the same Redis) and a Celery worker see the change. On the embedded
default there is one process: its other threads (the in-process scheduler's) see it.
"""

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from routing import tasks
from routing.models import PolicyBackup
from routing.policy import services
from routing.policy.effective import effective

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    return (
        f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )


class Watcher:
    """``manage.py policy_watch`` in its own process; its lines arrive on a queue."""

    def __init__(self, user_id: int):
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "INPROCESS_SCHEDULER": "false",
            "DJANGO_SETTINGS_MODULE": "config.settings",
        }
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "policy_watch", "--user", str(user_id)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.put(json.loads(line))

    def until(self, condition, timeout=10.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=deadline - time.monotonic())
            except queue.Empty:
                break
            if condition(line):
                return line
        raise AssertionError("the other process never saw the change")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


def save_strategy(user, strategy):
    state = services.editing(user)
    document = state.document
    document["global"]["routing"]["strategy"] = strategy
    return services.save_profile(user=user, document=document, version=state.version)


@pytest.mark.skipif(
    not settings.REDIS_URL,
    reason="the embedded default runs one process (nothing to share); needs REDIS_URL",
)
def test_another_process_sees_a_save_and_the_kill_switch_without_restart(trader, brokers):
    watcher = Watcher(trader.pk)
    try:
        watcher.until(lambda line: line["strategy"] == "LOWEST_COST", timeout=30)
        save_strategy(trader, "BEST_PRICE")
        seen = watcher.until(lambda line: line["strategy"] == "BEST_PRICE")
        assert seen["version"] == 1
        services.arm_kill_switch(user=trader, actor=trader, reason="test")
        assert watcher.until(lambda line: line["killSwitch"])["killSwitch"] is True
    finally:
        watcher.stop()


def test_a_worker_applies_the_new_policy_at_its_next_task(trader, brokers, worker):
    """The daily backup runs on a Celery worker (a real one on Redis, in-process on the
    embedded default) and keeps as many snapshots as the policy says now: a save between two
    runs is honoured by the second, no restart between."""
    document = services.editing(trader).document
    document["global"]["backup"] = {"enabled": True, "keep": 3}
    services.save_profile(user=trader, document=document, version=0)
    for version in (1, 2):
        if version == 2:
            document["global"]["risk"]["max_open_orders"] = 7
            services.save_profile(user=trader, document=document, version=1)
        tasks.back_up_profiles.delay()
        wait_for(lambda v=version: PolicyBackup.objects.filter(version=v).exists())
    assert PolicyBackup.objects.count() == 2

    document["global"]["backup"]["keep"] = 1
    document["global"]["risk"]["max_open_orders"] = 8
    services.save_profile(user=trader, document=document, version=2)
    tasks.back_up_profiles.delay()
    wait_for(lambda: list(PolicyBackup.objects.values_list("version", flat=True)) == [3])


def wait_for(condition, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("the worker did not get there in time")


def test_another_thread_sees_the_change_at_its_next_call(trader, brokers):
    """The in-process scheduler's threads share the snapshot cache: the stamp moves, the next
    call rebuilds."""
    assert effective(trader).policy.routing.strategy == "LOWEST_COST"
    save_strategy(trader, "BEST_PRICE")
    seen = []
    thread = threading.Thread(target=lambda: seen.append(effective(trader).policy.routing.strategy))
    thread.start()
    thread.join()
    assert seen == ["BEST_PRICE"]
