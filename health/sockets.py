"""Which /ws/brokers/ sockets a trader holds, and the end of them when their session ends.

Open sockets are leases in the health store (Redis when configured, so every web process
counts the same ones): each socket renews its own while open, and a process that dies leaves
leases that run out within LEASE_SECONDS instead of counting forever. A trader holds at most
WEBSOCKETS_PER_USER.

Signing out, changing the password and deactivating a user each send one ``session.check`` to
the trader's group through the channel layer, so it reaches the sockets of every process: a
sign-out names the session that ended, whose sockets close at once; the others look at their
own session again and close unless it still signs in the same user.
"""

from __future__ import annotations

import hashlib
import time

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from health import live
from health.store import store

LEASE_SECONDS = 120
RENEW_SECONDS = 40


def _key(user_id) -> str:
    return f"ws-leases:{user_id}"


def _open_leases(leases, now: float) -> dict[str, float]:
    return {channel: until for channel, until in (leases or {}).items() if until > now}


def claim(user_id, channel: str, limit: int) -> bool:
    """Take (or renew) this socket's lease; False when the trader already holds ``limit``."""
    now = time.time()

    def change(leases):
        held = _open_leases(leases, now)
        if channel not in held and len(held) >= limit:
            return held, False
        held[channel] = now + LEASE_SECONDS
        return held, True

    return store().update(_key(user_id), change, LEASE_SECONDS)


def release(user_id, channel: str) -> None:
    now = time.time()

    def change(leases):
        held = _open_leases(leases, now)
        held.pop(channel, None)
        return held, None

    store().update(_key(user_id), change, LEASE_SECONDS)


def session_tag(session_key: str | None) -> str:
    """What names a session on the channel layer (never the session key itself)."""
    return hashlib.sha256((session_key or "").encode()).hexdigest()[:32]


def check_sessions(user_id, *, ended: str = "") -> None:
    live.deliver(user_id, {"type": "session.check", "ended": ended})


@receiver(user_logged_out, dispatch_uid="health.sockets.signed_out")
def _signed_out(sender, request, user, **kwargs) -> None:
    if user is not None and request is not None:
        check_sessions(user.pk, ended=session_tag(request.session.session_key))


@receiver(post_save, dispatch_uid="health.sockets.user_changed")
def _user_changed(sender, instance, created: bool, update_fields=None, **kwargs) -> None:
    """A password change or a deactivation ends sessions; a sign-in's last_login does not."""
    if sender is not get_user_model() or created:
        return
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return
    transaction.on_commit(lambda: check_sessions(instance.pk), robust=True)
