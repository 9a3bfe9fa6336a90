"""IIFL (Symphony XTS) wire format → our dataclasses. Pure functions, no HTTP.

Section numbers refer to docs/brokers/iifl.md. Parsers raise ValueError/KeyError/TypeError on
anything malformed; the HTTP door turns those into BadResponse naming the endpoint.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

from brokers.adapters import wire
from brokers.adapters.wire import money, quantity
from brokers.types import (
    AssetType,
    Funds,
    Holding,
    Order,
    OrderAck,
    OrderStatus,
    OrderType,
    Position,
    Profile,
    Side,
    Trade,
)

BROKER = "iifl"

# §6: trading calls name a segment by text, market-data calls by number.
SEGMENTS = {
    "NSE": "NSECM",
    "BSE": "BSECM",
    "NFO": "NSEFO",
    "BFO": "BSEFO",
    "CDS": "NSECD",
    "MCX": "MCXFO",
}
EXCHANGES = {segment: exchange for exchange, segment in SEGMENTS.items()}
SEGMENT_NUMBERS = {"NSECM": 1, "NSEFO": 2, "NSECD": 3, "BSECM": 11, "BSEFO": 12, "MCXFO": 51}
CASH = ("NSECM", "BSECM")
ASSET_TYPES = {
    "NFO": AssetType.DERIVATIVE,
    "BFO": AssetType.DERIVATIVE,
    "CDS": AssetType.CURRENCY,
    "MCX": AssetType.COMMODITY,
}
# §6 / gotcha 4: requests say STOPLIMIT, answers say StopLimit; compare folded.
ORDER_TYPES = {
    OrderType.MARKET: "MARKET",
    OrderType.LIMIT: "LIMIT",
    OrderType.SL: "STOPLIMIT",
    OrderType.SL_M: "STOPMARKET",
}
ORDER_TYPES_BACK = {wire: ours for ours, wire in ORDER_TYPES.items()}
# §6: New/Filled/Rejected/Cancelled are confirmed; the rest are third-party spellings
# (UNCONFIRMED), so statuses are compared without case or spaces.
STATUSES = {
    "pendingnew": OrderStatus.PENDING,
    "new": OrderStatus.OPEN,
    "partiallyfilled": OrderStatus.OPEN,
    "pendingreplace": OrderStatus.OPEN,
    "replaced": OrderStatus.OPEN,
    "pendingcancel": OrderStatus.OPEN,
    "triggerpending": OrderStatus.TRIGGER_PENDING,
    "filled": OrderStatus.COMPLETE,
    "cancelled": OrderStatus.CANCELLED,
    "rejected": OrderStatus.REJECTED,
}
SERIES = frozenset({"EQ", "BE", "BZ", "SM", "ST"})
# §5: empty books are HTTP 400 "Data Not Available" errors (codes per book UNCONFIRMED).
EMPTY = "data not available"


# --- §5 the envelope: its errors are read first, by IiflAdapter.map_error ------------------
def result(response, *, empty=None):
    """The ``result`` of a success envelope; ``empty`` for a book XTS says has no rows."""
    body = wire.json_body(response)
    if not isinstance(body, dict) or body.get("type") not in ("success", "error"):
        # ValueError, not BadResponse: the door then reports an order write as unknown.
        raise ValueError("no XTS envelope")
    if body["type"] == "success" and response.status_code < 400:
        return body["result"]
    if empty is not None and is_empty(body):
        return empty
    raise ValueError("no data where this read needs some")


def is_empty(body: dict) -> bool:
    """§5: empty books are HTTP 400 "Data Not Available" errors (codes per book UNCONFIRMED)."""
    return str(body.get("description") or "").strip().lower() == EMPTY


def field_errors(payload) -> str:
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if not errors:
        return "no details"
    return "; ".join(str(error) for error in errors)[:300]


# --- Values: numbers arrive as numbers or as numeric strings (§4, gotcha 9) ----------------
def price(value) -> Decimal | None:
    return wire.optional_price(value)  # XTS writes 0 or "" where there is none


def identifier(value) -> str:
    """AppOrderID and instrument ids are integers on the wire, strings for us."""
    return str(quantity(value))


def when(value) -> datetime | None:
    """XTS times are ISO text, naive ones in IST ("2020-12-21T14:59:41.1535468")."""
    return wire.when(value, lenient=True)


def plain(symbol: str) -> str:
    """RELIANCE-EQ → RELIANCE: the NSE series suffix is IIFL's decoration, not the symbol."""
    return wire.strip_series(symbol.strip().upper(), SERIES)


def fold(word) -> str:
    return str(word).replace(" ", "").lower()


def exchange_of(segment) -> str:
    return EXCHANGES[str(segment)]


# --- §4 endpoints ---------------------------------------------------------------------------
def login(payload) -> tuple[str, str, bool, list[str]]:
    """§1: token, userID, isInvestorClient, clientCodes."""
    token = payload["token"]
    if not isinstance(token, str) or not token:
        raise ValueError("login answer without a token")
    investor = payload.get("isInvestorClient", True) is not False
    return token, str(payload.get("userID") or ""), investor, list(payload.get("clientCodes") or [])


def profile(payload) -> Profile:
    details = payload.get("ClientExchangeDetailsList") or {}
    exchanges = {
        EXCHANGES[segment]
        for segment, detail in details.items()
        if segment in EXCHANGES and (not isinstance(detail, dict) or detail.get("Enabled", True))
    }
    products = payload.get("ProductsAssigned") or []
    if isinstance(products, str):
        products = products.split(",")
    return Profile(
        account_id=str(payload["ClientId"]),
        name=str(payload.get("ClientName") or ""),
        email=str(payload.get("EmailId") or ""),
        exchanges=tuple(sorted(exchanges)),
        products=tuple(str(p).strip() for p in products if str(p).strip()),
    )


def funds(payload) -> Funds:
    """§4 Funds: netMarginAvailable is what can be traded with, marginUtilized what is used."""
    limits = payload["BalanceList"][0]["limitObject"]["RMSSubLimits"]
    available, used = money(limits["netMarginAvailable"]), money(limits["marginUtilized"])
    return Funds(
        available=available,
        used=used,
        total=available + used,
        collateral=money(limits.get("collateral") or 0),
    )


def holdings(payload) -> list[tuple[str, Holding]]:
    """§4 Holdings, both XTS shapes; symbols come later from the master (gotcha 8)."""
    if not payload:
        return []
    books = [payload["RMSHoldings"]] if "RMSHoldings" in payload else payload["RMSHoldingList"]
    rows = []
    for book in books:
        for item in (book.get("Holdings") or {}).values():
            nse = quantity(item.get("ExchangeNSEInstrumentId") or 0)
            bse = quantity(item.get("ExchangeBSEInstrumentId") or 0)
            if not (nse or bse):
                raise ValueError("holding without an exchange instrument id")
            segment, instrument = ("NSECM", nse) if nse else ("BSECM", bse)
            holding = Holding(
                exchange=EXCHANGES[segment],
                symbol="",
                quantity=quantity(item["HoldingQuantity"]),
                average_price=money(item["BuyAvgPrice"]),
                isin=str(item.get("ISIN") or ""),
                instrument_id=str(instrument),
            )
            rows.append((segment, holding))
    return rows


def positions(payload) -> list[tuple[str, Position]]:
    rows = []
    for row in (payload or {}).get("positionList") or []:
        segment = str(row["ExchangeSegment"])
        exchange = exchange_of(segment)
        net = quantity(row["Quantity"])
        average = Decimal(0)
        if net:
            average = money(row["BuyAveragePrice"] if net > 0 else row["SellAveragePrice"])
        unrealized = row.get("UnrealizedMTM")
        position = Position(
            exchange=exchange,
            symbol=plain(str(row["TradingSymbol"])),
            product=str(row["ProductType"]),
            quantity=net,
            average_price=average,
            realized_pnl=money(row.get("RealizedMTM") or 0),
            unrealized_pnl=None if unrealized in (None, "") else money(unrealized),
            buy_quantity=quantity(row.get("OpenBuyQuantity") or 0),
            sell_quantity=quantity(row.get("OpenSellQuantity") or 0),
            broker_symbol=str(row["TradingSymbol"]),
            # gotcha 9: lower-case d here, ExchangeInstrumentID in orders and trades
            instrument_id=identifier(row["ExchangeInstrumentId"]),
            lot_size=quantity(row.get("Marketlot") or 1) or 1,
            asset_type=ASSET_TYPES.get(exchange, AssetType.EQUITY),
        )
        rows.append((segment, position))
    return rows


def order(row) -> tuple[str, str, Order]:
    """§4 order row (S5 capture). Unknown status/side/type words are BadResponse."""
    segment = str(row["ExchangeSegment"])
    word = str(row["OrderStatus"])
    placed = Order(
        order_id=identifier(row["AppOrderID"]),
        status=STATUSES[fold(word)],
        exchange=exchange_of(segment),
        symbol=str(row.get("TradingSymbol") or ""),
        side=Side(str(row["OrderSide"]).upper()),
        quantity=quantity(row["OrderQuantity"]),
        order_type=ORDER_TYPES_BACK[fold(row["OrderType"]).upper()],
        product=str(row["ProductType"]),
        filled_quantity=quantity(row.get("CumulativeQuantity") or 0),
        price=price(row.get("OrderPrice")),
        trigger_price=price(row.get("OrderStopPrice")),
        average_price=price(row.get("OrderAverageTradedPrice")),
        tag=str(row.get("OrderUniqueIdentifier") or ""),
        status_message=str(row.get("CancelRejectReason") or ""),
        broker_status=word,
        placed_at=when(row.get("OrderGeneratedDateTime")),
    )
    return segment, identifier(row["ExchangeInstrumentID"]), placed


def orders(payload) -> list[tuple[str, str, Order]]:
    return [order(row) for row in payload or []]


def trades(payload) -> list[tuple[str, str, Trade]]:
    """§4 Trade book: order fields plus the fill (LastTradedPrice / LastTradedQuantity)."""
    rows = []
    for row in payload or []:
        segment = str(row["ExchangeSegment"])
        trade = Trade(
            trade_id=str(row["ExecutionID"]),
            order_id=identifier(row["AppOrderID"]),
            exchange=exchange_of(segment),
            symbol=str(row.get("TradingSymbol") or ""),
            side=Side(str(row["OrderSide"]).upper()),
            quantity=quantity(row["LastTradedQuantity"]),
            price=money(row["LastTradedPrice"]),
            traded_at=when(row.get("LastExecutionTransactTime")),
        )
        rows.append((segment, identifier(row["ExchangeInstrumentID"]), trade))
    return rows


def ack(payload) -> OrderAck:
    """Place and modify answer {AppOrderID, ...}; cancel's result S4 models as a list of
    {AppOrderID, ClientID} (UNCONFIRMED), so both are read."""
    row = payload[0] if isinstance(payload, list) else payload
    return OrderAck(order_id=identifier(row["AppOrderID"]))


def ignore(payload) -> None:
    return None


def wire_price(value: Decimal | None) -> int | float:
    return wire.json_number(value, always_float=True)  # the SDK sends limitPrice: 2500.0


def modifiable(payload) -> dict | None:
    """The latest state of one order (order history, §4) in the words a modify needs."""
    if not payload:
        return None
    row = payload[-1]
    return {
        "product": str(row["ProductType"]),
        "order_type": ORDER_TYPES[ORDER_TYPES_BACK[fold(row["OrderType"]).upper()]],
        "quantity": quantity(row["OrderQuantity"]),
        "disclosed": quantity(row.get("OrderDisclosedQuantity") or 0),
        "price": money(row.get("OrderPrice") or 0),
        "stop": money(row.get("OrderStopPrice") or 0),
        "validity": str(row.get("TimeInForce") or "DAY"),
        "tag": str(row.get("OrderUniqueIdentifier") or ""),
    }


def touchlines(payload) -> dict[tuple[int, int], tuple[Decimal, Decimal | None]]:
    """§4 Quotes: listQuotes holds JSON text per instrument (gotcha 6); Close is the previous
    session's close (PercentChange is measured from it)."""
    prices = {}
    for item in payload["listQuotes"]:
        quote = json.loads(item) if isinstance(item, str) else item
        touchline = quote["Touchline"]
        key = (int(quote["ExchangeSegment"]), int(quote["ExchangeInstrumentID"]))
        prices[key] = (money(touchline["LastTradedPrice"]), price(touchline.get("Close")))
    return prices
