"""What every simulated broker shares: tokens, one-time codes, orders, order postbacks and
fault injection.

State lives in Django's cache, so it is shared by every process when REDIS_URL is set and
by the live server thread in tests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import random
import secrets
import socket
import struct
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, fields
from decimal import Decimal

import requests
from django.core.cache import cache
from django.http import HttpResponse, StreamingHttpResponse

from brokers.sandbox import universe

TOKEN_TTL = 24 * 3600
CODE_TTL = 300
STATE_TTL = 7 * 24 * 3600

logger = logging.getLogger(__name__)


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
    status_raw: str = ""  # the OMS's own words for a rejection, where the broker shows both
    filled_quantity: int = 0
    average_price: str = "0"
    placed_at: float = 0.0
    updated_at: float = 0.0

    def advance(self, now: float | None = None) -> SandboxOrder:
        """Orders move like a quiet market whose price stands still: a moment after it is
        placed, a market order fills at the last price, and so does a marketable limit order (a
        buy at or above the last price, a sell at or below it: the book fills it at the market,
        never worse than its limit); a limit order away from the market waits, or is cancelled
        if it was IOC; stop orders wait for a trigger the still price never reaches."""
        now = now or time.time()
        if self.status != "OPEN" or now - self.placed_at < FILL_DELAY:
            return self
        security = universe.SECURITIES.get(self.symbol)
        last = security.last_price if security else Decimal(self.price or 0)
        marketable = self.order_type == "MARKET" or (
            self.order_type == "LIMIT"
            and (Decimal(self.price) >= last if self.side == "BUY" else Decimal(self.price) <= last)
        )
        if marketable:
            self.status, self.filled_quantity = "COMPLETE", self.quantity
            self.average_price, self.updated_at = str(last), now
        elif self.validity == "IOC":
            self.status, self.updated_at = "CANCELLED", now
        return self


FILL_DELAY = 0.5  # seconds between an order's acceptance and its fill
LIVE = ("OPEN", "TRIGGER PENDING")  # the kit's states an order can still change from


def new_order_id(prefix: str = "") -> str:
    return prefix + str(random.randint(10**14, 10**15 - 1))  # noqa: S311 - simulated ids


def _orders_key(broker: str, account_id: str) -> str:
    return f"sbx:{broker}:orders:{account_id}"


@contextmanager
def _locked(key: str):
    """One writer at a time for ``key``, across threads and processes: the book is read,
    changed and written back whole, and two writers at once would lose one's order. The lock
    is the cache's own atomic add (SET NX on Redis); it expires should its holder die."""
    lock = f"{key}:lock"
    for _ in range(LOCK_TRIES):
        if cache.add(lock, 1, LOCK_TTL):
            break
        time.sleep(0.001)
    else:
        raise TimeoutError(f"the sandbox book {key} stayed locked")
    try:
        yield
    finally:
        cache.delete(lock)


LOCK_TTL = 5  # seconds a dead holder keeps the book locked
LOCK_TRIES = 5000  # about 5 s of waiting for the lock


def _advanced(stored: list[dict]) -> list[SandboxOrder]:
    return [SandboxOrder(**o).advance() for o in stored]


def orders(broker: str, account_id: str) -> list[SandboxOrder]:
    key = _orders_key(broker, account_id)
    stored = cache.get(key) or []
    advanced = _advanced(stored)
    if any(a.status != o["status"] for a, o in zip(advanced, stored, strict=True)):
        # Keep what the market did: a fill happens once, at one time.
        with _locked(key):
            advanced = _advanced(cache.get(key) or [])
            cache.set(key, [asdict(a) for a in advanced], STATE_TTL)
    return advanced


class DuplicateTag(Exception):
    """The tag of a new order is already on another order of the account."""


def save_order(broker: str, order: SandboxOrder, *, unique_tag: bool = False) -> SandboxOrder:
    """Book a new order or a change to one. A change that arrives after the order was done
    (filled meanwhile, say) does not undo it: the book keeps what happened, as an exchange
    rejects a modify of a filled order after the broker accepted it. With ``unique_tag`` a new
    order whose tag another order carries is refused (DuplicateTag), checked under the same
    lock, so two at once cannot both get in."""
    key = _orders_key(broker, order.account)
    with _locked(key):
        current = {o.order_id: o for o in _advanced(cache.get(key) or [])}
        booked = current.get(order.order_id)
        if unique_tag and booked is None and any(o.tag == order.tag for o in current.values()):
            raise DuplicateTag(order.tag)
        if booked is not None and booked.status not in LIVE and order.status != booked.status:
            return booked
        order.updated_at = time.time()
        order.placed_at = order.placed_at or order.updated_at
        current[order.order_id] = order
        cache.set(key, [asdict(o) for o in current.values()], STATE_TTL)
    return order


def find_order(broker: str, account_id: str, order_id: str) -> SandboxOrder | None:
    return next((o for o in orders(broker, account_id) if o.order_id == order_id), None)


def tagged(broker: str, account_id: str, tag: str) -> list[SandboxOrder]:
    """Today's orders that carry ``tag``, oldest first: how a client finds an order whose
    reply it never got."""
    return [o for o in orders(broker, account_id) if tag and o.tag == tag]


def history(order: SandboxOrder) -> list[tuple[str, float]]:
    """The states an order went through, in the OMS's words (Kite's and Upstox's order
    history, docs/brokers/zerodha.md §4), each with its time: received, validated, sent to the
    exchange, then where it is now."""
    placed, updated = order.placed_at, order.updated_at
    steps = [("PUT ORDER REQ RECEIVED", placed), ("VALIDATION PENDING", placed)]
    if order.status == "REJECTED":
        return [*steps, ("REJECTED", updated)]
    resting = "TRIGGER PENDING" if order.order_type in ("SL", "SL-M") else "OPEN"
    steps += [("OPEN PENDING", placed), (resting, placed)]
    if order.status == "COMPLETE":
        steps.append(("COMPLETE", updated))
    elif order.status == "CANCELLED":
        steps += [("CANCEL PENDING", updated), ("CANCELLED", updated)]
    return steps


# --- Funds and the RMS ----------------------------------------------------------------------
@dataclass(frozen=True)
class Ledger:
    """An account's cash today: what it opened with, what today's fills bought and sold, and
    what its open buy orders hold back (a market order at the last price)."""

    opening: Decimal
    bought: Decimal = Decimal(0)
    sold: Decimal = Decimal(0)
    blocked: Decimal = Decimal(0)

    @property
    def used(self) -> Decimal:
        return self.bought + self.blocked

    @property
    def available(self) -> Decimal:
        """What the account can still trade with: sale proceeds count the same day."""
        return self.opening + self.sold - self.used


def _order_value(order: SandboxOrder) -> Decimal:
    price = Decimal(order.price or 0) or Decimal(order.trigger_price or 0)
    if not price and order.symbol in universe.SECURITIES:
        price = universe.SECURITIES[order.symbol].last_price
    return price * order.quantity


def ledger(broker: str, account) -> Ledger:
    bought = sold = blocked = Decimal(0)
    for order in orders(broker, account.account_id):
        filled = Decimal(order.average_price or 0) * order.filled_quantity
        if order.side == "BUY":
            bought += filled
            if order.status in LIVE:
                blocked += _order_value(order)
        else:
            sold += filled
    return Ledger(opening=account.cash, bought=bought, sold=sold, blocked=blocked)


@dataclass(frozen=True)
class Shortfall:
    """Why the RMS refuses an order: not enough funds for a buy, or not enough shares for a
    delivery sell."""

    kind: str  # "funds" or "holdings"
    required: Decimal
    available: Decimal


def shortfall(broker: str, account, order: SandboxOrder, *, delivery: str) -> Shortfall | None:
    """The RMS check every broker runs after accepting an order (``delivery`` is the broker's
    word for a delivery product: a delivery sell needs the shares in the demat)."""
    if order.side == "BUY":
        required, available = _order_value(order), ledger(broker, account).available
        return Shortfall("funds", required, available) if required > available else None
    if order.product != delivery:
        return None
    held = sum(h.quantity for h in account.holdings if h.symbol == order.symbol)
    for other in orders(broker, account.account_id):
        if other.symbol != order.symbol or other.product != delivery:
            continue
        if other.side == "BUY":
            held += other.filled_quantity  # bought today, sellable today
        else:
            held -= other.quantity if other.status in LIVE else other.filled_quantity
    if order.quantity > held:
        return Shortfall("holdings", Decimal(order.quantity), Decimal(max(held, 0)))
    return None


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
    lose_order_reply: bool = False  # order writes are done, the reply never arrives (504)
    drop_order_request: bool = False  # order writes never reach the broker: nothing done (502)
    # The next this many order writes meet the broker's rate-limit answer: nothing done.
    throttle_orders: int = 0
    error_in_ok: bool = False  # every call answered with the broker's error body, as HTTP 200
    cut_off: bool = False  # every answer stops halfway, shorter than its Content-Length
    # The faults above (not the latency) hit only paths ending with one of these,
    # comma-separated ("portfolio/holdings,orders"); blank: every path.
    paths: str = ""

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
    if not 0 <= faults.throttle_orders <= 1000:
        raise ValueError("throttle_orders must be between 0 and 1000")
    faults.paths = ",".join(p.strip().strip("/") for p in faults.paths.split(",") if p.strip())
    if len(faults.paths) > 500:
        raise ValueError("paths is at most 500 characters")
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

    def not_found(self) -> HttpResponse:
        """A path the broker does not serve, in the broker's own error body."""
        raise NotImplementedError

    def method_not_allowed(self) -> HttpResponse:
        raise NotImplementedError

    def wrong_method(self, allowed) -> HttpResponse:
        response = self.method_not_allowed()
        response["Allow"] = ", ".join(allowed)
        return response

    def error_in_ok(self) -> HttpResponse:
        """The broker's error body with HTTP 200, as several brokers answer errors."""
        response = self.server_error()
        response.status_code = 200
        return response

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
    path: str = ""
    request: object = None
    cut_off: bool = False  # the answer is to stop halfway (set by apply_faults)


_hold: ContextVar[_Hold | None] = ContextVar("sandbox_hold", default=None)


def hold_answers(get_response):
    """Middleware, the outermost: an answer with injected latency leaves ``latency_ms`` after
    its call came in, not sooner. All the work of the call (Django's middleware and the
    broker's own) happens inside that time, as on a real broker's machines, so a slow sandbox
    process does not add to the latency a client sees."""

    def middleware(request):
        hold = _Hold(arrived=time.monotonic(), path=request.path, request=request)
        token = _hold.set(hold)
        try:
            response = get_response(request)
        finally:
            _hold.reset(token)
        if hold.until is not None:
            time.sleep(max(0.0, hold.until - time.monotonic()))
        if hold.cut_off:
            return cut_off(response, request)
        return response

    return middleware


def apply_faults(broker: str, account_id: str, errors: ErrorBodies) -> HttpResponse | None:
    """Delay the answer by the injected latency, and answer with the injected fault if one
    applies."""
    _error_bodies[broker] = errors
    faults = get_faults(broker, account_id)
    if not faults.active:
        return None
    hold = _hold.get()
    if faults.latency_ms:
        if hold is None:  # called outside a request (no middleware to hold the answer)
            time.sleep(faults.latency_ms / 1000)
        elif hold.until is None:
            hold.until = hold.arrived + faults.latency_ms / 1000
    if faults.paths and not _hits(faults.paths, hold.path if hold else ""):
        return None
    if faults.outage:
        return errors.unavailable()
    if faults.rate_limited:
        return errors.rate_limited()
    if faults.error_rate and random.randint(1, 100) <= faults.error_rate:  # noqa: S311
        return errors.server_error()
    if faults.error_in_ok:
        return errors.error_in_ok()
    if faults.cut_off and hold is not None:
        hold.cut_off = True
    return None


def _hits(paths: str, path: str) -> bool:
    path = path.rstrip("/")
    return any(path.endswith("/" + wanted) for wanted in paths.split(","))


def cut_off(response: HttpResponse, request) -> StreamingHttpResponse:
    """The answer's first half under its full Content-Length, then the connection closes: the
    client reads an answer cut off mid-way. On a WSGI server the socket is shut after the half
    (the server would otherwise keep it open for the next request); on ASGI the stream fails,
    which makes the server drop the connection."""
    body = bytes(response.content)
    half = body[: len(body) // 2]
    sock = _socket_of(request)

    def stream():
        yield half
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
            return
        raise ConnectionAbortedError("answer cut off by the sandbox")

    cut = StreamingHttpResponse(stream(), status=response.status_code)
    cut["Content-Type"] = response.get("Content-Type", "application/json")
    cut["Content-Length"] = str(len(body))
    return cut


def _socket_of(request):
    """The client's socket under the development / live-test WSGI server, else None."""
    found = request.META.get("wsgi.input")
    for _ in range(6):  # LimitedStream(s) → the socket's file → its SocketIO → the socket
        if isinstance(found, socket.socket):
            return found
        reader = getattr(found, "_read", None)  # Django's LimitedStream keeps a bound read
        found = getattr(reader, "__self__", None) or next(
            (getattr(found, n) for n in ("stream", "raw", "_sock") if hasattr(found, n)), None
        )
    return None


# Each broker's error bodies, as its module last handed them to ``apply_faults``: an order write
# throttled by ``throttle_orders`` answers in that broker's own words.
_error_bodies: dict[str, ErrorBodies] = {}


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


def dropped_request() -> HttpResponse:
    """What a client sees when the gateway lost its connection to the OMS before passing the
    order on: the broker never got it."""
    return HttpResponse(
        "<html><body><h1>502 Bad Gateway</h1></body></html>",
        status=502,
        content_type="text/html",
    )


def order_write(broker: str, account_id: str, write: Callable[[], HttpResponse]) -> HttpResponse:
    """Place, modify or cancel under the order faults: with ``throttle_orders`` the write meets
    the broker's rate-limit answer and never happens; with ``drop_order_request`` the write
    never happens; with ``lose_order_reply`` it happens (an accepted order is in the book with
    its tag) and the client gets a gateway timeout instead of the answer. Either way the
    client cannot tell from the reply; only the order book can."""
    faults = get_faults(broker, account_id)
    if faults.throttle_orders and broker in _error_bodies and _take_throttle(broker, account_id):
        return _error_bodies[broker].rate_limited()
    if faults.drop_order_request:
        return dropped_request()
    response = write()
    if response.status_code < 300:
        _postbacks_after_write(broker, account_id)
    return lost_reply() if faults.lose_order_reply else response


# --- Order postbacks --------------------------------------------------------------------------
# A broker that documents postbacks (Kite's postback_url, Upstox's webhook) posts an order to
# the app's registered URL when it changes after it was placed: a fill, a modification, a
# cancellation, a rejection. Each broker module registers how its body looks.
PostbackBody = Callable[["SandboxOrder"], dict]
_postback_bodies: dict[str, PostbackBody] = {}
POSTBACK_TIMEOUT = (2.0, 5.0)


def register_postback(broker: str, body: PostbackBody) -> None:
    _postback_bodies[broker] = body


def _postback_key(broker: str, account_id: str) -> str:
    return f"sbx:postback:{broker}:{account_id or '*'}"


def set_postback_url(broker: str, url: str, account_id: str = "*") -> None:
    """The postback URL the app registered at the broker ("" stops the postbacks)."""
    if broker not in _postback_bodies:
        raise ValueError(f"{broker} sends no order postbacks")
    if url:
        cache.set(_postback_key(broker, account_id), url, STATE_TTL)
    else:
        cache.delete(_postback_key(broker, account_id))


def postback_url(broker: str, account_id: str) -> str:
    own = cache.get(_postback_key(broker, account_id))
    return own or cache.get(_postback_key(broker, "*")) or ""


def _signature(order: SandboxOrder) -> str:
    o = order
    return f"{o.status}:{o.filled_quantity}:{o.quantity}:{o.price}:{o.trigger_price}"


def deliver_postbacks(broker: str, account_id: str) -> int:
    """Post every order of the account that changed since it was last seen, as the broker's
    OMS would; an order seen for the first time open is only noted (placing one posts nothing).
    Returns how many were posted."""
    url = postback_url(broker, account_id)
    body = _postback_bodies.get(broker)
    if not url or body is None:
        return 0
    posted = 0
    for order in orders(broker, account_id):
        key = f"sbx:posted:{broker}:{order.order_id}"
        seen, now = cache.get(key), _signature(order)
        if seen == now or (seen is None and order.status in LIVE and not order.filled_quantity):
            cache.set(key, now, STATE_TTL)
            continue
        cache.set(key, now, STATE_TTL)
        try:
            requests.post(
                url,
                data=json.dumps(body(order)),
                headers={"Content-Type": "application/json"},
                timeout=POSTBACK_TIMEOUT,
            )
            posted += 1
        except requests.RequestException as error:  # the broker does not retry either
            logger.info("postback of %s %s to %s failed: %s", broker, order.order_id, url, error)
    return posted


def _postbacks_after_write(broker: str, account_id: str) -> None:
    """After an order write: post what changed, once its fill has had time to happen."""
    if not postback_url(broker, account_id) or broker not in _postback_bodies:
        return
    timer = threading.Timer(FILL_DELAY + 0.2, deliver_postbacks, args=(broker, account_id))
    timer.daemon = True
    timer.start()


def _take_throttle(broker: str, account_id: str) -> bool:
    """Count one throttled order write down; False when none is left."""
    with _locked(_faults_key(broker, account_id)):
        faults = get_faults(broker, account_id)
        if faults.throttle_orders <= 0:
            return False
        set_faults(broker, account_id, throttle_orders=faults.throttle_orders - 1)
        return True


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
