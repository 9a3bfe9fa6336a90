"""What every simulated broker shares: tokens, one-time codes, orders and fault injection.

State lives in Django's cache, so it is shared by every process when REDIS_URL is set and
by the live server thread in tests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import secrets
import struct
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import asdict, dataclass, fields
from decimal import Decimal

from django.core.cache import cache
from django.http import HttpResponse

from brokers.sandbox import universe

TOKEN_TTL = 24 * 3600
CODE_TTL = 300
STATE_TTL = 7 * 24 * 3600


# --- Tokens and one-time codes -------------------------------------------------------------
def issue_token(
    broker: str,
    account_id: str,
    *,
    kind: str = "access",
    ttl: int = TOKEN_TTL,
    value: str | None = None,
) -> str:
    token = value or secrets.token_urlsafe(24)
    now = time.time()
    entry = {"account": account_id, "at": now, "expires": now + ttl}
    # The expiry is checked against the clock too: Redis expires keys on real time only.
    cache.set(_token_key(broker, kind, token), entry, ttl)
    return token


def _token_key(broker: str, kind: str, token: str) -> str:
    # Hashed: real tokens (JWTs) are longer than a portable cache key, and may hold spaces.
    return f"sbx:{broker}:{kind}:{hashlib.sha256(token.encode()).hexdigest()}"


def account_for_token(broker: str, token: str, *, kind: str = "access") -> str | None:
    if not token:
        return None
    entry = cache.get(_token_key(broker, kind, token))
    if not entry or time.time() >= entry.get("expires", float("inf")):
        return None
    expired_at = cache.get(f"sbx:{broker}:expired:{entry['account']}")
    if expired_at and entry["at"] <= expired_at:
        return None
    return entry["account"]


def revoke_token(broker: str, token: str, *, kind: str = "access") -> None:
    cache.delete(_token_key(broker, kind, token))


def expire_tokens_now(broker: str, account_id: str) -> None:
    """Every token issued to the account so far stops working ("token expired now")."""
    cache.set(f"sbx:{broker}:expired:{account_id}", time.time(), STATE_TTL)


def issue_code(broker: str, data: dict, *, ttl: int = CODE_TTL) -> str:
    code = secrets.token_urlsafe(18)
    cache.set(f"sbx:{broker}:code:{code}", data, ttl)
    return code


def take_code(broker: str, code: str) -> dict | None:
    """A one-time code's data, consumed: a second use finds nothing."""
    key = f"sbx:{broker}:code:{code}"
    data = cache.get(key)
    if data is not None:
        cache.delete(key)
    return data


# --- Orders --------------------------------------------------------------------------------
@dataclass
class SandboxOrder:
    order_id: str
    account: str
    symbol: str
    exchange: str
    side: str  # BUY / SELL
    quantity: int
    order_type: str  # MARKET / LIMIT / SL / SL-M
    product: str
    price: str = "0"
    trigger_price: str = "0"
    validity: str = "DAY"
    tag: str = ""
    status: str = "OPEN"  # OPEN, COMPLETE, CANCELLED, REJECTED, TRIGGER PENDING
    status_message: str = ""
    filled_quantity: int = 0
    average_price: str = "0"
    placed_at: float = 0.0
    updated_at: float = 0.0

    def advance(self, now: float | None = None) -> SandboxOrder:
        """Orders move like a quiet market: a market order fills a moment after it is placed;
        a limit order fills when its price crosses the last price; stop orders wait."""
        now = now or time.time()
        if self.status != "OPEN" or now - self.placed_at < 0.5:
            return self
        security = universe.SECURITIES.get(self.symbol)
        last = security.last_price if security else Decimal(self.price or 0)
        crosses = self.order_type == "MARKET" or (
            self.order_type == "LIMIT"
            and (Decimal(self.price) >= last if self.side == "BUY" else Decimal(self.price) <= last)
        )
        if crosses:
            self.status, self.filled_quantity = "COMPLETE", self.quantity
            self.average_price = str(last if self.order_type == "MARKET" else Decimal(self.price))
            self.updated_at = now
        return self


def new_order_id(prefix: str = "") -> str:
    return prefix + str(random.randint(10**14, 10**15 - 1))  # noqa: S311 - simulated ids


def _orders_key(broker: str, account_id: str) -> str:
    return f"sbx:{broker}:orders:{account_id}"


def orders(broker: str, account_id: str) -> list[SandboxOrder]:
    stored = cache.get(_orders_key(broker, account_id)) or []
    advanced = [SandboxOrder(**o).advance() for o in stored]
    if any(a.status != o["status"] for a, o in zip(advanced, stored, strict=True)):
        # Keep what the market did: a fill happens once, at one time.
        cache.set(_orders_key(broker, account_id), [asdict(a) for a in advanced], STATE_TTL)
    return advanced


def save_order(broker: str, order: SandboxOrder) -> SandboxOrder:
    current = {o.order_id: o for o in orders(broker, order.account)}
    order.updated_at = time.time()
    order.placed_at = order.placed_at or order.updated_at
    current[order.order_id] = order
    cache.set(_orders_key(broker, order.account), [asdict(o) for o in current.values()], STATE_TTL)
    return order


def find_order(broker: str, account_id: str, order_id: str) -> SandboxOrder | None:
    return next((o for o in orders(broker, account_id) if o.order_id == order_id), None)


def open_buys_value(
    broker: str, account_id: str, *, live=("OPEN",), market_at_last: bool = False
) -> Decimal:
    """What the account's open buy orders block: their price times quantity. A market order
    has no price; ``market_at_last`` values it at the last price instead of nothing."""
    blocked = Decimal(0)
    for order in orders(broker, account_id):
        if order.side == "BUY" and order.status in live:
            price = Decimal(order.price or 0)
            if not price and market_at_last and order.symbol in universe.SECURITIES:
                price = universe.SECURITIES[order.symbol].last_price
            blocked += price * order.quantity
    return blocked


# --- Today's positions ---------------------------------------------------------------------
@dataclass
class Leg:
    """One instrument and product's day: what was bought and sold, and for how much."""

    bought: int = 0
    paid: Decimal = Decimal(0)
    sold: int = 0
    got: Decimal = Decimal(0)

    @property
    def net(self) -> int:
        return self.bought - self.sold

    @property
    def buy_price(self) -> Decimal:
        return self.paid / self.bought if self.bought else Decimal(0)

    @property
    def sell_price(self) -> Decimal:
        return self.got / self.sold if self.sold else Decimal(0)

    @property
    def average(self) -> Decimal:
        """The open quantity's price: the buys' for a long, the sells' for a short."""
        net = self.net
        return self.buy_price if net > 0 else self.sell_price if net < 0 else Decimal(0)

    @property
    def realised(self) -> Decimal:
        return (self.sell_price - self.buy_price) * min(self.bought, self.sold)

    def unrealised(self, last_price: Decimal) -> Decimal:
        return (last_price - self.average) * self.net


def day_book(broker: str, account, *, product=lambda word: word) -> dict[tuple, Leg]:
    """(symbol, exchange, product) → Leg: the demo account's day (``product`` renames its Kite
    product words into the broker's) plus every fill the sandbox made today."""
    book: dict[tuple, Leg] = {}
    for p in account.positions:
        leg = book.setdefault((p.symbol, p.exchange, product(p.product)), Leg())
        leg.bought, leg.paid = leg.bought + p.buy_quantity, leg.paid + p.buy_price * p.buy_quantity
        leg.sold, leg.got = leg.sold + p.sell_quantity, leg.got + p.sell_price * p.sell_quantity
    for order in orders(broker, account.account_id):
        if order.filled_quantity:
            leg = book.setdefault((order.symbol, order.exchange, order.product), Leg())
            value = Decimal(order.average_price) * order.filled_quantity
            if order.side == "BUY":
                leg.bought, leg.paid = leg.bought + order.filled_quantity, leg.paid + value
            else:
                leg.sold, leg.got = leg.sold + order.filled_quantity, leg.got + value
    return book


# --- Faults --------------------------------------------------------------------------------
@dataclass
class Faults:
    latency_ms: int = 0  # no answer leaves sooner than this after the call arrived
    error_rate: int = 0  # percent of calls answered with the broker's 5xx error
    outage: bool = False  # every call answered "unavailable"
    rate_limited: bool = False  # every call answered with the broker's rate-limit error
    token_expired: bool = False  # tokens issued so far stop working (cleared on next login)
    lose_order_reply: bool = False  # orders are accepted, the reply never arrives (504)

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    @property
    def active(self) -> bool:
        return self != Faults()


def _faults_key(broker: str, account_id: str) -> str:
    return f"sbx:faults:{broker}:{account_id or '*'}"


def get_faults(broker: str, account_id: str = "*") -> Faults:
    """The faults in force for an account: its own, or else the broker-wide ones."""
    stored = cache.get(_faults_key(broker, account_id))
    if stored is None and account_id != "*":
        stored = cache.get(_faults_key(broker, "*"))
    return Faults(**stored) if stored else Faults()


def set_faults(broker: str, account_id: str = "*", **values) -> Faults:
    unknown = set(values) - set(Faults.names())
    if unknown:
        raise ValueError(f"unknown fault(s): {', '.join(sorted(unknown))}")
    faults = Faults(**{**asdict(get_faults(broker, account_id)), **values})
    if not 0 <= faults.error_rate <= 100:
        raise ValueError("error_rate is a percentage from 0 to 100")
    if not 0 <= faults.latency_ms <= 60_000:
        raise ValueError("latency_ms must be between 0 and 60000")
    if faults.token_expired:
        # An action, not a state: tokens issued so far die now; the next login works again.
        targets = (
            [a.account_id for a in universe.ACCOUNTS[broker]] if account_id == "*" else [account_id]
        )
        for target in targets:
            expire_tokens_now(broker, target)
        faults.token_expired = False
    cache.set(_faults_key(broker, account_id), asdict(faults), STATE_TTL)
    return faults


def clear_faults(broker: str, account_id: str = "*") -> None:
    cache.delete(_faults_key(broker, account_id))


class ErrorBodies:
    """Each broker module says how it answers each kind of trouble, in its own wire format."""

    def token_invalid(self) -> HttpResponse:
        raise NotImplementedError

    def rate_limited(self) -> HttpResponse:
        raise NotImplementedError

    def server_error(self) -> HttpResponse:
        raise NotImplementedError

    def unavailable(self) -> HttpResponse:
        """An outage as most brokers' fronting gateway answers it: HTML, not the API's JSON."""
        return HttpResponse(
            "<html><head><title>503 Service Temporarily Unavailable</title></head>"
            "<body><h1>503 Service Temporarily Unavailable</h1></body></html>",
            status=503,
            content_type="text/html",
        )


@dataclass(slots=True)
class _Hold:
    """When the current call came in, and when its answer may leave (set by apply_faults)."""

    arrived: float
    until: float | None = None


_hold: ContextVar[_Hold | None] = ContextVar("sandbox_hold", default=None)


def hold_answers(get_response):
    """Middleware, the outermost: an answer with injected latency leaves ``latency_ms`` after
    its call came in, not sooner. All the work of the call (Django's middleware and the
    broker's own) happens inside that time, as on a real broker's machines, so a slow sandbox
    process does not add to the latency a client sees."""

    def middleware(request):
        hold = _Hold(arrived=time.monotonic())
        token = _hold.set(hold)
        try:
            response = get_response(request)
        finally:
            _hold.reset(token)
        if hold.until is not None:
            time.sleep(max(0.0, hold.until - time.monotonic()))
        return response

    return middleware


def apply_faults(broker: str, account_id: str, errors: ErrorBodies) -> HttpResponse | None:
    """Delay the answer by the injected latency, and answer with the injected fault if one
    applies."""
    faults = get_faults(broker, account_id)
    if not faults.active:
        return None
    if faults.latency_ms:
        hold = _hold.get()
        if hold is None:  # called outside a request (no middleware to hold the answer)
            time.sleep(faults.latency_ms / 1000)
        elif hold.until is None:
            hold.until = hold.arrived + faults.latency_ms / 1000
    if faults.outage:
        return errors.unavailable()
    if faults.rate_limited:
        return errors.rate_limited()
    if faults.error_rate and random.randint(1, 100) <= faults.error_rate:  # noqa: S311
        return errors.server_error()
    return None


def gate(broker: str, account_id: str | None, errors: ErrorBodies) -> HttpResponse | None:
    """What stops a call before the broker's own checks: a token that opened no account gets
    the broker's invalid-token body; a live one may still meet an injected fault."""
    if account_id is None:
        return errors.token_invalid()
    return apply_faults(broker, account_id, errors)


def lost_reply() -> HttpResponse:
    """What a client sees when the gateway gave up after the order reached the OMS."""
    return HttpResponse(
        "<html><body><h1>504 Gateway Time-out</h1></body></html>",
        status=504,
        content_type="text/html",
    )


def order_reply_lost(broker: str, account_id: str) -> bool:
    return get_faults(broker, account_id).lose_order_reply


Handler = Callable[..., HttpResponse]


def totp(secret_b32: str, *, at: float | None = None, step: int = 30, digits: int = 6) -> str:
    """RFC 6238 TOTP, as an authenticator app shows it (the sandbox checks typed codes)."""
    key = base64.b32decode(secret_b32.upper() + "=" * (-len(secret_b32) % 8))
    counter = int((at if at is not None else time.time()) // step)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = (struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 10**digits
    return str(code).zfill(digits)


def totp_valid(secret_b32: str, code: str) -> bool:
    now = time.time()
    return any(hmac.compare_digest(totp(secret_b32, at=now + d * 30), code) for d in (-1, 0, 1))
