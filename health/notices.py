"""Health's notices to traders, sent through the notification service (health.notify), which
decides the channels from the trader's policy. One per incident: a dedupe key makes a second
send a no-op.

A connection turning red (quality CRITICAL) opens an incident: one "connection down" notice
(in-app and e-mail as the broker's notification settings say). Turning green again closes it
with one "connection up" notice. Red again within REOPEN_WITHIN of a recovery reopens the same
incident without a new notice, so a flapping broker never makes a storm. Yellow in between
neither opens nor closes anything.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from brokers.clock import IST
from brokers.models import BrokerConnection, ConnectionStatus
from health.models import ConnectionHealth, Notification
from health.notify import send
from health.quality import Quality, colour
from routing.policy.schema import Event

MARKET_OPEN = time(9, 15)
REOPEN_WITHIN = timedelta(minutes=10)


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
        notice = send(
            user=connection.user,
            connection=connection,
            event=Event.TOKEN_EXPIRING,
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


# --- Red and green: one notice per incident ------------------------------------------------
def on_quality_change(connection: BrokerConnection, *, before: str, after: str) -> None:
    if after == Quality.CRITICAL and before != Quality.CRITICAL:
        open_incident(connection)
    elif colour(after) == "green":
        close_incident(connection)


def _name(connection: BrokerConnection) -> str:
    return f"{connection.get_broker_display()} ({connection.display_name or connection.account_id})"


def open_incident(connection: BrokerConnection) -> Notification | None:
    now = timezone.now()
    with transaction.atomic():
        health = ConnectionHealth.objects.select_for_update().filter(pk=connection.pk).first()
        if health is None or health.incident_open:
            return None
        closed = health.incident_closed_at
        reopened = bool(health.incident and closed and now - closed < REOPEN_WITHIN)
        if not reopened:
            health.incident += 1
        health.incident_open = True
        health.save(update_fields=["incident", "incident_open"])
        if reopened:
            return None
        if connection.status == ConnectionStatus.TOKEN_EXPIRED:
            kind, title = Notification.Kind.TOKEN_EXPIRED, f"Log in again to {_name(connection)}"
            link = reverse("brokers:reconnect", args=[connection.pk])
        else:
            kind, title = Notification.Kind.CONNECTION_DOWN, f"{_name(connection)} is down"
            link = reverse("health:diagnostics", args=[connection.pk])
        body = connection.last_error or f"{connection.get_status_display()} since {_ist(now)}."
        if kind == Notification.Kind.CONNECTION_DOWN:
            body += " The platform retries by itself; you will hear when it recovers."
        return send(
            user=connection.user,
            connection=connection,
            event=Event.CONNECTION_DOWN,
            kind=kind,
            title=title,
            body=body,
            link=link,
            key=f"down:{connection.pk}:{health.incident}",
        )


def close_incident(connection: BrokerConnection) -> Notification | None:
    now = timezone.now()
    with transaction.atomic():
        health = ConnectionHealth.objects.select_for_update().filter(pk=connection.pk).first()
        if health is None or not health.incident_open:
            return None
        health.incident_open = False
        health.incident_closed_at = now
        health.save(update_fields=["incident_open", "incident_closed_at"])
        return send(
            user=connection.user,
            connection=connection,
            event=Event.CONNECTION_UP,
            title=f"{_name(connection)} is working again",
            body=f"Back to {connection.get_status_display().lower()} at {_ist(now)}.",
            link=reverse("health:diagnostics", args=[connection.pk]),
            key=f"recovered:{connection.pk}:{health.incident}",
        )


def _ist(moment: datetime) -> str:
    return moment.astimezone(IST).strftime("%H:%M IST on %d %b")
