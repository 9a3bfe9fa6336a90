"""Saving (revisions, conflicts), revert, pauses, the kill switch and the effective snapshot."""

import dataclasses

import pytest

from brokers import states
from brokers.models import ConnectionStatus
from routing.models import KillSwitchEvent, PolicyRevision
from routing.policy import services
from routing.policy.effective import effective
from tests.factories import BrokerConnectionFactory, TraderFactory

# Real commits: a change is announced to other processes once it has committed.
pytestmark = pytest.mark.django_db(transaction=True)


def save(trader, document, version=None, **kwargs):
    if version is None:
        version = services.editing(trader).version
    return services.save_profile(user=trader, document=document, version=version, **kwargs)


def test_a_save_is_a_revision_with_its_diff_and_author(trader, document):
    document["global"]["routing"]["priority"] = ["upstox", "zerodha"]
    document["brokers"]["zerodha"]["risk"]["max_daily_loss"] = "5000"
    revision = save(trader, document, author=trader)

    assert revision.number == 1
    assert revision.author == trader
    assert {c["path"]: (c["before"], c["after"]) for c in revision.changes} == {
        "global.routing.priority": ([], ["upstox", "zerodha"]),
        "brokers.zerodha.risk.max_daily_loss": (None, "5000"),
    }
    saved = services.editing(trader).document
    assert saved["brokers"]["zerodha"]["risk"]["max_daily_loss"] == "5000"


def test_an_invalid_save_changes_nothing(trader, document):
    document["global"]["routing"]["priority"] = ["zerodha"]
    save(trader, document)
    before = services.editing(trader)

    document["global"]["routing"]["priority"] = ["zerodha", "zerodha"]
    document["brokers"]["upstox"]["risk"]["max_daily_loss"] = 10**20
    with pytest.raises(services.Invalid):
        save(trader, document)

    after = services.editing(trader)
    assert after.version == before.version == 1
    assert after.document == before.document
    assert PolicyRevision.objects.count() == 1


def test_the_later_of_two_tabs_gets_a_conflict_with_both_versions(trader, document):
    import copy

    tab_a, tab_b = copy.deepcopy(document), copy.deepcopy(document)
    tab_a["global"]["routing"]["strategy"] = "FASTEST_EXECUTION"
    save(trader, tab_a, version=0)

    tab_b["global"]["routing"]["strategy"] = "BEST_PRICE"
    with pytest.raises(services.Conflict) as conflict:
        save(trader, tab_b, version=0)

    assert conflict.value.current.version == 1
    assert conflict.value.current.document["global"]["routing"]["strategy"] == "FASTEST_EXECUTION"
    assert conflict.value.attempted["global"]["routing"]["strategy"] == "BEST_PRICE"
    assert effective(trader).policy.routing.strategy == "FASTEST_EXECUTION"


def test_revert_is_itself_a_new_revision(trader, document):
    document["global"]["risk"]["max_open_orders"] = 10
    save(trader, document)
    document["global"]["risk"]["max_open_orders"] = 50
    save(trader, document)

    revision = services.revert(user=trader, number=1, version=2, author=trader)

    assert revision.number == 3
    assert revision.source == PolicyRevision.Source.REVERT
    assert revision.changes == [{"path": "global.risk.max_open_orders", "before": 50, "after": 10}]
    assert effective(trader).policy.risk.max_open_orders == 10


def test_revert_follows_the_connection_when_keys_moved(trader, brokers):
    """Revision 1 named the second Zerodha account "zerodha-2"; the first is disconnected
    since, and the revert still applies to the account the revision was about."""
    second = BrokerConnectionFactory(user=trader, broker="zerodha")
    state = services.editing(trader)
    assert state.accounts["zerodha-2"].connection_id == str(second.pk)
    document = state.document
    document["brokers"]["zerodha-2"]["trading"]["default_quantity"] = 7
    save(trader, document)

    states.transition(brokers["zerodha"], ConnectionStatus.DISCONNECTED)
    document = services.editing(trader).document
    document["brokers"]["upstox"]["trading"]["default_quantity"] = 3
    save(trader, document)
    services.revert(user=trader, number=1, version=2)

    snapshot = effective(trader)
    assert snapshot.for_connection(second.pk).trading.default_quantity == 7


def test_effective_is_immutable_and_merges_everything(trader, document, master):
    document["global"]["routing"]["priority"] = ["dhan", "zerodha"]
    document["global"]["emergency"]["paused"] = ["upstox"]
    document["brokers"]["zerodha"]["risk"]["restricted_instruments"] = ["NSE:RELIANCE"]
    save(trader, document)

    snapshot = effective(trader)
    assert snapshot.priority == ("dhan", "zerodha")
    assert snapshot.brokers["upstox"].paused
    assert not snapshot.accepts_orders("upstox")
    assert snapshot.accepts_orders("zerodha")
    assert snapshot.brokers["zerodha"].restricted == frozenset({"INE002A01018"})
    # the published plan is the default
    assert str(snapshot.brokers["zerodha"].plan.equity_intraday.cap) == "20"

    with pytest.raises(dataclasses.FrozenInstanceError):
        snapshot.kill_switch = None
    with pytest.raises(TypeError):
        snapshot.brokers["fyers"] = None
    with pytest.raises(TypeError):
        snapshot.policy.routing.load_balancing.weights["zerodha"] = 5
    with pytest.raises(ValueError):  # pydantic's frozen instance
        snapshot.policy.risk.max_open_orders = 5
    assert isinstance(snapshot.policy.routing.priority, tuple)


def test_effective_is_cached_until_the_stamp_moves(trader, document, django_assert_num_queries):
    first = effective(trader)
    with django_assert_num_queries(0):
        assert effective(trader) is first

    document["global"]["routing"]["strategy"] = "BEST_PRICE"
    save(trader, document)
    assert effective(trader).policy.routing.strategy == "BEST_PRICE"


def test_the_kill_switch_blocks_the_next_order_and_is_audited(trader, brokers):
    assert effective(trader).accepts_orders("zerodha")

    assert services.arm_kill_switch(user=trader, actor=trader, reason="market crash")
    assert not services.arm_kill_switch(user=trader, actor=trader, reason="again")

    snapshot = effective(trader)
    assert snapshot.orders_blocked
    assert not snapshot.accepts_orders("zerodha")
    assert snapshot.kill_switch.reason == "market crash"

    assert services.release_kill_switch(user=trader, actor=trader)
    assert effective(trader).accepts_orders("zerodha")
    assert list(
        KillSwitchEvent.objects.order_by("created_at").values_list("action", "reason", "actor")
    ) == [("arm", "market crash", trader.pk), ("release", "", trader.pk)]


def test_pausing_a_broker_applies_over_a_newer_version(trader, document):
    document["global"]["risk"]["max_open_orders"] = 5
    save(trader, document)  # another tab saved meanwhile: pausing still works
    services.set_paused(user=trader, key="upstox", paused=True, author=trader)

    snapshot = effective(trader)
    assert snapshot.brokers["upstox"].paused
    assert snapshot.policy.risk.max_open_orders == 5
    services.set_paused(user=trader, key="upstox", paused=False, author=trader)
    assert not effective(trader).brokers["upstox"].paused


def test_a_new_connection_appears_in_the_snapshot_with_its_defaults(trader, brokers):
    assert set(effective(trader).brokers) == {"zerodha", "upstox", "dhan"}
    BrokerConnectionFactory(user=trader, broker="fyers")
    snapshot = effective(trader)
    assert set(snapshot.brokers) == {"zerodha", "upstox", "dhan", "fyers"}
    # Fyers documents 10/s and 200/min: its ceiling defaults to the per-second cap
    assert str(snapshot.brokers["fyers"].api.rate_ceilings["default"]) == "10"

    states.transition(brokers["dhan"], ConnectionStatus.DISCONNECTED)
    assert "dhan" not in effective(trader).brokers


def test_saved_settings_reach_the_rows_brokers_and_the_sweep_read(trader, document):
    document["brokers"]["zerodha"]["api"].update(
        health_check_seconds=120, request_timeout_seconds="4.5", retry_count=1
    )
    document["brokers"]["zerodha"]["api"]["rate_ceilings"]["quote"] = "0.5"
    save(trader, document)

    connection = services.editing(trader).accounts["zerodha"]
    from brokers.models import BrokerConnection
    from health.probes import interval_for

    row = BrokerConnection.objects.get(pk=connection.connection_id)
    assert interval_for(row) == 120
    assert row.connection_config["requestTimeoutSeconds"] == 4.5
    assert row.connection_config["retryCount"] == 1
    assert row.connection_config["rateCeilings"]["quote"] == 0.5


def test_another_traders_policy_is_untouched(trader, other_trader, document):
    BrokerConnectionFactory(user=other_trader, broker="zerodha")
    document["global"]["routing"]["strategy"] = "BEST_PRICE"
    save(trader, document)
    services.arm_kill_switch(user=trader, reason="mine")

    theirs = effective(other_trader)
    assert theirs.policy.routing.strategy == "LOWEST_COST"
    assert not theirs.orders_blocked
    assert TraderFactory(username="dev").policy_templates.count() == 0
