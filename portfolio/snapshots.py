"""What each broker answered at its last sync, kept as its snapshot (``BrokerSnapshot``).

A payload holds the holdings, positions, funds and quotes a broker answered, the quotes its
lines needed (asked at once next time) and the instrument-master entries its lines were keyed
with, as JSON with every amount exact (Decimal as text). It lets the consolidated portfolio be
rebuilt without calling the broker again. No token or secret is ever part of it.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from decimal import Decimal, InvalidOperation

from brokers.models import BrokerConnection
from brokers.types import AssetType, Funds, Holding, InstrumentRef, Position, Quote
from portfolio.aggregate import BrokerPortfolio
from portfolio.fetch import Outcome
from portfolio.models import BrokerSnapshot
from portfolio.normalize import InstrumentBook

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
SAVED_FIELDS = ["attempted_at", "payload", "taken_at", "error", "error_kind"]


def snapshot_of(connection: BrokerConnection) -> BrokerSnapshot | None:
    try:
        return connection.portfolio_snapshot
    except BrokerSnapshot.DoesNotExist:
        return None


# --- The payload: a broker's answer as JSON, and back -----------------------------------------
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


# --- Saving one sync's snapshots --------------------------------------------------------------
def save(outcomes: list[Outcome], payloads: dict, now: datetime) -> None:
    """Each connection's snapshot: new ones in one INSERT, the ones that answered the same as
    last time in one UPDATE of their times, the others one UPDATE each (bulk_update's CASE
    over the JSON costs more than that). The connections hold the saved snapshots afterwards,
    for the view built next. ``payloads``: the encoded answer of each connection that landed."""
    new, same, changed = [], [], []
    for outcome in outcomes:
        connection = outcome.connection
        snapshot = snapshot_of(connection)
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
        snapshot.save(update_fields=SAVED_FIELDS)
