"""Every broker's way of naming an instrument → one instrument key.

The formats we meet (adapters pass the broker's own spelling in ``broker_symbol`` and its
identifier in ``instrument_id``): ``RELIANCE`` (Kite, Groww), ``NSE_EQ|INE002A01018`` (an
Upstox instrument key), ``NSE:RELIANCE-EQ`` / ``BSE:RELIANCE-A`` (Fyers), ``RELIANCE-EQ`` with
token ``2885`` (Angel One, IIFL), security id ``2885`` (Dhan).

The key of a line:

1. Derivatives, commodities and currency contracts: ``EXCHANGE:SYMBOL`` of the contract (one
   underlying ISIN has many contracts), with the lot size from the line or the master.
2. Securities: the ISIN, from the line itself, from an Upstox-style key, from the broker's
   instrument master (by its identifier, then by exchange + symbol), or from another line of
   the same sync that names the same exchange + symbol with an ISIN. So the NSE and BSE
   listings of one company are one line.
3. Otherwise ``EXCHANGE:SYMBOL``, and the line says why it could not be joined.

Everything here is pure except ``load_book``, which reads the stored masters once per sync.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from brokers.types import AssetType

# Exchanges whose instruments are contracts, not securities.
CONTRACT_EXCHANGES = frozenset({"NFO", "BFO", "MCX", "CDS", "BCD", "NCDEX", "NCO"})
CONTRACT_TYPES = frozenset({AssetType.DERIVATIVE, AssetType.COMMODITY, AssetType.CURRENCY})
EXCHANGES = frozenset({"NSE", "BSE", *CONTRACT_EXCHANGES})
# Upstox segments (the part before "|").
SEGMENTS = {
    "NSE_EQ": "NSE",
    "BSE_EQ": "BSE",
    "NSE_FO": "NFO",
    "BSE_FO": "BFO",
    "MCX_FO": "MCX",
    "NCD_FO": "CDS",
    "BCD_FO": "BCD",
    "NSE_COM": "NCO",
}
# Trailing decorations that are not part of the exchange's symbol: NSE series (RELIANCE-EQ,
# CENTRALBK-BE) and BSE groups (RELIANCE-A). Only these are cut: BAJAJ-AUTO keeps its dash.
SERIES = frozenset(
    {"EQ", "BE", "BZ", "BL", "SM", "ST", "IL", "IT", "GB", "GS", "RR", "TB"}
    | {"A", "B", "T", "X", "XT", "Z", "M", "MT", "P", "R"}
)
# Brokers whose answers name an instrument by their own key, not a trading symbol: Upstox's
# instrument_key ("NSE_EQ|INE002A01018", docs/brokers/upstox.md, Holding and Position items).
KEYED_BROKERS = frozenset({"upstox"})
# Listings in the order a line's price is taken from (aggregate's current-price rule).
LISTING_ORDER = {"NSE": 0, "BSE": 1}


def is_isin(value: str) -> bool:
    """ISO 6166 shape: two letters, nine alphanumerics, a check digit (INE002A01018)."""
    return (
        len(value) == 12
        and value.isalnum()
        and value.isupper()
        and value[:2].isalpha()
        and value[11].isdigit()
    )


def _valid_isin(value: str) -> str:
    value = (value or "").strip().upper()
    return value if is_isin(value) else ""


def plain_symbol(symbol: str) -> str:
    """The exchange's symbol without a broker's decoration: NSE:RELIANCE-EQ → RELIANCE."""
    symbol = symbol.strip().upper()
    if ":" in symbol:
        symbol = symbol.rpartition(":")[2]
    base, dash, series = symbol.rpartition("-")
    return base if dash and series in SERIES else symbol


class ParsedSymbol(NamedTuple):
    exchange: str = ""
    symbol: str = ""
    isin: str = ""
    instrument_id: str = ""


def parse_symbol(text: str, *, exchange: str = "", token: str = "") -> ParsedSymbol:
    """Read one broker spelling. ``exchange`` and ``token`` are what the line says besides.

    >>> parse_symbol("NSE_EQ|INE002A01018").isin
    'INE002A01018'
    >>> parse_symbol("BSE:RELIANCE-A").symbol
    'RELIANCE'
    """
    text = (text or "").strip()
    if "|" in text:  # Upstox: SEGMENT|ISIN for securities, SEGMENT|token for contracts
        segment, _, rest = text.partition("|")
        isin = rest if is_isin(rest) else ""
        return ParsedSymbol(SEGMENTS.get(segment, exchange), "", isin, text)
    if ":" in text:  # Fyers: EXCHANGE:SYMBOL-SERIES
        prefix, _, rest = text.partition(":")
        exchange = prefix.upper() if prefix.upper() in EXCHANGES else exchange
        text = rest
    if text.isdigit():  # Dhan's security id, an exchange token: a number, not a symbol
        return ParsedSymbol(exchange, "", "", token or text)
    return ParsedSymbol(exchange, plain_symbol(text), "", token)


class MasterEntry(NamedTuple):
    """One instrument as a broker's master describes it (a tuple: compared in C each sync)."""

    exchange: str
    symbol: str
    isin: str = ""
    name: str = ""
    lot_size: int = 1


@dataclass(slots=True)
class InstrumentBook:
    """What the brokers' instrument masters say about the lines of one sync (plain data)."""

    by_id: dict[tuple[str, str], MasterEntry] = field(default_factory=dict)
    by_symbol: dict[tuple[str, str, str], MasterEntry] = field(default_factory=dict)

    def find(self, broker: str, instrument_id: str, exchange: str, symbol: str):
        if instrument_id:
            entry = self.by_id.get((broker, instrument_id))
            if entry is not None:
                return entry
        if symbol:
            return self.by_symbol.get((broker, exchange, symbol))
        return None

    def for_broker(self, broker: str) -> list[list]:
        """This broker's entries as JSON rows (kept with its snapshot)."""
        rows = [["id", key[1], *_row(e)] for key, e in self.by_id.items() if key[0] == broker]
        rows += [["sym", "", *_row(e)] for key, e in self.by_symbol.items() if key[0] == broker]
        return rows

    def add_rows(self, broker: str, rows: Iterable[list]) -> None:
        for kind, instrument_id, exchange, symbol, isin, name, lot_size in rows:
            entry = MasterEntry(exchange, symbol, _valid_isin(isin), name, int(lot_size))
            if kind == "id":
                self.by_id[(broker, instrument_id)] = entry
            else:
                self.by_symbol[(broker, exchange, symbol)] = entry


def _row(entry: MasterEntry) -> list:
    return [entry.exchange, entry.symbol, entry.isin, entry.name, entry.lot_size]


class Identity(NamedTuple):
    """Who a line is: its key and what we know about it (a tuple: built 7,000 times a sync)."""

    key: str
    exchange: str
    symbol: str
    isin: str = ""
    name: str = ""
    lot_size: int = 1
    contract: bool = False
    in_master: bool = False


@dataclass(slots=True)
class _Lookup:
    """A spelling that needs the broker's master: its parts, and the Identity each broker's
    master made of it last time, reused while that master says the same (no contracts: their
    lot size is the line's too)."""

    exchange: str
    symbol: str
    isin: str
    instrument_id: str
    contract: bool
    made: dict[str, tuple[MasterEntry | None, Identity]] = field(default_factory=dict)


# Spellings already read → what they say. A portfolio's lines come back every sync and every
# rebuild, so reading each spelling once keeps a 7,000-line aggregation within its budget.
_SPELLINGS: dict[tuple, Identity | _Lookup] = {}
SPELLINGS_KEPT = 100_000
# An Identity from its eight fields at once, without NamedTuple's keyword-aware __new__.
_new_identity = tuple.__new__


def identify(broker: str, line, book: InstrumentBook) -> Identity:
    """The identity of one Holding or Position of ``broker``, from the line and the master.

    A line left without an ISIN here may still get one from another line of the same sync
    (``aggregate`` does that join, as it sees every broker at once).
    """
    return identify_all(broker, (line,), book)[0]


def identify_all(broker: str, lines: Iterable, book: InstrumentBook) -> list[Identity]:
    """``identify`` for each of ``lines``, in order: the aggregation's inner loop, kept lean."""
    spellings = _SPELLINGS
    found = []
    for line in lines:
        spelling = (
            line.exchange,
            line.symbol,
            line.broker_symbol,
            line.instrument_id,
            line.isin,
            line.asset_type,
        )
        try:
            known = spellings.get(spelling)
        except TypeError:  # an unhashable field (bad input): read it without remembering
            known = _read_spelling(*spelling)
        else:
            if known is None:
                known = _read_spelling(*spelling)
                if len(spellings) >= SPELLINGS_KEPT:
                    spellings.clear()
                spellings[spelling] = known
        # An Identity: the spelling alone says it all (an ISIN, not a contract).
        found.append(known if type(known) is Identity else _from_master(broker, line, known, book))
    return found


def _from_master(broker: str, line, known: _Lookup, book: InstrumentBook) -> Identity:
    entry = book.find(broker, known.instrument_id, known.exchange, known.symbol)
    made = known.made.get(broker)
    if made is not None and (made[0] is entry or made[0] == entry):
        return made[1]
    exchange, symbol, isin = known.exchange, known.symbol, known.isin
    name, lot_size = "", 1
    if entry is not None:
        exchange = exchange or entry.exchange
        symbol = symbol or entry.symbol
        isin = isin or entry.isin
        name, lot_size = entry.name, entry.lot_size
    if not symbol:
        symbol = f"#{known.instrument_id}" if known.instrument_id else "?"
    if known.contract:
        lot_size = max(int(getattr(line, "lot_size", 1) or 1), lot_size)
        key = f"{exchange or '?'}:{symbol}"
        parts = (key, exchange, symbol, "", name, lot_size, True, entry is not None)
        return _new_identity(Identity, parts)
    key = isin or f"{exchange or '?'}:{symbol}"
    parts = (key, exchange, symbol, isin, name, lot_size, False, entry is not None)
    identity = _new_identity(Identity, parts)
    known.made[broker] = (entry, identity)
    return identity


def _read_spelling(exchange, symbol, broker_symbol, instrument_id, isin, asset_type):
    """What a line's own fields say: an Identity, or the parts still to look up in the master."""
    exchange, symbol, isin = str(exchange or ""), str(symbol or ""), str(isin or "")
    instrument_id = str(instrument_id or "")
    if isin and not is_isin(isin):
        isin = _valid_isin(isin)
    if not symbol or ":" in symbol or "|" in symbol or symbol.isdigit():
        parsed = parse_symbol(
            symbol or str(broker_symbol or "") or instrument_id, exchange=exchange
        )
        exchange, symbol = parsed.exchange, parsed.symbol
        isin = isin or parsed.isin
        instrument_id = instrument_id or parsed.instrument_id
    elif "-" in symbol or not symbol.isupper():
        symbol = plain_symbol(symbol)
    exchange = exchange.strip().upper()
    if not isin and "|" in instrument_id:
        isin = parse_symbol(instrument_id).isin
    contract = exchange in CONTRACT_EXCHANGES or asset_type in CONTRACT_TYPES
    if isin and symbol and not contract:
        return _new_identity(Identity, (isin, exchange, symbol, isin, "", 1, False, False))
    return _Lookup(exchange, symbol, isin, instrument_id, contract)


# --- The stored masters ---------------------------------------------------------------------
CHUNK = 500  # values per IN (...) query, well under every database's parameter limit


def load_book(lines_by_broker: dict[str, Iterable]) -> InstrumentBook:
    """Read, in a few queries, the master entries of every line that names no ISIN."""
    from brokers.models import InstrumentRecord

    book = InstrumentBook()
    for broker, lines in lines_by_broker.items():
        ids, symbols = set(), set()
        for line in lines:
            if line.isin and is_isin(line.isin):
                continue
            parsed = parse_symbol(
                line.symbol or line.broker_symbol or str(line.instrument_id or ""),
                exchange=line.exchange or "",
            )
            if line.instrument_id:
                ids.add(str(line.instrument_id))
            if parsed.symbol:
                symbols.add(parsed.symbol)
        columns = ("instrument_id", "exchange", "symbol", "isin", "name", "lot_size")
        records = InstrumentRecord.objects.filter(broker=broker).values_list(*columns)
        for chunk in _chunks(sorted(ids)):
            for instrument_id, exchange, symbol, isin, name, lot in records.filter(
                instrument_id__in=chunk
            ):
                entry = MasterEntry(exchange, symbol, _valid_isin(isin), name, lot)
                book.by_id[(broker, instrument_id)] = entry
        for chunk in _chunks(sorted(symbols)):
            for _id, exchange, symbol, isin, name, lot in records.filter(symbol__in=chunk):
                known = book.by_symbol.get((broker, exchange, symbol))
                if known is None or (isin and not known.isin):
                    book.by_symbol[(broker, exchange, symbol)] = MasterEntry(
                        exchange, symbol, _valid_isin(isin), name, lot
                    )
    return book


def name_lines(lines) -> None:
    """Every consolidated line without a name takes one from the stored masters: by its ISIN
    (any broker's master), else by its exchange and symbol. Where masters disagree, the first
    broker's in alphabetical order, so the name never depends on who answered first."""
    from brokers.models import InstrumentRecord

    missing = [line for line in lines if not line.name]
    if not missing:
        return
    named = InstrumentRecord.objects.exclude(name="").order_by("broker", "instrument_id")
    by_isin: dict[str, str] = {}
    for chunk in _chunks(sorted({line.isin for line in missing if line.isin})):
        for isin, name in named.filter(isin__in=chunk).values_list("isin", "name"):
            by_isin.setdefault(isin, name)
    by_listing: dict[tuple[str, str], str] = {}
    symbols = sorted({line.symbol for line in missing if line.isin not in by_isin})
    for chunk in _chunks(symbols):
        rows = named.filter(symbol__in=chunk).values_list("exchange", "symbol", "name")
        for exchange, symbol, name in rows:
            by_listing.setdefault((exchange, symbol), name)
    for line in missing:
        line.name = by_isin.get(line.isin) or by_listing.get((line.exchange, line.symbol), "")


def _chunks(values: list[str]):
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


# --- Amounts and quantities, as they may arrive -----------------------------------------------
# Prices sent as text, floats, blanks, NaN, negative amounts, fractional quantities: each is
# read where it can be and flagged, and never raises (the aggregator keeps the line, flagged).
ZERO = Decimal(0)


def read_amount(value, flags: list[dict], what: str, *, signed: bool = False) -> Decimal | None:
    """An amount as Decimal, or None when missing; anything unusable is flagged, never raised."""
    if value is None:
        return None
    if type(value) is not Decimal:
        if isinstance(value, bool):
            return _bad(value, flags, what)
        if isinstance(value, int):
            value = Decimal(value)
        elif isinstance(value, float):
            value = Decimal(repr(value))  # the float as written, not its binary expansion
        elif isinstance(value, str):
            text = value.strip().replace(",", "")
            if not text:
                return None
            try:
                parsed = Decimal(text)
            except InvalidOperation:
                return _bad(value, flags, what)
            flags.append(flag("price_text", f"{what} came as text {value!r}: read as {parsed}"))
            value = parsed
        else:
            return _bad(value, flags, what)
    if not value.is_finite() or (value < ZERO and not signed):
        return _bad(value, flags, what)
    return value


def _bad(value, flags: list[dict], what: str) -> None:
    flags.append(flag("bad_price", f"{what} {value!r} is not a usable amount: ignored"))
    return None


def read_quantity(value, flags: list[dict]) -> int | None:
    if type(value) is int:
        return value
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        number = None
    if isinstance(value, bool) or number is None or not number.is_finite() or number % 1:
        flags.append(flag("bad_quantity", f"quantity {value!r} is not a whole number: left out"))
        return None
    flags.append(flag("quantity_text", f"quantity came as {value!r}; read as {int(number)}"))
    return int(number)


def flag(code: str, message: str, broker: str = "") -> dict:
    return {"code": code, "message": message, "broker": broker}


def read_line(line, is_position: bool):
    """(quantity, average, last, close, counts, flags) of a line off the fast path."""
    flags: list[dict] = []
    quantity = read_quantity(line.quantity, flags)
    average = read_amount(line.average_price, flags, "average price")
    last = positive(read_amount(line.last_price, flags, "last price"))
    close = positive(read_amount(line.close_price, flags, "previous close"))
    included = True
    if quantity is None:
        included, quantity = False, 0
    elif quantity <= 0 and (quantity == 0 or not is_position):  # a position may be short
        code = "zero_quantity" if quantity == 0 else "negative_quantity"
        flags.append(flag(code, f"quantity {quantity} in a holding: left out"))
        included = False
    if average is None and included:
        flags.append(flag("no_average", "no usable average price: left out"))
        included = False
    return quantity, average, last, close, included, flags


def positive(value: Decimal | None) -> Decimal | None:
    return value if value is not None and value > ZERO else None
