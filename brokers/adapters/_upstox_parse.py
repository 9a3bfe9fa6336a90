"""Upstox payloads → our dataclasses (field names per docs/brokers/upstox.md §4).

Pure functions used by brokers.adapters.upstox. Money is read exactly (the adapter parses JSON
floats as Decimal); a field we cannot map raises ``Unexpected`` (a ValueError), which the
adapter turns into BadResponse, or OrderStateUnknown on an order write.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from decimal import Decimal

from brokers.adapters import wire
from brokers.clock import IST
from brokers.errors import BadResponse
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
    Product,
    Profile,
    Side,
    Trade,
)

BROKER = "upstox"

# instrument_key segment of each exchange ("Instruments"; notes §6).
SEGMENTS = {
    "NSE": "NSE_EQ",
    "BSE": "BSE_EQ",
    "NFO": "NSE_FO",
    "BFO": "BSE_FO",
    "CDS": "NCD_FO",
    "BCD": "BCD_FO",
    "MCX": "MCX_FO",
}
EXCHANGES = {segment: exchange for exchange, segment in SEGMENTS.items()}
EXCHANGES |= {"NSE_INDEX": "NSE", "BSE_INDEX": "BSE", "MCX_INDEX": "MCX", "NSE_COM": "NSE"}
ASSETS = {"NFO": AssetType.DERIVATIVE, "BFO": AssetType.DERIVATIVE, "MCX": AssetType.COMMODITY}
ASSETS |= {"CDS": AssetType.CURRENCY, "BCD": AssetType.CURRENCY}

# "Order Status" appendix: the 17 lowercase words Upstox uses.
STATUSES = {
    "put order req received": OrderStatus.PENDING,
    "validation pending": OrderStatus.PENDING,
    "open pending": OrderStatus.PENDING,
    "after market order req received": OrderStatus.PENDING,
    "modify after market order req received": OrderStatus.PENDING,
    "open": OrderStatus.OPEN,
    "modify validation pending": OrderStatus.OPEN,
    "modify pending": OrderStatus.OPEN,
    "modified": OrderStatus.OPEN,
    "not modified": OrderStatus.OPEN,
    "cancel pending": OrderStatus.OPEN,
    "not cancelled": OrderStatus.OPEN,
    "trigger pending": OrderStatus.TRIGGER_PENDING,
    "complete": OrderStatus.COMPLETE,
    "cancelled": OrderStatus.CANCELLED,
    "cancelled after market order": OrderStatus.CANCELLED,
    "rejected": OrderStatus.REJECTED,
}
# One carry-forward product, "D", serves delivery and F&O overnight alike.
PRODUCT_CODES = {Product.CNC: "D", Product.NRML: "D", Product.MIS: "I", Product.MTF: "MTF"}

_TIMESTAMPS = ("%Y-%m-%d %H:%M:%S", "%d-%b-%Y %H:%M:%S")  # order book; trades
SERIES = frozenset({"EQ", "BE"})  # trades may carry the NSE series: "GMRINFRA-EQ"
ISIN = re.compile(r"^IN[A-Z0-9]{10}$")
MASTER_COLUMNS = ("instrument_key", "segment", "trading_symbol")


class Unexpected(ValueError):
    """A field we cannot map (unknown enum, nonsense number): the answer is unusable."""


def no_constants(name: str):
    raise ValueError(f"{name} is not a number")


# --- Values: the shared wire rules, failing as Unexpected --------------------------------------
def money(value) -> Decimal:
    # JSON null or true is never an amount here (notes §4); Unexpected, not a bare ValueError,
    # so the adapter names the field in its BadResponse.
    if value is None or isinstance(value, bool):
        raise Unexpected(f"expected an amount, got {value!r}")
    try:
        return wire.money(value)
    except ValueError:
        raise Unexpected(f"expected an amount, got {value!r}") from None


def maybe_money(value) -> Decimal | None:
    return None if value is None else money(value)  # null is absent; 0 is a real zero here


def quantity(value) -> int:
    amount = money(value)
    try:
        return wire.quantity(amount)
    except ValueError:
        raise Unexpected(f"fractional quantity {value!r}") from None


def _enum(kind, value, field: str):
    try:
        return kind(value)
    except ValueError:
        raise Unexpected(f"unknown {field} {value!r}") from None


def _symbols(row: dict) -> tuple[str, str]:
    """(our plain symbol, the broker's). Both spellings of the field appear (notes §8.10)."""
    raw = row.get("trading_symbol") or row["tradingsymbol"]
    return wire.strip_series(raw, SERIES), raw


def _product(code: str, exchange: str) -> str:
    if code == "D":
        return Product.CNC if exchange in ("NSE", "BSE") else Product.NRML
    return {"I": Product.MIS, "MTF": Product.MTF}.get(code, code)  # CO / OCO kept as written


def _isin_of(instrument_key: str) -> str:
    segment, _, identifier = instrument_key.partition("|")
    return identifier if segment.endswith("_EQ") and ISIN.match(identifier) else ""


def _timestamp(value) -> datetime | None:
    return wire.when(value, *_TIMESTAMPS, lenient=True)  # an odd format must not hide the order


# --- Payloads ---------------------------------------------------------------------------------
def profile(data: dict) -> Profile:
    return Profile(
        account_id=str(data["user_id"]),
        name=data.get("user_name") or "",
        email=data.get("email") or "",
        exchanges=tuple(data.get("exchanges") or ()),
        products=tuple(_product(p, "NSE") for p in data.get("products") or ()),
    )


def funds(data: dict) -> Funds:
    # Since 19 Jul 2025 everything sits in "equity" and "commodity" is zeros; adding both stays
    # right for an account still answered in the older split shape.
    segments = [data["equity"], data.get("commodity") or {}]
    return Funds(
        available=sum((money(s.get("available_margin", 0)) for s in segments), Decimal(0)),
        used=sum((money(s.get("used_margin", 0)) for s in segments), Decimal(0)),
    )


def holding(row: dict) -> Holding:
    symbol, raw = _symbols(row)
    held, average = quantity(row["quantity"]), money(row["average_price"])
    if held < 0 or average < 0:
        raise Unexpected(f"negative holding for {raw}")
    isin = row.get("isin") or ""
    return Holding(
        exchange=row["exchange"],
        symbol=symbol,
        quantity=held,
        average_price=average,
        isin=isin,
        last_price=maybe_money(row.get("last_price")),
        close_price=maybe_money(row.get("close_price")),
        broker_symbol=raw,
        instrument_id=row.get("instrument_token") or "",
        # An INF ISIN is a fund's unit; held in demat and traded on an exchange, an ETF.
        asset_type=AssetType.ETF if isin.startswith("INF") else AssetType.EQUITY,
    )


def position(row: dict) -> Position:
    symbol, raw = _symbols(row)
    exchange, key = row["exchange"], row["instrument_token"]
    average = row.get("average_price")  # null once a position is closed
    bought = quantity(row.get("day_buy_quantity", 0)) + quantity(
        row.get("overnight_buy_quantity", 0)
    )
    sold = quantity(row.get("day_sell_quantity", 0)) + quantity(
        row.get("overnight_sell_quantity", 0)
    )
    return Position(
        exchange=exchange,
        symbol=symbol,
        product=_product(row["product"], exchange),
        quantity=quantity(row["quantity"]),
        average_price=Decimal(0) if average is None else money(average),
        last_price=maybe_money(row.get("last_price")),
        close_price=maybe_money(row.get("close_price")),
        realized_pnl=money(row.get("realised") or 0),
        unrealized_pnl=maybe_money(row.get("unrealised")),
        buy_quantity=bought,
        sell_quantity=sold,
        overnight_quantity=(
            None if row.get("overnight_quantity") is None else quantity(row["overnight_quantity"])
        ),
        isin=_isin_of(key),
        broker_symbol=raw,
        instrument_id=key,
        asset_type=ASSETS.get(exchange, AssetType.EQUITY),
    )


def order(row: dict) -> Order:
    symbol, _ = _symbols(row)
    word = row["status"]
    if word not in STATUSES:
        raise Unexpected(f"unknown order status {word!r}")
    return Order(
        order_id=str(row["order_id"]),
        status=STATUSES[word],
        exchange=row["exchange"],
        symbol=symbol,
        side=_enum(Side, row["transaction_type"], "transaction_type"),
        quantity=quantity(row["quantity"]),
        order_type=_enum(OrderType, row["order_type"], "order_type"),
        product=_product(row["product"], row["exchange"]),
        filled_quantity=quantity(row.get("filled_quantity") or 0),
        price=maybe_money(row.get("price")),
        trigger_price=maybe_money(row.get("trigger_price")),
        average_price=maybe_money(row.get("average_price")),
        tag=row.get("tag") or "",
        status_message=row.get("status_message") or "",
        broker_status=word,
        placed_at=_timestamp(row.get("order_timestamp")),
    )


def trade(row: dict) -> Trade:
    symbol, _ = _symbols(row)
    return Trade(
        trade_id=str(row["trade_id"]),
        order_id=str(row["order_id"]),
        exchange=row["exchange"],
        symbol=symbol,
        side=_enum(Side, row["transaction_type"], "transaction_type"),
        quantity=quantity(row["quantity"]),
        price=money(row["average_price"]),
        traded_at=_timestamp(row.get("exchange_timestamp")),
    )


def ltp(data: dict) -> dict[str, tuple[str, Decimal, Decimal | None]]:
    """instrument_key → (plain symbol, last price, previous close "cp"). The map is keyed
    SEGMENT:SYMBOL (notes §8.6); the inner instrument_token is the key we asked with."""
    rows = {}
    for name, row in data.items():
        symbol = wire.strip_series(name.partition(":")[2], SERIES)
        last, close = money(row["last_price"]), maybe_money(row.get("cp"))
        rows[row["instrument_token"]] = (symbol, last, close)
    return rows


def placed(data: dict) -> OrderAck:
    return OrderAck(order_id=str(data["order_ids"][0]))  # v3 answers a list (slicing)


def acked(data: dict) -> OrderAck:
    return OrderAck(order_id=str(data["order_id"]))


# --- Instrument master ------------------------------------------------------------------------
def master(response, *, endpoint: str) -> list[Instrument]:
    def bad(why: str) -> BadResponse:
        return BadResponse(f"instrument master {why}", broker=BROKER, endpoint=endpoint)

    wire.raise_for_download(response, broker=BROKER, endpoint=endpoint)
    try:
        content = wire.gunzipped(response.content)
    except ValueError:
        raise bad("is not a readable gzip file") from None
    rows = json.loads(content, parse_float=Decimal, parse_constant=no_constants)
    if not isinstance(rows, list) or not rows:
        raise bad("is empty")
    instruments = []
    for row in rows:
        missing = [c for c in MASTER_COLUMNS if not isinstance(row, dict) or not row.get(c)]
        if missing:
            raise bad(f"lacks {', '.join(missing)}")
        instruments.append(instrument(row))
    return instruments


def instrument(row: dict) -> Instrument:
    segment, tick, expiry = row["segment"], row.get("tick_size"), row.get("expiry")
    return Instrument(
        instrument_id=row["instrument_key"],
        exchange=EXCHANGES.get(segment) or row.get("exchange") or "",
        symbol=wire.strip_series(row["trading_symbol"], SERIES),
        segment=segment,
        isin=row.get("isin") or "",
        name=row.get("name") or "",
        lot_size=quantity(row.get("lot_size") or 1),
        # The JSON master states tick_size in paise: 5.0 is ₹0.05.
        tick_size=money(tick) / 100 if tick else Decimal("0.05"),
        instrument_type=row.get("instrument_type") or "",
        expiry=_expiry(expiry) if expiry else None,
        strike=maybe_money(row.get("strike_price")),
    )


def _expiry(epoch_ms) -> date:
    """Epoch milliseconds in the JSON master (the legacy CSV used yyyy-MM-dd)."""
    return datetime.fromtimestamp(quantity(epoch_ms) / 1000, tz=IST).date()
