"""The values every broker is spoken to in: vocabulary and data, apart from the interface.

Money is Decimal, quantities are int, order ids are str.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple


# --- Vocabulary -----------------------------------------------------------------------------
class Side(enum.StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class OrderType(enum.StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    SL = "SL"  # stop-loss limit
    SL_M = "SL-M"  # stop-loss market


class Product(enum.StrEnum):
    CNC = "CNC"  # delivery
    MIS = "MIS"  # intraday
    NRML = "NRML"  # F&O carry-forward
    MTF = "MTF"


class Validity(enum.StrEnum):
    DAY = "DAY"
    IOC = "IOC"


class OrderStatus(enum.StrEnum):
    PENDING = "PENDING"  # received, not yet at the exchange (validation, AMO...)
    OPEN = "OPEN"
    TRIGGER_PENDING = "TRIGGER_PENDING"
    COMPLETE = "COMPLETE"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"


class AssetType(enum.StrEnum):
    EQUITY = "EQUITY"
    ETF = "ETF"
    MUTUAL_FUND = "MUTUAL_FUND"
    DERIVATIVE = "DERIVATIVE"
    COMMODITY = "COMMODITY"
    CURRENCY = "CURRENCY"


class LoginKind(enum.StrEnum):
    REDIRECT_CHECKSUM = "redirect_checksum"  # Zerodha: request_token + sha256 checksum
    OAUTH2 = "oauth2"  # Upstox, Fyers: authorization code + state
    CONSENT = "consent"  # Dhan: generate consent → browser → consume consent
    CREDENTIALS = "credentials"  # Angel One (client code + PIN + TOTP), IIFL (key + secret)
    API_KEY = "api_key"  # Groww: key + secret checksum, no browser


# --- Data -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Window:
    """A documented cap of ``count`` requests per ``seconds`` (Fyers: 10/s and 200/min)."""

    count: float
    seconds: float = 1.0

    def __str__(self) -> str:
        per = {1.0: "s", 60.0: "min", 3600.0: "h"}.get(self.seconds, f"{self.seconds:g} s")
        return f"{self.count:g}/{per}"


RateLimit = float | tuple[Window, ...]  # a bare number is requests per second


def describe_limit(limit: RateLimit) -> str:
    """For people: "10/s", "10/s and 200/min"."""
    windows = limit if isinstance(limit, tuple) else (Window(float(limit)),)
    return " and ".join(str(w) for w in windows)


@dataclass(frozen=True)
class TagRule:
    """What a broker accepts as our order tag (its client order id), as data. A tag it would
    refuse or cut is refused before sending: a cut tag could never be found by find_order."""

    max_length: int
    min_length: int = 0
    pattern: str = ""  # a regular expression the whole tag must match; "" = any characters
    says: str = ""  # the rule in a person's words, when the pattern needs explaining

    def problem(self, tag: str) -> str:
        """Why ``tag`` is refused, or "" when it is fine (no tag is always fine)."""
        if not tag:
            return ""
        if not self.min_length <= len(tag) <= self.max_length:
            low = f"{self.min_length}-" if self.min_length else "at most "
            return f"must be {low}{self.max_length} characters long"
        if self.pattern and not re.fullmatch(self.pattern, tag):
            return self.says or f"must match {self.pattern}"
        return ""


@dataclass(frozen=True)
class Capabilities:
    login_kind: LoginKind
    supports_refresh: bool
    token_expiry_rule: str  # for people: "06:00 IST next day"
    order_types: frozenset[OrderType]
    products: frozenset[Product]
    exchanges: frozenset[str]
    rate_limits: Mapping[str, RateLimit]  # documented caps per category of call
    has_logout: bool = True
    login_fields: tuple[str, ...] = ()  # typed at each login (Angel One: clientcode, pin, totp)
    tag_rule: TagRule = TagRule(max_length=20)
    # The broker's docs say its rate-limit answer (429, or Angel One's plain-text 403) refuses
    # the request: an order write answered so was not taken and may be sent again after the
    # wait. False where that answer is undocumented: it stays an unknown outcome.
    throttle_refuses_orders: bool = False


@dataclass(frozen=True)
class AppCredentials:
    api_key: str
    api_secret: str
    redirect_uri: str = ""
    client_id: str = ""  # Angel One client code, Dhan client id
    pin: str = ""  # Fyers refresh needs it
    extra: Mapping[str, str] = field(default_factory=dict)  # IIFL market-data key and secret


@dataclass(frozen=True)
class Tokens:
    access_token: str
    expires_at: datetime
    refresh_token: str = ""
    account_id: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)  # e.g. IIFL market-data token


@dataclass(frozen=True)
class Profile:
    account_id: str
    name: str
    email: str = ""
    exchanges: tuple[str, ...] = ()
    products: tuple[str, ...] = ()


@dataclass(frozen=True)
class Funds:
    available: Decimal  # what can be traded with now
    used: Decimal = Decimal(0)
    total: Decimal | None = None
    collateral: Decimal = Decimal(0)


@dataclass(frozen=True)
class Holding:
    exchange: str
    symbol: str  # the exchange's trading symbol, no broker decoration
    quantity: int
    average_price: Decimal
    isin: str = ""
    last_price: Decimal | None = None
    close_price: Decimal | None = None  # previous session's close
    broker_symbol: str = ""  # as the broker writes it, for round trips
    instrument_id: str = ""  # the broker's token / security id / instrument key
    asset_type: AssetType = AssetType.EQUITY


@dataclass(frozen=True)
class Position:
    exchange: str
    symbol: str
    product: str
    quantity: int  # net; negative is short
    average_price: Decimal
    last_price: Decimal | None = None
    close_price: Decimal | None = None
    realized_pnl: Decimal = Decimal(0)
    unrealized_pnl: Decimal | None = None
    buy_quantity: int = 0
    sell_quantity: int = 0
    isin: str = ""
    broker_symbol: str = ""
    instrument_id: str = ""
    lot_size: int = 1
    asset_type: AssetType = AssetType.EQUITY
    # Net quantity carried in from earlier sessions (signed); None when the broker's answer
    # does not say. The rest of ``quantity`` was traded today.
    overnight_quantity: int | None = None


@dataclass(frozen=True)
class OrderRequest:
    exchange: str
    symbol: str
    side: Side
    quantity: int
    order_type: OrderType
    product: Product
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    validity: Validity = Validity.DAY
    tag: str = ""  # our client order id: how an unknown outcome is reconciled
    instrument_id: str = ""  # the broker's identifier when the broker needs one
    market_protection: int = -1  # SEBI 2026: market orders need protection; -1 = automatic


@dataclass(frozen=True)
class OrderModification:
    order_id: str
    quantity: int | None = None
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    order_type: OrderType | None = None
    validity: Validity | None = None


@dataclass(frozen=True)
class OrderAck:
    order_id: str


@dataclass(frozen=True)
class Order:
    order_id: str
    status: OrderStatus
    exchange: str
    symbol: str
    side: Side
    quantity: int
    order_type: OrderType
    product: str
    filled_quantity: int = 0
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    average_price: Decimal | None = None
    tag: str = ""
    status_message: str = ""
    broker_status: str = ""  # the broker's own word, for support
    placed_at: datetime | None = None


@dataclass(frozen=True)
class Trade:
    trade_id: str
    order_id: str
    exchange: str
    symbol: str
    side: Side
    quantity: int
    price: Decimal
    traded_at: datetime | None = None


class InstrumentRef(NamedTuple):
    """An instrument as a line names it (a tuple: hashed and compared in C, and equal to the
    plain ``(exchange, symbol, instrument_id)`` the aggregator looks quotes up by)."""

    exchange: str
    symbol: str
    instrument_id: str = ""


@dataclass(frozen=True)
class Quote:
    exchange: str
    symbol: str
    last_price: Decimal
    previous_close: Decimal | None = None
    # Set when this quote came from another broker for the same instrument because this one's
    # failed: that broker's name, which the portfolio line then shows.
    source: str = ""


@dataclass(frozen=True)
class Instrument:
    instrument_id: str  # the broker's own identifier
    exchange: str
    symbol: str
    segment: str
    isin: str = ""
    name: str = ""
    lot_size: int = 1
    tick_size: Decimal = Decimal("0.05")
    instrument_type: str = ""
    expiry: date | None = None
    strike: Decimal | None = None
