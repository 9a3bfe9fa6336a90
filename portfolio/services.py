"""The consolidated portfolio of a trader: syncing it from every broker, and serving it.

A sync is one pipeline: ``fetch`` asks every active connection at once, on a bounded thread
pool, for its holdings, positions and funds and for the quotes its lines lack (every call goes
through the connection's adapter and so through the one HTTP door; each broker has
``timeout`` seconds); as each broker lands, ``normalize`` keys its lines by the brokers'
instrument masters and ``aggregate`` reads its answer; once all are in, ``aggregate`` combines
them and ``totals`` sums them. What each broker answered is kept as its snapshot
(``snapshots``), so the portfolio can be rebuilt without calling anyone (a cache miss, a
removed connection), and the queryable copy (``positions``) is rewritten.

A broker that fails is left out of the totals and listed with its reason and the time of its
last good snapshot. Every sync drops the cached view and pushes PORTFOLIO_UPDATE to the
trader's sockets when the numbers changed. Syncs run as tasks (``portfolio.tasks``, which
also queues them); nothing here enqueues.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as dtime
from decimal import ROUND_HALF_UP, Decimal

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from brokers.clock import IST
from brokers.models import Broker, BrokerConnection, ConnectionStatus
from brokers.push import push_to_user
from portfolio import documents, fetch, positions, signals, snapshots
from portfolio.aggregate import (
    BrokerPortfolio,
    Consolidated,
    combine,
    consolidate,
    read_missing,
    read_portfolio,
)
from portfolio.models import BrokerSnapshot
from portfolio.normalize import InstrumentBook, load_book, name_lines

logger = logging.getLogger(__name__)

SYNC_TIMEOUT = 8.0  # seconds each broker has to answer everything
CACHE_SECONDS = 15 * 60
STALE_AFTER = timedelta(minutes=15)  # while the market is open, older numbers are stale
MARKET_OPEN, MARKET_CLOSE = dtime(9, 15), dtime(15, 30)  # NSE/BSE, IST (holidays not known)
SYNC_LOCK_SECONDS = 120  # one sync per trader at a time (beat and "sync now" may overlap)
DOCUMENT_BUILD_SECONDS = 10  # how long a read waits for another request's build
ANNOUNCED_SECONDS = 24 * 3600  # how long the last pushed numbers are remembered
GONE = {ConnectionStatus.DISCONNECTED, ConnectionStatus.SUSPENDED}
PAISA = Decimal("0.01")


class NoBrokerConnected(Exception):
    """The trader has no active broker connection: there is no portfolio to show."""


class SyncInProgress(Exception):
    pass


@dataclass(slots=True)
class BrokerState:
    """One connection as the portfolio sees it: covered, failed, or not synced yet."""

    connection_id: str
    broker: str
    label: str  # "Zerodha"
    account_id: str
    status: str  # the connection's own status
    synced_at: datetime | None = None  # its last good snapshot
    failed_at: datetime | None = None
    reason: str = ""

    @property
    def status_label(self) -> str:
        return ConnectionStatus(self.status).label


@dataclass(slots=True)
class PortfolioView:
    user_id: int
    portfolio: Consolidated
    covered: list[BrokerState]
    failed: list[BrokerState]
    pending: list[BrokerState]  # connected, not synced yet
    last_updated: datetime | None
    built_at: datetime = field(default_factory=timezone.now)

    def stale(self, now: datetime | None = None) -> list[BrokerState]:
        """Covered brokers whose numbers are old, or whose session is no longer healthy."""
        now = now or timezone.now()
        return [
            b
            for b in self.covered
            if b.status != ConnectionStatus.CONNECTED
            or (b.synced_at is not None and is_stale(b.synced_at, now=now))
        ]


def is_stale(synced_at: datetime, *, now: datetime) -> bool:
    """During the session numbers age in minutes; after it, a snapshot is good until the next
    open if it was taken after the close (it has the closing prices)."""
    ist = now.astimezone(IST)
    if ist.weekday() < 5 and MARKET_OPEN <= ist.time() <= MARKET_CLOSE:
        return now - synced_at > STALE_AFTER
    day = ist.date()
    if not (ist.weekday() < 5 and ist.time() > MARKET_CLOSE):  # the last weekday's close
        day -= timedelta(days=1)
        while day.weekday() >= 5:
            day -= timedelta(days=1)
    return synced_at < datetime.combine(day, MARKET_CLOSE, tzinfo=IST)


# --- Reading ----------------------------------------------------------------------------------
def get_consolidated(*, user) -> PortfolioView:
    """The trader's consolidated portfolio, from the cache or rebuilt from the snapshots.

    A connection never synced yet is listed as pending (``portfolio.tasks.consolidated_view``
    syncs it first).
    """
    view = cache.get(_view_key(user.pk))  # connection changes drop it, so no query first
    if view is None:
        connections = _active(user)
        if not connections:
            raise NoBrokerConnected("Connect a broker to see your consolidated portfolio.")
        view = _build_view(user.pk, connections)
        cache.set(_view_key(user.pk), view, CACHE_SECONDS)
    return view


def get_document(*, user) -> documents.Document:
    """The trader's portfolio document (``portfolio.documents``): the one a sync stored, else
    one built now from the snapshots. While one request of the trader builds it, the others
    wait for it rather than build it again (a burst after a status change)."""
    document = documents.load(user_id=user.pk, generation=_generation(user.pk))
    if document is not None:
        return document
    lock = f"portfolio:document-build:{user.pk}"
    if not cache.add(lock, 1, DOCUMENT_BUILD_SECONDS):
        deadline = time.monotonic() + DOCUMENT_BUILD_SECONDS
        while time.monotonic() < deadline:
            time.sleep(0.05)
            document = documents.load(user_id=user.pk, generation=_generation(user.pk))
            if document is not None:
                return document
            if cache.get(lock) is None:  # the build ended without one (no broker connected)
                break
    try:
        version = documents.new_version()  # before the snapshots are read
        return _publish(get_consolidated(user=user), version)
    finally:
        cache.delete(lock)


def _publish(view: PortfolioView, version: int) -> documents.Document:
    """Store the view's document unless a newer one is stored, and cache both under a new
    generation (readers that read the row before this write can only have cached it under
    the old one)."""
    document = documents.render(view, version=version)
    stored = documents.store(document)
    generation = _bump(view.user_id)
    cache.set(_view_key(view.user_id), view, CACHE_SECONDS)
    if stored:
        documents.keep(document, generation=generation)
    return document


def _active(user) -> list[BrokerConnection]:
    """The trader's active connections, each with its snapshot (one query)."""
    mine = BrokerConnection.objects.for_user(user).active()
    return list(
        mine.select_related("app", "portfolio_snapshot").order_by("broker", "account_id", "pk")
    )


def _build_view(user_id, connections, portfolio: Consolidated | None = None) -> PortfolioView:
    covered, failed, pending, inputs, missing = [], [], [], [], []
    book = InstrumentBook()
    for connection in connections:
        snapshot = snapshots.snapshot_of(connection)
        state = _state(connection, snapshot)
        if snapshot is None or (snapshot.taken_at is None and not snapshot.error):
            pending.append(state)
        elif snapshot.failed:
            failed.append(state)
            if portfolio is None and snapshot.taken_at is not None:
                missing.append(_last_seen(connection, snapshot, book))
        else:
            covered.append(state)
            if portfolio is None:
                inputs.append(snapshots.decode(snapshot.payload, _portfolio_of(connection), book))
    if portfolio is None:
        portfolio = consolidate(inputs, book=book, missing=missing)
        name_lines(portfolio.lines)
    synced = [b.synced_at for b in covered if b.synced_at]
    return PortfolioView(
        user_id, portfolio, covered, failed, pending, max(synced) if synced else None
    )


def _last_seen(connection: BrokerConnection, snapshot: BrokerSnapshot, book: InstrumentBook):
    """A failed connection's last good portfolio, its broker's name and when it was taken
    ("09:42" today, "3 Dec 09:42" before), for its lines to be flagged as partial."""
    taken = snapshot.taken_at.astimezone(IST)
    today = timezone.now().astimezone(IST).date()
    seen = taken.strftime("%H:%M") if taken.date() == today else f"{taken:%-d %b %H:%M}"
    portfolio = snapshots.decode(snapshot.payload, _portfolio_of(connection), book)
    portfolio.funds = None  # its cash is not counted either
    return portfolio, Broker(connection.broker).label, f"{seen} IST"


def _state(connection: BrokerConnection, snapshot: BrokerSnapshot | None) -> BrokerState:
    state = BrokerState(
        connection_id=str(connection.pk),
        broker=connection.broker,
        label=Broker(connection.broker).label,
        account_id=connection.account_id,
        status=connection.status,
    )
    if snapshot is not None:
        state.synced_at = snapshot.taken_at
        if snapshot.failed:
            state.failed_at, state.reason = snapshot.attempted_at, snapshot.error
    return state


def _portfolio_of(connection: BrokerConnection) -> BrokerPortfolio:
    return BrokerPortfolio(
        connection_id=str(connection.pk),
        broker=connection.broker,
        account_id=connection.account_id,
        label=connection.display_name or Broker(connection.broker).label,
    )


def _answered(outcome: fetch.Outcome) -> BrokerPortfolio:
    """What a connection answered in this sync, as the aggregation's input."""
    portfolio = _portfolio_of(outcome.connection)
    portfolio.holdings, portfolio.positions = outcome.holdings, outcome.positions
    portfolio.funds, portfolio.quotes = outcome.funds, outcome.used_quotes()
    portfolio.notes = outcome.notes
    return portfolio


# --- Syncing ----------------------------------------------------------------------------------
def sync_portfolio(*, user, timeout: float = SYNC_TIMEOUT) -> PortfolioView:
    """Ask every active connection of ``user`` and land one consolidated portfolio."""
    connections = _active(user)
    if not connections:
        raise NoBrokerConnected("Connect a broker to see your consolidated portfolio.")
    lock = f"portfolio:sync-lock:{user.pk}"
    if not cache.add(lock, 1, SYNC_LOCK_SECONDS):
        raise SyncInProgress(f"a portfolio sync for user {user.pk} is already running")
    try:
        _set_progress(user.pk, connections, state="running")
        payloads, readings = {}, {}

        def read(outcome: fetch.Outcome) -> None:
            pk, broker = outcome.connection.pk, outcome.connection.broker
            book = load_book({broker: outcome.lines()})
            payloads[pk] = snapshots.encode(outcome, book.for_broker(broker))
            readings[pk] = read_portfolio(_answered(outcome), book)

        def landed_one(outcome: fetch.Outcome) -> None:
            """A broker finished: its progress shows, and while the others still answer, its
            lines are keyed, its snapshot encoded and its answer read (off the sync's critical
            path: only the combination waits for the last broker)."""
            _set_progress(user.pk, connections, done=outcome)
            if outcome.error is None:
                read(outcome)

        outcomes = fetch.fetch_all(
            connections,
            prefetch={
                c.pk: snapshots.asked_before(s.payload)
                for c in connections
                if (s := snapshots.snapshot_of(c)) is not None
            },
            timeout=timeout,
            on_done=landed_one,
        )
        for outcome in fetch.quote_elsewhere(outcomes):  # read again with what was borrowed
            read(outcome)
        now = timezone.now()
        missing = []
        for outcome in outcomes:  # a failed broker's last good lines, flagged as partial
            before = snapshots.snapshot_of(outcome.connection)
            if outcome.error is not None and before is not None and before.taken_at:
                book = InstrumentBook()
                last, name, seen = _last_seen(outcome.connection, before, book)
                missing.append(read_missing(last, book, name, seen))
        portfolio = combine(
            [readings[o.connection.pk] for o in outcomes if o.error is None], missing
        )
        name_lines(portfolio.lines)
        with transaction.atomic():
            snapshots.save(outcomes, payloads, now)
            positions.store(user, portfolio)
            documents.mark_outdated(user.pk)
        view = _build_view(user.pk, connections, portfolio)
        _publish(view, documents.new_version())  # after the rows it must agree with
        _set_progress(user.pk, connections, state="done", outcomes=outcomes)
        _announce(view)
        reported = [p for o in outcomes if o.error is None for p in o.positions or ()]
        signals.portfolio_synced.send(sender=sync_portfolio, user=user, positions=reported)
        return view
    finally:
        cache.delete(lock)


def rebuild_portfolio(*, user) -> PortfolioView | None:
    """Rebuild from the stored snapshots, without calling any broker (a connection left)."""
    invalidate(user.pk)
    connections = _active(user)
    if not connections:
        positions.delete(user)
        return None
    version = documents.new_version()
    view = _build_view(user.pk, connections)
    with transaction.atomic():
        positions.store(user, view.portfolio)
    _publish(view, version)
    _announce(view)
    return view


# --- Cache, progress, pushes --------------------------------------------------------------------
def _view_key(user_id) -> str:
    # A generation number in the key: a view built from old snapshots by a slow reader can
    # never be stored over a newer one once invalidate() moved the generation on.
    return f"portfolio:view:{user_id}:{_generation(user_id)}"


def _generation(user_id) -> int:
    generation = cache.get(f"portfolio:generation:{user_id}")
    if generation is None:
        generation = time.time_ns()
        cache.add(f"portfolio:generation:{user_id}", generation, None)
        generation = cache.get(f"portfolio:generation:{user_id}", generation)
    return generation


def _bump(user_id) -> int:
    generation = time.time_ns()
    cache.set(f"portfolio:generation:{user_id}", generation, None)
    return generation


def invalidate(user_id) -> None:
    """The numbers moved without a sync (a status change, a removed connection): the cached
    view and the stored document are out of date."""
    documents.mark_outdated(user_id)
    _bump(user_id)


def on_connection_change(connection: BrokerConnection, before: str, after: str) -> None:
    """brokers.states listener: a status change shows on the page; a removal leaves the totals."""
    invalidate(connection.user_id)
    if after in GONE and before not in GONE:
        BrokerSnapshot.objects.filter(connection=connection).delete()
        rebuild_portfolio(user=connection.user)


def queue_sync(*, user) -> bool:
    """Mark a sync of the trader's portfolio as queued; False when one is already on its way
    (a lost one is asked again once its lock has expired). The caller enqueues the task."""
    connections = _active(user)
    if not connections:
        raise NoBrokerConnected("Connect a broker to see your consolidated portfolio.")
    progress = sync_progress(user=user)
    if progress and progress["state"] in ("queued", "running"):
        started = datetime.fromisoformat(progress["startedAt"])
        if timezone.now() - started < timedelta(seconds=SYNC_LOCK_SECONDS):
            return False
    _set_progress(user.pk, connections, state="queued")
    return True


def sync_progress(*, user) -> dict | None:
    return cache.get(f"portfolio:progress:{user.pk}")


def _set_progress(user_id, connections, *, state=None, done=None, outcomes=()) -> None:
    key = f"portfolio:progress:{user_id}"
    progress = cache.get(key) if state is None else None
    if progress is None:
        progress = {
            "state": state,
            "startedAt": timezone.now().isoformat(),
            "brokers": {
                str(c.pk): {
                    "label": Broker(c.broker).label,
                    "account": c.account_id,
                    "state": "waiting",
                }
                for c in connections
            },
        }
    progress["state"] = state or progress["state"]
    for outcome in [done, *outcomes] if done else outcomes:
        entry = progress["brokers"].get(str(outcome.connection.pk))
        if entry is not None:
            entry["state"] = "ok" if outcome.error is None else "failed"
            entry["reason"] = outcome.error or ""
    states = [b["state"] for b in progress["brokers"].values()]
    progress["done"] = len(states) - states.count("waiting")  # answered, either way
    progress["ok"], progress["total"] = states.count("ok"), len(states)
    cache.set(key, progress, SYNC_LOCK_SECONDS * 5)


def _announce(view: PortfolioView) -> None:
    """PORTFOLIO_UPDATE to the trader's pages once this view commits, if its numbers differ
    from the last ones announced. Their fingerprint is kept in the cache, so the check needs
    no earlier view (reading one back is what a large portfolio's sync cannot afford before
    its first broker call); a cache that lost it costs one push more, never one less."""
    key = f"portfolio:announced:{view.user_id}"
    fingerprint = _fingerprint(view)
    if cache.get(key) == fingerprint:
        return

    def announce() -> None:
        cache.set(key, fingerprint, ANNOUNCED_SECONDS)
        _push(view)

    transaction.on_commit(announce)


def _fingerprint(view: PortfolioView) -> str:
    p = view.portfolio
    numbers = [p.total_value, p.total_cost, p.day_change, p.cash, p.realized_pnl]
    numbers += [p.positions_mtm, p.positions_day_change]
    numbers += [(ln.key, ln.kind, ln.quantity, ln.value, ln.day_change) for ln in p.lines]
    numbers += [sorted(b.connection_id for b in view.covered)]
    numbers += [sorted(b.connection_id for b in view.failed)]
    return hashlib.sha256(repr(numbers).encode()).hexdigest()


def _push(view: PortfolioView) -> None:
    p = view.portfolio
    summary = {
        "type": "PORTFOLIO_UPDATE",
        "data": {
            "userId": view.user_id,
            # The API's meanings: holdings totals, positions apart, net worth with cash.
            "totalValue": _text(p.total_value),
            "unrealizedPnL": _text(p.unrealized_pnl),
            "dayChange": _text(p.day_change),
            "positionsMtm": _text(p.positions_mtm),
            "positionsDayPnL": _text(p.positions_day_pnl),
            "netWorth": _text(p.net_worth),
            "cash": _text(p.cash),
            "positions": len(p.lines),
            "coveredBrokers": [b.broker for b in view.covered],
            "failedBrokers": [{"brokerType": b.broker, "reason": b.reason} for b in view.failed],
            "lastUpdated": view.last_updated.isoformat() if view.last_updated else None,
        },
    }
    try:
        push_to_user(view.user_id, json.dumps(summary))
    except Exception:  # the numbers landed; a lost push only delays an open page's refresh
        logger.warning("PORTFOLIO_UPDATE to user %s was not delivered", view.user_id, exc_info=True)


def _text(amount: Decimal) -> str:
    return str(amount.quantize(PAISA, ROUND_HALF_UP))  # a push is a presentation: paise


def users_to_sync() -> list[int]:
    """Traders with a live connection, each claimed for four minutes (beat may overlap)."""
    users = (
        BrokerConnection.objects.filter(status=ConnectionStatus.CONNECTED)
        .values_list("user_id", flat=True)
        .distinct()
    )
    return [uid for uid in users if cache.add(f"portfolio:beat-claim:{uid}", 1, 240)]
