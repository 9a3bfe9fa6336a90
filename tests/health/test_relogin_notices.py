"""Brokers that cannot refresh: the trader is told the evening before and at 08:45 IST."""

from datetime import datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from brokers.clock import IST
from health.models import Notification
from health.notices import next_market_open, warn_expiring_logins
from tests.factories import BrokerConnectionFactory

pytestmark = pytest.mark.django_db

FRIDAY_EVENING = datetime(2026, 11, 20, 20, 0, tzinfo=IST)


def kite(trader, **fields):
    fields.setdefault("token_expires_at", datetime(2026, 11, 21, 6, 0, tzinfo=IST))
    return BrokerConnectionFactory(
        user=trader,
        broker="zerodha",
        capabilities={"supportsRefresh": False, "tokenExpiryRule": "06:00 IST next day"},
        **fields,
    )


def test_the_next_open_skips_the_weekend():
    assert next_market_open(FRIDAY_EVENING) == datetime(2026, 11, 23, 9, 15, tzinfo=IST)
    assert next_market_open(datetime(2026, 11, 23, 8, 45, tzinfo=IST)) == datetime(
        2026, 11, 23, 9, 15, tzinfo=IST
    )


def test_the_evening_notice_offers_a_one_click_relogin_to_the_same_connection(trader):
    connection = kite(trader)

    assert warn_expiring_logins(now=FRIDAY_EVENING, slot="evening") == 1

    notice = Notification.objects.get(user=trader)
    assert notice.kind == Notification.Kind.TOKEN_EXPIRING
    assert "Log in again to Zerodha" in notice.title
    assert "06:00 IST" in notice.body
    assert notice.link == reverse("brokers:reconnect", args=[connection.pk])


def test_one_notice_per_run_never_a_storm(trader):
    kite(trader)
    for _ in range(3):
        warn_expiring_logins(now=FRIDAY_EVENING, slot="evening")
    monday_morning = datetime(2026, 11, 23, 8, 45, tzinfo=IST)
    warn_expiring_logins(now=monday_morning, slot="morning")
    warn_expiring_logins(now=monday_morning, slot="morning")

    kinds = list(Notification.objects.values_list("kind", flat=True).order_by("created_at"))
    assert kinds == [Notification.Kind.TOKEN_EXPIRING, Notification.Kind.TOKEN_EXPIRED]


def test_brokers_that_refresh_and_fresh_logins_get_no_notice(trader):
    BrokerConnectionFactory(
        user=trader,
        broker="fyers",
        token_expires_at=datetime(2026, 11, 21, 6, 0, tzinfo=IST),
        refresh_token="refresh-token-1",
        capabilities={"supportsRefresh": True},
    )
    kite(trader, token_expires_at=FRIDAY_EVENING + timedelta(days=4))  # logged in on Monday

    assert warn_expiring_logins(now=FRIDAY_EVENING, slot="evening") == 0


def test_the_relogin_link_starts_the_brokers_login_for_that_connection(client, trader):
    connection = kite(trader)
    client.force_login(trader)
    with time_machine.travel(FRIDAY_EVENING):
        warn_expiring_logins(now=FRIDAY_EVENING, slot="evening")
    notice = Notification.objects.get(user=trader)

    response = client.get(notice.link)

    assert response.status_code == 302
    assert "/connect/login?" in response["Location"]
    from brokers.models import OAuthState

    assert OAuthState.objects.get(user=trader).connection_id == connection.pk
