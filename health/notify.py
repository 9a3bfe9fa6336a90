"""The one way to tell a trader something: record a notice, and e-mail it where the trader's
policy says so.

Who decides: the notification settings of the broker the event is about, read from the
trader's effective policy (``routing.policy.effective``) — which events go to which channels,
and the quiet hours (IST). Nothing else holds alert preferences.

- **In-app**: every notice is recorded (it is the history on /health/notifications/ and
  ``GET /api/v1/notifications``). A notice whose event the trader did not ask to see in the app
  is recorded as already read, so it never rings the bell.
- **E-mail**: sent once the notice is committed, when the event is ticked for e-mail and it is
  not quiet hours. During quiet hours the e-mail is skipped, not held: the in-app notice is
  there, unread, in the morning, and a morning of stale "down"/"up" mails would help no one.
- **No broker** (an event about the whole account, such as an automatic kill-switch trip):
  the event reaches a channel when any connected broker ticks it there (e-mail: any broker
  that ticks it and is not in its quiet hours); a trader with no broker gets the defaults.
- **One notice per key**: a second send with the same ``key`` records and mails nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from brokers.clock import IST
from health.models import Notification
from routing.policy.effective import effective
from routing.policy.schema import ALL_CHANNELS, Channel, Event, NotificationSettings

logger = logging.getLogger(__name__)

# The notice kind of each event, where the caller names none.
KINDS = {
    Event.CONNECTION_DOWN: Notification.Kind.CONNECTION_DOWN,
    Event.CONNECTION_UP: Notification.Kind.CONNECTION_RECOVERED,
    Event.TOKEN_EXPIRING: Notification.Kind.TOKEN_EXPIRING,
    Event.FAILOVER: Notification.Kind.FAILOVER,
    Event.ORDER_REJECTED: Notification.Kind.ORDER_REJECTED,
    Event.LIMIT_BREACHED: Notification.Kind.LIMIT_BREACHED,
}


@dataclass(frozen=True)
class Delivery:
    """Where one notice goes."""

    in_app: bool
    email: bool
    quiet: bool  # e-mail was wanted but it is quiet hours


def is_quiet(notifications: NotificationSettings, moment: datetime) -> bool:
    """Whether ``moment`` falls in the quiet hours (IST; start included, end not; a span like
    22:00 to 07:00 runs over midnight)."""
    quiet = notifications.quiet_hours
    if quiet is None:
        return False
    clock = moment.astimezone(IST).time()
    start, end = _clock(quiet.start), _clock(quiet.end)
    if start < end:
        return start <= clock < end
    return clock >= start or clock < end


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def channels_of(notifications: NotificationSettings, event: Event) -> tuple[Channel, ...]:
    # An event left out of a saved map keeps the default (every channel): leaving a key out
    # of an API document is not a choice of silence.
    return notifications.events.get(event, ALL_CHANNELS)


def delivery(snapshot, event: Event, *, connection_id=None, now: datetime) -> Delivery:
    """The channels of ``event`` for one connection (or the whole account) at ``now``."""
    broker = snapshot.for_connection(connection_id) if connection_id is not None else None
    if broker is not None:
        candidates = [broker.settings.notifications]
    else:
        candidates = [b.settings.notifications for b in snapshot.brokers.values()]
    candidates = candidates or [NotificationSettings()]
    in_app = any(Channel.IN_APP in channels_of(n, event) for n in candidates)
    wants_email = [n for n in candidates if Channel.EMAIL in channels_of(n, event)]
    awake = [n for n in wants_email if not is_quiet(n, now)]
    return Delivery(in_app=in_app, email=bool(awake), quiet=bool(wants_email) and not awake)


def send(
    *,
    user,
    event: Event | str,
    title: str,
    body: str = "",
    link: str = "",
    key: str,
    connection=None,
    kind: str | None = None,
) -> Notification | None:
    """Tell ``user`` about ``event``, on the channels their policy gives it.

    - ``event``: a ``routing.policy.schema.Event`` (or its value: ``"order_rejected"``,
      ``"limit_breached"``, ``"failover"``, ``"connection_down"``, ``"connection_up"``,
      ``"token_expiring"``).
    - ``title``/``body``: what the trader reads (plain text; never a token or a secret).
    - ``link``: a path on this site (``/orders/…``), shown with the notice and in the e-mail.
    - ``key``: the notice's identity; a second send with the same key does nothing (e.g.
      ``f"order-rejected:{order.pk}"``), so a retried task never notifies twice.
    - ``connection``: the ``BrokerConnection`` the event is about, whose notification settings
      decide; None for an event about the whole account.
    - ``kind``: the notice's kind when it is not the event's own (``token_expired``).

    Returns the new notice, or None when one with ``key`` exists. Call it inside or outside a
    transaction: the e-mail goes once the notice is committed.
    """
    event = Event(event)
    route = delivery(
        effective(user),
        event,
        connection_id=connection.pk if connection is not None else None,
        now=timezone.now(),
    )
    try:
        with transaction.atomic():
            notice = Notification.objects.create(
                user=user,
                connection=connection,
                kind=kind or KINDS[event],
                title=title[:200],
                body=body,
                link=link[:300],
                dedupe_key=key[:200],
                read_at=None if route.in_app else timezone.now(),
            )
    except IntegrityError:
        return None
    if route.email:
        transaction.on_commit(lambda: email(notice.pk))
    return notice


def email(notification_id: int) -> bool:
    """E-mail one notice to its trader (Django's e-mail backend). Returns True if sent."""
    notice = Notification.objects.select_related("user").filter(pk=notification_id).first()
    if notice is None or notice.emailed_at or not notice.user.email:
        return False
    site = settings.SITE_URL.rstrip("/")
    link = site + notice.link if notice.link else site
    try:
        send_mail(
            subject=f"[Multi-broker] {notice.title}",
            message=f"{notice.body}\n\n{link}\n\nChoose which events reach you, and how, in "
            f"your policy's Notifications settings: {site}{reverse('routing:overview')}",
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[notice.user.email],
        )
    except Exception as error:  # the in-app notice stands; the mail is best effort
        logger.warning("could not e-mail notice %s: %s", notice.pk, type(error).__name__)
        return False
    Notification.objects.filter(pk=notice.pk).update(emailed_at=timezone.now())
    return True
