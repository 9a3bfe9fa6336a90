"""Per-broker portfolios → one consolidated portfolio. Pure functions: no database, no clock.

``consolidate(portfolios, book=...)`` joins every holding and open position of every broker by
instrument key (``normalize``: the ISIN where one is known, so NSE and BSE listings are one
line; ``EXCHANGE:SYMBOL`` for contracts and for what cannot be joined) and computes, in
``Decimal`` throughout (rounding is for whoever presents the numbers):

- per instrument, up to two lines: its holdings (HOLDING) and its open positions (POSITION),
  never mixed, as each broker keeps them on separate pages. Each has its total (net)
  quantity, weighted average price (total cost / total quantity), the instrument's one
  current price, total cost, current value, unrealized P&L (for positions: MTM) and %, day
  change and %, and the per-broker lines (quantity, average price, value at the line's
  price, cost, day change). A holding's day change runs from the previous close; a
  position's from the previous close for what was carried in and from its average price for
  what was traded today (``_carried`` says how that is known);
- the totals (``totals.summarize``, the last step of this function): holdings value,
  invested, P&L and day change; open positions' MTM, day change and the day's realized P&L
  (closed positions too); cash; net worth (holdings + positions' MTM + cash); the broker
  breakdown (each connection's holdings value, invested, P&L, day change, positions' MTM
  and day's P&L, cash, share) and the asset allocation of the net worth.

The current-price rule (one price per line). Among the broker lines that report a positive
last price, the price is taken from:

1. the primary listing: NSE, then BSE, then any other exchange;
2. on that listing, a quote fetched in this sync before a price that came inside the
   holdings or positions answer;
3. then the broker line with the largest quantity, then the broker key (so the choice never
   depends on the order the brokers answered in).

Every broker line of the consolidated line is valued at that one price, so the per-broker
values add up to the line's value. The previous close comes from the same listing as the
price, by the same order; if that listing has no close, the line has no day change (flagged).

It does so in two steps, which a sync takes apart: ``read_portfolio`` reads one broker's
answer (each line identified, its numbers read, priced from that broker's answer and quotes)
as soon as that broker lands, while the others are still answering; ``combine`` aggregates
the readings once all are in (joins, the one price per line, every sum). ``consolidate`` is
both in one go, for a rebuild from stored snapshots.

Bad input never raises and never bends a total silently. A broker line whose quantity is not
a whole number, or negative for a holding, or zero, is shown flagged and left out of its line;
a price that cannot be read is treated as missing (flagged); a price sent as text is read and
flagged; a line without any price is left out of the totals, and the portfolio says so; a line
without a previous close is left out of the day change, and the portfolio says so too.
"""

from __future__ import annotations

import gc
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

from brokers.types import Funds, Holding, InstrumentRef, Position, Quote
from portfolio.normalize import (
    KEYED_BROKERS,
    LISTING_ORDER,
    Identity,
    InstrumentBook,
    flag,
    identify_all,
    positive,
    read_amount,
    read_line,
)
from portfolio.totals import Consolidated, summarize

ZERO = Decimal(0)
HUNDRED = Decimal(100)
# The rule for an instrument with no ISIN that no broker's master knows (shown on the page).
UNKNOWN_RULE = (
    "An instrument with no ISIN that no instrument master knows is counted in the totals at "
    "the price its broker gives, as its broker's own holdings page counts it; it is joined "
    "with other brokers' lines only by exchange and symbol, and flagged \u201cunknown "
    "instrument\u201d. Without a price it is left out of the totals, and the notes say so."
)
CONTRACT_CLASSES = {"MCX": "COMMODITY", "NCDEX": "COMMODITY", "CDS": "CURRENCY", "BCD": "CURRENCY"}


@dataclass(slots=True)
class BrokerPortfolio:
    """What one connection answered in one sync (the aggregator's input)."""

    connection_id: str
    broker: str
    account_id: str = ""
    label: str = ""
    holdings: Sequence[Holding] = ()
    positions: Sequence[Position] = ()
    quotes: Mapping[InstrumentRef, Quote] = field(default_factory=dict)
    funds: Funds | None = None
    notes: Sequence[str] = ()  # e.g. "quotes unavailable: ...", shown with the portfolio


@dataclass(slots=True)
class BrokerLine:
    source: Holding | Position  # the line as the broker answered it
    identity: Identity
    asset_type: str
    connection_id: str
    broker: str
    account_id: str
    exchange: str
    quantity: int
    average_price: Decimal | None
    last_price: Decimal | None  # what this broker said (its quote, or its answer)
    close_price: Decimal | None
    order: int  # its place in the current-price rule (_add_lines says how), lower first
    included: bool = True
    value: Decimal | None = None  # at the consolidated line's one price
    flags: list[dict] | tuple = ()  # a tuple while there is nothing to say
    position: bool = False  # an open position (else a holding)
    cost: Decimal | None = None  # quantity x its average price
    day: Decimal | None = None  # its day change (_part says how)

    @property
    def broker_symbol(self) -> str:
        """The instrument as this broker wrote it: its instrument key for a broker that names
        instruments by key (Upstox's "NSE_EQ|INE002A01018"), else its trading symbol."""
        line = self.source
        if self.broker in KEYED_BROKERS and line.instrument_id:
            return str(line.instrument_id)
        return line.broker_symbol or line.symbol or str(line.instrument_id or "")

    @property
    def product(self) -> str:
        """CNC, MIS, NRML... for a position; "" for a holding."""
        return getattr(self.source, "product", "")


@dataclass(slots=True)
class Line:
    key: str
    isin: str
    symbol: str
    exchange: str
    name: str
    asset_class: str
    lot_size: int
    quantity: int
    average_price: Decimal | None
    current_price: Decimal | None
    previous_close: Decimal | None
    cost: Decimal
    value: Decimal | None
    pnl: Decimal | None
    pnl_percent: Decimal | None
    day_change: Decimal | None
    day_change_percent: Decimal | None
    price_from: str  # the broker whose price the line uses
    broker_lines: list[BrokerLine]
    flags: list[dict]
    kind: str = "HOLDING"  # HOLDING or POSITION (an open intraday/F&O/delivery-today position)
    day_base: Decimal | None = None  # what the day change is a percent of
    realized: Decimal = ZERO  # positions: realized today on this line's open broker lines

    @property
    def in_totals(self) -> bool:
        return self.value is not None

    @property
    def is_position(self) -> bool:
        return self.kind == "POSITION"


@dataclass(slots=True)
class Reading:
    """One broker's answer, read: each line identified, its numbers read (odd ones flagged)
    and priced from this broker's own answer and quotes; the day's realized P&L. Made once
    and combined once: its broker lines become the consolidated lines' own."""

    portfolio: BrokerPortfolio
    lines: list[BrokerLine]  # those with a key: an ISIN, or a contract
    unjoined: list[BrokerLine]  # no ISIN yet: a line of another broker may give it one
    realized: Decimal  # the day's realized P&L of its positions, closed ones too
    notes: list[dict]


def consolidate(
    portfolios: Sequence[BrokerPortfolio],
    *,
    book: InstrumentBook | None = None,
    missing: Sequence[tuple[BrokerPortfolio, str, str]] = (),
) -> Consolidated:
    """Every broker's portfolio read, then all of them combined: the two steps in one go.

    ``missing``: the last good portfolio of each broker that failed, with the broker's name
    and when it was seen ("09:42"): its lines are shown flagged as partial, never counted
    (``read_missing``)."""
    book = book or InstrumentBook()
    with _no_cycle_collection():
        readings = [_read(portfolio, book) for portfolio in portfolios]
        absent = [_read_missing(p, book, name, seen) for p, name, seen in missing]
        return _combine(readings, absent)


def read_portfolio(portfolio: BrokerPortfolio, book: InstrumentBook) -> Reading:
    """The first step, one broker at a time: a sync reads each answer as it lands, while the
    other brokers are still answering. ``book``: at least this broker's master entries."""
    with _no_cycle_collection():
        return _read(portfolio, book)


def read_missing(portfolio: BrokerPortfolio, book: InstrumentBook, name: str, seen: str) -> Reading:
    """The last good answer of a broker that failed now: each of its lines is kept with the
    line it belongs to, flagged "partial: <broker>'s share missing, last seen <seen>", and
    left out of every number (its quantity, price, cash and P&L are not today's)."""
    with _no_cycle_collection():
        return _read_missing(portfolio, book, name, seen)


def combine(readings: Sequence[Reading], missing: Sequence[Reading] = ()) -> Consolidated:
    """The second step: every broker's reading → the consolidated portfolio."""
    with _no_cycle_collection():
        return _combine(readings, missing)


@contextmanager
def _no_cycle_collection():
    """The cyclic garbage collector kept off the objects a portfolio is built of.

    A large sync builds some ten thousand objects that all outlive the call and hold no
    cycles. Left alone, the collector would walk them a dozen times while they are made, and
    once more as the youngest generation right after, without ever freeing one: a fifth of
    the aggregation's time. So it is paused, and what it would have walked is then handed to
    the oldest generation directly (``gc.freeze()`` and ``gc.unfreeze()``: two list splices,
    no walk), as the collector itself would do with survivors. Reference counting still frees
    everything once the portfolio is dropped. Nothing changes when the collector was off
    already, and no hand-off is made while some other part of the process keeps objects
    frozen (the splice would thaw them).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if not gc.get_freeze_count():
                gc.freeze()
                gc.unfreeze()
            gc.enable()


def _read(portfolio: BrokerPortfolio, book: InstrumentBook) -> Reading:
    notes = [flag("broker_note", note, portfolio.broker) for note in portfolio.notes]
    positions = []
    realized = ZERO
    for position in portfolio.positions:
        flags: list[dict] = []
        realized += read_amount(position.realized_pnl, flags, "realized P&L", signed=True) or ZERO
        notes += [dict(f, broker=portfolio.broker) for f in flags]
        if position.quantity != 0:  # a position closed today counts only by its P&L
            positions.append(position)
    lines: list[BrokerLine] = []
    unjoined: list[BrokerLine] = []
    _add_lines(portfolio, portfolio.holdings, False, book, lines, unjoined)
    _add_lines(portfolio, positions, True, book, lines, unjoined)
    return Reading(portfolio, lines, unjoined, realized, notes)


def _read_missing(portfolio: BrokerPortfolio, book: InstrumentBook, name: str, seen: str):
    reading = _read(portfolio, book)
    for broker_line in [*reading.lines, *reading.unjoined]:
        message = f"partial: {name}'s share ({broker_line.quantity}) missing, last seen {seen}"
        broker_line.flags = [flag("partial", message, portfolio.broker)]
        broker_line.included = False
        broker_line.last_price = broker_line.close_price = None
    return reading


def _combine(readings: Sequence[Reading], missing: Sequence[Reading] = ()) -> Consolidated:
    groups: dict[str, list[BrokerLine]] = {}
    unjoined: list[BrokerLine] = []  # joined once every broker's lines are known
    notes: list[dict] = []
    for reading in missing:  # first, so the answering brokers' lines lead every line
        for broker_line in reading.lines:
            groups.setdefault(broker_line.identity.key, []).append(broker_line)
        unjoined += reading.unjoined
    for reading in readings:
        for broker_line in reading.lines:
            key = broker_line.identity.key
            members = groups.get(key)
            if members is None:
                groups[key] = [broker_line]
            else:
                members.append(broker_line)
        unjoined += reading.unjoined
        notes += reading.notes
    if unjoined:
        _join(unjoined, groups)

    lines = [line for key, members in groups.items() for line in _lines(key, members)]
    lines.sort(key=lambda ln: (ln.kind, ln.value is None, -abs(ln.value or ZERO), ln.symbol))
    portfolios = [reading.portfolio for reading in readings]
    realized = {reading.portfolio.connection_id: reading.realized for reading in readings}
    return summarize(lines, portfolios, realized, notes)


def _join(unjoined: list[BrokerLine], groups: dict[str, list[BrokerLine]]) -> None:
    """A line without an ISIN takes the one another line of this sync gave its listing (the
    Kite SBIN intraday position joins the SBIN holdings of other brokers); else it stays on
    its own, keyed by exchange and symbol, and says why."""
    listings = {
        (b.identity.exchange, b.identity.symbol): b.identity.isin
        for members in groups.values()
        for b in members
        if b.identity.isin
    }
    for broker_line in unjoined:
        identity = broker_line.identity
        joined = listings.get((identity.exchange, identity.symbol))
        if joined:
            identity = broker_line.identity = identity._replace(key=joined, isin=joined)
        else:
            why = (
                flag("no_isin", "no ISIN: kept by exchange and symbol", broker_line.broker)
                if identity.in_master
                else flag(
                    "unknown_instrument",
                    "no ISIN and not in the broker's instrument master: counted at its "
                    "broker's price, joined by exchange and symbol only",
                    broker_line.broker,
                )
            )
            broker_line.flags = [*broker_line.flags, why]
        groups.setdefault(identity.key, []).append(broker_line)


# --- The broker lines -------------------------------------------------------------------------
# A broker line's place in the current-price rule as one number, lower first: the listing
# (bits 49 up), a price from the answer rather than a fresh quote (bit 48), then the larger
# quantity (the low 48 bits hold SIZE_LIMIT - |quantity|). Equal numbers fall back to broker
# and connection. Each listing's numbers start at _ORDER_FROM (answer bit set, no quantity).
LISTING_SHIFT, ANSWER_BIT, SIZE_LIMIT = 49, 1 << 48, (1 << 48) - 1
_ORDER_FROM = {
    exchange: rank << LISTING_SHIFT | ANSWER_BIT | SIZE_LIMIT
    for exchange, rank in LISTING_ORDER.items()
}
_OTHER_LISTING = max(LISTING_ORDER.values()) + 1  # any other exchange
_ORDER_OTHER = _OTHER_LISTING << LISTING_SHIFT | ANSWER_BIT | SIZE_LIMIT
_blank = object.__new__


def _add_lines(
    portfolio: BrokerPortfolio,
    lines: Sequence,
    is_position: bool,
    book: InstrumentBook,
    keyed: list[BrokerLine],
    unjoined: list[BrokerLine],
) -> None:
    """Each of ``lines`` as a BrokerLine, added to ``keyed`` (or, without a key, ``unjoined``).

    This is the loop over every line of a sync, so it is written flat. The common case (a
    positive int quantity, finite Decimal prices, a usable quote) is checked in one go; anything
    else is read by ``read_line`` and ``read_amount``, which flag instead of raising.
    """
    if not isinstance(lines, list | tuple):  # read once: identities and lines must pair up
        lines = list(lines)
    broker, connection_id = portfolio.broker, portfolio.connection_id
    account_id = portfolio.account_id
    quotes = portfolio.quotes  # InstrumentRef keys: found by a plain (exchange, symbol, id)
    by_listing = None  # the fallback index, built on the first line its own key misses
    for line, identity in zip(lines, identify_all(broker, lines, book), strict=True):
        quantity, average = line.quantity, line.average_price
        last, close = line.last_price, line.close_price
        flags: list[dict] | tuple = ()
        included = True
        try:  # only a Decimal has is_finite(): anything else takes the careful path
            clean = (
                type(quantity) is int
                and 0 < quantity < SIZE_LIMIT
                and average.is_finite()
                and average >= ZERO
                and (last is None or (last.is_finite() and last > ZERO))
                and (close is None or (close.is_finite() and close > ZERO))
            )
        except (AttributeError, TypeError):
            clean = False
        if clean:
            size = quantity
        else:
            quantity, average, last, close, included, flags = read_line(line, is_position)
            size = min(abs(quantity), SIZE_LIMIT)
        _, exchange, symbol, isin, _, _, contract, _ = identity
        order = _ORDER_FROM.get(exchange, _ORDER_OTHER)
        if quotes:
            quote = quotes.get((line.exchange, line.symbol, line.instrument_id))
            if quote is None:
                if by_listing is None:
                    by_listing = _by_listing(quotes)
                quote = by_listing.get((exchange, symbol))
            if quote is not None:
                quoted, quoted_close = quote.last_price, quote.previous_close
                try:
                    clean = (
                        quoted.is_finite()
                        and quoted > ZERO
                        and (
                            quoted_close is None
                            or (quoted_close.is_finite() and quoted_close > ZERO)
                        )
                    )
                except (AttributeError, TypeError):
                    clean = False
                if not clean:
                    flags = flags or []
                    quoted = positive(read_amount(quoted, flags, "quoted price"))
                    quoted_close = positive(read_amount(quoted_close, flags, "quoted close"))
                if quoted is not None:
                    last, order = quoted, order ^ ANSWER_BIT
                close = quoted_close or close
                if quote.source:  # this broker's quote failed: whose price it is
                    flags = [*flags, flag("quote_elsewhere", f"priced from {quote.source}'s quote")]
        if flags:
            for note in flags:
                note["broker"] = broker
        # Field by field: BrokerLine(...) through its __init__ costs more than the rest of
        # this loop's work together.
        broker_line = _blank(BrokerLine)
        broker_line.source = line
        broker_line.identity = identity
        broker_line.asset_type = line.asset_type
        broker_line.connection_id = connection_id
        broker_line.broker = broker
        broker_line.account_id = account_id
        broker_line.exchange = exchange
        broker_line.quantity = quantity
        broker_line.average_price = average
        broker_line.last_price = last
        broker_line.close_price = close
        broker_line.order = order - size
        broker_line.included = included
        broker_line.value = None
        broker_line.flags = flags
        broker_line.position = is_position
        broker_line.cost = broker_line.day = None
        if not isin and not contract:  # no ISIN yet: joined once every line is known
            unjoined.append(broker_line)
            continue
        keyed.append(broker_line)


def _by_listing(quotes: Mapping[InstrumentRef, Quote]) -> dict[tuple, Quote]:
    """The fallback: the first quote of each (exchange, symbol)."""
    index: dict[tuple, Quote] = {}
    for ref, quote in quotes.items():
        index.setdefault((ref.exchange, ref.symbol), quote)
    return index


# --- One consolidated line ----------------------------------------------------------------------
HOLDING, POSITION = "HOLDING", "POSITION"
# Intraday products cannot have been carried in from an earlier session.
INTRADAY_PRODUCTS = frozenset({"MIS", "INTRADAY", "I"})


def _lines(key: str, members: list[BrokerLine]) -> list[Line]:
    """The instrument's holdings line and its positions line (each only when it has broker
    lines), both at the instrument's one price and previous close."""
    first = best = None
    listing, best_order = _OTHER_LISTING + 1, 0  # first: the first line of the best listing
    kinds = []  # the asset types other than EQUITY
    traded = False
    for broker_line in members:
        order = broker_line.order
        if order >> LISTING_SHIFT < listing:
            first, listing = broker_line.identity, order >> LISTING_SHIFT
        if broker_line.asset_type != "EQUITY":
            kinds.append(broker_line.asset_type)
        if broker_line.position:
            traded = True
        if broker_line.last_price is not None and (
            best is None
            or order < best_order
            or (order == best_order and _price_order(broker_line) < _price_order(best))
        ):
            best, best_order = broker_line, order
    name = first.name or next((b.identity.name for b in members if b.identity.name), "")

    price = close = None
    if best is not None:
        price, close = best.last_price, best.close_price
        if close is None:  # another broker may know the close of the same listing
            same = best.exchange
            closes = [b for b in members if b.close_price and b.last_price and b.exchange == same]
            if closes:
                close = min(closes, key=_price_order).close_price

    shared = (key, first, name, _asset_class(first, kinds), price, close, best)
    if not traded:  # most instruments: held only
        return [_part(HOLDING, members, *shared)]
    held = [b for b in members if not b.position]
    positions = [b for b in members if b.position]
    parts = [_part(HOLDING, held, *shared)] if held else []
    return [*parts, _part(POSITION, positions, *shared)]


def _part(kind, members, key, first, name, asset_class, price, close, best) -> Line:
    """One kind of an instrument's broker lines as a consolidated line.

    Holdings: value at the one price, P&L against the average price, day change against the
    previous close. Open positions: net quantity, MTM (P&L of the open quantity against its
    average price), realized today, and the day change of each broker line measured from the
    previous close for what was carried in and from the average price for what was traded
    today (a position opened today did not exist at yesterday's close).
    """
    quantity, cost, included = 0, ZERO, False
    flags: list[dict] = []
    # Holdings, the common case, in one pass: each broker line's cost, value and day change
    # (all of it from the previous close) as the line's sums are made.
    diff = price - close if kind == HOLDING and price is not None and close is not None else None
    for b in members:
        if b.flags:
            flags += b.flags
        if b.included:
            units = b.quantity
            quantity += units
            b.cost = part = units * b.average_price
            cost += part
            included = True
            if diff is not None:
                b.value, b.day = units * price, units * diff

    value = pnl = pnl_percent = day = day_base = day_percent = None
    if not included:
        flags.append(flag("left_out", "no usable broker line: left out of the totals"))
    elif price is None:
        flags.append(flag("no_price", "no broker gave a price: left out of the totals"))
    else:
        value = quantity * price
        pnl = value - cost
        pnl_percent = pnl / abs(cost) * HUNDRED if cost else None
        if diff is not None:
            day, day_base = diff * quantity, close * quantity
        elif kind == HOLDING:  # no previous close: valued, no day change
            for b in members:
                if b.included:
                    b.value = b.quantity * price
        else:
            day, day_base = _position_day(members, price, close)
        if day is None:
            flags.append(flag("no_close", "no previous close: left out of the day change"))
        elif day_base:
            day_percent = day / abs(day_base) * HUNDRED

    realized = ZERO
    if kind == POSITION:
        for b in members:
            realized += read_amount(b.source.realized_pnl, [], "", signed=True) or ZERO

    lot_size = 1
    if first.contract:
        lot_sizes = {b.identity.lot_size for b in members}
        lot_size = max(lot_sizes)
        if len(lot_sizes) > 1:
            message = f"brokers disagree on the lot size: {sorted(lot_sizes)}"
            flags.append(flag("lot_size_mismatch", message))
        if lot_size > 1 and quantity % lot_size:
            message = f"{quantity} is not a whole number of lots of {lot_size}"
            flags.append(flag("odd_lot", message))

    return Line(
        key,
        first.isin,
        first.symbol,
        first.exchange,
        name,
        asset_class,
        lot_size,
        quantity,
        cost / quantity if quantity else None,
        price,
        close,
        cost,
        value,
        pnl,
        pnl_percent,
        day,
        day_percent,
        best.broker if best is not None else "",
        members,
        flags,
        kind,
        day_base,
        realized,
    )


def _position_day(members: list[BrokerLine], price: Decimal, close: Decimal | None):
    """(day change, what it is a percent of) of open positions, each broker line's day change
    set: from the previous close for what was carried in, from the average price for what
    was traded today. None, None when a carried part has no previous close."""
    day, day_base = ZERO, ZERO
    for b in members:
        if not b.included:
            continue
        b.value = b.quantity * price
        carried = _carried(b)
        today = b.quantity - carried
        b.day = today * (price - b.average_price)
        base = today * b.average_price
        if carried:
            if close is None:
                b.day = None
            else:
                b.day += carried * (price - close)
                base += carried * close
        if b.day is None:
            day = None
        elif day is not None:
            day, day_base = day + b.day, day_base + base
    return (day, day_base) if day is not None else (None, None)


def _carried(b: BrokerLine) -> int:
    """How much of an open position was carried in from an earlier session: what the broker
    says; else nothing for an intraday product; else all of it (the day change then runs from
    the previous close, as for a holding)."""
    overnight = getattr(b.source, "overnight_quantity", None)
    if type(overnight) is int:
        return overnight
    if str(b.product).upper() in INTRADAY_PRODUCTS:
        return 0
    return b.quantity


def _price_order(b: BrokerLine) -> tuple:
    return (b.order, b.broker, b.connection_id)


def _asset_class(identity: Identity, kinds: list[str]) -> str:
    if identity.contract:
        return CONTRACT_CLASSES.get(identity.exchange) or str(min(kinds, default="DERIVATIVE"))
    if "MUTUAL_FUND" in kinds:
        return "MUTUAL_FUND"
    # An exchange-traded INF... ISIN is a fund's unit: an ETF, whatever the broker called it.
    if "ETF" in kinds or identity.isin.startswith("INF"):
        return "ETF"
    return "EQUITY"
