"""Health fixtures: a frozen clock moved by hand, and a Zerodha connection on the sandbox."""

from datetime import datetime

import pytest
import time_machine
from django.utils import timezone

from brokers.clock import IST
from brokers.models import BrokerConnection, InstrumentMasterLoad
from brokers.sandbox import kit
from health import probes

# A Monday morning, well inside the Kite session that ends at 06:00 IST the next day.
MONDAY_10_IST = datetime(2026, 11, 23, 10, 0, tzinfo=IST)


@pytest.fixture(autouse=True)
def _fresh_health_store():
    """Health state starts empty (Redis is flushed by the cache fixture; this is the local one)."""
    from health.store import LocalStore, store

    if isinstance(store(), LocalStore):
        store().clear()
    yield
    if isinstance(store(), LocalStore):
        store().clear()


@pytest.fixture
def clock():
    """Time stands still until a test moves it (`clock.shift(seconds)`)."""
    with time_machine.travel(MONDAY_10_IST, tick=False) as traveller:
        yield traveller


@pytest.fixture
def kite(trader, sandbox_hosts, clock):
    """A Zerodha connection made through the sandbox's real login, with its faults cleared.
    Today's Kite master is already loaded, so the login downloads none and the connection's
    calls are the test's own (the master at login: tests/brokers/test_instruments.py)."""
    from tests.brokers.test_connections import connect

    InstrumentMasterLoad.objects.update_or_create(
        broker="zerodha", defaults={"loaded_at": timezone.now(), "count": 0}
    )
    connection = connect(trader, "zerodha", sandbox_hosts).connection
    yield connection
    kit.clear_faults("zerodha", connection.account_id)


def fresh(connection) -> BrokerConnection:
    return BrokerConnection.objects.get(pk=connection.pk)


def sweep_after(clock, seconds: float) -> dict:
    """Let ``seconds`` pass, then run the sweep as beat would."""
    clock.shift(seconds)
    return probes.sweep(workers=4)
