"""The totals of a consolidated portfolio: sums, broker breakdown, asset allocation.

Part of the pure aggregation (``aggregate.consolidate`` ends here): no database, no clock,
Decimal throughout. Only lines with a value count; what is left out is said in the notes.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from portfolio.normalize import flag, read_amount

ZERO = Decimal(0)
HUNDRED = Decimal(100)
ASSET_CLASSES = ("EQUITY", "ETF", "MUTUAL_FUND", "DERIVATIVE", "COMMODITY", "CURRENCY", "CASH")


@dataclass(slots=True)
class BrokerShare:
    connection_id: str
    broker: str
    account_id: str
    label: str
    value: Decimal
    cash: Decimal | None
    share: Decimal | None  # percent of the total value
    lines: int


@dataclass(slots=True)
class Slice:
    asset_class: str
    value: Decimal
    share: Decimal | None  # percent of value + cash


@dataclass(slots=True)
class Consolidated:
    lines: list  # aggregate.Line
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


def summarize(lines, portfolios, realized: dict, notes: list[dict]) -> Consolidated:
    """Totals over the lines that have a value; each broker line valued at its line's price."""
    total_value = total_cost = pnl = day = day_base = ZERO
    by_class = dict.fromkeys(ASSET_CLASSES, ZERO)
    # Each connection's broker line values, summed once all are known.
    by_connection: dict[str, list[Decimal]] = {p.connection_id: [] for p in portfolios}
    left_out, no_close = [], []
    for line in lines:
        if line.value is None:
            left_out.append(line.symbol)
            continue
        total_value += line.value
        total_cost += line.cost
        pnl += line.pnl
        by_class[line.asset_class] = by_class.get(line.asset_class, ZERO) + line.value
        if line.day_change is None:
            no_close.append(line.symbol)
        else:
            day += line.day_change
            day_base += line.previous_close * line.quantity
        price = line.current_price
        for broker_line in line.broker_lines:  # each valued at the line's one price
            if broker_line.included:
                broker_line.value = amount = broker_line.quantity * price
                by_connection[broker_line.connection_id].append(amount)
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
        values = by_connection[portfolio.connection_id]
        value, count = sum(values, ZERO), len(values)
        share = value / total_value * HUNDRED if total_value else None
        breakdown.append(
            BrokerShare(
                portfolio.connection_id,
                portfolio.broker,
                portfolio.account_id,
                portfolio.label,
                value,
                funds_cash,
                share,
                count,
            )
        )
    by_class["CASH"] = cash
    whole = total_value + cash
    allocation = [
        Slice(kind, amount, amount / whole * HUNDRED if whole else None)
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
    )
