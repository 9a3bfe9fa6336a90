"""Connection health use cases: let the status follow the calls, announce changes, retry now.

Every status change goes through brokers.states.transition (versioned write, a row in
broker_health_logs, listeners after commit). The rules, from a call's outcome:

- refused session (AuthError / TokenExpired) → TOKEN_EXPIRED; never retried, never probed
  again until the trader logs in (no reconnection loop);
- the broker's rate-limit answer → RATE_LIMITED; the next success → CONNECTED;
- a maintenance answer → MAINTENANCE (until the time the broker gave); next success → CONNECTED;
- breaker CLOSED → OPEN → ERROR; OPEN → HALF_OPEN (a trial probe) → CONNECTING;
  HALF_OPEN → CLOSED → CONNECTED;
- a success with the breaker closed ends RATE_LIMITED / MAINTENANCE / ERROR / CONNECTING.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from brokers import states
from brokers.adapters.base import Maintenance
from brokers.clock import IST
from brokers.models import Broker, BrokerConnection, BrokerHealthLog, StaleConnection
from brokers.models import ConnectionStatus as S
from health import breaker, calls, quality
from health.calls import Note
from health.metrics import Outcome
from health.models import ConnectionHealth
from health.store import once_per, store

logger = logging.getLogger(__name__)

# Statuses in which nothing we observe on a call changes the status: the trader acts first.
AT_REST = {S.DISCONNECTED, S.SUSPENDED, S.TOKEN_EXPIRED}
STATUS_TTL = 300


def _status_key(cid: str) -> str:
    return calls.services_status_key(cid)


def remember_status(cid: str, status: str, failures: int = 0) -> None:
    store().set(_status_key(cid), {"status": status, "failures": failures}, STATUS_TTL)


def known_status(cid: str) -> dict | None:
    return store().get(_status_key(cid))


def ensure_health(connection: BrokerConnection) -> ConnectionHealth:
    health, _ = ConnectionHealth.objects.get_or_create(
        connection_id=connection.pk, defaults={"next_check_at": timezone.now()}
    )
    return health


# --- From one call to the status --------------------------------------------------------------
def target_for(status: str, note: Note, *, breaker_closed: bool = True) -> str | None:
    """The status a call's outcome asks for, or None to stay put."""
    if status in AT_REST:
        return None
    if note.outcome is Outcome.AUTH:
        return S.TOKEN_EXPIRED
    if note.change is not None:
        return {
            breaker.State.OPEN: S.ERROR,
            breaker.State.HALF_OPEN: S.CONNECTING,
            breaker.State.CLOSED: S.CONNECTED,
        }[note.change.after]
    if isinstance(note.error, Maintenance):
        return S.MAINTENANCE
    if note.outcome is Outcome.THROTTLED:
        return S.RATE_LIMITED
    if note.outcome is Outcome.OK and status != S.CONNECTED and breaker_closed:
        return S.CONNECTED
    return None


def reason_for(connection: BrokerConnection, target: str, note: Note) -> str:
    name = Broker(connection.broker).label
    error = note.error
    detail = error.message if error else ""
    if target == S.TOKEN_EXPIRED:
        return f"{name} refused the session ({detail}). Log in again to reconnect."
    if target == S.ERROR:
        why = note.change.why if note.change else "repeated failures"
        return (
            f"{name} is not answering ({why}; last: {detail or 'no answer'}). Calls are paused "
            "and the platform retries by itself."
        )
    if target == S.CONNECTING:
        return f"Trying {name} again (trial probe)."
    if target == S.RATE_LIMITED:
        after = getattr(error, "retry_after", None)
        return f"{name} is limiting requests" + (f"; retry after {after:.0f} s." if after else ".")
    if target == S.MAINTENANCE:
        until = getattr(error, "until", None)
        return f"{name} is under maintenance" + (
            f" until {until.astimezone(IST):%H:%M} IST." if until else "."
        )
    return ""


def apply(connection: BrokerConnection, note: Note) -> bool:
    """Apply one note to a loaded connection. Returns True if the status moved."""
    closed = True
    if note.outcome is Outcome.OK and note.change is None and connection.status != S.CONNECTED:
        closed = breaker.current(str(connection.pk))[0] is breaker.State.CLOSED
    target = target_for(connection.status, note, breaker_closed=closed)
    if target is None or target == connection.status:
        return False
    if not states.can_move(connection.status, target):
        logger.info("%s: no move from %s to %s", connection.pk, connection.status, target)
        return False
    fields = ["consecutive_failures"]
    if note.outcome is Outcome.OK:
        connection.consecutive_failures = 0
        connection.last_successful_call = timezone.now()
        fields.append("last_successful_call")
    elif note.outcome is Outcome.FAIL:
        connection.consecutive_failures += 1
    return states.transition(
        connection, target, reason=reason_for(connection, target, note), fields=tuple(fields)
    )


def apply_call(cid: str, note: Note) -> None:
    """The after-hook's path for real calls (syncs, orders): cheap unless something changes."""
    known = note.known
    if (
        known is not None
        and known["status"] == S.CONNECTED
        and note.outcome is Outcome.OK
        and note.change is None
    ):
        if known.get("failures"):
            _count_success(cid)
        elif note.write_success:
            BrokerConnection.objects.filter(pk=cid).update(last_successful_call=timezone.now())
        return
    if known is not None and known["status"] in AT_REST and note.outcome is not Outcome.AUTH:
        return
    connection = BrokerConnection.objects.filter(pk=cid).first()
    if connection is None:
        return
    if note.outcome not in (None, Outcome.OK):
        _log_failed_call(connection, note)
    if not apply(connection, note):
        if note.outcome is Outcome.FAIL:
            _count_failure(connection, note)
        elif note.outcome is Outcome.OK and connection.consecutive_failures:
            _count_success(cid)
        else:
            remember_status(cid, connection.status, connection.consecutive_failures)
    if once_per(f"quality-check:{cid}", 10):
        connection.refresh_from_db()
        announce(connection)


def _log_failed_call(connection: BrokerConnection, note: Note) -> None:
    """Failed real calls are kept (the breaker caps how many a failing broker can cause)."""
    BrokerHealthLog.objects.create(
        connection=connection,
        kind=BrokerHealthLog.Kind.CALL,
        success=False,
        response_time_ms=int(note.elapsed_ms),
        endpoint=note.endpoint[:200],
        error_type=type(note.error).__name__ if note.error else "",
        message=(note.error.message if note.error else "")[:1000],
    )


def _count_failure(connection: BrokerConnection, note: Note) -> None:
    message = note.error.message if note.error else "no answer"
    updates = {"consecutive_failures": F("consecutive_failures") + 1}
    if connection.status == S.CONNECTED:
        updates["last_error"] = f"Last call failed ({note.endpoint}): {message}"[:1000]
    BrokerConnection.objects.filter(pk=connection.pk).update(**updates)
    remember_status(str(connection.pk), connection.status, 1)


def _count_success(cid: str) -> None:
    BrokerConnection.objects.filter(pk=cid).update(
        consecutive_failures=0, last_successful_call=timezone.now()
    )
    BrokerConnection.objects.filter(pk=cid, status=S.CONNECTED).exclude(last_error="").update(
        last_error=""
    )
    remember_status(cid, S.CONNECTED, 0)


# --- Announcing: status and quality changes go out live; red and green notify ----------------
def announce(
    connection: BrokerConnection,
    *,
    previous_status: str = "",
    status_changed: bool = False,
    health: ConnectionHealth | None = None,
) -> quality.Quality:
    """Grade the connection; push if its status or quality changed; notify on red / green.

    ``health``: the connection's health row when the caller has it loaded (the sweep).
    """
    from health import live, notices

    cid = str(connection.pk)
    window, (known,) = quality.read_for_grading(cid, also=(f"quality:{cid}",))
    graded = quality.grade(connection.status, window)
    if known is None and health is not None:
        known = health.quality
    changed_quality = False
    if known != graded.value:
        if health is None:
            health = ensure_health(connection)
        before = health.quality
        # One process wins the change: it alone notifies.
        changed_quality = bool(
            ConnectionHealth.objects.filter(pk=connection.pk)
            .exclude(quality=graded.value)
            .update(quality=graded.value)
        )
        health.quality = graded.value
        store().set(f"quality:{cid}", graded.value, 3600)
        if changed_quality and quality.colour(before) != quality.colour(graded):
            notices.on_quality_change(connection, before=before, after=graded.value)
    if status_changed or changed_quality:
        live.push_status(connection, previous_status=previous_status, quality=graded)
    return graded


def on_transition(connection: BrokerConnection, before: str, after: str) -> None:
    """states.listeners: every committed status change is remembered and announced."""
    cid = str(connection.pk)
    remember_status(cid, after, connection.consecutive_failures)
    if after == S.CONNECTED:
        quality.mark_recovered(cid)
    if after == S.CONNECTED and breaker.current(cid)[0] is not breaker.State.CLOSED:
        breaker.reset(cid)  # connected by a fresh login (trials close the breaker themselves)
    announce(connection, previous_status=before, status_changed=True)


# --- Retry now ------------------------------------------------------------------------------
class RetryRefused(Exception):
    """A retry that cannot help; the message says what the trader should do instead."""


RETRY_EVERY = 5  # s between two "retry now" of one connection


def retry_now(*, connection: BrokerConnection) -> BrokerConnection:
    """Skip the backoff: a trial probe now, whose outcome the status follows.

    Same path as the sweep (health.probes), so it is logged, counted and announced alike.
    """
    from health import probes

    if connection.status == S.TOKEN_EXPIRED:
        raise RetryRefused("The broker ended the session: log in again to reconnect.")
    if connection.status in (S.DISCONNECTED, S.SUSPENDED):
        raise RetryRefused("This connection is not active: connect it again.")
    if not once_per(f"retry:{connection.pk}", RETRY_EVERY):
        raise RetryRefused("A retry just ran; wait a few seconds.")
    change = breaker.force_trial(str(connection.pk))
    with transaction.atomic():
        ensure_health(connection)
        ConnectionHealth.objects.filter(pk=connection.pk).update(
            reconnect_attempts=0, next_check_at=timezone.now() + timedelta(seconds=30)
        )
    probes.probe_now(connection, first=[Note(change=change)] if change else [])
    connection.refresh_from_db()
    return connection


# --- Preferences ----------------------------------------------------------------------------
def save_preferences(
    *, connection: BrokerConnection, health: ConnectionHealth, interval: int
) -> None:
    """Alert preferences on the health row; the probe interval in connection_config."""
    health.save(update_fields=["in_app_alerts", "email_alerts", "recovery_alerts"])
    for _ in range(3):
        config = (
            connection.connection_config if isinstance(connection.connection_config, dict) else {}
        )
        if config.get("healthCheckSeconds") == interval:
            return
        connection.connection_config = {**config, "healthCheckSeconds": interval}
        try:
            connection.save_versioned(fields=["connection_config"])
            return
        except StaleConnection:
            connection.refresh_from_db()
    raise StaleConnection(f"{connection} kept changing; preferences not saved")
