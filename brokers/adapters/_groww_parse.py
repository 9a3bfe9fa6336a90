"""Groww wire format → our dataclasses (the mapping half of brokers/adapters/groww.py).

ValueError, KeyError and TypeError raised here become BadResponse at the HTTP door.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

from brokers.adapters import wire
from brokers.errors import InvalidRequest, OrderRejected
from brokers.types import (
    AssetType,
    Funds,
    Holding,
    Instrument,
    Order,
    OrderAck,
    OrderStatus,
    OrderType,
    Position,
    Profile,
    Side,
    Trade,
)

BROKER = "groww"

# Annexures: order_status. The create reply says OPEN, which the list omits.
STATUSES = {
    "NEW": OrderStatus.PENDING,
    "ACKED": OrderStatus.OPEN,
    "APPROVED": OrderStatus.OPEN,
    "OPEN": OrderStatus.OPEN,
    "MODIFICATION_REQUESTED": OrderStatus.OPEN,
    "CANCELLATION_REQUESTED": OrderStatus.OPEN,
    "TRIGGER_PENDING": OrderStatus.TRIGGER_PENDING,
    "EXECUTED": OrderStatus.COMPLETE,
    "DELIVERY_AWAITED": OrderStatus.COMPLETE,
    "COMPLETED": OrderStatus.COMPLETE,
    "CANCELLED": OrderStatus.CANCELLED,
    "REJECTED": OrderStatus.REJECTED,
    "FAILED": OrderStatus.REJECTED,
}
ORDER_TYPES = {
    "MARKET": OrderType.MARKET,
    "LIMIT": OrderType.LIMIT,
    "SL": OrderType.SL,
    "SL_M": OrderType.SL_M,  # underscore on the wire, not Kite's hyphen
}
WIRE_ORDER_TYPES = {ours: wire for wire, ours in ORDER_TYPES.items()}
PRICED = {OrderType.LIMIT, OrderType.SL}
TRIGGERED = {OrderType.SL, OrderType.SL_M}
# Groww says exchange NSE + segment FNO where we say NFO.
FNO_EXCHANGES = {"NFO": "NSE", "BFO": "BSE"}
MASTER_COLUMNS = {
    "exchange",
    "exchange_token",
    "trading_symbol",
    "name",
    "instrument_type",
    "segment",
    "isin",
    "expiry_date",
    "strike_price",
    "lot_size",
    "tick_size",
}


# --- Mapping (ValueError/KeyError/TypeError here become BadResponse at the door) ------------
def token(body) -> str:
    value = body["token"]
    if not isinstance(value, str) or not value:
        raise ValueError("no token in the reply")
    return value


def price(value) -> Decimal:
    """A price or average that feeds totals: a negative one would make them silently wrong."""
    return wire.money(value, signed=False)


def optional_price(value) -> Decimal | None:
    return wire.optional_price(value, signed=False)  # Groww sends 0 for "no price"


def qty(value) -> int:
    return wire.quantity(value)


def number(value: Decimal | None) -> int | float:
    return wire.json_number(value)  # JSON numbers in rupees


def plain(symbol: str) -> str:
    """Groww cash symbols are plain (RELIANCE); strip decorations an old doc example or a
    caller may carry (NSE:RELIANCE-EQ)."""
    return wire.strip_series(str(symbol).split(":")[-1].strip(), {"EQ"})


def exchange_segment(exchange: str, endpoint: str) -> tuple[str, str]:
    exchange = exchange.upper()
    if exchange in FNO_EXCHANGES:
        return FNO_EXCHANGES[exchange], "FNO"
    if exchange in ("NSE", "BSE"):
        return exchange, "CASH"
    raise InvalidRequest(f"Groww does not trade on {exchange}", broker=BROKER, endpoint=endpoint)


def our_exchange(exchange: str, segment: str) -> str:
    exchange, segment = str(exchange).upper(), str(segment).upper()
    if segment == "FNO":
        return {"NSE": "NFO", "BSE": "BFO"}.get(exchange, exchange)
    return exchange


def segment(our_exchange: str) -> str:
    return "FNO" if our_exchange in FNO_EXCHANGES else "CASH"


def ist(value) -> datetime | None:
    return wire.when(value)  # ISO 8601, IST when naive


def profile(p) -> Profile:
    exchanges = [name for name, on in (("NSE", p["nse_enabled"]), ("BSE", p["bse_enabled"])) if on]
    segments = set(p.get("active_segments") or ())
    if "FNO" in segments:
        exchanges += [{"NSE": "NFO", "BSE": "BFO"}[e] for e in list(exchanges)]
    products = (["CNC", "MIS"] if "CASH" in segments else []) + (
        ["NRML"] if "FNO" in segments else []
    )
    ucc = str(p["ucc"])
    # The user detail carries no name: the UCC is what Groww shows the user as their id.
    return Profile(account_id=ucc, name=ucc, exchanges=tuple(exchanges), products=tuple(products))


def funds(p) -> Funds:
    equity = p["equity_margin_details"]
    return Funds(
        available=wire.money(equity["cnc_balance_available"]),
        used=wire.money(p["net_margin_used"]),
        total=wire.money(p["clear_cash"]),
        collateral=wire.money(p.get("collateral_available") or 0),
    )


def holdings(p) -> list[Holding]:
    found = []
    for row in p["holdings"]:
        quantity = qty(row["quantity"])
        if quantity < 0:
            raise ValueError(f"negative holding {quantity}")
        found.append(
            Holding(
                # Demat holdings name no exchange (gotcha 5); Groww's symbols are NSE's.
                exchange="NSE",
                symbol=plain(row["trading_symbol"]),
                quantity=quantity,
                average_price=price(row["average_price"]),
                isin=str(row.get("isin") or ""),
                broker_symbol=str(row["trading_symbol"]),
            )
        )
    return found


def positions(p) -> list[Position]:
    return [
        Position(
            exchange=our_exchange(row["exchange"], row["segment"]),
            symbol=plain(row["trading_symbol"]),
            product=str(row["product"]),
            quantity=qty(row["quantity"]),
            # Portfolio: rupees (gotcha 9); a short's net price is kept as Groww sends it.
            average_price=wire.money(row["net_price"]),
            realized_pnl=wire.money(row.get("realised_pnl") or 0),
            buy_quantity=qty(row.get("credit_quantity") or 0),
            sell_quantity=qty(row.get("debit_quantity") or 0),
            isin=str(row.get("symbol_isin") or ""),
            broker_symbol=str(row["trading_symbol"]),
            asset_type=AssetType.DERIVATIVE if row["segment"] == "FNO" else AssetType.EQUITY,
        )
        for row in p["positions"]
    ]


def order(row) -> Order:
    word = str(row["order_status"]).upper()
    return Order(
        order_id=str(row["groww_order_id"]),
        # Unknown words are kept, not fatal (the notes: accept unknown strings); PENDING is
        # the safe reading: the order is not known to be final, so nothing is resent.
        status=STATUSES.get(word, OrderStatus.PENDING),
        exchange=our_exchange(row["exchange"], row["segment"]),
        symbol=plain(row["trading_symbol"]),
        side=Side(row["transaction_type"]),
        quantity=qty(row["quantity"]),
        order_type=ORDER_TYPES[row["order_type"]],
        product=str(row["product"]),
        filled_quantity=qty(row.get("filled_quantity") or 0),
        price=optional_price(row.get("price")),
        trigger_price=optional_price(row.get("trigger_price")),
        average_price=optional_price(row.get("average_fill_price")),
        tag=str(row.get("order_reference_id") or ""),
        status_message=str(row.get("remark") or ""),
        broker_status=word,
        placed_at=ist(row.get("created_at")),
    )


def trade(row) -> Trade:
    return Trade(
        trade_id=str(row["groww_trade_id"]),
        order_id=str(row["groww_order_id"]),
        exchange=our_exchange(row["exchange"], row["segment"]),
        symbol=plain(row["trading_symbol"]),
        side=Side(row["transaction_type"]),
        quantity=qty(row["quantity"]),
        price=price(row["price"]),
        traded_at=ist(row.get("trade_date_time") or row.get("created_at")),
    )


def ack(payload, endpoint: str) -> OrderAck:
    if str(payload.get("order_status", "")).upper() in ("REJECTED", "FAILED"):
        raise OrderRejected(
            str(payload.get("remark") or "rejected"), broker=BROKER, endpoint=endpoint
        )
    order_id = str(payload["groww_order_id"] or "")
    if not order_id:
        raise ValueError("no groww_order_id")
    return OrderAck(order_id)


def ltp(payload) -> dict[str, Decimal]:
    return {key: price(value) for key, value in payload.items() if value is not None}


_OHLC_PAIR = re.compile(r"(\w+)\s*:\s*(-?[\d.]+)")


def closes(payload) -> dict[str, Decimal]:
    """OHLC's close is the previous session's close. The docs render each value as a string
    ("{open: 149.50,high: ...}") rather than an object (gotcha 11): read both."""
    found = {}
    for key, value in payload.items():
        ohlc = dict(_OHLC_PAIR.findall(value)) if isinstance(value, str) else (value or {})
        if ohlc.get("close") not in (None, ""):
            found[key] = price(ohlc["close"])
    return found


def instrument(raw: dict) -> Instrument:
    if None in raw or any(v is None for v in raw.values()):
        raise ValueError("a row with the wrong number of columns")  # truncated or corrupted
    row = {k.strip(): v.strip() for k, v in raw.items()}
    if not row["exchange_token"] or not row["trading_symbol"]:
        raise ValueError("a row without token or symbol")
    strike = wire.money(row["strike_price"]) if row["strike_price"] else None
    return Instrument(
        instrument_id=row["exchange_token"],
        exchange=our_exchange(row["exchange"], row["segment"]),
        symbol=row["trading_symbol"],
        segment=row["segment"],
        isin=row["isin"],
        name=row["name"],
        lot_size=qty(row["lot_size"] or 1),
        tick_size=price(row["tick_size"]) if row["tick_size"] else Decimal("0.05"),
        instrument_type=row["instrument_type"],
        expiry=date.fromisoformat(row["expiry_date"]) if row["expiry_date"] else None,
        strike=strike if strike else None,
    )
