"""IIFL's instrument master (docs/brokers/iifl.md §4, gotcha 10): one headerless text of "\n"
rows and "|" fields, whose layout depends on the segment. Pure functions, no HTTP; trouble
raises ValueError, which the HTTP door reports as BadResponse.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from brokers.adapters._iifl_parse import CASH, EXCHANGES, SEGMENT_NUMBERS, identifier
from brokers.adapters.wire import money, quantity
from brokers.types import Instrument

# §4 master: OptionType 3 = CE, 4 = PE (the SDK's FO.csv agrees with the strikes); 1 = future.
OPTION_TYPES = {"1": "FUT", "3": "CE", "4": "PE"}
CASH_COLUMNS = 13  # through LotSize; DisplayName (14) and ISIN (15) are read when present
DERIVATIVE_COLUMNS = 19  # through OptionType


def master_rows(text) -> list[list[str]]:
    if not isinstance(text, str):
        raise TypeError("the master is not text")
    rows = []
    for line in text.splitlines():
        if not line.strip():
            continue
        fields = [field.strip() for field in line.split("|")]
        need = CASH_COLUMNS if fields[0] in CASH else DERIVATIVE_COLUMNS
        if fields[0] not in SEGMENT_NUMBERS or len(fields) < need:
            raise ValueError(f"master row with {len(fields)} fields for {fields[0][:10]!r}")
        rows.append(fields)
    return rows


def instrument(fields: list[str]) -> Instrument:
    segment = fields[0]
    common: dict[str, Any] = {
        "instrument_id": identifier(fields[1]),
        "exchange": EXCHANGES[segment],
        "segment": segment,
        "tick_size": money(fields[11]),
        "lot_size": quantity(fields[12]),
    }
    if segment in CASH:
        display = fields[14] if len(fields) > 14 else ""
        return Instrument(
            symbol=fields[3],
            isin=fields[15] if len(fields) > 15 else "",
            name=display or fields[4],
            instrument_type=fields[5],
            **common,
        )
    kind = OPTION_TYPES.get(fields[18], fields[5])
    return Instrument(
        symbol=fields[4],  # Description is the exchange's trading symbol (NIFTY24NOV24000CE)
        name=fields[3],
        instrument_type=kind,
        expiry=_expiry(fields[16]),
        strike=money(fields[17]) if kind in ("CE", "PE") else None,
        **common,
    )


def instruments(text) -> list[Instrument]:
    parsed = [instrument(fields) for fields in master_rows(text)]
    if not parsed:
        raise ValueError("the instrument master is empty")
    return parsed


def directory(text) -> dict:
    """One segment of the master as lookups: id → (symbol, isin, description), symbol → id."""
    ids, symbols = {}, {}
    for fields in master_rows(text):
        found = instrument(fields)
        ids[found.instrument_id] = (found.symbol, found.isin, fields[4])
        key = found.symbol.upper()
        if key not in symbols or found.instrument_type == "EQ":
            symbols[key] = found.instrument_id
    return {"ids": ids, "symbols": symbols}


def _expiry(text: str) -> date | None:
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        return None
