"""The notification service: channels from the broker's policy, quiet hours in IST, one notice
per key, events about the whole account."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.core import mail

from brokers.clock import IST
from health import notify
from health.models import Notification
from routing.policy import services as policy_services
from routing.policy.effective import effective
from routing.policy.schema import Event, NotificationSettings
from tests.factories import BrokerConnectionFactory

pytestmark = pytest.mark.django_db(transaction=True)

NIGHT = datetime(2026, 11, 24, 23, 30, tzinfo=IST)
MORNING = datetime(2026, 11, 25, 10, 0, tzinfo=IST)


@pytest.fixture
def kite(trader):
    return BrokerConnectionFactory(user=trader, broker="zerodha")


@pytest.fixture
def upstox(trader):
    return BrokerConnectionFactory(user=trader, broker="upstox")


def set_notifications(trader, key, *, events=None, quiet=None):
    state = policy_services.editing(trader)
    settings = state.document["brokers"][key]["notifications"]
    settings["events"].update(events or {})
    settings["quiet_hours"] = quiet
    policy_services.save_profile(user=trader, document=state.document, version=state.version)


def rejected(trader, connection, key="order-rejected:1"):
    return notify.send(
        user=trader,
        event="order_rejected",
        title="Zerodha rejected your order for RELIANCE",
        body="Insufficient funds.",
        link="/policy/",
        key=key,
        connection=connection,
    )


def test_an_order_rejection_rings_the_bell_and_mails_by_default(trader, kite):
    notice = rejected(trader, kite)

    assert notice.kind == "order_rejected" and notice.read_at is None
    assert notice.connection == kite
    (message,) = mail.outbox
    assert message.subject == "[Multi-broker] Zerodha rejected your order for RELIANCE"
    assert message.to == [trader.email]
    assert "Insufficient funds." in message.body
    assert Notification.objects.get().emailed_at is not None


def test_the_same_key_notifies_once(trader, kite):
    assert rejected(trader, kite) is not None
    assert rejected(trader, kite) is None
    assert Notification.objects.count() == 1 and len(mail.outbox) == 1


def test_an_event_ticked_for_no_channel_is_kept_as_read_history(trader, kite):
    set_notifications(trader, "zerodha", events={"order_rejected": []})

    notice = rejected(trader, kite)

    assert notice.read_at is not None
    assert mail.outbox == []


def test_quiet_hours_hold_back_the_mail_not_the_notice(trader, kite):
    set_notifications(trader, "zerodha", quiet={"start": "22:00", "end": "07:00"})

    with time_machine.travel(NIGHT, tick=False):
        at_night = rejected(trader, kite, key="night")
    with time_machine.travel(MORNING, tick=False):
        rejected(trader, kite, key="morning")

    assert at_night.read_at is None  # waiting on the bell in the morning
    assert [m.subject for m in mail.outbox] == [
        "[Multi-broker] Zerodha rejected your order for RELIANCE"
    ]
    assert Notification.objects.get(dedupe_key="night").emailed_at is None
    assert Notification.objects.get(dedupe_key="morning").emailed_at is not None


def test_each_broker_keeps_its_own_settings(trader, kite, upstox):
    set_notifications(trader, "upstox", events={"order_rejected": ["in_app"]})

    rejected(trader, kite, key="kite")
    rejected(trader, upstox, key="upstox")

    assert len(mail.outbox) == 1
    assert Notification.objects.filter(read_at__isnull=True).count() == 2


def test_an_account_wide_event_follows_any_broker_that_wants_it(trader, kite, upstox):
    set_notifications(trader, "zerodha", events={"limit_breached": ["in_app"]})
    set_notifications(trader, "upstox", events={"limit_breached": []})

    notice = notify.send(
        user=trader, event=Event.LIMIT_BREACHED, title="Kill switch on", key="trip:1"
    )
    assert notice.read_at is None and notice.connection is None
    assert mail.outbox == []  # no broker ticks e-mail for it

    set_notifications(trader, "upstox", events={"limit_breached": ["email"]})
    notify.send(user=trader, event=Event.LIMIT_BREACHED, title="Kill switch on", key="trip:2")
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(
    ("start", "end", "clock", "quiet"),
    [
        ("22:00", "07:00", "23:30", True),
        ("22:00", "07:00", "06:59", True),
        ("22:00", "07:00", "07:00", False),
        ("22:00", "07:00", "12:00", False),
        ("12:00", "14:00", "13:00", True),
        ("12:00", "14:00", "14:00", False),
        ("12:00", "14:00", "11:59", False),
    ],
)
def test_quiet_hours_are_read_in_ist(start, end, clock, quiet):
    settings = NotificationSettings.model_validate({"quiet_hours": {"start": start, "end": end}})
    hours, minutes = map(int, clock.split(":"))
    moment = datetime(2026, 11, 24, hours, minutes, tzinfo=IST)
    assert notify.is_quiet(settings, moment.astimezone(UTC)) is quiet  # stored times are UTC
    assert notify.is_quiet(NotificationSettings(), moment) is False  # none set: never quiet


def test_a_disconnected_or_unknown_connection_gets_the_account_wide_answer(trader, kite):
    route = notify.delivery(
        effective(trader), Event.FAILOVER, connection_id="not-a-connection", now=MORNING
    )
    assert route == notify.Delivery(in_app=True, email=True, quiet=False)
