"""A trader with sandbox brokers connected, in market hours, for the order tests."""

from datetime import datetime

import pytest
import time_machine

from brokers.clock import IST
from brokers.services import load_master_if_stale
from routing.policy import effective as effective_module
from routing.policy import validation
from tests.portfolio.conftest import _close_broker_sessions, connect_demo  # noqa: F401

# A Wednesday in June 2026, 10:30 IST: NSE and BSE are open.
MARKET_HOURS = datetime(2026, 6, 3, 10, 30, tzinfo=IST)


@pytest.fixture(autouse=True)
def _fresh_snapshots():
    effective_module.forget()
    validation.forget_known()
    yield
    effective_module.forget()


@pytest.fixture
def market():
    """The clock in market hours, moving (the sandbox fills an order half a second after it
    accepts it): ``market.shift(1)`` moves it on."""
    with time_machine.travel(MARKET_HOURS, tick=True) as traveller:
        yield traveller


@pytest.fixture
def connected(sandbox_hosts, market, trader):
    """Connect the sandbox demo accounts of the brokers given: {broker: connection}."""

    def run(*brokers, user=None):
        linked = {b: connect_demo(user or trader, b, sandbox_hosts) for b in brokers}
        for connection in linked.values():
            # A login queues its broker's master download; with a worker it may not have
            # landed yet: the order tests need it now.
            load_master_if_stale(connection)
        return linked

    return run
