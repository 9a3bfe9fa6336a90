"""Angel One payloads → our dataclasses (docs/brokers/angelone.md §4, §6).

Pure functions of the decoded JSON: a missing key or an unknown word raises KeyError/ValueError,
which the HTTP door turns into BadResponse naming the broker and endpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from brokers.adapters import wire
from brokers.clock import IST, next_ist
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
    Product,
    Profile,
    Quote,
    Side,
    Trade,
)

BROKER = "angelone"
SIDES = {"BUY": Side.BUY, "SELL": Side.SELL}
ORDER_TYPES = {
    "MARKET": OrderType.MARKET,
    "LIMIT": OrderType.LIMIT,
    "STOPLOSS_LIMIT": OrderType.SL,
    "STOPLOSS_MARKET": OrderType.SL_M,
}
ORDER_TYPES_OUT = {ours: theirs for theirs, ours in ORDER_TYPES.items()}
PRODUCTS: dict[str, str] = {
    "DELIVERY": Product.CNC,
    "INTRADAY": Product.MIS,
    "CARRYFORWARD": Product.NRML,
    "MARGIN": Product.MTF,  # §6 "margin delivery"
    "BO": "BO",  # bracket (ROBO variety): no equivalent of ours, kept as Angel's word
}
PRODUCTS_OUT = {
    Product.CNC: "DELIVERY",
    Product.MIS: "INTRADAY",
    Product.NRML: "CARRYFORWARD",
    Product.MTF: "MARGIN",
}
# §4 order statuses (lower case; full set UNCONFIRMED: these are the AB01-AB11 update words).
STATUSES = {
    "open": OrderStatus.OPEN,
    "modified": OrderStatus.OPEN,
    "modify pending": OrderStatus.OPEN,
    "modify validation pending": OrderStatus.OPEN,
    "modify order req received": OrderStatus.OPEN,
    "cancel pending": OrderStatus.OPEN,
    "cancel order req received": OrderStatus.OPEN,
    "open pending": OrderStatus.PENDING,
    "validation pending": OrderStatus.PENDING,
    "put order req received": OrderStatus.PENDING,
    "after market order req received": OrderStatus.PENDING,
    "modify after market order req received": OrderStatus.PENDING,
    "trigger pending": OrderStatus.TRIGGER_PENDING,
    "complete": OrderStatus.COMPLETE,
    "cancelled": OrderStatus.CANCELLED,
    "cancelled after market order": OrderStatus.CANCELLED,
    "rejected": OrderStatus.REJECTED,
}
# §6/§8.9: NSE cash symbols carry the series ("SBIN-EQ"); the exchange symbol has none.
SERIES = frozenset({"EQ", "BE", "BZ", "BL", "BT", "GC", "IL", "IQ", "MF", "SG", "SM", "ST"})
SERIES |= {"GB", "GS", "TB", "RL"}
BOOK_FIELDS: tuple[str, ...] = (
    "variety",
    "ordertype",
    "producttype",
    "duration",
    "price",
    "triggerprice",
)
BOOK_FIELDS += ("quantity", "tradingsymbol", "symboltoken", "exchange")
TIMESTAMP = "%d-%b-%Y %H:%M:%S"  # "20-Oct-2020 13:10:59", IST


EMPTY_CODES = {"AB1013", "AB1014", "AB1015", "AB1016"}  # §8.4: "nothing there", not a failure


def session_end() -> datetime:
    return next_ist(time(0, 0))  # §2: the JWT dies at the next midnight IST


def _dec(value) -> Decimal:
    # Strings almost everywhere, numbers in holdings and quotes, and "- 2235.80" (a space
    # after the sign) in positions' netvalue: squeeze the text, then the shared rule.
    return wire.money(str(value).replace(" ", "").replace(",", ""))


def _opt(value) -> Decimal | None:
    return None if value in (None, "") else _dec(value)


def _nonzero(value) -> Decimal | None:
    return _opt(value) or None  # order book: 0 is "no price"


def _int(value) -> int:
    return wire.quantity(_dec(value))


def wire_number(value: Decimal | None) -> str:
    return "0" if value is None else format(Decimal(str(value)), "f")


def plain(symbol: str) -> str:
    return wire.strip_series(symbol, SERIES)


def _asset(exchange: str, instrument_type: str) -> AssetType:
    if exchange in ("MCX", "NCDEX"):
        return AssetType.COMMODITY
    if exchange == "CDS":
        return AssetType.CURRENCY
    if exchange in ("NFO", "BFO") or instrument_type.startswith(("FUT", "OPT")):
        return AssetType.DERIVATIVE
    return AssetType.EQUITY


def rows(build: Callable[[dict], Any]) -> Callable[[Any], list]:
    return lambda data: [build(row) for row in data or []]  # §8.4: data null = nothing


def holdings(data) -> list[Holding]:
    return [holding(row) for row in (data or {}).get("holdings") or []]


def book_entry(rows, order_id: str) -> dict[str, str] | None:
    """§4 modifyOrder and cancelOrder resend the order as the book has it."""
    row = next((r for r in rows or [] if str(r["orderid"]) == order_id), None)
    return {f: str(row[f]) for f in BOOK_FIELDS} if row else None


def ack(data: dict) -> OrderAck:
    order_id = str(data["orderid"] or "")
    if not order_id:
        raise ValueError("no orderid in the reply")
    return OrderAck(order_id=order_id)


def profile(data: dict) -> Profile:
    return Profile(
        account_id=data["clientcode"],
        name=data["name"],
        email=data.get("email") or "",
        exchanges=tuple(data.get("exchanges") or ()),
        products=tuple(data.get("products") or ()),
    )


def funds(data: dict) -> Funds:
    # §8.11: "net" is what is left to trade with (availablecash - utiliseddebits).
    return Funds(
        available=_dec(data["net"]),
        used=_dec(data["utiliseddebits"]),
        total=_dec(data["availablecash"]),
        collateral=_dec(data.get("collateral") or 0),
    )


def holding(row: dict) -> Holding:
    quantity, average = _int(row["quantity"]), _dec(row["averageprice"])
    if quantity < 0 or average < 0:
        raise ValueError("negative holding")
    return Holding(
        exchange=row["exchange"],
        symbol=plain(row["tradingsymbol"]),
        quantity=quantity,
        average_price=average,
        isin=row.get("isin") or "",
        last_price=_opt(row.get("ltp")),
        close_price=_opt(row.get("close")),
        broker_symbol=row["tradingsymbol"],
        instrument_id=str(row["symboltoken"]),
    )


def position(row: dict) -> Position:
    # §4: day quantities are "buyqty"/"sellqty" (one client reads "buyquantity"); accept both.
    buy = _int(row["buyqty"] if "buyqty" in row else row["buyquantity"])
    sell = _int(row["sellqty"] if "sellqty" in row else row["sellquantity"])
    net, average, last = _int(row["netqty"]), _dec(row["avgnetprice"]), _opt(row.get("ltp"))
    realized = _opt(row.get("realised"))
    if realized is None:
        closed = min(buy + _int(row.get("cfbuyqty") or 0), sell + _int(row.get("cfsellqty") or 0))
        sold, bought = row.get("totalsellavgprice") or 0, row.get("totalbuyavgprice") or 0
        realized = closed * (_dec(sold) - _dec(bought))
    unrealized = _opt(row.get("unrealised"))
    if unrealized is None and last is not None:
        unrealized = (last - average) * net
    return Position(
        exchange=row["exchange"],
        symbol=plain(row["tradingsymbol"]),
        product=PRODUCTS[row["producttype"]],
        quantity=net,
        average_price=average,
        last_price=last,
        close_price=_opt(row.get("close")),
        realized_pnl=realized,
        unrealized_pnl=unrealized,
        buy_quantity=buy,
        sell_quantity=sell,
        broker_symbol=row["tradingsymbol"],
        instrument_id=str(row["symboltoken"]),
        lot_size=_int(row.get("lotsize") or 1),
        asset_type=_asset(row["exchange"], row.get("instrumenttype") or ""),
    )


def order(row: dict) -> Order:
    status = str(row.get("status") or row.get("orderstatus") or "").strip().lower()
    return Order(
        order_id=str(row["orderid"]),
        status=STATUSES[status],
        exchange=row["exchange"],
        symbol=plain(row["tradingsymbol"]),
        side=SIDES[row["transactiontype"]],
        quantity=_int(row["quantity"]),
        order_type=ORDER_TYPES[row["ordertype"]],
        product=PRODUCTS[row["producttype"]],
        filled_quantity=_int(row.get("filledshares") or 0),
        price=_nonzero(row.get("price")),
        trigger_price=_nonzero(row.get("triggerprice")),
        average_price=_nonzero(row.get("averageprice")),
        tag=row.get("ordertag") or "",
        status_message=row.get("text") or "",
        broker_status=status,
        # The book has no placement time; updatetime is the closest.
        placed_at=wire.when(row.get("updatetime"), TIMESTAMP),
    )


def trade(row: dict, today: date) -> Trade:
    filled = row.get("filltime")  # §4: "13:27:53", today's trades only
    return Trade(
        trade_id=str(row["fillid"]),
        order_id=str(row["orderid"]),
        exchange=row["exchange"],
        symbol=plain(row["tradingsymbol"]),
        side=SIDES[row["transactiontype"]],
        quantity=_int(row["fillsize"]),
        price=_dec(row["fillprice"]),
        traded_at=datetime.combine(today, time.fromisoformat(filled), IST) if filled else None,
    )


def quotes(data, wanted: dict[tuple[str, str], InstrumentRef]) -> dict[InstrumentRef, Quote]:
    found = {}
    for row in (data or {}).get("fetched") or []:
        ref = wanted.get((row["exchange"], str(row["symbolToken"])))
        if ref:
            found[ref] = Quote(
                exchange=ref.exchange,
                symbol=plain(row.get("tradingSymbol") or ref.symbol),
                last_price=_dec(row["ltp"]),
                previous_close=_opt(row.get("close")),
            )
    return found


# --- §5 the envelope: refusals are read first, by AngelOneAdapter.map_error ----------------------
def data(response) -> Any:
    """The ``data`` of a success, or None for the list reads' "not found" codes (§8.4)."""
    body = wire.json_body(response)
    if not isinstance(body, dict) or not ({"status", "success"} & body.keys()):
        raise ValueError("not an Angel One envelope")  # the door makes it BadResponse
    if success(body):
        return body.get("data")
    if error_code(body) in EMPTY_CODES:
        return None
    raise ValueError("a refusal map_error did not read")


def success(body: dict) -> bool:
    # §8.3: "status" normally, "success" from the gateway, and "false" may be a string.
    flag = body["status"] if "status" in body else body["success"]
    return flag is True or str(flag).lower() == "true"


def error_code(body: dict) -> str:
    # §8.3: "errorcode" normally, "errorCode" from the gateway.
    return str(body.get("errorcode") or body.get("errorCode") or "")


def master(response) -> list[tuple[Instrument, str]]:
    """§4 Instrument master: one public JSON array, no envelope; each instrument with Angel's
    own symbol, for the symbol → token index."""
    where = {"broker": BROKER, "endpoint": "OpenAPIScripMaster"}
    wire.raise_for_download(response, **where)
    rows = response.json()
    if not isinstance(rows, list) or not rows:
        raise BadResponse("instrument master is empty or not a JSON array", **where)
    return [(instrument(row), row["symbol"]) for row in rows]


def instrument(row: dict) -> Instrument:
    # §4 master: strike x100 (currency options a further x100000), tick size in paise.
    exchange, kind, expiry = row["exch_seg"], row["instrumenttype"], row["expiry"]
    strike = _dec(row["strike"]) / 100
    if exchange == "CDS" and kind in ("OPTCUR", "OPTIRC"):
        strike /= 100000
    if kind == "AMXIDX":
        segment = "INDICES"
    elif kind[:3] in ("FUT", "OPT"):
        segment = f"{exchange}-{kind[:3]}"
    else:
        segment = exchange
    return Instrument(
        instrument_id=str(row["token"]),
        exchange=exchange,
        symbol=plain(row["symbol"]),
        segment=segment,
        name=row["name"],
        lot_size=_int(row["lotsize"] or 1),
        tick_size=_dec(row["tick_size"]) / 100,
        instrument_type=kind or "EQ",
        expiry=datetime.strptime(expiry, "%d%b%Y").date() if expiry else None,
        strike=strike if strike > 0 else None,
    )


def symbol_index(pairs: list[tuple[Instrument, str]]) -> dict[tuple[str, str], tuple[str, str]]:
    """(exchange, symbol) → (tradingsymbol, token), by plain and by Angel symbol; a plain NSE
    symbol means its -EQ series when several series are listed."""
    index: dict[tuple[str, str], tuple[str, str]] = {}
    for instrument, broker_symbol in pairs:
        entry = (broker_symbol, instrument.instrument_id)
        index[(instrument.exchange, broker_symbol)] = entry
        plain = (instrument.exchange, instrument.symbol)
        if plain not in index or broker_symbol.endswith("-EQ"):
            index[plain] = entry
    return index
