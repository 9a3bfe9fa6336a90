"""The sweep in shards: many sweeps at once, in one worker or several, probe each due
connection exactly once per interval, and the beat task splits the due ones into shards."""

import json
import threading
import time

import pytest
import responses
from django.db import connection as db_connection

from brokers.models import BrokerHealthLog
from health import probes, tasks
from health.models import ConnectionHealth
from tests.factories import BrokerConnectionFactory

pytestmark = pytest.mark.django_db(transaction=True)

JSON = {"Content-Type": "application/json"}
PROFILE = {"status": "success", "data": {"user_id": "ZX1", "user_name": "Asha", "email": ""}}


@pytest.fixture
def kites(trader, clock):
    return [
        BrokerConnectionFactory(user=trader, account_id=f"SH{i:03d}", access_token=f"tok-{i}-x")
        for i in range(24)
    ]


@pytest.fixture
def slow_broker(settings):
    """Kite's profile answered 20 ms late, so that sweeps running together overlap."""

    def answer(request):
        time.sleep(0.02)
        return 200, JSON, json.dumps(PROFILE)

    with responses.RequestsMock() as broker:
        broker.add_callback(
            responses.GET,
            settings.BROKER_HOSTS["zerodha"]["API"] + "/user/profile",
            callback=answer,
        )
        yield broker


def probes_per_connection(kites) -> list[int]:
    return [BrokerHealthLog.objects.filter(connection=k, kind="probe").count() for k in kites]


@pytest.mark.skipif(
    db_connection.vendor == "sqlite", reason="SQLite takes one writer at a time: no overlap"
)
def test_sweeps_running_together_probe_every_connection_exactly_once(kites, slow_broker):
    probes.plan_sweep(probes.timezone.now())
    start = threading.Barrier(3)
    results = []

    def shard():
        start.wait()
        try:
            results.append(probes.sweep(limit=5, workers=2, enrolled=True))
        finally:
            db_connection.close()

    threads = [threading.Thread(target=shard) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    while sum(r["probed"] for r in results) < len(kites):  # the rest, as later shards would
        before = sum(r["probed"] for r in results)
        results.append(probes.sweep(limit=5, workers=2, enrolled=True))
        assert sum(r["probed"] for r in results) > before

    assert probes_per_connection(kites) == [1] * len(kites)
    assert sorted(r["probed"] for r in results[:3]) == [5, 5, 5]  # all three had work


def test_the_beat_task_queues_one_shard_per_share_of_due_connections(
    kites, slow_broker, monkeypatch, worker
):
    monkeypatch.setattr(probes, "SHARD", 10)

    result = tasks.sweep_connections.delay()

    deadline = time.monotonic() + 20
    while sum(probes_per_connection(kites)) < len(kites) and time.monotonic() < deadline:
        time.sleep(0.1)
    if worker is None:
        assert result.get() == {"shards": 3}  # 24 due connections, 10 a shard
    assert probes_per_connection(kites) == [1] * len(kites)
    assert ConnectionHealth.objects.due(probes.timezone.now()).count() == 0
