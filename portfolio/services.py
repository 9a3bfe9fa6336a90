"""The consolidated portfolio of a trader: syncing it from every broker, and serving it.

``sync_portfolio`` asks every active connection, in parallel on a bounded thread pool, for
its holdings, positions and funds, and for the quotes its lines lack; every call goes through
the connection's adapter and so through the one HTTP door. Each broker has ``timeout`` seconds
to answer. The quotes a broker needed last time are asked for at once, alongside its
holdings, so a sync whose instruments did not change costs one round trip per broker.

A broker that fails is left out of the totals and listed with its reason and the time of its
last good snapshot. What each broker answered is kept as its snapshot (``BrokerSnapshot``),
so the portfolio can be rebuilt without calling anyone (a cache miss, a removed connection).
Every sync rewrites the queryable copy in ``consolidated_positions`` and
``broker_position_breakdown``, drops the cached view, and pushes PORTFOLIO_UPDATE to the
trader's sockets when the numbers changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
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
from portfolio import fetch
from portfolio.aggregate import (
    BrokerPortfolio,
    Consolidated,
    combine,
    consolidate,
    read_portfolio,
)
from portfolio.models import BrokerPositionBreakdown, BrokerSnapshot, ConsolidatedPosition
from portfolio.normalize import InstrumentBook, load_book

logger = logging.getLogger(__name__)

SYNC_TIMEOUT = 8.0  # seconds each broker has to answer everything
CACHE_SECONDS = 15 * 60
STALE_AFTER = timedelta(minutes=15)  # while the market is open, older numbers are stale
MARKET_OPEN, MARKET_CLOSE = dtime(9, 15), dtime(15, 30)  # NSE/BSE, IST (holidays not known)
SYNC_LOCK_SECONDS = 120  # one sync per trader at a time (beat and "sync now" may overlap)
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
def get_consolidated(*, user, fetch_pending: bool = False) -> PortfolioView:
    """The trader's consolidated portfolio, from the cache or rebuilt from the snapshots.

    ``fetch_pending``: a connection never synced yet is synced now (in the background with
    a worker, in-process on the embedded default, where the answer then includes it).
    """
    view = cache.get(_view_key(user.pk))  # connection changes drop it, so no query first
    if view is None:
        connections = _active(user)
        if not connections:
            raise NoBrokerConnected("Connect a broker to see your consolidated portfolio.")
        view = _build_view(user.pk, connections)
        cache.set(_view_key(user.pk), view, CACHE_SECONDS)
    if fetch_pending and view.pending:
        request_sync(user=user)
        return get_consolidated(user=user)
    return view


def get_presented(*, user, name: str, present: Callable[[PortfolioView], dict]) -> dict:
    """One presentation of the view (the API's JSON), cached alongside it, so a burst of
    reads costs a cache hit each rather than a serialization each."""
    key = f"{_view_key(user.pk)}:{name}"
    data = cache.get(key)
    if data is None:
        view = get_consolidated(user=user, fetch_pending=True)
        data = present(view)
        cache.set(f"{_view_key(user.pk)}:{name}", data, CACHE_SECONDS)
    return data


def _active(user) -> list[BrokerConnection]:
    """The trader's active connections, each with its snapshot (one query)."""
    mine = BrokerConnection.objects.for_user(user).active()
    return list(
        mine.select_related("app", "portfolio_snapshot").order_by("broker", "account_id", "pk")
    )


def _snapshot(connection: BrokerConnection) -> BrokerSnapshot | None:
    try:
        return connection.portfolio_snapshot
    except BrokerSnapshot.DoesNotExist:
        return None


def _build_view(user_id, connections, portfolio: Consolidated | None = None) -> PortfolioView:
    covered, failed, pending, inputs = [], [], [], []
    book = InstrumentBook()
    for connection in connections:
        snapshot = _snapshot(connection)
        state = _state(connection, snapshot)
        if snapshot is None or (snapshot.taken_at is None and not snapshot.error):
            pending.append(state)
        elif snapshot.failed:
            failed.append(state)
        else:
            covered.append(state)
            if portfolio is None:
                inputs.append(fetch.decode(snapshot.payload, _portfolio_of(connection), book))
    if portfolio is None:
        portfolio = consolidate(inputs, book=book)
    synced = [b.synced_at for b in covered if b.synced_at]
    return PortfolioView(
        user_id, portfolio, covered, failed, pending, max(synced) if synced else None
    )


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

        def landed_one(outcome: fetch.Outcome) -> None:
            """A broker finished: its progress shows, and while the others still answer, its
            master entries are read, its snapshot encoded and its portfolio read (off the
            sync's critical path: only the combination waits for the last broker)."""
            _set_progress(user.pk, connections, done=outcome)
            if outcome.error is None:
                connection = outcome.connection
                book = load_book({connection.broker: outcome.lines()})
                payloads[connection.pk] = fetch.encode(outcome, book.for_broker(connection.broker))
                mine = outcome.portfolio(_portfolio_of(connection))
                readings[connection.pk] = read_portfolio(mine, book)

        outcomes = fetch.fetch_all(
            connections,
            prefetch={
                c.pk: fetch.asked_before(s.payload)
                for c in connections
                if (s := _snapshot(c)) is not None
            },
            timeout=timeout,
            on_done=landed_one,
        )
        now = timezone.now()
        portfolio = combine([readings[o.connection.pk] for o in outcomes if o.error is None])
        with transaction.atomic():
            _save_snapshots(outcomes, payloads, now)
            _store_lines(user, portfolio)
        invalidate(user.pk)
        view = _build_view(user.pk, connections, portfolio)
        cache.set(_view_key(user.pk), view, CACHE_SECONDS)
        _set_progress(user.pk, connections, state="done", outcomes=outcomes)
        _announce(view)
        return view
    finally:
        cache.delete(lock)


def _save_snapshots(outcomes: list[fetch.Outcome], payloads: dict, now) -> None:
    """Each connection's snapshot: new ones in one INSERT, the ones that answered the same as
    last time in one UPDATE of their times, the others one UPDATE each (bulk_update's CASE
    over the JSON costs more than that). The connections hold the saved snapshots afterwards,
    for the view built next."""
    new, same, changed = [], [], []
    for outcome in outcomes:
        connection = outcome.connection
        snapshot = _snapshot(connection)
        if snapshot is None:
            snapshot = connection.portfolio_snapshot = BrokerSnapshot(connection=connection)
            new.append(snapshot)
        snapshot.attempted_at = now
        if outcome.error is None:
            payload = payloads[connection.pk]
            if snapshot not in new:
                unchanged = snapshot.payload == payload and not snapshot.error
                (same if unchanged else changed).append(snapshot)
            snapshot.payload = payload
            snapshot.taken_at, snapshot.error, snapshot.error_kind = now, "", ""
        else:
            snapshot.error, snapshot.error_kind = outcome.error, outcome.error_kind
            if snapshot not in new:
                changed.append(snapshot)
    BrokerSnapshot.objects.bulk_create(new)
    BrokerSnapshot.objects.filter(pk__in=[s.pk for s in same]).update(
        attempted_at=now, taken_at=now
    )
    for snapshot in changed:
        snapshot.save(update_fields=SNAPSHOT_FIELDS)


SNAPSHOT_FIELDS = ["attempted_at", "payload", "taken_at", "error", "error_kind"]


def _store_lines(user, portfolio: Consolidated) -> None:
    """The queryable copy: one row per line, one per broker line (rounded to the column).

    Rewritten only when it would change: the digest of what was last written is kept in the
    cache, so a sync that brought the same numbers (outside market hours, most do) writes
    nothing here. Without the digest (a cold cache) the rows are rewritten.
    """
    rows, parts = [], {}
    for line in portfolio.lines:
        row = ConsolidatedPosition(
            user=user,
            instrument_key=line.key[:100],
            isin=line.isin,
            symbol=line.symbol[:100],
            exchange=line.exchange[:10],
            name=line.name[:200],
            asset_class=line.asset_class,
            total_quantity=line.quantity,
            lot_size=line.lot_size,
            average_price=line.average_price or 0,
            current_price=line.current_price,
            previous_close=line.previous_close,
            total_cost=line.cost,
            current_value=line.value,
            unrealized_pnl=line.pnl,
            unrealized_pnl_percent=line.pnl_percent,
            day_change=line.day_change,
            day_change_percent=line.day_change_percent,
            flags=line.flags,
        )
        rows.append(row)
        for b in line.broker_lines:
            key = (row.pk, b.connection_id, b.exchange, b.broker_symbol[:100], b.product[:20])
            if key in parts:  # a broker listed the same line twice: one row, as the totals do
                _add_to(parts[key], b)
                continue
            parts[key] = BrokerPositionBreakdown(
                position=row,
                connection_id=b.connection_id,
                broker_symbol=key[3],
                exchange=b.exchange[:10],
                product=key[4],
                quantity=b.quantity,
                average_price=b.average_price or 0,
                last_price=b.last_price,
                current_value=b.value,
            )
    digest = _rows_digest(rows, parts.values())
    key = _stored_key(user.pk)
    if cache.get(key) == digest:
        return
    _delete_lines(user)  # and the old digest: until the new rows commit, nothing matches
    ConsolidatedPosition.objects.bulk_create(rows, batch_size=500)
    BrokerPositionBreakdown.objects.bulk_create(parts.values(), batch_size=500)
    transaction.on_commit(lambda: cache.set(key, digest, CACHE_SECONDS))


def _delete_lines(user) -> None:
    cache.delete(_stored_key(user.pk))
    ConsolidatedPosition.objects.filter(user=user).delete()


def _stored_key(user_id) -> str:
    return f"portfolio:stored-lines:{user_id}"


def _rows_digest(rows, parts) -> str:
    columns = [
        [getattr(row, f.attname) for f in row._meta.concrete_fields if not f.primary_key]
        for row in rows
    ]
    part_fields = ("connection_id", "broker_symbol", "exchange", "product", "quantity")
    part_fields += ("average_price", "last_price", "current_value")
    columns += [
        [p.position.instrument_key, *(getattr(p, name) for name in part_fields)] for p in parts
    ]
    return hashlib.sha256(repr(columns).encode()).hexdigest()


def _add_to(row: BrokerPositionBreakdown, line) -> None:
    if not line.included:
        return
    cost = row.average_price * row.quantity + line.average_price * line.quantity
    row.quantity += line.quantity
    row.average_price = cost / row.quantity if row.quantity else 0
    if line.value is not None:
        row.current_value = (row.current_value or 0) + line.value


def rebuild_portfolio(*, user) -> PortfolioView | None:
    """Rebuild from the stored snapshots, without calling any broker (a connection left)."""
    invalidate(user.pk)
    connections = _active(user)
    if not connections:
        _delete_lines(user)
        return None
    view = _build_view(user.pk, connections)
    with transaction.atomic():
        _store_lines(user, view.portfolio)
    cache.set(_view_key(user.pk), view, CACHE_SECONDS)
    _announce(view)
    return view


# --- Cache, progress, pushes --------------------------------------------------------------------
def _view_key(user_id) -> str:
    # A generation number in the key: a view built from old snapshots by a slow reader can
    # never be stored over a newer one once invalidate() moved the generation on.
    generation = cache.get(f"portfolio:generation:{user_id}")
    if generation is None:
        generation = time.time_ns()
        cache.add(f"portfolio:generation:{user_id}", generation, None)
        generation = cache.get(f"portfolio:generation:{user_id}", generation)
    return f"portfolio:view:{user_id}:{generation}"


def invalidate(user_id) -> None:
    cache.set(f"portfolio:generation:{user_id}", time.time_ns(), None)


def on_connection_change(connection: BrokerConnection, before: str, after: str) -> None:
    """brokers.states listener: a status change shows on the page; a removal leaves the totals."""
    invalidate(connection.user_id)
    if after in GONE and before not in GONE:
        BrokerSnapshot.objects.filter(connection=connection).delete()
        rebuild_portfolio(user=connection.user)


def request_sync(*, user) -> dict:
    """Start a sync in the background (in-process on the embedded default); its progress."""
    from portfolio.tasks import sync_portfolio_task

    connections = _active(user)
    if not connections:
        raise NoBrokerConnected("Connect a broker to see your consolidated portfolio.")
    progress = sync_progress(user=user)
    if progress and progress["state"] in ("queued", "running"):
        started = datetime.fromisoformat(progress["startedAt"])
        if timezone.now() - started < timedelta(seconds=SYNC_LOCK_SECONDS):
            return progress  # one is on its way; a lost one is asked again after the lock
    _set_progress(user.pk, connections, state="queued")
    transaction.on_commit(lambda: sync_portfolio_task.delay(user.pk))
    return sync_progress(user=user)


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
    numbers += [(ln.key, ln.quantity, ln.value, ln.day_change) for ln in p.lines]
    numbers += [sorted(b.connection_id for b in view.covered)]
    numbers += [sorted(b.connection_id for b in view.failed)]
    return hashlib.sha256(repr(numbers).encode()).hexdigest()


def _push(view: PortfolioView) -> None:
    p = view.portfolio
    summary = {
        "type": "PORTFOLIO_UPDATE",
        "data": {
            "userId": view.user_id,
            "totalValue": _text(p.total_value),
            "unrealizedPnL": _text(p.unrealized_pnl),
            "dayChange": _text(p.day_change),
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
