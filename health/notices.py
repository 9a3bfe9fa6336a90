"""Notices to traders. One per incident: a dedupe key makes a second send a no-op.

A connection turning red (quality CRITICAL) opens an incident: one in-app notice and, if the
trader wants it, one e-mail. Turning green again closes it with one "recovered" notice. Red
again within REOPEN_WITHIN of a recovery reopens the same incident without a new notice, so a
flapping broker never makes a storm. Yellow in between neither opens nor closes anything.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from brokers.clock import IST
from brokers.models import BrokerConnection, ConnectionStatus
from health.models import ConnectionHealth, Notification
from health.quality import Quality, colour

logger = logging.getLogger(__name__)

MARKET_OPEN = time(9, 15)
REOPEN_WITHIN = timedelta(minutes=10)


def notify(
    *,
    user,
    kind: str,
    title: str,
    body: str = "",
    link: str = "",
    key: str,
    connection: BrokerConnection | None = None,
    read: bool = False,
) -> Notification | None:
    """Create the notice unless one with the same key exists. Returns it if new.

    ``read``: kept as history only (the trader turned in-app alerts off for the connection).
    """
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
                read_at=timezone.now() if read else None,
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
        notice = notify(
            user=connection.user,
            connection=connection,
            kind=kind,
            title=title,
            body=body,
            link=link,
            key=f"down:{connection.pk}:{health.incident}",
            read=not health.in_app_alerts,
        )
        if notice is not None and health.email_alerts:
            transaction.on_commit(lambda: email(notice.pk))
        return notice


def close_incident(connection: BrokerConnection) -> Notification | None:
    now = timezone.now()
    with transaction.atomic():
        health = ConnectionHealth.objects.select_for_update().filter(pk=connection.pk).first()
        if health is None or not health.incident_open:
            return None
        health.incident_open = False
        health.incident_closed_at = now
        health.save(update_fields=["incident_open", "incident_closed_at"])
        if not health.recovery_alerts:
            return None
        notice = notify(
            user=connection.user,
            connection=connection,
            kind=Notification.Kind.CONNECTION_RECOVERED,
            title=f"{_name(connection)} is working again",
            body=f"Back to {connection.get_status_display().lower()} at {_ist(now)}.",
            link=reverse("health:diagnostics", args=[connection.pk]),
            key=f"recovered:{connection.pk}:{health.incident}",
            read=not health.in_app_alerts,
        )
        if notice is not None and health.email_alerts:
            transaction.on_commit(lambda: email(notice.pk))
        return notice


def _ist(moment: datetime) -> str:
    return moment.astimezone(IST).strftime("%H:%M IST on %d %b")


def email(notification_id: int) -> bool:
    """E-mail one notice to its trader (Django's e-mail backend). Returns True if sent."""
    notice = Notification.objects.select_related("user").filter(pk=notification_id).first()
    if notice is None or notice.emailed_at or not notice.user.email:
        return False
    link = settings.SITE_URL.rstrip("/") + notice.link if notice.link else settings.SITE_URL
    try:
        send_mail(
            subject=f"[Multi-broker] {notice.title}",
            message=f"{notice.body}\n\n{link}\n\nChange these alerts on the connection's "
            "diagnostics page.",
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[notice.user.email],
        )
    except Exception as error:  # the in-app notice stands; the mail is best effort
        logger.warning("could not e-mail notice %s: %s", notice.pk, type(error).__name__)
        return False
    Notification.objects.filter(pk=notice.pk).update(emailed_at=timezone.now())
    return True
