"""What a trader asks for, checked for shape, and the instrument it names found in the masters.

Shape errors (a missing side, a quantity that is not a whole number, an unknown instrument)
are ``InvalidOrder``: a clear message, nothing stored, nothing sent. Rules about the order
itself (lot size, tick size, price band, market protection...) are the risk checks'.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from decimal import Decimal

from django.db.models import Q

from brokers.models import InstrumentRecord
from brokers.types import AssetType, OrderType, Product, Side, Validity
from portfolio.models import ConsolidatedPosition
from routing.intent import InstrumentInfo, Intent

ISIN = re.compile(r"^[A-Z]{2}[A-Z0-9]{9}[0-9]$")
LISTING = re.compile(r"^([A-Z]{2,4}):([A-Za-z0-9&\-_.]{1,60})$")
PREFERRED_EXCHANGES = ("NSE", "BSE", "NFO", "BFO", "MCX", "CDS", "BCD")
DEFAULT_TICK = Decimal("0.05")
SEARCH_MIN = 2  # characters before a search looks
SEARCH_ROWS = 300  # master rows read for one search, before listings are merged


class InvalidOrder(ValueError):
    """The request cannot be an order: each problem is (field, sentence)."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(message for _, message in problems))


@dataclass(frozen=True)
class OrderInput:
    """An order as the trader asked for it (the API's or the ticket's fields, parsed)."""

    instrument: str  # ISIN (INE002A01018) or EXCHANGE:SYMBOL (NSE:RELIANCE)
    side: Side
    quantity: int
    order_type: OrderType
    product: Product
    validity: Validity = Validity.DAY
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    market_protection: int = -1
    exchange: str = ""  # with an ISIN: which listing (NSE by default)
    broker: str = ""  # a policy key to send it to; "" lets routing choose

    def canonical(self) -> dict:
        """The request as compared for an Idempotency-Key (numbers as exact text)."""
        data = asdict(self)
        for name in ("price", "trigger_price"):
            if data[name] is not None:
                data[name] = str(data[name].normalize())
        return {k: (str(v) if v is not None else None) for k, v in data.items()}


def find_instrument(ref: str, *, exchange: str = "", user=None) -> InstrumentInfo:
    """The instrument ``ref`` names, as the masters describe it, or InvalidOrder.

    Some masters carry no ISIN (Kite's, Angel One's, Dhan's): with ``user``, an ISIN none of
    the masters lists is looked up among the trader's synced lines (whose ISINs came from the
    holdings), and a listing's ISIN likewise."""
    ref = (ref or "").strip()
    exchange = (exchange or "").strip().upper()
    rows = InstrumentRecord.objects.all()
    listing = LISTING.match(ref.upper()) if ":" in ref else None
    known_isin = ""
    if listing:
        exchange, symbol = listing.group(1), listing.group(2)
        rows = rows.filter(exchange=exchange, symbol__iexact=symbol)
    elif ISIN.match(ref.upper()):
        known_isin = ref.upper()
        by_isin = rows.filter(isin=known_isin)
        if exchange:
            by_isin = by_isin.filter(exchange=exchange)
        line = _synced_line(user, isin=known_isin, exchange=exchange)
        if not by_isin.exists() and line is not None:
            rows = rows.filter(exchange=line[0], symbol=line[1])
        else:
            rows = by_isin
    else:
        raise InvalidOrder(
            [("instrument", f"“{ref[:40]}” is neither an ISIN nor EXCHANGE:SYMBOL (NSE:RELIANCE).")]
        )
    found = list(rows.order_by("broker")[:50])
    if not found:
        where = f" on {exchange}" if exchange and not listing else ""
        raise InvalidOrder(
            [("instrument", f"No broker's instrument master lists {ref.upper()}{where}.")]
        )

    def rank(row: InstrumentRecord):
        order = (
            PREFERRED_EXCHANGES.index(row.exchange) if row.exchange in PREFERRED_EXCHANGES else 9
        )
        return (order, not row.isin, row.broker)

    row = min(found, key=rank)
    isin = known_isin or row.isin or next((r.isin for r in found if r.isin), "")
    if not isin:
        line = _synced_line(user, exchange=row.exchange, symbol=row.symbol)
        isin = line[2] if line is not None else ""
    return InstrumentInfo(
        isin=isin,
        exchange=row.exchange,
        symbol=row.symbol,
        name=row.name,
        asset_type=_asset_type(row),
        segment=row.segment,
        instrument_type=row.instrument_type,
        lot_size=max(1, row.lot_size),
        tick_size=row.tick_size if row.tick_size and row.tick_size > 0 else DEFAULT_TICK,
        expiry=row.expiry,
    )


def search_listings(*, query: str, user, limit: int) -> list[dict]:
    """Listings in the stored instrument masters matching an ISIN, EXCHANGE:SYMBOL, a symbol's
    start or a part of a name: one per listing (however many brokers list it), exact symbols
    and the main exchanges first, at most ``limit``."""
    if len(query) < SEARCH_MIN:
        return []
    rows = InstrumentRecord.objects.all()
    upper = query.upper()
    asked_isin = upper if ISIN.match(upper) else ""
    if asked_isin:
        # Some masters carry no ISIN (Kite's, Angel One's, Dhan's): the trader's synced lines
        # (whose ISINs came from the holdings) name the listing then, as find_instrument does.
        held = ConsolidatedPosition.objects.filter(user=user, isin=upper)
        listed = Q(isin=upper)
        for exchange, symbol in held.values_list("exchange", "symbol")[:5]:
            listed |= Q(exchange=exchange, symbol=symbol)
        rows = rows.filter(listed)
    elif ":" in upper:
        exchange, _, symbol = upper.partition(":")
        rows = rows.filter(exchange=exchange.strip(), symbol__istartswith=symbol.strip())
    else:
        rows = rows.filter(Q(symbol__istartswith=query) | Q(name__icontains=query))
    fields = ("exchange", "symbol", "isin", "name", "lot_size", "tick_size", "expiry")
    found: dict[tuple, dict] = {}
    for row in rows.order_by("symbol").values(*fields)[:SEARCH_ROWS]:
        row["isin"] = row["isin"] or asked_isin
        # Brokers write one listing in their own ways: merged by ISIN where the master has
        # one, the exchange's symbol otherwise.
        key = (row["exchange"], row["isin"] or row["symbol"].upper())
        seen = found.get(key)
        if seen is None:
            found[key] = {
                **row,
                "ref": f"{row['exchange']}:{row['symbol']}",
                "lot_size": max(1, row["lot_size"]),
                "tick_size": row["tick_size"] if row["tick_size"] > 0 else DEFAULT_TICK,
            }
        elif not seen["name"] and row["name"]:
            seen["name"] = row["name"]

    exact = upper.partition(":")[2].strip() or upper

    def rank(item: dict):
        exchange = item["exchange"]
        at = PREFERRED_EXCHANGES.index(exchange) if exchange in PREFERRED_EXCHANGES else 9
        return (item["symbol"].upper() != exact, at, item["symbol"])

    return sorted(found.values(), key=rank)[:limit]


def _synced_line(user, *, isin="", exchange="", symbol=""):
    """(exchange, symbol, isin) of one of the trader's synced lines, or None."""
    if user is None:
        return None
    lines = ConsolidatedPosition.objects.filter(user=user)
    if isin:
        lines = lines.filter(isin=isin)
        if exchange:
            lines = lines.filter(exchange=exchange)
    else:
        lines = lines.filter(exchange=exchange, symbol=symbol).exclude(isin="")
    return lines.values_list("exchange", "symbol", "isin").first()


def _asset_type(row: InstrumentRecord) -> AssetType:
    kind = (row.instrument_type or "").upper()
    if row.exchange in ("NFO", "BFO") or kind.startswith(("FUT", "OPT")) or kind in ("CE", "PE"):
        return AssetType.DERIVATIVE
    if row.exchange == "MCX":
        return AssetType.COMMODITY
    if row.exchange in ("CDS", "BCD"):
        return AssetType.CURRENCY
    if kind == "ETF" or "BEES" in row.symbol.upper():
        return AssetType.ETF
    return AssetType.EQUITY


def intent_of(order: OrderInput, instrument: InstrumentInfo) -> Intent:
    return Intent(
        instrument=instrument,
        side=order.side,
        quantity=order.quantity,
        order_type=order.order_type,
        product=order.product,
        validity=order.validity,
        price=order.price,
        trigger_price=order.trigger_price,
        market_protection=order.market_protection,
    )
