"""The values the order path decides on: what the trader asked for, what each candidate broker
offers, what the trader already holds, and the decisions made about them.

Plain frozen dataclasses, no ORM: ``risk``, ``route`` and ``charges`` are pure functions of
these (and of the effective policy snapshot), so they are table-tested without a database.
``routing.orders`` builds them from stored rows, the health metrics and the instrument masters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from brokers.types import AssetType, OrderType, Product, Side, Validity


class LastPrice(Decimal):
    """The instrument's last price as the order path found it, remembering where from:
    ``source`` the policy key whose quote it is ("" for the last synced price, when no broker
    quoted), ``failed`` the keys asked first whose quotes failed. Arithmetic on it gives plain
    Decimals; the routing decision says where it came from when it is not the first choice."""

    source: str
    failed: tuple[str, ...]

    def __new__(cls, value, *, source: str = "", failed: tuple[str, ...] = ()):
        price = super().__new__(cls, value)
        price.source, price.failed = source, tuple(failed)
        return price

    def __reduce__(self):  # pickled (the cache) with where it came from
        return (_last_price, (str(self), self.source, self.failed))

    @property
    def note(self) -> str:
        """For the decision: "" when the first broker asked quoted it."""
        if not self.source:
            return "last price from the last portfolio sync: no broker could quote it now"
        if self.failed:
            could_not = ", ".join(self.failed)
            return f"last price from {self.source}'s quote ({could_not} could not quote it)"
        return ""


def _last_price(value: str, source: str, failed: tuple[str, ...]) -> LastPrice:
    return LastPrice(value, source=source, failed=failed)


@dataclass(frozen=True)
class InstrumentInfo:
    """One instrument as the masters describe it (ISIN the join key where it has one)."""

    isin: str
    exchange: str  # NSE, BSE, NFO, BFO, MCX, CDS, BCD
    symbol: str  # the exchange's trading symbol
    name: str = ""
    asset_type: AssetType = AssetType.EQUITY
    segment: str = ""  # EQ, FO, CD, COM as the masters say
    instrument_type: str = ""  # EQ, FUT, CE, PE as the masters say
    lot_size: int = 1
    tick_size: Decimal = Decimal("0.05")
    expiry: date | None = None
    # The exchange's price band for the day (circuit limits), where known.
    lower_band: Decimal | None = None
    upper_band: Decimal | None = None

    @property
    def key(self) -> str:
        """ISIN, or EXCHANGE:SYMBOL for a listing without one (as the policy names instruments)."""
        return self.isin or f"{self.exchange}:{self.symbol}"

    @property
    def refs(self) -> frozenset[str]:
        """Every name the policy may use for it: its ISIN and its EXCHANGE:SYMBOL."""
        listed = f"{self.exchange}:{self.symbol}"
        return frozenset((self.isin, listed)) if self.isin else frozenset((listed,))

    @property
    def is_option(self) -> bool:
        kind = self.instrument_type.upper()
        if kind:
            return kind in ("CE", "PE", "OPT", "OPTIDX", "OPTSTK", "OPTCUR", "OPTFUT")
        return self.asset_type is not AssetType.EQUITY and self.symbol.upper().endswith(
            ("CE", "PE")
        )

    @property
    def is_future(self) -> bool:
        kind = self.instrument_type.upper()
        if kind:
            return kind.startswith("FUT")
        return self.asset_type is not AssetType.EQUITY and self.symbol.upper().endswith("FUT")


@dataclass(frozen=True)
class Intent:
    """What the trader asked for, before any broker is chosen."""

    instrument: InstrumentInfo
    side: Side
    quantity: int
    order_type: OrderType
    product: Product
    validity: Validity = Validity.DAY
    price: Decimal | None = None  # LIMIT and SL
    trigger_price: Decimal | None = None  # SL and SL-M
    # SEBI 2026: MARKET and SL-M orders carry a protection; -1 lets the broker choose, 1..100
    # is a percentage, 0 (none) is refused (as OrderRequest.market_protection).
    market_protection: int = -1

    @property
    def signed_quantity(self) -> int:
        """The change the order makes to the position: + for a buy, - for a sell."""
        return self.quantity if self.side is Side.BUY else -self.quantity

    def reference_price(self, last_price: Decimal | None) -> Decimal | None:
        """The price an order's value is counted at: its limit, else its trigger, else the
        last traded price."""
        return self.price or self.trigger_price or last_price

    def value(self, last_price: Decimal | None) -> Decimal | None:
        price = self.reference_price(last_price)
        return None if price is None else price * self.quantity


@dataclass(frozen=True)
class Listing:
    """The same instrument as one broker names it (its own symbol and token)."""

    exchange: str
    symbol: str
    instrument_id: str = ""


@dataclass(frozen=True)
class Candidate:
    """One connected broker account that might take the order, with what is known of it now."""

    key: str  # the policy's key for the connection ("zerodha", "zerodha-2")
    connection_id: str
    broker: str
    order_types: frozenset[OrderType]
    products: frozenset[Product]
    exchanges: frozenset[str]
    listing: Listing | None  # None: this broker's master does not know the instrument
    breaker_open: bool = False
    status_ok: bool = True  # the connection is usable (CONNECTED, not expired or in error)
    p95_ms: float | None = None  # measured over the recent window; None = no calls yet
    success_rate: float | None = None
    quote: Decimal | None = None  # this broker's last price for the instrument, if asked
    demat_quantity: int = 0  # shares of this instrument in this account's demat (holdings)
    position_quantity: int = 0  # this account's net position in it today


@dataclass(frozen=True)
class Book:
    """What the trader holds and has done today, across every broker, for risk checks."""

    # Net quantity and value per instrument key (ISIN or EXCHANGE:SYMBOL), all brokers.
    quantities: dict[str, int] = field(default_factory=dict)
    values: dict[str, Decimal] = field(default_factory=dict)
    # Per connection key: net quantity of this instrument, and the day's P&L.
    broker_quantities: dict[str, int] = field(default_factory=dict)
    broker_day_pnl: dict[str, Decimal] = field(default_factory=dict)
    realized_pnl: Decimal = Decimal(0)  # today's, all brokers
    unrealized_pnl: Decimal = Decimal(0)  # today's open positions' MTM, all brokers
    gross_exposure: Decimal = Decimal(0)  # sum of |value| of open positions and holdings
    portfolio_value: Decimal = Decimal(0)  # holdings + positions, for concentration
    cash: Decimal = Decimal(0)  # funds available across brokers; with the above, the capital
    # Per connection key: the market value it holds of each asset type (holdings and
    # positions), for the allocation rules.
    broker_asset_values: dict[str, dict[AssetType, Decimal]] = field(default_factory=dict)
    open_orders: int = 0  # orders not yet filled, cancelled, rejected or expired
    open_orders_by_broker: dict[str, int] = field(default_factory=dict)

    @property
    def day_pnl(self) -> Decimal:
        return self.realized_pnl + self.unrealized_pnl


@dataclass(frozen=True)
class Breach:
    """One risk rule an order breaks: a stable code for programs, a sentence for people."""

    code: str  # e.g. KILL_SWITCH, MAX_ORDER_VALUE, LOT_SIZE
    message: str
    scope: str = "global"  # "global" or a connection key


@dataclass(frozen=True)
class Charges:
    """Estimated statutory charges and brokerage of one order at one broker, in rupees."""

    brokerage: Decimal
    stt: Decimal
    exchange_txn: Decimal
    sebi_fee: Decimal
    stamp_duty: Decimal
    gst: Decimal
    dp_charge: Decimal = Decimal(0)

    @property
    def total(self) -> Decimal:
        return (
            self.brokerage
            + self.stt
            + self.exchange_txn
            + self.sebi_fee
            + self.stamp_duty
            + self.gst
            + self.dp_charge
        )


@dataclass(frozen=True)
class Ranked:
    """A candidate that could take the order, with what the decision weighed."""

    candidate: Candidate
    charges: Charges | None
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class Excluded:
    candidate: Candidate
    reason: str  # a sentence: "no demat holding of RELIANCE for a delivery sell"


@dataclass(frozen=True)
class Decision:
    """Where the order goes and why; stored with the order and shown on its page."""

    strategy: str
    chosen: Ranked | None  # None: no broker can take it now
    ranked: tuple[Ranked, ...] = ()  # best first, the chosen one included
    excluded: tuple[Excluded, ...] = ()
    explanation: str = ""

    @property
    def fallbacks(self) -> tuple[Ranked, ...]:
        """The others that could take it, in order: what failover walks."""
        return tuple(r for r in self.ranked if r is not self.chosen)
