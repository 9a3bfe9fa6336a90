"""Notices to traders. One per incident: a dedupe key makes a second send a no-op."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.db import IntegrityError, transaction
from django.urls import reverse

from brokers.clock import IST
from brokers.models import BrokerConnection, ConnectionStatus
from health.models import Notification

MARKET_OPEN = time(9, 15)


def notify(
    *,
    user,
    kind: str,
    title: str,
    body: str = "",
    link: str = "",
    key: str,
    connection: BrokerConnection | None = None,
) -> Notification | None:
    """Create the notice unless one with the same key exists. Returns it if new."""
    try:
        with transaction.atomic():
            return Notification.objects.create(
                user=user,
                connection=connection,
                kind=kind,
                title=title,
                body=body,
                link=link,
                dedupe_key=key,
            )
    except IntegrityError:
        return None


def next_market_open(after: datetime) -> datetime:
    """The next 09:15 IST on a weekday (exchange holidays are not modelled)."""
    moment = after.astimezone(IST)
    day = moment.date() if moment.time() < MARKET_OPEN else moment.date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, MARKET_OPEN, tzinfo=IST)


def warn_expiring_logins(*, now: datetime, slot: str) -> int:
    """Tell traders whose session dies before the next open, with a one-click re-login.

    Runs in the evening and at 08:45 IST (``slot`` names the run: one notice per connection
    per run); brokers that can refresh are left to the refresher.
    """
    opening = next_market_open(now)
    due = BrokerConnection.objects.filter(
        status__in=[
            ConnectionStatus.CONNECTED,
            ConnectionStatus.TOKEN_EXPIRED,
            ConnectionStatus.RATE_LIMITED,
            ConnectionStatus.MAINTENANCE,
            ConnectionStatus.ERROR,
        ],
        token_expires_at__lte=opening,
    ).select_related("user")
    sent = 0
    for connection in due:
        if connection.capabilities.get("supportsRefresh") and connection.has_refresh_token:
            continue
        expired = connection.token_expired(now)
        when = connection.token_expires_at.astimezone(IST).strftime("%H:%M IST on %a %d %b")
        notice = notify(
            user=connection.user,
            connection=connection,
            kind=Notification.Kind.TOKEN_EXPIRED if expired else Notification.Kind.TOKEN_EXPIRING,
            title=f"Log in again to {connection.get_broker_display()} "
            f"({connection.display_name or connection.account_id}) before {opening:%H:%M} IST",
            body=(f"The session ended at {when}." if expired else f"The session ends at {when}.")
            + " The broker does not allow renewing it: one click logs you in again.",
            link=reverse("brokers:reconnect", args=[connection.pk]),
            key=f"relogin:{connection.pk}:{opening:%Y-%m-%d}:{slot}",
        )
        sent += notice is not None
    return sent
