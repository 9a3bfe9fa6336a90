"""Live application: how a saved change reaches every running process.

One mechanism. Each trader's policy row carries a ``stamp`` that every change increments
(a save, a revert, an import, the kill switch, a pause, a broker connected or disconnected).
After the change commits, ``announce``:

1. writes the stamp into the cache (``policy:stamp:<user>``; Redis when REDIS_URL is set, so
   every web process, Celery worker and the scheduler read the same value);
2. pushes ``POLICY_UPDATE`` on the channel layer to the trader's group, through the socket
   the pages already hold (/ws/brokers/), so an open page's emergency badge changes in place;
3. writes the settings brokers and health's sweep act on into their own rows — the probe
   interval, request timeout, retry count and rate ceilings on the connection — so the door
   and the sweep never read routing: the next probe or call simply finds them there. (Alerts
   are read from ``effective()`` by health.notify when a notice is sent.)

``effective(user)`` (routing.policy.effective) compares its cached snapshot's stamp with the
cache's on every call: one cache read, no database, unless the stamp moved. A cache miss (or
an unreachable cache) falls back to the database row, and cached stamps expire after
stamps.TTL seconds, so a lost cache write can delay a change by that long at most.
"""

from __future__ import annotations

import json
import logging

from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string

from brokers.models import ConnectionStatus
from health import live as health_live
from routing.models import Policy
from routing.policy import effective, stamps, wiring

logger = logging.getLogger(__name__)


def announce(user_id: int, *, settings_changed: bool = True) -> None:
    """After a change committed: the stamp to the cache, a push to the pages, and (when the
    profile itself changed) the settings into the connection rows."""
    row = Policy.objects.filter(user_id=user_id).values("stamp", "version", "kill_switch").first()
    if row is None:
        return
    stamps.remember(user_id, row["stamp"])
    if settings_changed:
        try:
            wiring.apply(effective.effective(user_id))
        except Exception:
            logger.exception("applying the policy of user %s to its connections failed", user_id)
    push(user_id, row)


def push(user_id: int, row: dict) -> None:
    """To the trader's open pages and API clients, on the socket health already keeps
    (/ws/brokers/): JSON ``POLICY_UPDATE`` for clients, the emergency badge for pages."""
    try:
        if not health_live.listening(user_id):
            return
        data = {
            "type": "POLICY_UPDATE",
            "version": row["version"],
            "stamp": row["stamp"],
            "killSwitch": row["kill_switch"],
        }
        html = render_to_string(
            "routing/_emergency_badge.html", {"kill_switch_on": row["kill_switch"], "oob": True}
        )
        health_live.send(user_id, json_text=json.dumps(data), html=html)
    except Exception:
        logger.exception("policy push for user %s failed", user_id)


def bump(user_id: int) -> None:
    """Something outside the policy changed what it means (a broker connected or gone)."""
    policy, _ = Policy.objects.get_or_create(user_id=user_id)
    Policy.objects.filter(pk=policy.pk).update(stamp=F("stamp") + 1)
    announce(user_id, settings_changed=False)


def on_transition(connection, before: str, after: str) -> None:
    """brokers.states listener: a connection joined or left the brokers a policy names."""
    if ConnectionStatus.DISCONNECTED in (before, after):
        bump(connection.user_id)


def on_connection_saved(sender, instance, created: bool, **kwargs) -> None:
    if created:
        transaction.on_commit(lambda: bump(instance.user_id))
