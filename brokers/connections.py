"""Connecting a broker account, keeping its session alive, and disconnecting it.

Views, the API, admin actions and tasks all come through these functions. Nothing is written
until the broker has issued tokens and answered a profile call and a portfolio read, so a
failed login never leaves a half-created connection behind.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.dispatch import Signal
from django.utils import timezone

from brokers import states
from brokers.adapters import registry
from brokers.errors import (
    AuthError,
    BrokerError,
    BrokerUnavailable,
    NotSupported,
    RateLimited,
    TokenExpired,
)
from brokers.models import Broker, BrokerApp, BrokerConnection, ConnectionStatus
from brokers.oauth import StateRefused, consume_state, issue_state
from brokers.types import AppCredentials, LoginKind, Tokens, describe_limit

logger = logging.getLogger(__name__)

BROWSER_LOGINS = {LoginKind.REDIRECT_CHECKSUM, LoginKind.OAUTH2, LoginKind.CONSENT}

# Sent with ``connection`` once a login has saved its tokens, inside the login's transaction.
# Work a login sets off (the instrument master's download) is wired to it in brokers.tasks.
logged_in = Signal()


class ConnectFailed(Exception):
    """A connection attempt that did not work; the message is for the trader."""


@dataclass(frozen=True)
class Initiation:
    broker: str
    authorization_url: str  # empty for brokers without a browser login
    state: str


@dataclass(frozen=True)
class Verification:
    connection: BrokerConnection
    created: bool
    holdings: int
    positions: int
    account_name: str


def credentials(app: BrokerApp | None) -> AppCredentials:
    if app is None:
        raise ConnectFailed("Register this broker's API app first.")
    return AppCredentials(
        api_key=app.api_key,
        api_secret=app.api_secret,
        redirect_uri=app.redirect_url,
        client_id=app.client_id,
        pin=app.pin,
        extra=json.loads(app.extra_secrets or "{}"),
    )


def capabilities_snapshot(broker: str) -> dict:
    """What the broker can do, stored with the connection for pages, admin and routing."""
    caps = registry.capabilities(broker)
    return {
        "loginKind": str(caps.login_kind),
        "supportsRefresh": caps.supports_refresh,
        "tokenExpiryRule": caps.token_expiry_rule,
        "orderTypes": sorted(caps.order_types),
        "products": sorted(caps.products),
        "exchanges": sorted(caps.exchanges),
        "rateLimits": {name: describe_limit(cap) for name, cap in caps.rate_limits.items()},
        "hasLogout": caps.has_logout,
        "loginFields": list(caps.login_fields),
    }


def initiate_connection(
    *, user, app: BrokerApp, redirect_uri: str, connection: BrokerConnection | None = None
) -> Initiation:
    """Start a login: a state bound to this user, broker and redirect, and the broker's URL."""
    if connection is not None and connection.user_id != user.pk:
        raise ConnectFailed("That connection does not exist.")
    issued = issue_state(
        user=user, broker=app.broker, redirect_uri=redirect_uri, app=app, connection=connection
    )
    adapter = registry.build(app.broker, app=credentials(app))
    url = ""
    if adapter.capabilities.login_kind in BROWSER_LOGINS:
        try:
            url = adapter.authorization_url(
                state=issued.value, redirect_uri=redirect_uri, code_challenge=issued.code_challenge
            )
        except BrokerError as error:
            raise ConnectFailed(_explain(app.broker, error)) from None
    return Initiation(app.broker, url, issued.value)


def complete_connection(*, user, broker: str, state: str, params: dict) -> Verification:
    """Finish a login from the broker's callback (or typed credentials), verify, then save."""
    try:
        login = consume_state(user=user, broker=broker, value=state)
    except StateRefused as refused:
        raise ConnectFailed(str(refused)) from None
    if login.reconnect and (
        login.connection is None or login.connection.status == ConnectionStatus.DISCONNECTED
    ):
        raise ConnectFailed(
            "The connection you were logging in again for was removed meanwhile. "
            "Connect the broker again from the dashboard."
        )
    app = credentials(login.app)
    anonymous = registry.build(broker, app=app)
    try:
        tokens = anonymous.complete_login(
            params, redirect_uri=login.redirect_uri, code_verifier=login.code_verifier
        )
        adapter = registry.build(broker, app=app, tokens=tokens, account=tokens.account_id)
        profile = adapter.probe()
        holdings, positions = adapter.holdings(), adapter.positions()
    except BrokerError as error:
        logger.info("login at %s for user %s failed: %s", broker, user.pk, error)
        raise ConnectFailed(_explain(broker, error)) from None
    account_id = tokens.account_id or profile.account_id
    connection, created = _save_connection(
        user=user,
        broker=broker,
        app=login.app,
        account_id=account_id,
        name=profile.name,
        tokens=tokens,
    )
    return Verification(connection, created, len(holdings), len(positions), profile.name)


def _save_connection(*, user, broker, app, account_id, name, tokens: Tokens):
    for _ in range(2):  # a concurrent first connect of the same account: retry as an update
        try:
            with transaction.atomic():
                connection, created = BrokerConnection.objects.select_for_update().get_or_create(
                    user=user,
                    broker=broker,
                    account_id=account_id,
                    defaults={"display_name": name, "app": app},
                )
                break
        except IntegrityError:
            continue
    connection.app = app
    connection.display_name = connection.display_name or name
    store_tokens(connection, tokens)
    connection.capabilities = capabilities_snapshot(broker)
    connection.consecutive_failures = 0
    connection.last_successful_call = timezone.now()
    states.transition(
        connection,
        ConnectionStatus.CONNECTED,
        reason="logged in",
        fields=(
            "app",
            "display_name",
            "access_token",
            "refresh_token",
            "extra_tokens",
            "token_expires_at",
            "capabilities",
            "consecutive_failures",
            "last_successful_call",
        ),
    )
    logged_in.send(sender=BrokerConnection, connection=connection)
    return connection, created


def store_tokens(connection: BrokerConnection, tokens: Tokens) -> None:
    connection.access_token = tokens.access_token
    connection.refresh_token = tokens.refresh_token or ""
    connection.extra_tokens = json.dumps(dict(tokens.extra)) if tokens.extra else ""
    connection.token_expires_at = tokens.expires_at


def refresh_tokens(*, connection: BrokerConnection) -> bool:
    """Renew the session where the broker allows it. Returns True if renewed.

    An auth error ends in TOKEN_EXPIRED with its reason and is never retried (no storm); an
    unavailable broker raises so the task retries later with backoff.
    """
    adapter = registry.adapter_for(connection)
    try:
        tokens = adapter.refresh()
    except NotSupported:
        return False
    except AuthError as error:
        expire_connection(connection=connection, reason=f"Refresh refused: {error.message}")
        return False
    store_tokens(connection, tokens)
    connection.last_successful_call = timezone.now()
    target = ConnectionStatus.CONNECTED
    if not states.can_move(connection.status, target):
        target = connection.status  # type: ignore[assignment]
    states.transition(
        connection,
        target,
        reason="session renewed",
        fields=(
            "access_token",
            "refresh_token",
            "extra_tokens",
            "token_expires_at",
            "last_successful_call",
        ),
    )
    return True


def expire_connection(*, connection: BrokerConnection, reason: str) -> bool:
    if connection.status in (ConnectionStatus.DISCONNECTED, ConnectionStatus.SUSPENDED):
        return False
    return states.transition(connection, ConnectionStatus.TOKEN_EXPIRED, reason=reason)


def disconnect(*, connection: BrokerConnection) -> str:
    """Revoke at the broker where it can, wipe the tokens, keep the row and its history.

    Returns "revoked", "no logout" (the broker has none, or the session was already gone) or
    "unreachable"; the tokens are wiped here in every case.
    """
    outcome = "no logout"
    if connection.has_access_token:
        try:
            registry.adapter_for(connection).logout()
            outcome = "revoked"
        except (NotSupported, TokenExpired):
            pass
        except BrokerError as error:
            outcome = "unreachable"
            logger.warning(
                "logout at %s failed for %s: %s", connection.broker, connection.pk, error
            )
    connection.access_token = ""
    connection.refresh_token = ""
    connection.extra_tokens = ""
    connection.token_expires_at = None
    states.transition(
        connection,
        ConnectionStatus.DISCONNECTED,
        reason="disconnected by the trader",
        fields=("access_token", "refresh_token", "extra_tokens", "token_expires_at"),
    )
    return outcome


def _explain(broker: str, error: BrokerError) -> str:
    name = Broker(broker).label
    if isinstance(error, AuthError):
        return (
            f"{name} refused the login: {error.message}. "
            "Check the app's key and secret, then try again."
        )
    if isinstance(error, RateLimited):
        return f"{name} is limiting requests right now. Wait a minute and try again."
    if isinstance(error, BrokerUnavailable):
        return f"{name} is not answering right now ({error.message}). Try again in a few minutes."
    return f"{name} did not accept the login: {error.message}."


# --- The nightly expiry, run by beat ---------------------------------------------------------
REFRESH_AHEAD = timedelta(minutes=30)
LIVE = [
    ConnectionStatus.CONNECTED,
    ConnectionStatus.RATE_LIMITED,
    ConnectionStatus.MAINTENANCE,
    ConnectionStatus.ERROR,
]


def connections_to_refresh(*, now) -> list[BrokerConnection]:
    """Live connections of refreshable brokers whose session ends within REFRESH_AHEAD.

    Each is claimed for five minutes in the cache, so overlapping runs never refresh twice.
    """
    due = BrokerConnection.objects.filter(
        status__in=LIVE,
        token_expires_at__lte=now + REFRESH_AHEAD,
        capabilities__supportsRefresh=True,
    ).exclude(refresh_token="")
    return [c for c in due if cache.add(f"refresh-claim:{c.pk}", 1, 300)]


def expire_due_tokens(*, now) -> int:
    """Sessions past their expiry turn TOKEN_EXPIRED (once; never a reconnection loop)."""
    count = 0
    for connection in BrokerConnection.objects.filter(status__in=LIVE, token_expires_at__lte=now):
        rule = connection.capabilities.get("tokenExpiryRule", "the broker's daily expiry")
        count += expire_connection(
            connection=connection,
            reason=f"The broker ended the session ({rule}). Log in again to reconnect.",
        )
    return count
