"""The shape of a trader's policy profile: one document, the same for pages, API, import and
export (``schema_version`` 2), published as JSON Schema at /api/v1/policy/schema.json.

Validated models are immutable all the way down (frozen models, tuples, read-only mappings),
so the effective snapshot the order path reads can hand them out as they are. Unknown keys are
refused; every number has a sane range; names and keys refuse markup. Rules that look across
objects (brokers named, limits against limits, capabilities, sessions, instruments) live in
``routing.policy.validation``, which turns every error into a field path and a sentence.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
)

from brokers.models import Broker
from brokers.types import AssetType, OrderType, Product

SCHEMA_VERSION = 2

# Limits that no trader needs more than: anything beyond is a typo or an attack.
MONEY_MAX = Decimal("10000000000")  # ₹1,000 crore
QUANTITY_MAX = 10_000_000
MAX_BROKERS = 50
MAX_RULES = 200
MAX_LIST = 500


def _no_bool(value: Any) -> Any:
    # JSON true is not the number 1 here: a checkbox in a number field is a mistake.
    if isinstance(value, bool):
        raise ValueError("not_a_number")
    return value


def _frozen_map(key, value):
    return Annotated[
        Mapping[key, value],
        AfterValidator(lambda m: MappingProxyType(dict(m))),
        PlainSerializer(dict, return_type=dict[key, value]),
    ]


Count = Annotated[int, Field(ge=0, le=2_000_000_000), BeforeValidator(_no_bool)]
Money = Annotated[Decimal, Field(ge=0, le=MONEY_MAX, decimal_places=2), BeforeValidator(_no_bool)]
Percent = Annotated[Decimal, Field(ge=0, le=100, decimal_places=2), BeforeValidator(_no_bool)]
Quantity = Annotated[int, Field(ge=1, le=QUANTITY_MAX), BeforeValidator(_no_bool)]
Clock = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
BrokerKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,39}$")]
# Names a trader types (rules, templates, custom keys): letters, digits, spaces and - _ . ( ) /
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=60, pattern=r"^[\w .()/-]+$"),
]
SettingKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
# ISIN (INE002A01018) or EXCHANGE:SYMBOL (NSE:RELIANCE)
InstrumentRef = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_upper=True,
        pattern=r"^([A-Z]{2}[A-Z0-9]{9}\d|[A-Z]{3,5}:[A-Z0-9&_.-]{1,40})$",
    ),
]

Exchange = Literal["NSE", "BSE", "NFO", "BFO", "CDS", "BCD", "MCX", "NCDEX"]


class Strategy(enum.StrEnum):
    LOWEST_COST = "LOWEST_COST"
    FASTEST_EXECUTION = "FASTEST_EXECUTION"
    BEST_PRICE = "BEST_PRICE"
    CUSTOM = "CUSTOM"


class Condition(enum.StrEnum):
    TIMEOUT = "TIMEOUT"  # threshold: milliseconds without an answer
    ERROR_RATE = "ERROR_RATE"  # threshold: % of failed calls over the health window
    MANUAL = "MANUAL"  # the trader says so; no threshold


class Action(enum.StrEnum):
    RETRY = "RETRY"
    SWITCH = "SWITCH"
    QUEUE = "QUEUE"


class Event(enum.StrEnum):
    CONNECTION_DOWN = "connection_down"
    CONNECTION_UP = "connection_up"
    TOKEN_EXPIRING = "token_expiring"
    FAILOVER = "failover"
    ORDER_REJECTED = "order_rejected"
    LIMIT_BREACHED = "limit_breached"


class Channel(enum.StrEnum):
    IN_APP = "in_app"
    EMAIL = "email"


class ChargeKind(enum.StrEnum):
    ZERO = "ZERO"
    FLAT = "FLAT"
    PERCENT_WITH_CAP = "PERCENT_WITH_CAP"


class ValueType(enum.StrEnum):
    STRING = "string"
    INTEGER = "integer"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"


class Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_default=True, use_enum_values=False
    )


# --- Per broker -------------------------------------------------------------------------------
class Hours(Strict):
    start: Clock = "09:15"
    end: Clock = "15:30"


class Trading(Strict):
    order_types: tuple[OrderType, ...] = tuple(OrderType)
    exchanges: tuple[Exchange, ...] = ("NSE", "BSE")
    products: tuple[Product, ...] = (Product.CNC, Product.MIS)
    default_quantity: Quantity = 1
    price_tolerance_pct: Percent = Decimal("1.00")
    max_order_value: Money | None = None
    trading_hours: Hours = Field(default_factory=Hours)
    square_off_time: Clock = "15:15"


class BrokerRisk(Strict):
    max_daily_loss: Money | None = None
    max_position_quantity: Quantity | None = None
    max_position_value: Money | None = None
    stop_loss_pct: Percent | None = None
    take_profit_pct: Percent | None = None
    allowed_instruments: tuple[InstrumentRef, ...] = Field(default=(), max_length=MAX_LIST)
    restricted_instruments: tuple[InstrumentRef, ...] = Field(default=(), max_length=MAX_LIST)


class QuietHours(Strict):
    start: Clock = "22:00"
    end: Clock = "07:00"


ALL_CHANNELS = (Channel.IN_APP, Channel.EMAIL)


class NotificationSettings(Strict):
    events: _frozen_map(Event, tuple[Channel, ...]) = Field(
        default_factory=lambda: {event: ALL_CHANNELS for event in Event}
    )
    quiet_hours: QuietHours | None = None


class Api(Strict):
    request_timeout_seconds: Annotated[
        Decimal, Field(ge=1, le=60, decimal_places=1), BeforeValidator(_no_bool)
    ] = Decimal("10")
    # Reads only: an order is never resent blindly, it is reconciled from the order book.
    retry_count: Annotated[int, Field(ge=0, le=5), BeforeValidator(_no_bool)] = 0
    health_check_seconds: Annotated[int, Field(ge=10, le=3600), BeforeValidator(_no_bool)] = 30
    # Requests per second per category of call; a category left out keeps the documented cap.
    rate_ceilings: _frozen_map(
        SettingKey,
        Annotated[Decimal, Field(gt=0, le=1000, decimal_places=2), BeforeValidator(_no_bool)],
    ) = Field(default_factory=dict)


class CustomSetting(Strict):
    key: SettingKey
    type: ValueType = ValueType.STRING
    value: Annotated[str, StringConstraints(max_length=500)] | bool | int | Decimal


class BrokerSettings(Strict):
    broker: Broker
    trading: Trading = Field(default_factory=Trading)
    risk: BrokerRisk = Field(default_factory=BrokerRisk)
    notifications: NotificationSettings = Field(default_factory=NotificationSettings)
    api: Api = Field(default_factory=Api)
    custom: tuple[CustomSetting, ...] = Field(default=(), max_length=50)


# --- Global -------------------------------------------------------------------------------------
class Match(Strict):
    asset_types: tuple[AssetType, ...] = ()
    exchanges: tuple[Exchange, ...] = ()
    products: tuple[Product, ...] = ()
    min_order_value: Money | None = None
    max_order_value: Money | None = None
    from_time: Clock | None = None
    to_time: Clock | None = None


class Rule(Strict):
    """Orders matching ``match`` (every given criterion) go to ``broker`` or by ``strategy``."""

    name: Name
    match: Match = Field(default_factory=Match)
    broker: BrokerKey | None = None
    strategy: Strategy | None = None


class LoadBalancing(Strict):
    enabled: bool = False
    weights: _frozen_map(
        BrokerKey, Annotated[int, Field(ge=0, le=100), BeforeValidator(_no_bool)]
    ) = Field(default_factory=dict)


class Routing(Strict):
    strategy: Strategy = Strategy.LOWEST_COST
    # The first is the primary; the others are the fallbacks, in order.
    priority: tuple[BrokerKey, ...] = Field(default=(), max_length=MAX_BROKERS)
    rules: tuple[Rule, ...] = Field(default=(), max_length=MAX_RULES)
    load_balancing: LoadBalancing = Field(default_factory=LoadBalancing)


class FailoverRule(Strict):
    condition: Condition
    threshold: Annotated[Decimal, Field(gt=0, le=600000), BeforeValidator(_no_bool)] | None = None
    action: Action
    target: BrokerKey | None = None


class Recovery(Strict):
    return_to_primary: bool = True
    healthy_minutes: Annotated[int, Field(ge=1, le=1440), BeforeValidator(_no_bool)] = 15


class Failover(Strict):
    rules: tuple[FailoverRule, ...] = Field(default=(), max_length=20)
    recovery: Recovery = Field(default_factory=Recovery)


class GlobalRisk(Strict):
    max_daily_loss: Money | None = None
    max_gross_exposure: Money | None = None
    max_order_value: Money | None = None
    max_open_orders: Annotated[int, Field(ge=1, le=10000), BeforeValidator(_no_bool)] | None = None
    max_concentration_pct: Percent | None = None


class AllocationRule(Strict):
    asset_type: AssetType
    preferred_broker: BrokerKey | None = None
    max_allocation_pct: Percent = Decimal("100")
    rebalance_threshold_pct: Percent = Decimal("5")


class AutoTrips(Strict):
    # Switch the kill switch on by itself when...
    daily_loss_breached: bool = True
    rejections_in_a_row: Annotated[int, Field(ge=1, le=100), BeforeValidator(_no_bool)] | None = (
        None
    )


class Emergency(Strict):
    cancel_open_orders_on_kill: bool = False
    paused: tuple[BrokerKey, ...] = Field(default=(), max_length=MAX_BROKERS)
    auto_trips: AutoTrips = Field(default_factory=AutoTrips)


class Charge(Strict):
    kind: ChargeKind
    flat: Money | None = None
    percent: Annotated[Decimal, Field(ge=0, le=5, decimal_places=4), BeforeValidator(_no_bool)] | (
        None
    ) = None
    cap: Money | None = None
    minimum: Money | None = None


class Plan(Strict):
    name: Name
    equity_delivery: Charge
    equity_intraday: Charge
    futures: Charge
    options: Charge


class Cost(Strict):
    # Missing brokers use their published plan (routing.policy.plans).
    plans: _frozen_map(BrokerKey, Plan) = Field(default_factory=dict)


class Backup(Strict):
    enabled: bool = True
    keep: Annotated[int, Field(ge=1, le=90), BeforeValidator(_no_bool)] = 7


class GlobalPolicy(Strict):
    routing: Routing = Field(default_factory=Routing)
    failover: Failover = Field(default_factory=Failover)
    risk: GlobalRisk = Field(default_factory=GlobalRisk)
    allocation: tuple[AllocationRule, ...] = Field(default=(), max_length=50)
    default_brokers: _frozen_map(AssetType, BrokerKey) = Field(default_factory=dict)
    emergency: Emergency = Field(default_factory=Emergency)
    cost: Cost = Field(default_factory=Cost)
    backup: Backup = Field(default_factory=Backup)


class Profile(Strict):
    """A trader's whole profile. Brokers are keyed by their policy key (``zerodha``, or
    ``zerodha-2`` for a second account of the same broker)."""

    model_config = ConfigDict(title="Multi-broker policy profile", populate_by_name=True)

    schema_version: Literal[2] = SCHEMA_VERSION
    global_: GlobalPolicy = Field(default_factory=GlobalPolicy, alias="global")
    brokers: _frozen_map(BrokerKey, BrokerSettings) = Field(
        default_factory=dict, max_length=MAX_BROKERS
    )

    def document(self) -> dict:
        """The JSON form (Decimals as strings), as stored, exported and shown."""
        return self.model_dump(mode="json", by_alias=True)


def json_schema() -> dict:
    schema = Profile.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "/api/v1/policy/schema.json"
    return schema
