"""The alert preferences health kept per connection move into the traders' policies."""

import uuid

import pytest
from django.db import connection as db
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from routing.policy import services
from routing.policy.effective import effective
from routing.policy.schema import Channel, Event

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("health", "0002_connection_health"), ("routing", "0001_policy")]


def migrate(targets=None):
    """To ``targets``, or back to the newest of everything."""
    executor = MigrationExecutor(db)
    executor.loader.build_graph()
    targets = targets or executor.loader.graph.leaf_nodes()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_no_traders_choice_is_lost(trader, other_trader):
    apps = migrate(BEFORE)
    Connection = apps.get_model("brokers", "BrokerConnection")
    Health = apps.get_model("health", "ConnectionHealth")
    App = apps.get_model("brokers", "BrokerApp")

    def connection(user, broker, account, **flags):
        made = Connection.objects.create(
            id=uuid.uuid4(),
            user_id=user.pk,
            broker=broker,
            app=App.objects.create(
                user_id=user.pk, broker=broker, label=account, api_key=f"k-{account}"
            ),
            account_id=account,
            status="CONNECTED",
        )
        Health.objects.create(connection=made, next_check_at=timezone.now(), **flags)
        return made

    quiet = connection(trader, "zerodha", "AB1", email_alerts=False, recovery_alerts=False)
    bell_off = connection(trader, "zerodha", "AB2", in_app_alerts=False)
    untouched = connection(trader, "upstox", "UP1")
    theirs = connection(other_trader, "dhan", "DH1")

    migrate()
    effective_now = effective(trader)

    def channels(conn, event):
        return set(effective_now.for_connection(conn.pk).settings.notifications.events[event])

    assert channels(quiet, Event.CONNECTION_DOWN) == {Channel.IN_APP}
    assert channels(quiet, Event.CONNECTION_UP) == set()
    assert channels(bell_off, Event.CONNECTION_DOWN) == {Channel.EMAIL}
    assert channels(bell_off, Event.CONNECTION_UP) == {Channel.EMAIL}
    assert channels(untouched, Event.CONNECTION_DOWN) == {Channel.IN_APP, Channel.EMAIL}
    assert channels(quiet, Event.ORDER_REJECTED) == {Channel.IN_APP, Channel.EMAIL}
    # one revision, named, with the paths that changed; the document is still valid
    (revision,) = services.policy_for(trader).revisions.all()
    assert revision.note == "Alert preferences from the health page"
    assert {c["path"] for c in revision.changes} == {
        "brokers.zerodha.notifications.events.connection_down",
        "brokers.zerodha.notifications.events.connection_up",
        "brokers.zerodha-2.notifications.events.connection_down",
        "brokers.zerodha-2.notifications.events.connection_up",
    }
    services.check(trader, services.editing(trader).document)
    # a trader who changed nothing has no revision
    assert not services.policy_for(other_trader).revisions.exists()
    assert effective(other_trader).for_connection(theirs.pk) is not None
