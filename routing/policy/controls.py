"""Manual controls for a bad day: switch the primary broker now, pause or resume a broker for
new orders (the kill switch is services.arm_kill_switch).

Each control is a change of the profile saved as a revision from the emergency panel — who
(``author``) and why (the revision's note) — applied to the newest version (a control must not
fail because another tab saved a minute ago), and announced like every save
(routing.policy.live): the next order in any process reads it.

A switch is refused, with nothing changed, when the broker cannot take orders now: not
connected, down (its health state red: breaker open, failing calls, maintenance, refused
session), or without an instrument list to map orders onto its symbols.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

from brokers.models import BrokerConnection, ConnectionStatus, InstrumentRecord
from health import state as health_state
from routing.models import PolicyRevision
from routing.policy import services
from routing.policy.accounts import Account
from routing.policy.effective import effective
from routing.policy.validation import Invalid, Problem

Source = PolicyRevision.Source
MAX_REASON = 140  # kept in the revision's note with what was done (200 characters)
PRIMARY = "global.routing.priority"
PAUSED = "global.emergency.paused"


@dataclass(frozen=True)
class BrokerControl:
    """One connected broker as the controls show it."""

    key: str
    label: str
    connection_id: str
    primary: bool
    paused: bool
    health_word: str
    health_colour: str
    refusal: str  # why it cannot become the primary now ("" when it can)


def key_of(user, connection: BrokerConnection) -> tuple[str, Account] | None:
    """The policy key of one of ``user``'s connections (None when it is not theirs, or is
    disconnected and so named by no policy)."""
    if connection.user_id != getattr(user, "pk", user):
        return None
    for key, account in services.editing(user).accounts.items():
        if account.connection_id == str(connection.pk):
            return key, account
    return None


def label_of(connection: BrokerConnection) -> str:
    return f"{connection.get_broker_display()} {connection.account_id}"


def check_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise Invalid([Problem("reason", "Say why: it is kept in the audit trail.")])
    if len(reason) > MAX_REASON:
        raise Invalid([Problem("reason", f"At most {MAX_REASON} characters.")])
    if any(ord(c) < 32 or ord(c) == 127 for c in reason):
        raise Invalid([Problem("reason", "Plain text on one line, please.")])
    return reason


def refusal(connection: BrokerConnection, label: str) -> str:
    """Why ``connection`` cannot be the primary broker now; "" when it can."""
    if connection.status == ConnectionStatus.DISCONNECTED:
        return f"{label} is not connected: connect it again first."
    health = health_state.current(connection)
    if not health.usable:
        why = health.reason.rstrip(".")
        return f"{label} is {health.word.lower()} now: {why}. Choose a broker that is up."
    if connection.status != ConnectionStatus.CONNECTED:
        return f"{label} is not connected ({connection.get_status_display().lower()})."
    if not InstrumentRecord.objects.filter(broker=connection.broker).exists():
        return (
            f"{label} has no instrument list yet, so no order can be mapped onto its symbols. "
            "Its list loads after a login; try again in a minute."
        )
    return ""


def controls(user) -> list[BrokerControl]:
    """Every connected broker: primary? paused? up? and whether it can become the primary."""
    state = services.editing(user)
    snapshot = effective(user)
    primary = snapshot.priority[0] if snapshot.priority else None
    paused = set(state.document["global"]["emergency"]["paused"])
    rows = {
        str(c.pk): c
        for c in BrokerConnection.objects.filter(
            pk__in=[a.connection_id for a in state.accounts.values()]
        )
    }
    found = []
    for key, account in state.accounts.items():
        connection = rows[account.connection_id]
        health = health_state.current(connection)
        found.append(
            BrokerControl(
                key=key,
                label=account.label,
                connection_id=account.connection_id,
                primary=key == primary,
                paused=key in paused,
                health_word=health.word,
                health_colour=health.colour,
                refusal=refusal(connection, account.label),
            )
        )
    return found


def switch_primary(
    *, user, connection: BrokerConnection, reason: str, author=None
) -> PolicyRevision:
    """Make ``connection`` the first of the priority list now (the others keep their order
    after it). Invalid (nothing changed) when it cannot take orders, or already is first."""
    reason = check_reason(reason)
    found = key_of(user, connection)
    if found is None:
        raise Invalid([Problem(PRIMARY, refusal(connection, label_of(connection)))])
    key, account = found
    why_not = refusal(connection, account.label)
    if why_not:
        raise Invalid([Problem(PRIMARY, why_not)])

    def change(document: dict, accounts: dict[str, Account]) -> str:
        listed = [k for k in document["global"]["routing"]["priority"] if k in accounts]
        if listed and listed[0] == key:
            raise Invalid([Problem(PRIMARY, f"{account.label} already is your primary broker.")])
        before = accounts[listed[0]].label if listed else "none"
        document["global"]["routing"]["priority"] = [key, *(k for k in listed if k != key)]
        return f"Primary switched to {account.label} (was {before}). Why: {reason}"

    return _apply(user, change, author=author)


def pause_broker(
    *, user, connection: BrokerConnection, paused: bool, reason: str, author=None
) -> PolicyRevision:
    """Pause (no new order goes there) or resume one broker. Invalid when nothing changes."""
    reason = check_reason(reason)
    found = key_of(user, connection)
    if found is None:
        raise Invalid([Problem(PAUSED, f"{label_of(connection)} is not connected.")])
    key, account = found

    def change(document: dict, accounts: dict[str, Account]) -> str:
        listed = [k for k in document["global"]["emergency"]["paused"] if k != key]
        if paused == (key in document["global"]["emergency"]["paused"]):
            word = "paused" if paused else "not paused"
            raise Invalid([Problem(PAUSED, f"{account.label} already is {word}.")])
        document["global"]["emergency"]["paused"] = [*listed, key] if paused else listed
        return f"{'Paused' if paused else 'Resumed'} {account.label}. Why: {reason}"

    return _apply(user, change, author=author)


def _apply(user, change: Callable[[dict, dict[str, Account]], str], *, author) -> PolicyRevision:
    """``change`` made to the newest version of the profile, saved as an emergency revision;
    tried again on the version a concurrent save left."""
    for _ in range(3):
        state = services.editing(user)
        document = copy.deepcopy(state.document)
        note = change(document, state.accounts)
        try:
            return services.save_profile(
                user=user,
                document=document,
                version=state.version,
                author=author,
                source=Source.EMERGENCY,
                note=note,
                state=state,
            )
        except services.Conflict:
            continue
    raise RuntimeError("the policy kept changing; try again")
