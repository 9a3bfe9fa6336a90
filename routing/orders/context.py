"""What the pure decisions need, read from where it is kept: each connected broker as a
routing candidate (capabilities, breaker, p95, its own listing of the instrument from its
master, its demat holding), the trader's book (positions synced from the brokers and the open
orders here), and the last price.

Reads only: the database, the health store (Redis when configured) and, for prices, the
brokers' quote endpoints (a few seconds' cache per instrument).
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import replace
from decimal import Decimal, InvalidOperation

from django.core.cache import cache
from django.db.models import Q

from brokers.adapters import registry
from brokers.errors import BrokerError
from brokers.models import BrokerConnection, ConnectionStatus, InstrumentRecord
from brokers.types import AssetType, InstrumentRef
from health import breaker, metrics
from health.store import Batch, store
from portfolio.models import BrokerPositionBreakdown, BrokerSnapshot, ConsolidatedPosition
from routing.intent import Book, Candidate, InstrumentInfo, LastPrice, Listing
from routing.orders.models import LIVE, Order
from routing.policy.effective import EffectivePolicy, effective

logger = logging.getLogger(__name__)

P95_MINUTES = 15  # the window a broker's p95 latency is measured over
QUOTE_SECONDS = 3  # how long a quote is reused for the next order of the same instrument
USABLE = (ConnectionStatus.CONNECTED,)


def connections_of(user, policy: EffectivePolicy) -> dict[str, BrokerConnection]:
    """The trader's connections the policy knows, by policy key."""
    rows = {str(c.pk): c for c in BrokerConnection.objects.filter(user=user).select_related("app")}
    return {
        key: rows[broker.connection_id]
        for key, broker in policy.brokers.items()
        if broker.connection_id in rows
    }


def listings(instrument: InstrumentInfo, brokers: set[str]) -> dict[str, Listing]:
    """Each broker's own name and token for the instrument (its master's row), by broker."""
    rows = InstrumentRecord.objects.filter(broker__in=brokers, exchange=instrument.exchange)
    if instrument.isin:
        # By ISIN; a master without ISINs (Kite's) by the exchange's symbol.
        rows = rows.filter(Q(isin=instrument.isin) | Q(isin="", symbol=instrument.symbol))
    else:
        rows = rows.filter(symbol=instrument.symbol)
    found: dict[str, Listing] = {}
    for broker, exchange, symbol, token in rows.order_by("-isin").values_list(
        "broker", "exchange", "symbol", "instrument_id"
    ):
        found.setdefault(broker, Listing(exchange, symbol, token))
    return found


def as_listed(instrument: InstrumentInfo, *, broker: str, listing: Listing) -> InstrumentInfo:
    """The instrument with the lot and tick of ``broker``'s own master row for its listing
    (the rows of the masters can differ; the broker checks against its own)."""
    row = (
        InstrumentRecord.objects.filter(
            broker=broker, exchange=listing.exchange, symbol=listing.symbol
        )
        .values_list("lot_size", "tick_size")
        .first()
    )
    if row is None:
        return instrument
    lot, tick = row
    return replace(
        instrument,
        lot_size=max(1, lot or 1),
        tick_size=tick if tick and tick > 0 else instrument.tick_size,
    )


def candidates(
    instrument: InstrumentInfo,
    connections: dict[str, BrokerConnection],
    holdings: dict[str, tuple[int, int]],
) -> list[Candidate]:
    """Every connected broker as a candidate; ``route.decide`` excludes the unfit ones."""
    named = listings(instrument, {c.broker for c in connections.values()})
    # Every broker's breaker state and last minutes of calls in one round trip to the health
    # store (one read each was two round trips per broker: 14 of an order's ~40 with seven).
    batch, now = Batch(), time.time()
    slots = {
        key: (
            batch.get(breaker.state_key(str(c.pk))),
            batch.read(metrics.minute_keys(str(c.pk), P95_MINUTES, now=now)),
        )
        for key, c in connections.items()
    }
    if slots:
        store().run(batch)
    found = []
    for key, connection in connections.items():
        cid = str(connection.pk)
        caps = registry.capabilities(connection.broker)
        state_at, buckets = slots[key]
        state, _ = breaker.current(cid, data=batch.values[state_at] or {})
        window = metrics.Window()
        for bucket in batch.hashes[buckets]:
            window.add(bucket)
        demat, position = holdings.get(key, (0, 0))
        found.append(
            Candidate(
                key=key,
                connection_id=cid,
                broker=connection.broker,
                order_types=frozenset(caps.order_types),
                products=frozenset(caps.products),
                exchanges=frozenset(caps.exchanges),
                listing=named.get(connection.broker),
                breaker_open=state is breaker.State.OPEN,
                status_ok=connection.status in USABLE,
                p95_ms=window.percentile_ms(0.95),
                success_rate=window.success_rate,
                demat_quantity=demat,
                position_quantity=position,
            )
        )
    return found


def _money(value) -> Decimal:
    try:
        return Decimal(str(value)) if value not in (None, "") else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def book(user, instrument: InstrumentInfo, connections: dict[str, BrokerConnection]):
    """The trader's book for the risk checks, and {key: (demat quantity, position quantity)}
    of this instrument per broker, from the positions the last portfolio sync stored."""
    key_of = {str(c.pk): key for key, c in connections.items()}
    quantities: dict[str, int] = {}
    values: dict[str, Decimal] = {}
    gross = Decimal(0)
    for line in ConsolidatedPosition.objects.filter(user=user).only(
        "isin", "exchange", "symbol", "total_quantity", "current_value", "total_cost"
    ):
        ref = line.isin or f"{line.exchange}:{line.symbol}"
        quantities[ref] = quantities.get(ref, 0) + int(line.total_quantity)
        worth = line.current_value if line.current_value is not None else line.total_cost
        values[ref] = values.get(ref, Decimal(0)) + worth
        gross += abs(worth)

    per_broker: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    asset_values: dict[str, dict[AssetType, Decimal]] = defaultdict(dict)
    lines = BrokerPositionBreakdown.objects.filter(position__user=user).select_related("position")
    for line in lines:
        key = key_of.get(str(line.connection_id))
        if key is None:
            continue
        position = line.position
        asset = _asset(position.asset_class)
        worth = line.current_value if line.current_value is not None else Decimal(0)
        asset_values[key][asset] = asset_values[key].get(asset, Decimal(0)) + worth
        ref = position.isin or f"{position.exchange}:{position.symbol}"
        if ref != instrument.key:
            continue
        per_broker[key][0 if not line.product else 1] += int(line.quantity)

    realized = unrealized = cash = Decimal(0)
    day_pnl: dict[str, Decimal] = {}
    snapshots = BrokerSnapshot.objects.filter(connection_id__in=list(key_of)).only(
        "connection_id", "payload"
    )
    for snapshot in snapshots:
        key = key_of[str(snapshot.connection_id)]
        payload = snapshot.payload or {}
        day = Decimal(0)
        for row in payload.get("positions") or ():
            made = _money(row.get("realized_pnl"))
            moving = _money(row.get("unrealized_pnl"))
            realized, unrealized, day = realized + made, unrealized + moving, day + made + moving
        day_pnl[key] = day
        cash += _money((payload.get("funds") or {}).get("available"))

    live = Order.objects.filter(user=user, status__in=LIVE).values_list("connection_id", flat=True)
    by_broker: dict[str, int] = defaultdict(int)
    count = 0
    for cid in live:
        count += 1
        if key_of.get(str(cid)):
            by_broker[key_of[str(cid)]] += 1
    held = {key: (max(0, q[0]), q[0] + q[1]) for key, q in per_broker.items()}
    return (
        Book(
            quantities=quantities,
            values=values,
            broker_quantities={key: q[0] + q[1] for key, q in per_broker.items()},
            broker_day_pnl=day_pnl,
            realized_pnl=realized,
            unrealized_pnl=unrealized,
            gross_exposure=gross,
            portfolio_value=gross,
            cash=cash,
            broker_asset_values={k: dict(v) for k, v in asset_values.items()},
            open_orders=count,
            open_orders_by_broker=dict(by_broker),
        ),
        held,
    )


ASSETS = {
    "EQUITY": AssetType.EQUITY,
    "ETF": AssetType.ETF,
    "MUTUAL_FUND": AssetType.MUTUAL_FUND,
    "DERIVATIVE": AssetType.DERIVATIVE,
    "DERIVATIVES": AssetType.DERIVATIVE,
    "COMMODITY": AssetType.COMMODITY,
    "CURRENCY": AssetType.CURRENCY,
}


def _asset(asset_class: str) -> AssetType:
    return ASSETS.get((asset_class or "").upper(), AssetType.EQUITY)


def quote(connection: BrokerConnection, listing: Listing) -> Decimal | None:
    """One broker's last price for its listing (None when it cannot say now)."""
    cache_key = f"orders:quote:{connection.broker}:{listing.exchange}:{listing.symbol}"
    cached = cache.get(cache_key)
    if cached is not None:
        return Decimal(cached)
    ref = InstrumentRef(listing.exchange, listing.symbol, listing.instrument_id)
    try:
        answer = registry.adapter_for(connection).quotes([ref])
    except BrokerError as error:
        logger.info("no quote from %s for %s: %s", connection.broker, listing.symbol, error)
        return None
    found = answer.get(ref) or next(iter(answer.values()), None)
    if found is None:
        return None
    cache.set(cache_key, str(found.last_price), QUOTE_SECONDS)
    return found.last_price


def last_price(
    user, instrument: InstrumentInfo, found: list[Candidate], connections: dict
) -> LastPrice | None:
    """The instrument's last price: the quote of the first usable broker in the trader's
    priority list (the primary first), else the next one's — the same ISIN through each
    broker's own listing — else the last synced price. It says whose it is (``LastPrice``)."""
    order = {key: n for n, key in enumerate(effective(user).priority)}
    ranked = sorted(found, key=lambda c: (order.get(c.key, len(order)), c.key))
    failed: list[str] = []
    for candidate in ranked:
        if candidate.listing is None:
            continue
        if not candidate.status_ok or candidate.breaker_open:
            failed.append(candidate.key)
            continue
        price = quote(connections[candidate.key], candidate.listing)
        if price is not None:
            return LastPrice(price, source=candidate.key, failed=tuple(failed))
        failed.append(candidate.key)
    line = (
        ConsolidatedPosition.objects.filter(user=user, isin=instrument.isin)
        if instrument.isin
        else ConsolidatedPosition.objects.filter(
            user=user, exchange=instrument.exchange, symbol=instrument.symbol
        )
    )
    synced = line.values_list("current_price", flat=True).first()
    return LastPrice(synced, failed=tuple(failed)) if synced is not None else None
