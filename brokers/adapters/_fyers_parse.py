"""Fyers v3 wire format → our dataclasses and errors (docs/brokers/fyers.md §4 to §6).

The adapter (brokers/adapters/fyers.py) makes the calls; this module only reads answers.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, time
from decimal import Decimal

import jwt

from brokers.adapters.wire import (
    json_body,
    json_number,
    money,
    quantity,
    raise_for_download,
    when,
)
from brokers.clock import IST, next_ist
from brokers.errors import BadResponse, InvalidRequest
from brokers.types import (
    AssetType,
    Holding,
    Instrument,
    Order,
    OrderStatus,
    OrderType,
    Position,
    Product,
    Side,
    Trade,
)

BROKER = "fyers"

# §6: numeric enums everywhere.
SIDES = {1: Side.BUY, -1: Side.SELL}
ORDER_TYPES = {1: OrderType.LIMIT, 2: OrderType.MARKET, 3: OrderType.SL_M, 4: OrderType.SL}
FYERS_TYPES = {ours: code for code, ours in ORDER_TYPES.items()}
STATUSES = {  # code: (ours, Fyers' own word for support)
    1: (OrderStatus.CANCELLED, "CANCELLED"),
    2: (OrderStatus.COMPLETE, "TRADED"),
    4: (OrderStatus.PENDING, "TRANSIT"),
    5: (OrderStatus.REJECTED, "REJECTED"),
    6: (OrderStatus.OPEN, "PENDING"),
    7: (OrderStatus.CANCELLED, "EXPIRED"),
}
PRODUCTS = {"CNC": "CNC", "INTRADAY": "MIS", "MARGIN": "NRML", "MTF": "MTF", "CO": "CO", "BO": "BO"}
FYERS_PRODUCTS = {
    Product.CNC: "CNC",
    Product.MIS: "INTRADAY",
    Product.NRML: "MARGIN",
    Product.MTF: "MTF",
}
# (exchange int, segment int) → our exchange (§6: exchanges 10/11/12, segments 10/11/12/20).
EXCHANGES = {
    (10, 10): "NSE",
    (10, 11): "NFO",
    (10, 12): "CDS",
    (10, 20): "NCO",
    (12, 10): "BSE",
    (12, 11): "BFO",
    (12, 12): "BCD",
    (11, 20): "MCX",
}
ASSET_TYPES = {
    10: AssetType.EQUITY,
    11: AssetType.DERIVATIVE,
    12: AssetType.CURRENCY,
    20: AssetType.COMMODITY,
}
# Our exchange → Fyers' symbol prefix and the equity series it appends (§6: "BSE:SBIN-A").
SYMBOL_PREFIX = {
    "NSE": ("NSE", "-EQ"),
    "BSE": ("BSE", "-A"),
    "NFO": ("NSE", ""),
    "CDS": ("NSE", ""),
    "BFO": ("BSE", ""),
    "MCX": ("MCX", ""),
}
# A cash-market ticker ends in its series (-EQ, -BE, BSE groups -A, -T, -XT...) or -INDEX.
SERIES = re.compile(r"-(?:[A-Z0-9]{1,2}|INDEX)$")

MASTER_COLUMNS = 12  # §4: headerless; we read by position up to index 11 (segment)


def envelope(response) -> dict:
    """A success envelope (§5); its refusals are read first, by FyersAdapter.map_error."""
    body = json_body(response, parse_float=Decimal)
    if not isinstance(body, dict) or body.get("s") != "ok":
        raise ValueError("not a Fyers success envelope")  # the door: BadResponse
    return body


def jwt_claims(token: str) -> dict:
    """A JWT's payload, unverified (PyJWT, signature and expiry unchecked): we only read `exp`
    and `fy_id` of a token Fyers gave us. {} for anything that is not a JWT."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return {}
    return claims if isinstance(claims, dict) else {}


def expires_at(claims: dict) -> datetime:
    # Gotcha 6: the token's own `exp` is the rule. Without one, 06:00 IST next is what the
    # only decoded sample showed (§2, UNCONFIRMED); a wrong guess costs an early re-login.
    exp = claims.get("exp")
    if isinstance(exp, int | float) and not isinstance(exp, bool):
        return datetime.fromtimestamp(exp, tz=UTC)
    return next_ist(time(6, 0))


def rows(key: str, mapper: Callable[[dict], object]) -> Callable[[dict], list]:
    return lambda body: [mapper(row) for row in body[key]]


def holding(h: dict) -> Holding:
    return Holding(
        exchange=_exchange(h),
        symbol=_plain(h["symbol"]),
        quantity=_quantity(h["quantity"]),
        average_price=money(h["costPrice"], signed=False),
        isin=h.get("isin") or "",
        last_price=money(h["ltp"], signed=False),
        broker_symbol=h["symbol"],
        instrument_id=h["symbol"],  # the ticker is the key every Fyers call takes
        asset_type=ASSET_TYPES.get(int(h["segment"]), AssetType.EQUITY),
    )


def position(p: dict) -> Position:
    net = quantity(p["netQty"])
    if int(p["side"]) == -1 and net > 0:  # a short shown with an unsigned netQty
        net = -net
    return Position(
        exchange=_exchange(p),
        symbol=_plain(p["symbol"]),
        product=_product(p["productType"]),
        quantity=net,
        average_price=money(p["netAvg"], signed=False),
        last_price=money(p["ltp"], signed=False),
        realized_pnl=money(p["realized_profit"]),
        unrealized_pnl=money(p["unrealized_profit"]),
        buy_quantity=_quantity(p["buyQty"]),
        sell_quantity=_quantity(p["sellQty"]),
        broker_symbol=p["symbol"],
        instrument_id=p["symbol"],
        asset_type=ASSET_TYPES.get(int(p["segment"]), AssetType.EQUITY),
    )


def order(o: dict) -> Order:
    status, word = _enum(STATUSES, o["status"], "order status")
    order_type = _enum(ORDER_TYPES, o["type"], "order type")
    if status is OrderStatus.OPEN and order_type in (OrderType.SL, OrderType.SL_M):
        status = OrderStatus.TRIGGER_PENDING
    filled = _quantity(o["filledQty"])
    limit = order_type in (OrderType.LIMIT, OrderType.SL)
    stop = order_type in (OrderType.SL, OrderType.SL_M)
    return Order(
        order_id=str(o["id"]),
        status=status,
        exchange=_exchange(o),
        symbol=_plain(o["symbol"]),
        side=_enum(SIDES, o["side"], "side"),
        quantity=_quantity(o["qty"]),
        order_type=order_type,
        product=_product(o["productType"]),
        filled_quantity=filled,
        price=money(o["limitPrice"], signed=False) if limit else None,
        trigger_price=money(o["stopPrice"], signed=False) if stop else None,
        average_price=money(o["tradedPrice"], signed=False) if filled else None,
        tag=o.get("orderTag") or "",
        status_message=o.get("message") or "",
        broker_status=word,
        placed_at=_timestamp(o.get("orderDateTime")),
    )


def trade(t: dict) -> Trade:
    return Trade(
        trade_id=str(t["tradeNumber"]),
        order_id=str(t["orderNumber"]),
        exchange=_exchange(t),
        symbol=_plain(t["symbol"]),
        side=_enum(SIDES, t["side"], "side"),
        quantity=_quantity(t["tradedQty"]),
        price=money(t["tradePrice"], signed=False),
        traded_at=_timestamp(t.get("orderDateTime")),
    )


def parse_master(response, master: str, endpoint: str) -> list[Instrument]:
    """A headerless symbol-master CSV (§4, gotcha 12): read by position, check the layout."""

    def corrupt(why: str) -> BadResponse:
        return BadResponse(f"symbol master {master}.csv {why}", broker=BROKER, endpoint=endpoint)

    raise_for_download(
        response, broker=BROKER, endpoint=endpoint, what=f"symbol master {master}.csv"
    )
    try:
        rows = [r for r in csv.reader(io.StringIO(response.content.decode("utf-8"))) if any(r)]
    except (UnicodeDecodeError, csv.Error):
        raise corrupt("is not readable text") from None
    found = []
    for number, row in enumerate(rows, start=1):
        if len(row) < MASTER_COLUMNS or not re.fullmatch(r"[A-Z]+:\S+", row[9]):
            raise corrupt(f"row {number} does not have the expected columns")
        try:
            found.append(_instrument(row, master))
        except (ValueError, ArithmeticError, BadResponse):
            raise corrupt(f"row {number} has unreadable values") from None
    if not found:
        raise corrupt("is empty")
    return found


def _instrument(row: list[str], master: str) -> Instrument:
    derivative = int(row[11]) != 10
    expiry = int(float(row[8] or 0))
    strike = Decimal(row[15]) if derivative and len(row) > 15 and row[15] else None
    if derivative:
        option = row[16] if len(row) > 16 else ""
        kind = option if option in ("CE", "PE") else "FUT"
    else:
        series = SERIES.search(row[9])
        kind = series.group(0)[1:] if series else ""
    return Instrument(
        instrument_id=row[9],
        exchange=_exchange({"exchange": row[10], "segment": row[11]}),
        symbol=_plain(row[9]),
        segment=master,
        isin=row[5].strip(),
        name=row[1],
        lot_size=int(float(row[3])),
        tick_size=money(row[4], signed=False),
        instrument_type=kind,
        expiry=datetime.fromtimestamp(expiry, tz=IST).date() if expiry > 0 else None,
        strike=strike if strike and strike > 0 else None,
    )


def fyers_symbol(exchange: str, symbol: str, instrument_id: str = "") -> str:
    if ":" in instrument_id:  # already Fyers' own ticker (a holding's or the master's)
        return instrument_id.upper()
    try:
        prefix, series = SYMBOL_PREFIX[exchange.upper()]
    except KeyError:
        raise InvalidRequest(f"unsupported exchange {exchange!r}", broker=BROKER) from None
    return f"{prefix}:{symbol.upper()}{series}"


def _plain(fyers_symbol: str) -> str:
    """`NSE:SBIN-EQ` → `SBIN`, `BSE:RELIANCE-A` → `RELIANCE`, `NSE:NIFTY25JANFUT` unchanged."""
    _, ticker = fyers_symbol.split(":", 1)  # no prefix: ValueError → BadResponse
    return SERIES.sub("", ticker) or ticker


def _exchange(row: Mapping) -> str:
    pair = (int(row["exchange"]), int(row["segment"]))
    if pair not in EXCHANGES:
        raise BadResponse(f"unknown exchange/segment {pair}", broker=BROKER)
    return EXCHANGES[pair]


def _enum(table: dict, value, what: str):
    try:
        return table[int(value)]
    except (KeyError, ValueError, TypeError):
        raise BadResponse(f"unknown {what} {value!r}", broker=BROKER) from None


def _product(value: str) -> str:
    if value not in PRODUCTS:
        raise BadResponse(f"unknown productType {value!r}", broker=BROKER)
    return PRODUCTS[value]


def _quantity(value) -> int:
    return quantity(value, signed=False)  # §4: netQty is the one signed count


def number(amount: Decimal | None) -> float:
    """JSON numbers on the wire (§6), floats as the SDK sends them."""
    return json_number(amount, always_float=True)


def _timestamp(value) -> datetime | None:
    # `orderDateTime` like "17-Jan-2025 09:20:11" IST (§4, UNCONFIRMED): unreadable → None.
    return when(value, "%d-%b-%Y %H:%M:%S", lenient=True)
