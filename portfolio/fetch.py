"""Asking every broker at once, and keeping what each answered (a snapshot).

``fetch_all`` runs on one bounded thread pool: per connection its holdings, positions and funds
in parallel, plus the quotes it needed last time (so an unchanged portfolio costs one round
trip); once holdings and positions are in, only the quotes still missing are asked. Every call
is an adapter method, so every request passes the HTTP door (rate limiter, breaker hooks,
timeouts, redaction). A broker that has not answered everything ``timeout`` seconds after the
start fails with that reason; its threads finish on their own HTTP timeouts, never blocking
the sync.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation
from functools import cache

from django.db import connections as databases

from brokers.adapters import registry
from brokers.adapters.base import (
    AssetType,
    AuthError,
    BadResponse,
    BrokerError,
    BrokerUnavailable,
    Funds,
    Holding,
    InstrumentRef,
    Maintenance,
    Position,
    Quote,
    RateLimited,
    TokenExpired,
)
from brokers.models import BrokerConnection, ConnectionStatus
from portfolio.aggregate import BrokerPortfolio
from portfolio.normalize import InstrumentBook

logger = logging.getLogger(__name__)

MAX_WORKERS = 64  # threads shared by the syncs of this process: 4 calls per broker, 7 brokers


@cache
def _pool() -> ThreadPoolExecutor:
    """Long-lived threads: starting 28 threads per sync costs more than the sync's own work."""
    return ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="portfolio-sync")


ESSENTIAL = ("holdings", "positions", "funds")


@dataclass(eq=False)
class Outcome:
    """One connection's answers in this sync, or why it failed."""

    connection: BrokerConnection
    prefetch: list[InstrumentRef] = field(default_factory=list)
    holdings: list[Holding] | None = None
    positions: list[Position] | None = None
    funds: Funds | None = None
    quotes: dict[InstrumentRef, Quote] = field(default_factory=dict)
    asked: set[InstrumentRef] = field(default_factory=set)  # quotes asked, whatever came back
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    error_kind: str = ""
    adapter: object = None
    pending: dict[Future, str] = field(default_factory=dict)  # calls still out → what they ask
    followed_up: bool = False  # the missing quotes were asked (or nothing was missing)
    elapsed_ms: float = 0.0

    @property
    def answered(self) -> bool:
        return self.holdings is not None and self.positions is not None and self.funds is not None

    @property
    def finished(self) -> bool:
        return self.error is not None or (self.answered and not self.pending and self.followed_up)

    def lines(self) -> list:
        return [*(self.holdings or ()), *(self.positions or ())]

    def needed(self) -> list[InstrumentRef]:
        """Lines that came without a last price or a previous close: quotes fill them in."""
        refs = {
            InstrumentRef(line.exchange, line.symbol, line.instrument_id)
            for line in self.lines()
            if line.quantity and (line.last_price is None or line.close_price is None)
        }
        return sorted(refs, key=lambda r: (r.exchange, r.symbol, r.instrument_id))

    def used_quotes(self) -> dict[InstrumentRef, Quote]:
        wanted = set(self.needed())
        return {ref: quote for ref, quote in self.quotes.items() if ref in wanted}

    def portfolio(self, base: BrokerPortfolio) -> BrokerPortfolio:
        base.holdings, base.positions, base.funds = self.holdings, self.positions, self.funds
        base.quotes, base.notes = self.used_quotes(), self.notes
        return base

    def fail(self, error: BaseException) -> None:
        if self.error is None:
            self.error_kind, self.error = explain(error)
            for future in self.pending:
                future.cancel()


def fetch_all(
    connections: list[BrokerConnection],
    *,
    prefetch: dict,
    timeout: float,
    on_done: Callable[[Outcome], None] = lambda outcome: None,
) -> list[Outcome]:
    started = time.monotonic()
    outcomes = [Outcome(c, prefetch=prefetch.get(c.pk) or []) for c in connections]
    pool = _pool()
    owners: dict[Future, tuple[Outcome, list]] = {}

    def submit(outcome: Outcome, what: str, call, refs=()) -> Future:
        future = pool.submit(_in_thread, call, *([list(refs)] if refs else []))
        owners[future] = (outcome, list(refs))
        outcome.pending[future] = what
        return future

    try:
        for outcome in outcomes:
            connection = outcome.connection
            if (
                connection.status == ConnectionStatus.TOKEN_EXPIRED
                or not connection.has_access_token
            ):
                outcome.fail(TokenExpired("the session has ended", broker=connection.broker))
                on_done(outcome)
                continue
            try:  # built here, in this thread: it opens the sealed tokens (database, vault)
                outcome.adapter = adapter = registry.adapter_for(connection)
            except Exception as error:
                outcome.fail(error)
                on_done(outcome)
                continue
            submit(outcome, "holdings", adapter.holdings)
            submit(outcome, "positions", adapter.positions)
            submit(outcome, "funds", adapter.funds)
            if outcome.prefetch:
                submit(outcome, "quotes", adapter.quotes, outcome.prefetch)
        waiting = set(owners)
        while waiting:
            left = timeout - (time.monotonic() - started)
            done, waiting = wait(waiting, timeout=max(left, 0), return_when=FIRST_COMPLETED)
            if not done:
                break
            for future in done:
                outcome, refs = owners[future]
                if outcome.finished:
                    continue
                what = outcome.pending.pop(future)
                missing = _take(outcome, what, refs, future)
                if missing:
                    waiting.add(submit(outcome, "quotes", outcome.adapter.quotes, missing))
                if outcome.error is not None:  # its other calls no longer matter
                    waiting -= set(outcome.pending)
                if outcome.finished:
                    outcome.elapsed_ms = (time.monotonic() - started) * 1000
                    on_done(outcome)
        for outcome in outcomes:
            if not outcome.finished:
                _give_up(outcome, timeout)
                on_done(outcome)
    finally:
        for future in owners:  # calls not started yet are dropped; running ones end on timeouts
            future.cancel()
    return outcomes


def _in_thread(call, *args):
    try:
        return call(*args)
    finally:
        databases.close_all()  # a hook may have used the ORM in this pool thread


def _take(outcome: Outcome, what: str, refs: list, future: Future) -> list[InstrumentRef]:
    """Record one answer; return the quotes still to ask, once that can be known."""
    error = future.exception()
    if what in ESSENTIAL:
        if error is not None:
            outcome.fail(error)
            return []
        setattr(outcome, what, future.result())
    elif error is not None:  # quotes are a nice-to-have: the lines stay, flagged, priced elsewhere
        outcome.notes.append(f"quotes unavailable: {explain(error)[1]}")
        if isinstance(error, BrokerError) and error.permanent:
            outcome.asked.update(refs)
    else:
        outcome.quotes.update(future.result())
        outcome.asked.update(refs)
    if outcome.followed_up or outcome.holdings is None or outcome.positions is None:
        return []
    if "quotes" in outcome.pending.values():
        return []  # the prefetch is still out: what it brings need not be asked again
    outcome.followed_up = True
    return [ref for ref in outcome.needed() if ref not in outcome.asked]


def _give_up(outcome: Outcome, timeout: float) -> None:
    if outcome.answered:  # everything but some quotes: keep it, say so
        outcome.notes.append(f"some quotes did not arrive within {timeout:g} s")
        outcome.followed_up, outcome.pending = True, {}
        return
    outcome.error_kind = "Timeout"
    outcome.error = f"No answer within {timeout:g} s."
    for future in outcome.pending:
        future.cancel()


def explain(error: BaseException) -> tuple[str, str]:
    """(kind, reason for the trader). Broker messages are already redacted by the door."""
    kind = type(error).__name__
    if isinstance(error, TokenExpired):
        return kind, "The session has ended: log in to the broker again."
    if isinstance(error, AuthError):
        return kind, f"The broker refused our login: {error.message}"
    if isinstance(error, RateLimited):
        return kind, "The broker is limiting requests; the next sync will try again."
    if isinstance(error, Maintenance):
        return kind, "The broker is under maintenance."
    if isinstance(error, BadResponse):
        return kind, f"The broker's answer could not be read: {error.message}"
    if isinstance(error, BrokerUnavailable):
        return kind, f"The broker is not answering: {error.message}"
    if isinstance(error, BrokerError):
        return kind, f"The broker refused the request: {error.message}"
    logger.error("portfolio sync: unexpected %s", kind, exc_info=error)
    return kind, "Unexpected error while reading this broker (logged for support)."


# --- Snapshots: what a broker answered, as JSON ------------------------------------------------
MONEY = {
    "average_price",
    "last_price",
    "close_price",
    "realized_pnl",
    "unrealized_pnl",
    "previous_close",
    "available",
    "used",
    "total",
    "collateral",
}


def _plain(value):
    if isinstance(value, Decimal | AssetType):
        return str(value)
    return value


def _names(cls) -> tuple[str, ...]:
    """The fields of a dataclass or of a NamedTuple (InstrumentRef)."""
    return getattr(cls, "_fields", None) or tuple(f.name for f in fields(cls))


def _row(obj) -> dict:
    return {name: _plain(getattr(obj, name)) for name in _names(obj)}


def _typed(name: str, value):
    if name in MONEY and isinstance(value, str):
        try:
            return Decimal(value)
        except InvalidOperation:
            return value  # kept as it came: the aggregator flags it
    if name == "asset_type" and value in AssetType.__members__:
        return AssetType(value)
    return value


def _build(cls, row: dict):
    names = _names(cls)
    return cls(**{k: _typed(k, v) for k, v in row.items() if k in names})


def encode(outcome: Outcome, book_rows: list[list]) -> dict:
    return {
        "holdings": [_row(h) for h in outcome.holdings or ()],
        "positions": [_row(p) for p in outcome.positions or ()],
        "funds": _row(outcome.funds) if outcome.funds is not None else None,
        "quotes": [[_row(ref), _row(quote)] for ref, quote in outcome.used_quotes().items()],
        "asked": [_row(ref) for ref in outcome.needed()],
        "notes": list(outcome.notes),
        "book": book_rows,
    }


def decode(payload: dict, base: BrokerPortfolio, book: InstrumentBook) -> BrokerPortfolio:
    base.holdings = [_build(Holding, row) for row in payload.get("holdings") or ()]
    base.positions = [_build(Position, row) for row in payload.get("positions") or ()]
    funds = payload.get("funds")
    base.funds = _build(Funds, funds) if funds else None
    base.quotes = {
        _build(InstrumentRef, ref): _build(Quote, quote)
        for ref, quote in payload.get("quotes") or ()
    }
    base.notes = list(payload.get("notes") or ())
    book.add_rows(base.broker, payload.get("book") or ())
    return base


def asked_before(payload: dict) -> list[InstrumentRef]:
    return [_build(InstrumentRef, row) for row in (payload or {}).get("asked") or ()]
