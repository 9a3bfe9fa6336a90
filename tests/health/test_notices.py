"""Red and green notices: one per incident, in-app and e-mail, as each broker's policy says."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from brokers.models import ConnectionStatus as S
from health import notices, services
from health.models import Notification
from routing.policy import services as policy_services
from tests.factories import BrokerConnectionFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def connection(trader):
    connection = BrokerConnectionFactory(
        user=trader, status=S.ERROR, last_error="Zerodha is not answering."
    )
    services.ensure_health(connection)
    return connection


def red(connection):
    notices.on_quality_change(connection, before="GOOD", after="CRITICAL")


def green(connection):
    notices.on_quality_change(connection, before="CRITICAL", after="GOOD")


def test_turning_red_notifies_once_and_recovery_once(connection, trader):
    red(connection)
    red(connection)
    notices.on_quality_change(connection, before="CRITICAL", after="POOR")  # yellow: not over
    green(connection)
    green(connection)

    titles = list(Notification.objects.order_by("pk").values_list("kind", "title"))
    assert titles == [
        ("connection_down", "Zerodha (Demo account) is down"),
        ("connection_recovered", "Zerodha (Demo account) is working again"),
    ]
    assert [m.to for m in mail.outbox] == [[trader.email], [trader.email]]
    assert "Zerodha is not answering." in mail.outbox[0].body
    assert connection.access_token not in mail.outbox[0].body


def test_a_flapping_connection_makes_no_storm(connection):
    now = timezone.now()
    for minute in range(0, 8, 2):  # red and green every minute for eight minutes
        with time_machine.travel(now + timedelta(minutes=minute)):
            red(connection)
        with time_machine.travel(now + timedelta(minutes=minute + 1)):
            green(connection)
    assert Notification.objects.count() == 2

    with time_machine.travel(now + timedelta(minutes=30)):
        red(connection)  # a new incident, long after the last recovery
    assert Notification.objects.filter(kind="connection_down").count() == 2


def test_the_brokers_notification_settings_decide_the_channels(connection, trader):
    state = policy_services.editing(trader)
    events = state.document["brokers"]["zerodha"]["notifications"]["events"]
    events["connection_down"] = ["email"]  # no bell, but an e-mail
    events["connection_up"] = []  # the recovery only as history
    policy_services.save_profile(user=trader, document=state.document, version=state.version)

    red(connection)
    green(connection)

    down, up = Notification.objects.order_by("pk")
    assert down.read_at is not None and up.read_at is not None  # history, not unread
    assert [m.subject for m in mail.outbox] == ["[Multi-broker] Zerodha (Demo account) is down"]


def test_an_expired_session_asks_to_log_in_again(trader):
    connection = BrokerConnectionFactory(
        user=trader, status=S.TOKEN_EXPIRED, last_error="Log in again."
    )
    services.ensure_health(connection)
    red(connection)

    notice = Notification.objects.get()
    assert notice.kind == "token_expired"
    assert notice.title.startswith("Log in again to Zerodha")
    assert notice.link.endswith(f"/connections/{connection.pk}/reconnect/")
