"""Kite v3 wire → our dataclasses and errors (docs/brokers/zerodha.md §4 to §6).

Error answers are read first, by ZerodhaAdapter.map_error. Parsers raise ValueError/KeyError
on envelope or field trouble: the HTTP door turns those into BadResponse with a redacted
snippet (OrderStateUnknown for an order write).
"""

from __future__ import annotations

import csv
import io
from datetime import date

from brokers.adapters.wire import (
    gunzipped,
    json_body,
    money,
    optional_price,
    quantity,
    strip_series,
    when,
)
from brokers.errors import BadResponse
from brokers.types import (
    AssetType,
    Funds,
    Holding,
    Instrument,
    InstrumentRef,
    Order,
    OrderAck,
    OrderStatus,
    OrderType,
    Position,
    Profile,
    Quote,
    Side,
    Trade,
)

BROKER = "zerodha"

# §6: the OMS words. Modify/cancel "pending" orders are still live at the exchange.
STATUSES = {
    "OPEN": OrderStatus.OPEN,
    "COMPLETE": OrderStatus.COMPLETE,
    "CANCELLED": OrderStatus.CANCELLED,
    "REJECTED": OrderStatus.REJECTED,
    "TRIGGER PENDING": OrderStatus.TRIGGER_PENDING,
    "PUT ORDER REQ RECEIVED": OrderStatus.PENDING,
    "VALIDATION PENDING": OrderStatus.PENDING,
    "OPEN PENDING": OrderStatus.PENDING,
    "AMO REQ RECEIVED": OrderStatus.PENDING,
    "MODIFY VALIDATION PENDING": OrderStatus.OPEN,
    "MODIFY PENDING": OrderStatus.OPEN,
    "MODIFIED": OrderStatus.OPEN,
    "CANCEL PENDING": OrderStatus.OPEN,
    "CANCELLED AMO": OrderStatus.CANCELLED,
}
# §6: NSE series other than EQ stay on the Kite symbol (`CENTRALBK-BE`): these are stripped.
SERIES = frozenset({"EQ", "BE", "BZ", "BL", "SM", "ST", "IL", "IT", "GB", "GS", "RR", "TB"})
ASSET_BY_EXCHANGE = {
    "NFO": AssetType.DERIVATIVE,
    "BFO": AssetType.DERIVATIVE,
    "MCX": AssetType.COMMODITY,
    "CDS": AssetType.CURRENCY,
    "BCD": AssetType.CURRENCY,
}
TIMESTAMP = "%Y-%m-%d %H:%M:%S"  # §5, in IST
INSTRUMENT_COLUMNS = frozenset(
    {
        "instrument_token",
        "exchange_token",
        "tradingsymbol",
        "name",
        "last_price",
        "expiry",
        "strike",
        "tick_size",
        "lot_size",
        "instrument_type",
        "segment",
        "exchange",
    }
)


# --- Envelope (§5): errors are read by ZerodhaAdapter.map_error before these run ----------
def data(response, *, endpoint: str):
    """The `data` of a success envelope."""
    body = json_body(response)
    if not isinstance(body, dict) or body.get("status") != "success":
        raise ValueError("not a Kite success envelope")
    return body["data"]


# --- Instrument master (§4) ----------------------------------------------------------------
def instruments(response, *, endpoint: str) -> list[Instrument]:
    if "json" in response.headers.get("Content-Type", "") or response.status_code >= 400:
        raise BadResponse("no instrument CSV in the answer", broker=BROKER, endpoint=endpoint)
    try:
        rows = list(csv.DictReader(io.StringIO(gunzipped(response.content).decode("utf-8"))))
    except (ValueError, csv.Error):
        raise BadResponse(
            "the instrument master is corrupted", broker=BROKER, endpoint=endpoint
        ) from None
    if not rows or not set(rows[0]) >= INSTRUMENT_COLUMNS:
        raise BadResponse(
            "the instrument master is empty or misses columns", broker=BROKER, endpoint=endpoint
        )
    return [instrument(row) for row in rows]


def instrument(row: dict) -> Instrument:
    # No ISIN column in Kite's master: ISINs come only with holdings.
    strike = money(row["strike"] or 0)
    return Instrument(
        instrument_id=str(int(row["instrument_token"])),
        exchange=row["exchange"],
        symbol=plain(row["tradingsymbol"]),
        segment=row["segment"],
        name=row["name"] or "",
        lot_size=quantity(row["lot_size"]),
        tick_size=money(row["tick_size"]),
        instrument_type=row["instrument_type"],
        expiry=date.fromisoformat(row["expiry"]) if row["expiry"] else None,
        strike=strike or None,
    )


# --- Payloads ------------------------------------------------------------------------------------
def session(data: dict) -> dict[str, str]:
    """The secrets and ids of a token exchange (§1.4)."""
    values = {
        "access_token": str(data["access_token"]),
        "user_id": str(data["user_id"]),
        "refresh_token": data.get("refresh_token") or "",
        "public_token": data.get("public_token") or "",
        "enctoken": data.get("enctoken") or "",
    }
    if not values["access_token"] or not values["user_id"]:
        raise ValueError("no access_token or user_id in the session")
    return values


def profile(data: dict) -> Profile:
    return Profile(
        account_id=str(data["user_id"]),
        name=data.get("user_name") or "",
        email=data.get("email") or "",
        exchanges=tuple(data.get("exchanges") or ()),
        products=tuple(data.get("products") or ()),
    )


def funds(segment: dict) -> Funds:
    # §4: "available to trade" is the segment's `net`; `utilised.debits` is what is used.
    available, used = money(segment["net"]), money(segment["utilised"]["debits"])
    return Funds(
        available=available,
        used=used,
        total=available + used,
        collateral=money(segment["available"]["collateral"]),
    )


def quotes(data: dict, refs: dict[str, InstrumentRef]) -> dict[InstrumentRef, Quote]:
    found = {}
    for key, ref in refs.items():
        item = data.get(key)
        if item is None:  # §8.9: unknown instruments are silently left out
            continue
        close = (item.get("ohlc") or {}).get("close")  # the previous session's close
        found[ref] = Quote(
            exchange=ref.exchange,
            symbol=ref.symbol,
            last_price=money(item["last_price"]),
            previous_close=money(close) if close is not None else None,
        )
    return found


def ack(data: dict) -> OrderAck:
    order_id = str(data["order_id"])  # §8.15: a string, 19 digits on newer ids
    if not order_id:
        raise ValueError("empty order_id")
    return OrderAck(order_id=order_id)


def holding(row: dict) -> Holding:
    return Holding(
        exchange=row["exchange"],
        symbol=plain(row["tradingsymbol"]),
        quantity=quantity(row["quantity"]),
        average_price=money(row["average_price"]),
        isin=row.get("isin") or "",
        last_price=money(row["last_price"]),
        close_price=money(row["close_price"]),
        broker_symbol=row["tradingsymbol"],
        instrument_id=str(row["instrument_token"]),
        asset_type=ASSET_BY_EXCHANGE.get(row["exchange"], AssetType.EQUITY),
    )


def position(row: dict) -> Position:
    return Position(
        exchange=row["exchange"],
        symbol=plain(row["tradingsymbol"]),
        product=row["product"],
        quantity=quantity(row["quantity"]),
        average_price=money(row["average_price"]),
        last_price=money(row["last_price"]),
        close_price=money(row["close_price"]),
        realized_pnl=money(row["realised"]),
        unrealized_pnl=money(row["unrealised"]),
        buy_quantity=quantity(row["buy_quantity"]),
        sell_quantity=quantity(row["sell_quantity"]),
        overnight_quantity=_overnight(row),
        broker_symbol=row["tradingsymbol"],
        instrument_id=str(row["instrument_token"]),
        asset_type=ASSET_BY_EXCHANGE.get(row["exchange"], AssetType.EQUITY),
    )


def order(row: dict) -> Order:
    return Order(
        order_id=str(row["order_id"]),
        status=STATUSES[row["status"]],
        exchange=row["exchange"],
        symbol=plain(row["tradingsymbol"]),
        side=Side(row["transaction_type"]),
        quantity=quantity(row["quantity"]),
        order_type=OrderType(row["order_type"]),
        product=row["product"],
        filled_quantity=quantity(row.get("filled_quantity") or 0),
        price=optional_price(row.get("price")),  # 0 for market orders
        trigger_price=optional_price(row.get("trigger_price")),
        average_price=optional_price(row.get("average_price")),
        tag=row.get("tag") or "",
        status_message=row.get("status_message") or "",
        broker_status=row["status"],
        placed_at=when(row.get("order_timestamp"), TIMESTAMP),
    )


def trade(row: dict) -> Trade:
    return Trade(
        trade_id=str(row["trade_id"]),
        order_id=str(row["order_id"]),
        exchange=row["exchange"],
        symbol=plain(row["tradingsymbol"]),
        side=Side(row["transaction_type"]),
        quantity=quantity(row["quantity"]),
        price=money(row["average_price"]),
        # §8.14: order_timestamp is time-only here; fill_timestamp is a full datetime.
        traded_at=when(row.get("fill_timestamp") or row.get("exchange_timestamp"), TIMESTAMP),
    )


def plain(tradingsymbol: str) -> str:
    return strip_series(tradingsymbol, SERIES)


def _overnight(row: dict) -> int | None:
    """The quantity carried in from earlier sessions (docs/brokers/zerodha.md, position item)."""
    value = row.get("overnight_quantity")
    return None if value is None else quantity(value)
