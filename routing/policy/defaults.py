"""Defaults: a new connection's settings come from what its broker supports and documents."""

from __future__ import annotations

import copy
from decimal import Decimal
from functools import cache

from brokers.adapters import registry
from brokers.types import Capabilities
from routing.policy import calendar
from routing.policy.plans import PUBLISHED_PLANS
from routing.policy.schema import Api, Hours, Trading

PREFERRED_EXCHANGES = ("NSE", "BSE")


def per_second(limit) -> Decimal:
    """A documented cap as requests per second: the bare number, or the one-second window
    ("10/s and 200/min" → 10; a cap with no one-second window → its sustained rate)."""
    if not isinstance(limit, tuple):
        return _plain(Decimal(str(limit)))
    second = [w.count for w in limit if w.seconds == 1]
    if second:
        return _plain(Decimal(str(min(second))))
    return _plain(min(Decimal(str(w.count)) / Decimal(str(w.seconds)) for w in limit))


def _plain(value: Decimal) -> Decimal:
    """10.0 → 10, 3.333… → 3.33: as a trader would write it."""
    return Decimal(int(value)) if value == int(value) else value.quantize(Decimal("0.01"))


@cache
def documented_caps(broker: str) -> dict[str, Decimal]:
    """{category of call: requests per second} as the broker documents them."""
    return {
        category: per_second(limit)
        for category, limit in registry.capabilities(broker).rate_limits.items()
    }


def capabilities(broker: str) -> Capabilities:
    return registry.capabilities(broker)


def broker_settings(broker: str) -> dict:
    """A connection's settings before the trader changes anything (the document form)."""
    return copy.deepcopy(_broker_settings(broker))


@cache
def _broker_settings(broker: str) -> dict:
    caps = registry.capabilities(broker)
    exchanges = tuple(e for e in PREFERRED_EXCHANGES if e in caps.exchanges) or tuple(
        sorted(caps.exchanges)
    )
    opens, closes = calendar.session_bounds(exchanges)
    trading = Trading(
        order_types=tuple(sorted(caps.order_types)),
        exchanges=exchanges,
        products=tuple(p for p in Trading().products if p in caps.products),
        trading_hours=Hours(start=opens.strftime("%H:%M"), end=closes.strftime("%H:%M")),
    )
    api = Api(rate_ceilings=documented_caps(broker))
    return {
        "broker": broker,
        "trading": trading.model_dump(mode="json"),
        "api": api.model_dump(mode="json"),
    }


def published_plan(broker: str) -> dict:
    return PUBLISHED_PLANS[broker]
