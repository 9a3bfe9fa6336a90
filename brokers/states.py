"""The connection state machine: which status may follow which, and one way to move.

Every transition is a versioned write (two workers never overwrite each other), a row in
``broker_health_logs``, and a notice to whoever listens (health broadcasts it live).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from brokers.models import BrokerConnection, BrokerHealthLog, StaleConnection
from brokers.models import ConnectionStatus as S

logger = logging.getLogger(__name__)

ALLOWED: dict[str, set[str]] = {
    S.CONNECTING: {
        S.CONNECTED,
        S.ERROR,
        S.TOKEN_EXPIRED,
        S.DISCONNECTED,
        S.RATE_LIMITED,
        S.MAINTENANCE,
        S.SUSPENDED,
    },
    S.CONNECTED: {
        S.RATE_LIMITED,
        S.MAINTENANCE,
        S.ERROR,
        S.TOKEN_EXPIRED,
        S.DISCONNECTED,
        S.SUSPENDED,
    },
    S.RATE_LIMITED: {
        S.CONNECTED,
        S.ERROR,
        S.TOKEN_EXPIRED,
        S.MAINTENANCE,
        S.DISCONNECTED,
        S.SUSPENDED,
    },
    S.MAINTENANCE: {
        S.CONNECTED,
        S.CONNECTING,
        S.ERROR,
        S.TOKEN_EXPIRED,
        S.DISCONNECTED,
        S.SUSPENDED,
    },
    S.ERROR: {
        S.CONNECTED,
        S.CONNECTING,
        S.RATE_LIMITED,
        S.MAINTENANCE,
        S.TOKEN_EXPIRED,
        S.DISCONNECTED,
        S.SUSPENDED,
    },
    S.TOKEN_EXPIRED: {S.CONNECTING, S.CONNECTED, S.DISCONNECTED, S.SUSPENDED},
    S.DISCONNECTED: {S.CONNECTING, S.CONNECTED},
    S.SUSPENDED: {S.DISCONNECTED, S.CONNECTING},
}

# Listeners get (connection, from_status, to_status) after the transition commits.
listeners: list[Callable[[BrokerConnection, str, str], None]] = []


class TransitionRefused(Exception):
    pass


def can_move(current: str, target: str) -> bool:
    return current == target or target in ALLOWED[current]


def transition(
    connection: BrokerConnection,
    target: str,
    *,
    reason: str = "",
    fields: tuple[str, ...] = (),
    retries: int = 3,
) -> bool:
    """Move ``connection`` to ``target``, saving ``fields`` with it. Returns True if it moved.

    A stale read is re-read and retried; a move the graph forbids raises TransitionRefused.
    """
    for _ in range(retries):
        current = connection.status
        if not can_move(current, target):
            raise TransitionRefused(f"{connection} cannot go from {current} to {target}")
        connection.status = target
        if reason:
            connection.last_error = reason if target != S.CONNECTED else ""
        elif target == S.CONNECTED:
            connection.last_error = ""
        try:
            with transaction.atomic():
                connection.save_versioned(fields=["status", "last_error", *fields])
                if current != target:
                    BrokerHealthLog.objects.create(
                        connection=connection,
                        kind=BrokerHealthLog.Kind.TRANSITION,
                        from_status=current,
                        to_status=target,
                        message=reason[:1000],
                        created_at=timezone.now(),
                    )
                    transaction.on_commit(lambda c=current: _announce(connection, c, target))  # type: ignore[misc]
            return current != target
        except StaleConnection:
            pending = {name: getattr(connection, name) for name in fields}
            connection.refresh_from_db()
            for name, value in pending.items():
                setattr(connection, name, value)
    raise StaleConnection(f"{connection} kept changing; gave up after {retries} tries")


def _announce(connection: BrokerConnection, before: str, after: str) -> None:
    for listener in listeners:
        try:
            listener(connection, before, after)
        except Exception:
            logger.exception("status listener failed for %s", connection.pk)
