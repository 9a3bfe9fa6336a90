"""The one adapter contract: every broker is spoken to through these methods and value types.

Money is Decimal, quantities are int, order ids are str. Adapters raise only the errors below.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar, NamedTuple


# --- Errors: every vendor error lands in one of these -------------------------------------
class BrokerError(Exception):
    retryable = False  # the same call may succeed later
    permanent = False  # nothing changes until a person acts (log in again, fix the order)

    def __init__(self, message: str, *, broker: str = "", endpoint: str = "", code: str = ""):
        self.broker, self.endpoint, self.code, self.message = broker, endpoint, code, message
        where = " ".join(p for p in (broker, endpoint) if p)
        super().__init__(f"{where}: {message}" if where else message)


class AuthError(BrokerError):  # bad credentials, wrong checksum, consent denied
    permanent = True


class TokenExpired(AuthError):  # the session is gone: log in again
    pass


class RateLimited(BrokerError):
    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class InvalidRequest(BrokerError):  # our input was refused
    permanent = True


class OrderRejected(InvalidRequest):  # the order was refused (margin, price band, RMS...)
    pass


class NotSupported(InvalidRequest):  # the broker has no such feature
    pass


class BrokerUnavailable(BrokerError):  # 5xx, connect errors, read timeouts on reads
    retryable = True


class BadResponse(BrokerUnavailable):  # garbage, HTML, truncated or missing fields
    pass


class Maintenance(BrokerUnavailable):
    def __init__(self, message: str, *, until: datetime | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.until = until


class OrderStateUnknown(BrokerError):
    """An order write whose outcome we cannot know: reconcile by tag, never resend blindly."""

    def __init__(self, message: str, *, tag: str = "", **kwargs):
        super().__init__(message, **kwargs)
        self.tag = tag


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


# --- The contract -----------------------------------------------------------------------------
class BrokerAdapter:
    """One broker. Built by registry.adapter_for(); every call goes through ``self.http``."""

    key: ClassVar[str]
    capabilities: ClassVar[Capabilities]

    def __init__(self, *, http, app: AppCredentials, tokens: Tokens | None = None):
        self.http, self.app, self.tokens = http, app, tokens

    def url(self, host: str, path: str) -> str:
        """A URL on one of this broker's hosts (settings.BROKER_HOSTS, env-overridable)."""
        from django.conf import settings

        return settings.BROKER_HOSTS[self.key][host] + path

    # Login
    def authorization_url(self, *, state: str, redirect_uri: str, code_challenge: str = "") -> str:
        raise NotSupported("no browser login", broker=self.key)

    def complete_login(
        self, params: Mapping[str, str], *, redirect_uri: str = "", code_verifier: str = ""
    ) -> Tokens:
        raise NotImplementedError

    def refresh(self) -> Tokens:
        raise NotSupported("tokens cannot be refreshed; log in again", broker=self.key)

    def logout(self) -> None:
        raise NotSupported("no logout endpoint", broker=self.key)

    # Reads
    def profile(self) -> Profile:
        raise NotImplementedError

    def funds(self) -> Funds:
        raise NotImplementedError

    def holdings(self) -> list[Holding]:
        raise NotImplementedError

    def positions(self) -> list[Position]:
        raise NotImplementedError

    def orders(self) -> list[Order]:
        raise NotImplementedError

    def trades(self) -> list[Trade]:
        raise NotImplementedError

    def quotes(self, instruments: list[InstrumentRef]) -> dict[InstrumentRef, Quote]:
        raise NotImplementedError

    def instruments(self) -> Iterable[Instrument]:
        raise NotImplementedError

    # Writes
    def place_order(self, order: OrderRequest) -> OrderAck:
        raise NotImplementedError

    def modify_order(self, change: OrderModification) -> OrderAck:
        raise NotImplementedError

    def cancel_order(self, order_id: str) -> OrderAck:
        raise NotImplementedError

    # Derived, shared by every broker
    def probe(self) -> Profile:
        """The cheapest authenticated call, for health checks."""
        return self.profile()

    def find_order(self, tag: str) -> Order | None:
        """Reconcile an OrderStateUnknown: the order carrying our tag, if the broker has it."""
        return next((o for o in self.orders() if tag and o.tag == tag), None)
