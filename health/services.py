"""Connection health use cases: let the status follow the state, announce changes.

The state (health.state.decide) is computed from the recorded call outcomes; the status that
brokers.states keeps follows it (``settle``): every status change is a versioned write, a row
in broker_health_logs and a push. Only one rule does not wait for the state: a refused session
(AuthError / TokenExpired) → TOKEN_EXPIRED at once, never retried or probed again until the
trader logs in (no reconnection loop).
"""

from __future__ import annotations

import logging

from django.db.models import F
from django.utils import timezone

from brokers import states
from brokers.models import Broker, BrokerConnection, BrokerHealthLog, StaleConnection
from brokers.models import ConnectionStatus as S
from health import breaker, live, notices, quality, state
from health.metrics import Outcome
from health.models import ConnectionHealth
from health.notes import Note, remember_status
from health.store import store

logger = logging.getLogger(__name__)

# Statuses in which nothing we observe on a call changes the status: the trader acts first.
AT_REST = {S.DISCONNECTED, S.SUSPENDED, S.TOKEN_EXPIRED}


def ensure_health(connection: BrokerConnection) -> ConnectionHealth:
    health, _ = ConnectionHealth.objects.get_or_create(
        connection_id=connection.pk, defaults={"next_check_at": timezone.now()}
    )
    return health


# --- From one call to the status --------------------------------------------------------------
def reason_for_refused_session(connection: BrokerConnection, note: Note) -> str:
    name = Broker(connection.broker).label
    detail = note.error.message if note.error else ""
    return f"{name} refused the session ({detail}). Log in again to reconnect."


def apply(connection: BrokerConnection, note: Note) -> bool:
    """The one event that moves the status by itself: a refused session. True if it moved."""
    if connection.status in AT_REST or note.outcome is not Outcome.AUTH:
        return False
    fields = ["consecutive_failures"]
    connection.consecutive_failures += 1
    return states.transition(
        connection,
        S.TOKEN_EXPIRED,
        reason=reason_for_refused_session(connection, note),
        fields=tuple(fields),
    )


def settle(
    connection: BrokerConnection, *, health: ConnectionHealth | None = None
) -> state.HealthState:
    """Decide the state from the recorded calls; let the status follow it; announce changes.

    A status change is announced by the transition's listener (on_transition); otherwise the
    state is announced here if its word, colour or grade changed.
    """
    cid = str(connection.pk)
    now_state = state.current(connection)
    moved = False
    target = now_state.status
    if connection.status not in AT_REST and target != connection.status:
        if connection.status in state.RED_STATUSES and target in (S.CONNECTING, S.CONNECTED):
            # The recovery began with the first of the good calls: graded from there on.
            state.mark_recovering(cid, at=now_state.streak_since)
        if states.can_move(connection.status, target):
            try:
                moved = states.transition(connection, target, reason=now_state.reason)
            except StaleConnection:
                logger.info("%s changed while settling; the next call settles it", cid)
        else:
            logger.info("%s: no move from %s to %s", cid, connection.status, target)
    clean = now_state.colour == state.GREEN and not now_state.failing
    remember_status(cid, connection.status, 0 if clean else 1, now_state.failing)
    if not moved:
        announce(connection, health=health, current=now_state)
    return now_state


def apply_call(cid: str, note: Note) -> None:
    """The after-hook's path for real calls (syncs, orders): cheap unless something is off.

    A good call on a connection known to be green and clean costs nothing more; anything else
    settles the state.
    """
    known = note.known
    if (
        known is not None
        and known["status"] == S.CONNECTED
        and not known.get("failures")
        and note.outcome is Outcome.OK
        and note.change is None
    ):
        if note.write_success:
            BrokerConnection.objects.filter(pk=cid).update(last_successful_call=timezone.now())
        return
    if known is not None and known["status"] in AT_REST and note.outcome is not Outcome.AUTH:
        return
    connection = BrokerConnection.objects.filter(pk=cid).first()
    if connection is None:
        return
    if note.outcome not in (None, Outcome.OK):
        _log_failed_call(connection, note)
    if apply(connection, note):
        return
    if note.outcome is Outcome.FAIL:
        _count_failure(connection, note)
        connection.refresh_from_db()
    elif note.outcome is Outcome.OK and connection.consecutive_failures:
        _count_success(cid)
        connection.refresh_from_db()
    if connection.status in AT_REST:
        return
    settle(connection)


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


def _count_success(cid: str) -> None:
    BrokerConnection.objects.filter(pk=cid).update(
        consecutive_failures=0, last_successful_call=timezone.now()
    )
    BrokerConnection.objects.filter(pk=cid, status=S.CONNECTED).exclude(last_error="").update(
        last_error=""
    )


# --- Announcing: state changes go out live; red and green notify -----------------------------
def _state_key(cid: str) -> str:
    return f"state:{cid}"


def announce(
    connection: BrokerConnection,
    *,
    previous_status: str = "",
    status_changed: bool = False,
    health: ConnectionHealth | None = None,
    current: state.HealthState | None = None,
) -> state.HealthState:
    """Push if anything the card shows from the state changed — word, colour, grade, reason,
    the breaker's state — or the status; notify on red and on green (one incident).
    ``health``: the connection's health row when the caller has it."""
    cid = str(connection.pk)
    current = current or state.current(connection)
    graded = current.grade
    seen = "|".join(
        (current.word, current.colour, graded.value, breaker.current(cid)[0], current.reason)
    )
    known = store().get(_state_key(cid))
    if known != seen:
        store().set(_state_key(cid), seen, 3600)
    if health is not None and known is None:
        known = f"?|?|{health.quality}"
    changed_quality = False
    if known is None or known.split("|")[2] != graded.value:
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
        if changed_quality and quality.colour(before) != quality.colour(graded):
            notices.on_quality_change(connection, before=before, after=graded.value)
    if status_changed or changed_quality or known != seen:
        live.push_status(connection, previous_status=previous_status)
    return current


def on_transition(connection: BrokerConnection, before: str, after: str) -> None:
    """states.listeners: every committed status change is remembered and announced."""
    cid = str(connection.pk)
    remember_status(cid, after, 1)
    if after in (S.CONNECTING, S.CONNECTED) and before in AT_REST:
        state.mark_recovering(cid)  # a fresh login: what came before is not graded any more
    if after == S.CONNECTED and breaker.current(cid)[0] is not breaker.State.CLOSED:
        breaker.reset(cid)  # connected by a fresh login (trials close the breaker themselves)
    announce(connection, previous_status=before, status_changed=True)
