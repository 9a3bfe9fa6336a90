"""Asking every broker at once: the first step of a sync.

``fetch_all`` runs on one bounded thread pool: per connection its holdings, positions and funds
in parallel, plus the quotes it needed last time (so an unchanged portfolio costs one round
trip); once holdings and positions are in, only the quotes still missing are asked. Every call
is an adapter method, so every request passes the HTTP door (rate limiter, breaker signal,
timeouts, redaction). A broker that has not answered everything ``timeout`` seconds after the
start fails with that reason; its threads finish on their own HTTP timeouts, never blocking
the sync.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from functools import cache

from django.db import connections as databases

from brokers.adapters import registry
from brokers.errors import (
    AuthError,
    BadResponse,
    BrokerError,
    BrokerUnavailable,
    Maintenance,
    RateLimited,
    TokenExpired,
)
from brokers.http import SYNC_FAN_OUT
from brokers.models import Broker, BrokerConnection, ConnectionStatus, InstrumentRecord
from brokers.types import Funds, Holding, InstrumentRef, Position, Quote

logger = logging.getLogger(__name__)

# Threads shared by the syncs of this process (4 calls per broker, 7 brokers per trader); each
# broker host's connection pool is as large.
MAX_WORKERS = SYNC_FAN_OUT


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
    quotes_failed: bool = False  # a quotes call failed: another broker may quote its lines
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
        outcome.quotes_failed = True
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


# --- Quotes from another broker ----------------------------------------------------------------
def quote_elsewhere(outcomes: list[Outcome]) -> list[Outcome]:
    """Lines still without the quote they need, their broker's quote call having failed, get
    another answering broker's quote of the same instrument — by
    ISIN, else by exchange and symbol, through that broker's own master — marked with that
    broker's name (``Quote.source``), which the line then shows. The outcomes changed.

    Asked after every broker answered and only when a quote call failed, so the usual sync
    costs nothing more; each ask passes the HTTP door like any call."""
    answered = [o for o in outcomes if o.error is None and o.adapter is not None]
    changed: list[Outcome] = []
    if len(answered) < 2:
        return changed
    for outcome in answered:
        if not outcome.quotes_failed:
            continue
        missing = [ref for ref in outcome.needed() if ref not in outcome.quotes]
        if not missing:
            continue
        isins = {
            InstrumentRef(line.exchange, line.symbol, line.instrument_id): line.isin
            for line in outcome.lines()
        }
        for donor in answered:
            if donor is outcome or donor.connection.broker == outcome.connection.broker:
                continue
            found = _borrow(donor, missing, isins)
            for ref, quote in found.items():
                outcome.quotes[ref] = quote
            missing = [ref for ref in missing if ref not in found]
            if found and outcome not in changed:
                changed.append(outcome)
            if not missing:
                break
    return changed


def _borrow(donor: Outcome, wanted: list[InstrumentRef], isins: dict) -> dict:
    """``donor``'s quotes of the ``wanted`` instruments it lists, keyed as they were wanted."""
    broker = donor.connection.broker
    theirs: dict[InstrumentRef, InstrumentRef] = {}
    for ref in wanted:
        rows = InstrumentRecord.objects.filter(broker=broker, exchange=ref.exchange)
        isin = isins.get(ref) or ""
        row = (rows.filter(isin=isin).first() if isin else None) or rows.filter(
            symbol=ref.symbol
        ).first()
        if row is not None:
            theirs[InstrumentRef(row.exchange, row.symbol, row.instrument_id)] = ref
    if not theirs:
        return {}
    try:
        answer = donor.adapter.quotes(list(theirs))  # type: ignore[attr-defined]
    except BrokerError as error:
        logger.info("no quotes from %s for another broker's lines: %s", broker, error)
        return {}
    label = Broker(broker).label
    return {
        theirs[ref]: replace(
            quote, exchange=theirs[ref].exchange, symbol=theirs[ref].symbol, source=label
        )
        for ref, quote in answer.items()
        if ref in theirs
    }
