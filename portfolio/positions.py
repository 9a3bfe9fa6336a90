"""The queryable copy of a trader's consolidated portfolio: one ``ConsolidatedPosition`` row
per line and one ``BrokerPositionBreakdown`` row per broker line (rounded to the columns)."""

from __future__ import annotations

import hashlib

from django.core.cache import cache
from django.db import transaction

from portfolio.models import BrokerPositionBreakdown, ConsolidatedPosition
from portfolio.totals import Consolidated

# How long the digest of the rows last written is kept: a sync within that time that brought
# the same numbers writes nothing; after it, the rows are rewritten once.
DIGEST_SECONDS = 15 * 60


def store(user, portfolio: Consolidated) -> None:
    """Rewrite the trader's rows from ``portfolio``, only when they would change.

    The digest of what was last written is kept in the cache, so a sync that brought the same
    numbers (outside market hours, most do) writes nothing here. Without the digest (a cold
    cache) the rows are rewritten. Call it inside the sync's transaction.
    """
    rows, parts = [], {}
    for line in portfolio.lines:
        answered = [b for b in line.broker_lines if not _missing(b)]
        if not answered:  # only a failed broker's last good line: nothing current to keep
            continue
        row = ConsolidatedPosition(
            user=user,
            instrument_key=line.key[:100],
            kind=line.kind,
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
        for b in answered:
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
    delete(user)  # and the old digest: until the new rows commit, nothing matches
    ConsolidatedPosition.objects.bulk_create(rows, batch_size=500)
    BrokerPositionBreakdown.objects.bulk_create(parts.values(), batch_size=500)
    transaction.on_commit(lambda: cache.set(key, digest, DIGEST_SECONDS))


def delete(user) -> None:
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


def _missing(line) -> bool:
    """A failed broker's last good line, shown flagged as partial but not current."""
    return not line.included and any(f["code"] == "partial" for f in line.flags)
