"""Each broker's instrument master: identifier → exchange, symbol, ISIN, lot and tick size.

A new download replaces the stored master only after it validates, in one transaction, so a
corrupted or truncated file leaves yesterday's master in place.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from brokers.adapters.base import BrokerAdapter
from brokers.clock import MASTERS_REFRESH, last_ist
from brokers.errors import BadResponse
from brokers.models import Broker, InstrumentMasterLoad, InstrumentRecord
from brokers.types import Instrument

# A download with fewer rows than this share of the stored master is treated as truncated.
MIN_SHARE_OF_PREVIOUS = 0.5


class InvalidMaster(BadResponse):
    pass


def validate(broker: str, instruments: list[Instrument]) -> None:
    if not instruments:
        raise InvalidMaster("the instrument master is empty", broker=broker, endpoint="instruments")
    incomplete = [i for i in instruments if not (i.instrument_id and i.exchange and i.symbol)]
    if incomplete:
        raise InvalidMaster(
            f"{len(incomplete)} rows lack an identifier, exchange or symbol",
            broker=broker,
            endpoint="instruments",
        )
    previous = InstrumentMasterLoad.objects.filter(broker=broker).first()
    if previous and len(instruments) < previous.count * MIN_SHARE_OF_PREVIOUS:
        raise InvalidMaster(
            f"only {len(instruments)} rows against {previous.count} stored: looks truncated",
            broker=broker,
            endpoint="instruments",
        )


def replace_master(broker: str, instruments: Iterable[Instrument]) -> int:
    """Validate, then swap in the new master atomically. Returns the number of rows."""
    rows = {i.instrument_id: i for i in instruments}  # the broker's id is unique per master
    instruments = list(rows.values())
    validate(broker, instruments)
    with transaction.atomic():
        InstrumentRecord.objects.filter(broker=broker).delete()
        InstrumentRecord.objects.bulk_create(
            (
                InstrumentRecord(
                    broker=broker,
                    instrument_id=i.instrument_id,
                    exchange=i.exchange,
                    symbol=i.symbol,
                    isin=i.isin,
                    name=i.name[:200],
                    segment=i.segment,
                    instrument_type=i.instrument_type,
                    lot_size=max(1, i.lot_size),
                    tick_size=i.tick_size,
                    expiry=i.expiry,
                    strike=i.strike,
                )
                for i in instruments
            ),
            batch_size=2000,
        )
        InstrumentMasterLoad.objects.update_or_create(
            broker=broker, defaults={"loaded_at": timezone.now(), "count": len(instruments)}
        )
    return len(instruments)


def refresh_master(adapter: BrokerAdapter) -> int:
    """Download a broker's master and store it if it validates."""
    return replace_master(adapter.key, adapter.instruments())


def is_current(broker: str, *, now: datetime | None = None) -> bool:
    """Whether the broker's master was loaded since the last daily refresh time."""
    loaded = (
        InstrumentMasterLoad.objects.filter(broker=broker)
        .values_list("loaded_at", flat=True)
        .first()
    )
    return loaded is not None and loaded >= last_ist(MASTERS_REFRESH, before=now)


def lookup(broker: str, instrument_id: str) -> InstrumentRecord | None:
    return InstrumentRecord.objects.filter(broker=broker, instrument_id=instrument_id).first()


def isin_for(broker: str, exchange: str, symbol: str) -> str:
    record = (
        InstrumentRecord.objects.filter(broker=broker, exchange=exchange, symbol=symbol)
        .exclude(isin="")
        .values_list("isin", flat=True)
        .first()
    )
    return record or ""


def resolve(refs: Iterable[str]) -> dict[str, str]:
    """Which of ``refs`` (ISINs like INE002A01018, or EXCHANGE:SYMBOL like NSE:RELIANCE) some
    broker's master holds: {ref: its ISIN ("" for a listing without one)}. Two queries at most,
    however many refs; refs no master holds are left out."""
    isins, listings = set(), {}
    for ref in refs:
        exchange, sep, symbol = ref.partition(":")
        if sep:
            listings[(exchange, symbol)] = ref
        else:
            isins.add(ref)
    found: dict[str, str] = {}
    if isins:
        rows = InstrumentRecord.objects.filter(isin__in=isins).values_list("isin", flat=True)
        found.update({isin: isin for isin in rows})
    if listings:
        symbols = {symbol for _, symbol in listings}
        # broker__in lets the (broker, exchange, symbol) index serve the lookup.
        rows = InstrumentRecord.objects.filter(  # type: ignore[assignment]
            broker__in=Broker.values,
            exchange__in={exchange for exchange, _ in listings},
            symbol__in=symbols,
        ).values_list("exchange", "symbol", "isin")
        for exchange, symbol, isin in rows:  # type: ignore[str-unpack]
            ref = listings.get((exchange, symbol))  # type: ignore[assignment]
            if ref is not None and (isin or ref not in found):
                found[ref] = isin
    return found
