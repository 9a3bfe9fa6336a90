"""The totals of a consolidated portfolio: sums, broker breakdown, asset allocation.

Part of the pure aggregation (``aggregate.consolidate`` ends here): no database, no clock,
Decimal throughout. Only lines with a value count; what is left out is said in the notes.
Holdings and open positions are summed apart (``Consolidated`` says what each total is).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from operator import attrgetter

from portfolio.normalize import flag, read_amount

ZERO = Decimal(0)
HUNDRED = Decimal(100)
VALUE, COST, DAY = attrgetter("value"), attrgetter("cost"), attrgetter("day")
ASSET_CLASSES = ("EQUITY", "ETF", "MUTUAL_FUND", "DERIVATIVE", "COMMODITY", "CURRENCY", "CASH")


@dataclass(slots=True)
class BrokerShare:
    """One connection's part: its holdings (value, invested, P&L, day change, share of the
    holdings value), its open positions (MTM, day's P&L with realized) and its cash."""

    connection_id: str
    broker: str
    account_id: str
    label: str
    value: Decimal  # holdings' current value
    cash: Decimal | None
    share: Decimal | None  # percent of the total holdings value
    lines: int
    invested: Decimal = ZERO
    pnl: Decimal = ZERO
    day_change: Decimal = ZERO
    positions_mtm: Decimal = ZERO
    positions_day_pnl: Decimal = ZERO
    realized: Decimal = ZERO


@dataclass(slots=True)
class Slice:
    asset_class: str
    value: Decimal
    share: Decimal | None  # percent of the net worth


@dataclass(slots=True)
class Consolidated:
    """The totals, kept apart as the brokers' own pages keep them.

    Holdings (``total_value``, ``total_cost``, ``unrealized_pnl``, ``day_change`` and their
    percents) are the demat holdings only, as on a broker's holdings page. Open positions
    (intraday, F&O, a delivery bought today) are summed apart: ``positions_mtm`` (their P&L
    against the average price), ``positions_day_change`` (open ones) and ``realized_pnl``
    (today's, closed positions too); ``positions_day_pnl`` is both. ``net_worth`` is the
    holdings' value + the open positions' MTM + cash: a position's margin or cost is already
    out of the cash, so only its P&L adds to what the trader owns.
    """

    lines: list  # aggregate.Line: the holdings lines first, then the positions lines
    total_value: Decimal
    total_cost: Decimal
    unrealized_pnl: Decimal
    unrealized_pnl_percent: Decimal | None
    day_change: Decimal
    day_change_percent: Decimal | None
    cash: Decimal
    realized_pnl: Decimal
    broker_breakdown: list[BrokerShare]
    asset_allocation: list[Slice]
    notes: list[dict]
    positions_mtm: Decimal = ZERO
    positions_day_change: Decimal = ZERO
    positions_count: int = 0
    net_worth: Decimal = ZERO

    @property
    def positions_day_pnl(self) -> Decimal:
        return self.positions_day_change + self.realized_pnl

    @property
    def has_unknown(self) -> bool:
        """Some line is an instrument no master knows (the page then shows the rule)."""
        return any(f["code"] == "unknown_instrument" for ln in self.lines for f in ln.flags)

    @property
    def holding_lines(self) -> list:
        return [line for line in self.lines if line.kind == "HOLDING"]

    @property
    def position_lines(self) -> list:
        return [line for line in self.lines if line.kind == "POSITION"]


def summarize(lines, portfolios, realized: dict, notes: list[dict]) -> Consolidated:
    """Totals over the lines that have a value (the lines valued their broker lines)."""
    total_value = total_cost = pnl = day = day_base = ZERO
    mtm = positions_day = ZERO
    open_positions = 0
    by_class = dict.fromkeys(ASSET_CLASSES, ZERO)
    # Each connection's included broker lines: its holdings and its positions, summed at the
    # end (map and sum run in C: the Python loop over every broker line only appends).
    held_at = {p.connection_id: [] for p in portfolios}
    traded_at = {p.connection_id: [] for p in portfolios}
    left_out, no_close = [], []
    for line in lines:
        if line.value is None:
            if not _only_missing(line):  # a failed broker's own lines are flagged already
                left_out.append(line.symbol)
            continue
        position = line.kind == "POSITION"
        if position:
            open_positions += 1
            mtm += line.pnl
            by_class[line.asset_class] = by_class.get(line.asset_class, ZERO) + line.pnl
        else:
            total_value += line.value
            total_cost += line.cost
            pnl += line.pnl
            by_class[line.asset_class] = by_class.get(line.asset_class, ZERO) + line.value
        if line.day_change is None:
            no_close.append(line.symbol)
        elif position:
            positions_day += line.day_change
        else:
            day += line.day_change
            day_base += line.day_base or ZERO
        at = traded_at if position else held_at
        for b in line.broker_lines:
            if b.included:
                at[b.connection_id].append(b)
    if left_out:
        why = "Left out of the totals (no usable price or quantity)"
        notes.append(flag("left_out", f"{why}: {', '.join(left_out)}."))
    if no_close:
        why = "The day change leaves out (no previous close)"
        notes.append(flag("day_change_partial", f"{why}: {', '.join(no_close)}."))

    cash = ZERO
    breakdown = []
    for portfolio in portfolios:
        funds_cash = None
        if portfolio.funds is not None:  # a debit balance is negative cash, not an error
            flags: list[dict] = []
            funds_cash = read_amount(portfolio.funds.available, flags, "cash", signed=True)
            notes += [dict(f, broker=portfolio.broker) for f in flags]
        cash += funds_cash or ZERO
        held, traded = held_at[portfolio.connection_id], traded_at[portfolio.connection_id]
        value, invested = sum(map(VALUE, held), ZERO), sum(map(COST, held), ZERO)
        its_mtm = sum(map(VALUE, traded), ZERO) - sum(map(COST, traded), ZERO)
        # filter(None, ...) drops the days not known (None), and zeros, which add nothing
        held_day = sum(filter(None, map(DAY, held)), ZERO)
        its_day = sum(filter(None, map(DAY, traded)), ZERO)
        count = len(held) + len(traded)
        its_realized = realized.get(portfolio.connection_id, ZERO)
        breakdown.append(
            BrokerShare(
                portfolio.connection_id,
                portfolio.broker,
                portfolio.account_id,
                portfolio.label,
                value,
                funds_cash,
                value / total_value * HUNDRED if total_value else None,
                count,
                invested=invested,
                pnl=value - invested,
                day_change=held_day,
                positions_mtm=its_mtm,
                positions_day_pnl=its_day + its_realized,
                realized=its_realized,
            )
        )
    by_class["CASH"] = cash
    net_worth = total_value + mtm + cash
    allocation = [
        Slice(kind, amount, amount / net_worth * HUNDRED if net_worth else None)
        for kind, amount in by_class.items()
    ]
    return Consolidated(
        lines=lines,
        total_value=total_value,
        total_cost=total_cost,
        unrealized_pnl=pnl,
        unrealized_pnl_percent=pnl / abs(total_cost) * HUNDRED if total_cost else None,
        day_change=day,
        day_change_percent=day / day_base * HUNDRED if day_base else None,
        cash=cash,
        realized_pnl=sum(realized.values(), ZERO),
        broker_breakdown=breakdown,
        asset_allocation=allocation,
        notes=notes,
        positions_mtm=mtm,
        positions_day_change=positions_day,
        positions_count=open_positions,
        net_worth=net_worth,
    )


def _only_missing(line) -> bool:
    """Every broker line of ``line`` is a failed broker's last good one (flagged partial)."""
    return all(
        not b.included and any(f["code"] == "partial" for f in b.flags) for b in line.broker_lines
    )
