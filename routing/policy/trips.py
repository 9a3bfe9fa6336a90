"""Automatic kill-switch trips (``global.emergency.auto_trips``): the kill switch switches
itself on when the day's loss reaches the global limit, or when too many orders in a row
were rejected.

``evaluate_trips`` is what the order path and the portfolio sync call; the sync calls it
through the ``portfolio.signals.portfolio_synced`` receiver below (connected in
routing.apps). It arms through ``services.arm_kill_switch(actor=None, …)`` with a reason, so
the trip is audited like any other arm and reaches every process at once (live.announce).

Idempotent: a trip arms at most once per IST day for each cause. While the switch is on
nothing happens; once the trader releases it, the same cause does not arm it again that day
(the trader has seen the loss and chosen to go on; risk checks still refuse orders that make
a position larger past the loss limit). A loss on the next day trips again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from brokers.clock import IST
from brokers.types import Position
from health import notify
from portfolio.templatetags.portfolio_format import inr
from routing.models import KillSwitchEvent
from routing.policy import services
from routing.policy.effective import EffectivePolicy, effective
from routing.policy.schema import Event

logger = logging.getLogger(__name__)

DAILY_LOSS = "DAILY_LOSS"
REJECTIONS = "REJECTIONS"
ZERO = Decimal(0)


@dataclass(frozen=True)
class Trip:
    code: str  # DAILY_LOSS or REJECTIONS
    reason: str  # kept with the kill switch, shown to the trader


def day_pnl(positions: Iterable[Position]) -> tuple[Decimal, Decimal]:
    """(realized, unrealized) of the day's positions, as the brokers report them: realized
    includes positions closed today; unrealized is the broker's own figure for an open
    position, else its quantity x (last price - average price)."""
    realized = unrealized = ZERO
    for position in positions:
        realized += position.realized_pnl or ZERO
        if position.quantity == 0:
            continue
        if position.unrealized_pnl is not None:
            unrealized += position.unrealized_pnl
        elif position.last_price is not None:
            unrealized += (position.last_price - position.average_price) * position.quantity
    return realized, unrealized


def check(
    policy: EffectivePolicy,
    *,
    realized: Decimal,
    unrealized: Decimal,
    rejections_in_a_row: int = 0,
) -> Trip | None:
    """The trip the numbers call for under ``policy`` (pure), or None."""
    trips = policy.policy.emergency.auto_trips
    limit = policy.policy.risk.max_daily_loss
    loss = -(realized + unrealized)
    if trips.daily_loss_breached and limit is not None and loss >= limit:
        return Trip(
            DAILY_LOSS,
            f"Automatic: today's loss of {inr(loss)} (realized {inr(realized)}, unrealized "
            f"{inr(unrealized)}) reached the {inr(limit)} daily limit.",
        )
    threshold = trips.rejections_in_a_row
    if threshold is not None and rejections_in_a_row >= threshold:
        return Trip(
            REJECTIONS,
            f"Automatic: {rejections_in_a_row} orders in a row were rejected "
            f"(the limit is {threshold}).",
        )
    return None


def evaluate_trips(
    *,
    user,
    realized: Decimal = ZERO,
    unrealized: Decimal = ZERO,
    rejections_in_a_row: int = 0,
    now: datetime | None = None,
) -> Trip | None:
    """Arm ``user``'s kill switch if an automatic trip applies; the trip that armed it.

    - ``realized``/``unrealized``: the day's P&L across every broker (negative is a loss),
      e.g. ``day_pnl(positions)`` or the order path's ``Book.realized_pnl`` and
      ``Book.unrealized_pnl``; compared with ``global.risk.max_daily_loss``.
    - ``rejections_in_a_row``: the trader's latest orders rejected one after the other
      (the order path counts them); compared with ``auto_trips.rejections_in_a_row``.

    Returns None when nothing trips, the switch is already on, or this cause already armed
    it today. Safe to call concurrently: only one caller arms (a conditional update).
    """
    snapshot = effective(user)
    if snapshot.kill_switch.on:
        return None
    trip = check(
        snapshot, realized=realized, unrealized=unrealized, rejections_in_a_row=rejections_in_a_row
    )
    if trip is None:
        return None
    today = (now or timezone.now()).astimezone(IST)
    today = today.replace(hour=0, minute=0, second=0, microsecond=0)
    if KillSwitchEvent.objects.filter(
        policy__user=user, action=KillSwitchEvent.Action.ARM, trip=trip.code, created_at__gte=today
    ).exists():
        return None
    armed = services.arm_kill_switch(
        user=user,
        actor=None,
        reason=trip.reason,
        cancel_open_orders=snapshot.policy.emergency.cancel_open_orders_on_kill,
        trip=trip.code,
    )
    if not armed:
        return None
    notify.send(
        user=user,
        event=Event.LIMIT_BREACHED,
        title="Kill switch on: no new orders go out",
        body=f"{trip.reason} Release it on the emergency panel when you are ready.",
        link="/policy/emergency/",
        key=f"trip:{user.pk}:{trip.code}:{today:%Y-%m-%d}",
    )
    logger.warning("kill switch tripped for user %s: %s", user.pk, trip.code)
    return trip


def on_portfolio_synced(sender, *, user, positions, **kwargs) -> None:
    """portfolio.signals.portfolio_synced receiver: the day's P&L of the positions every
    answering broker reported, against the daily loss limit. A failure here is logged, never
    the sync's."""
    try:
        realized, unrealized = day_pnl(positions)
        evaluate_trips(user=user, realized=realized, unrealized=unrealized)
    except Exception:
        logger.exception("automatic trips after the portfolio sync of user %s failed", user.pk)
