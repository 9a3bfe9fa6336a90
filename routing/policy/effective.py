"""``effective(user)``: the trader's policy as the order path reads it — one immutable snapshot,
global and per-broker settings merged, the kill switch and pauses included.

Cheap on every order: each process keeps the last snapshot per trader and rebuilds it only
when the trader's stamp in the cache has moved (routing.policy.stamps; see live.py).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType

from brokers import instruments
from routing.models import Policy
from routing.policy import calendar, defaults, stamps
from routing.policy.accounts import assign, current_connections
from routing.policy.documents import complete
from routing.policy.schema import BrokerSettings, GlobalPolicy, Plan, Profile


@dataclass(frozen=True)
class KillSwitch:
    on: bool = False
    reason: str = ""
    since: datetime | None = None
    cancel_open_orders: bool = False


@dataclass(frozen=True)
class BrokerPolicy:
    """One connection's settings as they apply now."""

    key: str
    broker: str
    connection_id: str
    account_id: str
    paused: bool
    settings: BrokerSettings
    plan: Plan
    # Instruments resolved through the masters: their ISINs (a listing without one keeps its
    # EXCHANGE:SYMBOL), to compare an order's instrument by.
    allowed: frozenset[str]
    restricted: frozenset[str]

    @property
    def trading(self):
        return self.settings.trading

    @property
    def risk(self):
        return self.settings.risk

    @property
    def api(self):
        return self.settings.api

    @property
    def custom(self) -> Mapping[str, object]:
        return MappingProxyType({item.key: item.value for item in self.settings.custom})


@dataclass(frozen=True)
class EffectivePolicy:
    user_id: int
    version: int
    stamp: int
    kill_switch: KillSwitch
    policy: GlobalPolicy
    brokers: Mapping[str, BrokerPolicy]  # by policy key, only connected brokers
    holidays: frozenset[date]

    @property
    def orders_blocked(self) -> bool:
        return self.kill_switch.on

    def for_connection(self, connection_id) -> BrokerPolicy | None:
        wanted = str(connection_id)
        return next((b for b in self.brokers.values() if b.connection_id == wanted), None)

    def accepts_orders(self, key: str) -> bool:
        """Whether a new order may go to broker ``key`` now (kill switch off, not paused)."""
        broker = self.brokers.get(key)
        return not self.kill_switch.on and broker is not None and not broker.paused

    @property
    def priority(self) -> tuple[str, ...]:
        """The priority list, without brokers no longer connected."""
        return tuple(k for k in self.policy.routing.priority if k in self.brokers)


_snapshots: dict[int, EffectivePolicy] = {}
_lock = threading.Lock()
MAX_SNAPSHOTS = 20_000  # a process serving more traders starts over (each rebuild is ~10 ms)


def effective(user) -> EffectivePolicy:
    """The trader's effective policy (a user or a user id)."""
    user_id = int(getattr(user, "pk", user))
    stamp = stamps.current(user_id)
    snapshot = _snapshots.get(user_id)
    if snapshot is not None and snapshot.stamp >= stamp:
        return snapshot
    snapshot = build(user_id)
    with _lock:
        held = _snapshots.get(user_id)
        if held is None and len(_snapshots) >= MAX_SNAPSHOTS:
            _snapshots.clear()
        if held is None or held.stamp <= snapshot.stamp:
            _snapshots[user_id] = snapshot
    return snapshot


def forget() -> None:
    """Drop every cached snapshot (tests)."""
    with _lock:
        _snapshots.clear()


def build(user_id: int) -> EffectivePolicy:
    """Read the stored profile and make its snapshot. The stored document was validated when
    saved; brokers disconnected since are left out, new ones get their defaults."""
    policy = Policy.objects.filter(user_id=user_id).first() or Policy(user_id=user_id)
    accounts = assign(current_connections(user_id), policy.keys)
    profile = Profile.model_validate(complete(policy.document, accounts))
    refs = {
        ref
        for settings in profile.brokers.values()
        for ref in (*settings.risk.allowed_instruments, *settings.risk.restricted_instruments)
    }
    resolved = instruments.resolve(refs) if refs else {}
    paused = set(profile.global_.emergency.paused)
    plans = profile.global_.cost.plans
    brokers = {}
    for key, settings in profile.brokers.items():
        account = accounts[key]
        brokers[key] = BrokerPolicy(
            key=key,
            broker=account.broker,
            connection_id=account.connection_id,
            account_id=account.account_id,
            paused=key in paused,
            settings=settings,
            plan=plans.get(key) or Plan.model_validate(defaults.published_plan(account.broker)),
            allowed=frozenset(resolved.get(r) or r for r in settings.risk.allowed_instruments),
            restricted=frozenset(
                resolved.get(r) or r for r in settings.risk.restricted_instruments
            ),
        )
    return EffectivePolicy(
        user_id=user_id,
        version=policy.version,
        stamp=policy.stamp,
        kill_switch=KillSwitch(
            on=policy.kill_switch,
            reason=policy.kill_switch_reason,
            since=policy.kill_switch_at,
            cancel_open_orders=policy.kill_switch_cancel_open,
        ),
        policy=profile.global_,
        brokers=MappingProxyType(brokers),
        holidays=calendar.all_holidays(),
    )
