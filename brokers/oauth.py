"""Logins in flight: the state that ties a broker's callback to the trader who started it.

A state is random, single use, lives ten minutes and is bound to its user, broker and redirect
URL. Only its hash is stored (in the cache for the fast path and in ``oauth_states`` as the
record), so a leaked table cannot be replayed. PKCE verifiers ride along, sealed.

A trader holds at most ``OAUTH_PENDING_LOGINS_MAX`` logins in flight: starting one more drops
the oldest, so the table stays bounded however often a login is started, and a trader who
opened the login in several tabs can always start again (the newest is the one in use). The
used and expired ones are swept every ten minutes (config/celery.py).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from brokers.models import BrokerApp, BrokerConnection, OAuthState

STATE_TTL = timedelta(minutes=10)


class StateRefused(Exception):
    """The callback's state cannot be accepted; the message is for the trader."""


@dataclass(frozen=True)
class IssuedState:
    value: str  # goes to the broker and comes back on the callback
    code_challenge: str  # PKCE S256, for brokers that accept it
    record: OAuthState


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _cache_key(digest: str) -> str:
    return f"oauth-state:{digest}"


def issue_state(
    *,
    user,
    broker: str,
    redirect_uri: str,
    app: BrokerApp | None,
    connection: BrokerConnection | None = None,
) -> IssuedState:
    value = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    record = OAuthState(
        state=_digest(value),
        user=user,
        broker=broker,
        redirect_uri=redirect_uri,
        app=app,
        connection=connection,
        reconnect=connection is not None,
        expires_at=timezone.now() + STATE_TTL,
    )
    record.code_verifier = verifier
    with transaction.atomic():
        record.save()
        _drop_oldest_pending(user)
    cache.set(_cache_key(record.state), record.pk, int(STATE_TTL.total_seconds()))
    return IssuedState(value, challenge.rstrip(b"=").decode(), record)


def _drop_oldest_pending(user) -> None:
    """Keep the trader's newest ``OAUTH_PENDING_LOGINS_MAX`` logins in flight."""
    pending = OAuthState.objects.filter(
        user=user, used_at__isnull=True, expires_at__gt=timezone.now()
    ).order_by("-created_at", "-pk")
    dropped = list(pending.values_list("pk", "state")[settings.OAUTH_PENDING_LOGINS_MAX :])
    if dropped:
        OAuthState.objects.filter(pk__in=[pk for pk, _ in dropped]).delete()
        cache.delete_many([_cache_key(digest) for _, digest in dropped])


def consume_state(*, user, broker: str, value: str) -> OAuthState:
    """The login this callback completes, marked used; or StateRefused saying why not."""
    if not value or len(value) > 200:
        raise StateRefused("This login link is missing its security state. Start again.")
    digest = _digest(value)
    pk = cache.get(_cache_key(digest))
    query = OAuthState.objects.select_related("app", "connection")
    record = query.filter(pk=pk).first() if pk else query.filter(state=digest).first()
    if record is None:
        raise StateRefused("This login link is not one we issued (or it was altered). Start again.")
    if record.user_id != user.pk:
        raise StateRefused("This login was started by someone else. Start again from your account.")
    if record.broker != broker:
        raise StateRefused("This login was started for another broker. Start again.")
    if record.used_at is not None:
        raise StateRefused("This login link was already used. Start again to reconnect.")
    now = timezone.now()
    if record.expires_at <= now:
        raise StateRefused("This login took longer than 10 minutes and expired. Start again.")
    claimed = OAuthState.objects.filter(pk=record.pk, used_at__isnull=True).update(used_at=now)
    if not claimed:  # a second callback racing the first
        raise StateRefused("This login link was already used. Start again to reconnect.")
    cache.delete(_cache_key(digest))
    record.used_at = now
    return record
