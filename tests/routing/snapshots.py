"""Effective-policy snapshots built in memory for the pure order-path tests (risk, route).

Each broker starts from the defaults a new connection gets (routing.policy.defaults) and the
published plan, as ``effective()`` builds them from the database; ``brokers`` overrides a
broker's settings section by section, ``global_`` is the global policy document.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from types import MappingProxyType

from brokers.adapters.registry import capabilities
from brokers.types import AssetType, OrderType, Product, Side
from routing.intent import Candidate, InstrumentInfo, Intent, Listing
from routing.policy import calendar, defaults
from routing.policy.documents import merged
from routing.policy.effective import BrokerPolicy, EffectivePolicy, KillSwitch
from routing.policy.schema import BrokerSettings, GlobalPolicy, Plan
from routing.risk import IST

KEYS = ("zerodha", "upstox", "fyers", "angelone", "groww", "dhan", "iifl")

RELIANCE = InstrumentInfo(
    isin="INE002A01018",
    exchange="NSE",
    symbol="RELIANCE",
    lot_size=1,
    tick_size=Decimal("0.10"),
    lower_band=Decimal("1260.00"),
    upper_band=Decimal("1540.00"),
)
NIFTY_FUT = InstrumentInfo(
    isin="",
    exchange="NFO",
    symbol="NIFTY26JUNFUT",
    asset_type=AssetType.DERIVATIVE,
    instrument_type="FUT",
    lot_size=75,
    tick_size=Decimal("0.10"),
)


def limit_buy(instrument: InstrumentInfo = RELIANCE, quantity: int = 10, price="1400.00"):
    """A delivery (CNC) LIMIT buy."""
    return Intent(
        instrument=instrument,
        side=Side.BUY,
        quantity=quantity,
        order_type=OrderType.LIMIT,
        product=Product.CNC,
        price=Decimal(price),
    )


def ist(text: str) -> datetime:
    """An aware datetime from "2026-06-01 10:00" read as IST."""
    return datetime.fromisoformat(text).replace(tzinfo=IST)


def broker_of(key: str) -> str:
    return key.split("-")[0]


def snapshot(
    keys=("zerodha", "upstox", "dhan"),
    *,
    brokers: dict | None = None,
    global_: dict | None = None,
    kill_switch: bool = False,
    paused=(),
    allowed: dict | None = None,
    restricted: dict | None = None,
) -> EffectivePolicy:
    brokers = brokers or {}
    global_ = merged({"emergency": {"paused": list(paused)}}, global_ or {})
    policies = {}
    for n, key in enumerate(keys):
        broker = broker_of(key)
        settings = BrokerSettings.model_validate(
            merged(defaults.broker_settings(broker), brokers.get(key, {}))
        )
        policies[key] = BrokerPolicy(
            key=key,
            broker=broker,
            connection_id=str(n + 1),
            account_id=f"AC{n + 1}",
            paused=key in paused,
            settings=settings,
            plan=Plan.model_validate(defaults.published_plan(broker)),
            allowed=frozenset((allowed or {}).get(key, ())),
            restricted=frozenset((restricted or {}).get(key, ())),
        )
    return EffectivePolicy(
        user_id=1,
        version=1,
        stamp=1,
        kill_switch=KillSwitch(on=kill_switch, reason="panic" if kill_switch else ""),
        policy=GlobalPolicy.model_validate(global_),
        brokers=MappingProxyType(policies),
        holidays=calendar.all_holidays(),
    )


def candidate(key: str, **changes) -> Candidate:
    """A connected broker that supports what it documents and lists the instrument."""
    broker = broker_of(key)
    caps = capabilities(broker)
    values = {
        "key": key,
        "connection_id": str(KEYS.index(broker) + 1),
        "broker": broker,
        "order_types": frozenset(caps.order_types),
        "products": frozenset(caps.products),
        "exchanges": frozenset(caps.exchanges),
        "listing": Listing(exchange="NSE", symbol="RELIANCE", instrument_id=f"{broker}-1"),
        **changes,
    }
    return Candidate(**values)
