"""The fault campaign, shortened: randomized orders with faults injected on the sandbox, then
every order book against every intent — no duplicate, nothing lost."""

import copy

import pytest

from brokers.sandbox.management.commands.fault_campaign import FAULTS, run_campaign, table
from routing.policy import services as policy_services

# The order tests' trader in market hours with sandbox brokers connected.
from tests.routing.orders.conftest import (  # noqa: F401
    _close_broker_sessions,
    _fresh_snapshots,
    connected,
    market,
)

pytestmark = pytest.mark.django_db(transaction=True)

QUICK = [name for name, _, _ in FAULTS if name != "slow past the order timeout"]


def test_a_short_campaign_ends_with_no_duplicate_and_nothing_lost(trader, connected):  # noqa: F811
    connected("zerodha", "upstox")
    state = policy_services.editing(trader)
    document = copy.deepcopy(state.document)
    document["global"]["failover"]["rules"] = [
        {"condition": "TIMEOUT", "threshold": "100", "action": "RETRY"},
        {"condition": "ERROR_RATE", "threshold": "10", "action": "SWITCH"},
    ]
    policy_services.save_profile(user=trader, document=document, version=state.version)

    outcome = run_campaign(user=trader, runs=16, seed=5, faults=QUICK, say=lambda line: None)

    printed = "\n".join(table(outcome))
    assert outcome.duplicates == 0 and outcome.lost == 0, printed
    assert len(outcome.by_fault) >= 4, printed  # most kinds of fault were met
    placed = sum(row.get("placed once", 0) for row in outcome.table.values())
    assert placed >= 8, printed
    assert "16 runs" in printed and "0 duplicates, 0 lost" in printed
