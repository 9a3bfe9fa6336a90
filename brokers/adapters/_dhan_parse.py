"""Dhan payloads → our dataclasses, and Dhan's vocabulary (docs/brokers/dhan.md §4, §6).

Split from dhan.py to keep each module readable; only the Dhan adapter imports it.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from brokers.adapters import wire
from brokers.adapters.wire import money, quantity
from brokers.clock import IST
from brokers.errors import BadResponse
from brokers.types import (
    AssetType,
    Funds,
    Holding,
    Instrument,
    InstrumentRef,
    Order,
    OrderStatus,
    OrderType,
    Position,
    Product,
    Profile,
    Quote,
    Side,
    Trade,
)

TOKEN_LIFETIME = timedelta(hours=24)

SEGMENTS = {"NSE": "NSE_EQ", "BSE": "BSE_EQ", "NFO": "NSE_FNO", "BFO": "BSE_FNO", "MCX": "MCX_COMM"}
SEGMENTS |= {"CDS": "NSE_CURRENCY", "BCD": "BSE_CURRENCY"}
EXCHANGES = {segment: exchange for exchange, segment in SEGMENTS.items()} | {"IDX_I": "NSE"}
ASSET_TYPES = {
    **dict.fromkeys(["NSE_FNO", "BSE_FNO"], AssetType.DERIVATIVE),
    **dict.fromkeys(["NSE_CURRENCY", "BSE_CURRENCY"], AssetType.CURRENCY),
    "MCX_COMM": AssetType.COMMODITY,
}
# Instrument master: SEM_EXM_EXCH_ID + SEM_SEGMENT → exchangeSegment (§4 instrument master).
MASTER_SEGMENTS = {"NSEE": "NSE_EQ", "BSEE": "BSE_EQ", "NSED": "NSE_FNO", "BSED": "BSE_FNO"}
MASTER_SEGMENTS |= {"MCXM": "MCX_COMM", "NSEC": "NSE_CURRENCY", "BSEC": "BSE_CURRENCY"}
MASTER_SEGMENTS |= {"NSEI": "IDX_I", "BSEI": "IDX_I"}
MASTER_COLUMNS = {"SEM_EXM_EXCH_ID", "SEM_SEGMENT", "SEM_SMST_SECURITY_ID", "SEM_TRADING_SYMBOL"}
MASTER_COLUMNS |= {"SEM_INSTRUMENT_NAME", "SEM_LOT_UNITS", "SEM_TICK_SIZE"}
ACTIVE_SEGMENTS = {"Equity": ("NSE", "BSE"), "Derivative": ("NFO", "BFO"), "Commodity": ("MCX",)}
ACTIVE_SEGMENTS |= {"Currency": ("CDS", "BCD")}
PRODUCTS = {Product.CNC: "CNC", Product.MIS: "INTRADAY", Product.NRML: "MARGIN", Product.MTF: "MTF"}
PRODUCT_NAMES = {wire: ours.value for ours, wire in PRODUCTS.items()} | {"CO": "CO", "BO": "BO"}
ORDER_TYPES = {OrderType.LIMIT: "LIMIT", OrderType.MARKET: "MARKET", OrderType.SL: "STOP_LOSS"}
ORDER_TYPES |= {OrderType.SL_M: "STOP_LOSS_MARKET"}
ORDER_TYPE_NAMES = {wire: ours for ours, wire in ORDER_TYPES.items()}
# TRANSIT has not reached the exchange yet; PENDING is Dhan's word for an open order (§6).
STATUSES = {
    "TRANSIT": OrderStatus.PENDING,
    **dict.fromkeys(["PENDING", "PART_TRADED", "TRIGGERED"], OrderStatus.OPEN),
    **dict.fromkeys(["TRADED", "CLOSED"], OrderStatus.COMPLETE),
    **dict.fromkeys(["CANCELLED", "EXPIRED"], OrderStatus.CANCELLED),
    "REJECTED": OrderStatus.REJECTED,
}


def price(value: Any) -> Decimal | None:
    amount = wire.money(value)
    return amount if amount > 0 else None  # absent prices come as 0.0 (the master writes -0.01)


def number(value: Decimal | None) -> int | float:
    return wire.json_number(value, always_float=True)  # floats, as the SDK sends them


def ist(value: Any) -> datetime | None:
    """Dhan times are IST without a zone; year 0001 and "NA" mean "not yet" (§8.10)."""
    if not value or value == "NA" or str(value).startswith("0001"):
        return None
    return wire.when(str(value)[:19], "%Y-%m-%d %H:%M:%S")


def expiry(value: Any) -> datetime:
    """expiryTime carries no zone; read as IST (the earlier of the two readings) and never
    later than the 24 h maximum (§2)."""
    latest = timezone.now() + TOKEN_LIFETIME
    if not value:
        return latest
    expires = datetime.fromisoformat(str(value))
    return min(expires if expires.tzinfo else expires.replace(tzinfo=IST), latest)


def profile(data: dict, name: str) -> Profile:
    segments = [s.strip() for s in str(data.get("activeSegment") or "").split(",")]
    return Profile(
        account_id=str(data["dhanClientId"]),
        name=name or str(data["dhanClientId"]),  # the profile API carries no name
        exchanges=tuple(x for s in segments for x in ACTIVE_SEGMENTS.get(s, ())),
        products=("CNC", "MIS", "NRML") + (("MTF",) if data.get("mtf") == "Active" else ()),
    )


def funds(data: dict) -> Funds:
    return Funds(  # the misspellings are Dhan's own field names (§8.3)
        available=money(data["availabelBalance"]),
        used=money(data["utilizedAmount"]),
        total=money(data["sodLimit"]),
        collateral=money(data.get("collateralAmount") or 0),
    )


def quotes(data: dict, wanted: dict[tuple[str, str], list[InstrumentRef]]) -> dict:
    """Marketfeed OHLC: keys are string ids; ohlc.close is the previous session's close."""
    found = data["data"]
    result = {}
    for (segment, security_id), refs in wanted.items():
        row = (found.get(segment) or {}).get(security_id)
        for ref in refs if row else ():  # ids Dhan does not know are simply left out
            result[ref] = Quote(
                exchange=ref.exchange,
                symbol=ref.symbol,
                last_price=money(row["last_price"]),  # type: ignore[index]
                previous_close=price(row["ohlc"]["close"]),  # type: ignore[index]
            )
    return result


def modifiable(data: dict | list) -> dict:
    """What a modification must resend; some deployments wrap the one order in a list (§4)."""
    row = data[0] if isinstance(data, list) else data
    if row["orderType"] not in ORDER_TYPE_NAMES:
        raise ValueError(f"unknown orderType {row['orderType']!r}")
    return {
        "orderType": row["orderType"],
        "quantity": quantity(row["quantity"]),
        "price": money(row.get("price") or 0),
        "triggerPrice": money(row.get("triggerPrice") or 0),
        "validity": str(row["validity"]),
    }


def holdings(rows: list[dict]) -> list[Holding]:
    holdings = []
    for row in rows:
        # A holding is never short: a negative count or cost is a broken answer.
        average = money(row["avgCostPrice"], signed=False)
        held = quantity(row["totalQty"], signed=False)
        isin = str(row.get("isin") or "")
        holdings.append(
            Holding(
                # "ALL" means deliverable on both exchanges (§8.11); NSE is the primary listing.
                exchange="NSE" if row["exchange"] == "ALL" else str(row["exchange"]),
                symbol=str(row["tradingSymbol"]),
                quantity=held,
                average_price=average,
                isin=isin,
                last_price=price(row.get("lastTradedPrice") or 0),
                broker_symbol=str(row["tradingSymbol"]),
                instrument_id=str(row["securityId"]),
                # Exchange-traded INF... ISINs are fund units (ETFs); Dhan holdings show no type.
                asset_type=AssetType.ETF if isin.startswith("INF") else AssetType.EQUITY,
            )
        )
    return holdings


def positions(rows: list[dict]) -> list[Position]:
    positions = []
    for row in rows:
        segment, net = row["exchangeSegment"], quantity(row["netQty"])
        average = row["buyAvg"] if net > 0 else row["sellAvg"] if net < 0 else 0
        positions.append(
            Position(
                exchange=EXCHANGES[segment],
                symbol=str(row["tradingSymbol"]),
                product=PRODUCT_NAMES[row["productType"]],
                quantity=net,
                average_price=money(average),
                realized_pnl=money(row.get("realizedProfit") or 0),
                unrealized_pnl=money(row.get("unrealizedProfit") or 0),
                buy_quantity=quantity(row.get("buyQty") or 0),
                sell_quantity=quantity(row.get("sellQty") or 0),
                broker_symbol=str(row["tradingSymbol"]),
                instrument_id=str(row["securityId"]),
                asset_type=ASSET_TYPES.get(segment, AssetType.EQUITY),
            )
        )
    return positions


def orders(rows: list[dict]) -> list[Order]:
    return [order(row) for row in rows]


def order(row: dict) -> Order:
    tag = str(row.get("correlationId") or "")
    return Order(
        order_id=str(row["orderId"]),
        status=STATUSES[row["orderStatus"]],
        exchange=EXCHANGES[row["exchangeSegment"]],
        symbol=str(row["tradingSymbol"]),
        side=Side(row["transactionType"]),
        quantity=quantity(row["quantity"]),
        order_type=ORDER_TYPE_NAMES[row["orderType"]],
        product=PRODUCT_NAMES[row["productType"]],
        filled_quantity=quantity(row.get("filledQty") or 0),
        price=price(row.get("price") or 0),
        trigger_price=price(row.get("triggerPrice") or 0),
        average_price=price(row.get("averageTradedPrice") or 0),
        tag="" if tag == "NA" else tag,
        status_message=str(row.get("omsErrorDescription") or ""),
        broker_status=str(row["orderStatus"]),
        placed_at=ist(row.get("createTime")),
    )


def trades(rows: list[dict]) -> list[Trade]:
    return [
        Trade(
            trade_id=str(row["exchangeTradeId"]),
            order_id=str(row["orderId"]),
            exchange=EXCHANGES[row["exchangeSegment"]],
            symbol=str(row["tradingSymbol"]),
            side=Side(row["transactionType"]),
            quantity=quantity(row["tradedQuantity"]),
            price=money(row["tradedPrice"]),
            traded_at=ist(row.get("exchangeTime")) or ist(row.get("createTime")),
        )
        for row in rows
    ]


def master(response, broker: str) -> list[Instrument]:
    """The compact scrip master CSV; anything unreadable or incomplete is a BadResponse."""

    def bad(why: str) -> BadResponse:
        return BadResponse(f"instrument master {why}", broker=broker, endpoint="instruments")

    reader = csv.DictReader(io.StringIO(response.text))
    missing = MASTER_COLUMNS - set(reader.fieldnames or ())
    if missing:
        raise bad(f"lacks columns {', '.join(sorted(missing))}")
    try:
        rows = list(reader)
    except csv.Error:
        raise bad("is not readable CSV") from None
    if not rows:
        raise bad("is empty")
    if any(None in row or None in row.values() for row in rows):
        raise bad("has a cut-off row (truncated download?)")
    # Tick sizes come in paise in the real file (5.0000 = 0.05): check equity rows first (§8.12).
    paise = any(r["SEM_SEGMENT"] == "E" and money(r["SEM_TICK_SIZE"] or 0) >= 1 for r in rows)
    instruments = []
    for row in rows:
        segment = MASTER_SEGMENTS.get(row["SEM_EXM_EXCH_ID"] + row["SEM_SEGMENT"])
        if segment is None:
            continue  # a segment we do not trade (new ones appear without notice)
        tick = money(row["SEM_TICK_SIZE"] or "0") / (100 if paise else 1)
        strike = money(row.get("SEM_STRIKE_PRICE") or "0")
        expiry = (row.get("SEM_EXPIRY_DATE") or "")[:10]
        instruments.append(
            Instrument(
                instrument_id=row["SEM_SMST_SECURITY_ID"],
                exchange=EXCHANGES[segment] if segment != "IDX_I" else row["SEM_EXM_EXCH_ID"],
                symbol=row["SEM_TRADING_SYMBOL"],
                segment=segment,
                name=row.get("SM_SYMBOL_NAME") or row.get("SEM_CUSTOM_SYMBOL") or "",
                lot_size=quantity(row["SEM_LOT_UNITS"] or "1"),
                tick_size=tick if tick > 0 else Decimal("0.05"),
                instrument_type=row["SEM_INSTRUMENT_NAME"],
                expiry=date.fromisoformat(expiry) if expiry and expiry[:4] > "1900" else None,
                strike=strike if strike > 0 else None,
            )
        )
    return instruments
