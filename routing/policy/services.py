"""Use cases of the policy: read a profile for editing, save it (a revision, optimistic
concurrency), revert, pause a broker, and the kill switch.

Every change commits first and is then announced (routing.policy.live): the stamp other
processes compare, a push to the trader's open pages, and the settings brokers and health
keep on the connection rows.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.dispatch import Signal
from django.utils import timezone

from routing.models import KillSwitchEvent, Policy, PolicyBackup, PolicyRevision
from routing.policy import live, mapping
from routing.policy.accounts import Account, assign, current_connections, stored_keys
from routing.policy.diff import diff
from routing.policy.documents import complete
from routing.policy.effective import effective
from routing.policy.schema import Profile
from routing.policy.validation import Context, Invalid, Problem, validate

Source = PolicyRevision.Source

# Sent once an arming committed, with ``event`` (its KillSwitchEvent), in the process that
# armed it: the order path cancels the open orders from there when the arming asks for it
# (routing.tasks connects the receiver; the policy never imports the order path).
kill_switch_armed = Signal()


class Conflict(Exception):
    """The profile was saved by someone else (another tab) since it was read."""

    def __init__(self, *, current: Policy, attempted: dict, expected: int):
        self.current, self.attempted, self.expected = current, attempted, expected
        super().__init__(
            f"the policy is at version {current.version}; this edit started from {expected}"
        )


class NothingChanged(Exception):
    pass


@dataclass(frozen=True)
class Editing:
    """A profile as the pages and the API show it: complete (every connected broker has its
    settings, defaults where none were saved) at ``version``."""

    policy: Policy
    accounts: dict[str, Account]
    document: dict

    @property
    def version(self) -> int:
        return self.policy.version

    def context(self) -> Context:
        return Context(accounts=self.accounts)


def policy_for(user) -> Policy:
    policy, _ = Policy.objects.get_or_create(user=user)
    return policy


def editing(user) -> Editing:
    policy = policy_for(user)
    accounts = assign(current_connections(user), policy.keys)
    return Editing(policy, accounts, complete(policy.document, accounts))


def check(user, document) -> Profile:
    """Validate without saving (the pages' live validation, the API's validate)."""
    return validate(document, editing(user).context())


# --- Saving -----------------------------------------------------------------------------------
def save_profile(
    *,
    user,
    document,
    version: int,
    author=None,
    source: str = Source.EDIT,
    note: str = "",
    state: Editing | None = None,
) -> PolicyRevision:
    """Validate and save ``document`` as the next revision. ``version`` is the one the edit
    started from: a save over a newer one raises Conflict and changes nothing."""
    state = state or editing(user)
    profile = validate(document, state.context())
    return _store(
        state, profile.document(), version=version, author=author, source=source, note=note
    )


def _store(state: Editing, document: dict, *, version, author, source, note) -> PolicyRevision:
    with transaction.atomic():
        policy = Policy.objects.select_for_update().get(pk=state.policy.pk)
        if policy.version != version:
            raise Conflict(current=policy, attempted=document, expected=version)
        changes = diff(complete(policy.document, state.accounts), document)
        if not changes:
            raise NothingChanged("nothing changed")
        keys = stored_keys(state.accounts)
        updated = Policy.objects.filter(pk=policy.pk, version=version).update(
            version=F("version") + 1,
            stamp=F("stamp") + 1,
            document=document,
            keys=keys,
            updated_at=timezone.now(),
        )
        if not updated:  # SQLite has no row locks: the conditional update is the guard
            policy.refresh_from_db()
            raise Conflict(current=policy, attempted=document, expected=version)
        policy.refresh_from_db()
        revision = PolicyRevision.objects.create(
            policy=policy,
            number=policy.version,
            document=document,
            keys=keys,
            changes=changes,
            source=source,
            note=note[:200],
            author=author,
        )
        transaction.on_commit(lambda: live.announce(policy.user_id))
    return revision


def revert(*, user, number: int, version: int, author=None) -> PolicyRevision:
    """Make revision ``number``'s document current again, as a new revision."""
    state = editing(user)
    old = PolicyRevision.objects.get(policy=state.policy, number=number)
    moved = mapping.plan(
        old.document,
        state.accounts,
        connections={key: cid for cid, key in (old.keys or {}).items()},
    )
    # brokers the revision knew that are gone now are left out of it
    document = mapping.rename(
        mapping.without(old.document, mapping.unmapped(old.document, moved)), moved
    )
    return save_profile(
        user=user,
        document=document,
        version=version,
        author=author,
        source=Source.REVERT,
        note=f"Back to revision {number}",
        state=state,
    )


def set_paused(*, user, key: str, paused: bool, author=None) -> PolicyRevision | None:
    """Pause or resume one broker from the emergency panel: applied to the newest version
    (a pause must not fail because another tab saved a minute ago)."""
    for _ in range(3):
        state = editing(user)
        if key not in state.accounts:
            raise Invalid([Problem("global.emergency.paused", f"“{key}” is not connected.")])
        document = copy.deepcopy(state.document)
        listed = [k for k in document["global"]["emergency"]["paused"] if k != key]
        document["global"]["emergency"]["paused"] = [*listed, key] if paused else listed
        try:
            return save_profile(
                user=user,
                document=document,
                version=state.version,
                author=author,
                source=Source.EMERGENCY,
                note=f"{'Paused' if paused else 'Resumed'} {state.accounts[key].label}",
                state=state,
            )
        except NothingChanged:
            return None
        except Conflict:
            continue
    raise RuntimeError("the policy kept changing; try again")


# --- The kill switch ----------------------------------------------------------------------------
def arm_kill_switch(
    *,
    user,
    actor=None,
    reason: str,
    cancel_open_orders: bool = False,
    by_staff: bool = False,
    trip: str = "",
) -> bool:
    """Block every new order of ``user`` at once. False when it was already on. ``trip``: the
    cause of an automatic trip (routing.policy.trips), with ``actor`` None."""
    policy = policy_for(user)
    with transaction.atomic():
        updated = Policy.objects.filter(pk=policy.pk, kill_switch=False).update(
            kill_switch=True,
            kill_switch_reason=reason[:300],
            kill_switch_at=timezone.now(),
            kill_switch_cancel_open=cancel_open_orders,
            stamp=F("stamp") + 1,
        )
        if not updated:
            return False
        event = KillSwitchEvent.objects.create(
            policy=policy,
            action=KillSwitchEvent.Action.ARM,
            reason=reason[:300],
            cancel_open_orders=cancel_open_orders,
            actor=actor,
            by_staff=by_staff,
            trip=trip,
        )
        transaction.on_commit(lambda: live.announce(user.pk, settings_changed=False))
        transaction.on_commit(
            lambda: kill_switch_armed.send(sender=KillSwitchEvent, event=event), robust=True
        )
    return True


def release_kill_switch(*, user, actor=None, reason: str = "") -> bool:
    policy = policy_for(user)
    with transaction.atomic():
        updated = Policy.objects.filter(pk=policy.pk, kill_switch=True).update(
            kill_switch=False,
            kill_switch_reason="",
            kill_switch_at=None,
            kill_switch_cancel_open=False,
            stamp=F("stamp") + 1,
        )
        if not updated:
            return False
        KillSwitchEvent.objects.create(
            policy=policy, action=KillSwitchEvent.Action.RELEASE, reason=reason[:300], actor=actor
        )
        transaction.on_commit(lambda: live.announce(user.pk, settings_changed=False))
    return True


# --- Backups ------------------------------------------------------------------------------------
def back_up(user_id: int) -> PolicyBackup | None:
    """Today's snapshot of a trader's whole profile, as global.backup says (on, keep N); the
    oldest beyond N go. Running twice a day with no change in between adds nothing."""
    backup = effective(user_id).policy.backup
    policy = Policy.objects.filter(user_id=user_id).first()
    if policy is None or not backup.enabled:
        return None
    today = timezone.localdate()
    made = policy.backups.filter(version=policy.version, created_at__date=today).first()
    if made is None:
        made = PolicyBackup.objects.create(
            policy=policy, version=policy.version, document=policy.document, keys=policy.keys
        )
    keep = list(policy.backups.order_by("-created_at", "-pk").values_list("pk", flat=True))
    PolicyBackup.objects.filter(pk__in=keep[backup.keep :]).delete()
    return made
