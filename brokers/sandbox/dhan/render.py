"""Dhan's wire shapes (§4, §5): bare JSON answers, {errorType, errorCode, errorMessage} errors,
and the demo market as Dhan writes it (security ids, IST times, the compact scrip master)."""

from __future__ import annotations

import time
from decimal import Decimal

from django.http import HttpResponse, JsonResponse

from brokers.sandbox import kit, universe, web
from brokers.sandbox.demo import DEMO_APPS

BROKER = "dhan"
APP = DEMO_APPS[BROKER]
CONSENT_TTL = 600
SEGMENT_EXCHANGES = {"NSE_EQ": "NSE", "BSE_EQ": "BSE"}  # BSE ids are the scrip codes
EXCHANGE_SEGMENTS = {exchange: segment for segment, exchange in SEGMENT_EXCHANGES.items()}
# correlationId (docs/brokers/dhan.md §6): the docs give no limit; this one is UNCONFIRMED
TAG_MAX = 25
PRODUCTS = {"MIS": "INTRADAY", "CNC": "CNC", "NRML": "MARGIN"}
ORDER_TYPES = {"LIMIT": "LIMIT", "MARKET": "MARKET", "STOP_LOSS": "SL", "STOP_LOSS_MARKET": "SL-M"}
DHAN_TYPES = {ours: wire for wire, ours in ORDER_TYPES.items()}
MISSING = "Missing required fields, bad values for parameters etc."


# --- Instrument master (§4): compact CSV, tick sizes in paise, no ISIN column ------------------
MASTER_HEADER = (
    "SEM_EXM_EXCH_ID,SEM_SEGMENT,SEM_SMST_SECURITY_ID,SEM_INSTRUMENT_NAME,SEM_EXPIRY_CODE,"
    "SEM_TRADING_SYMBOL,SEM_LOT_UNITS,SEM_CUSTOM_SYMBOL,SEM_EXPIRY_DATE,SEM_STRIKE_PRICE,"
    "SEM_OPTION_TYPE,SEM_TICK_SIZE,SEM_EXPIRY_FLAG,SEM_EXCH_INSTRUMENT_TYPE,SEM_SERIES,"
    "SM_SYMBOL_NAME"
)


# --- Errors (§5) ------------------------------------------------------------------------------
def error(status: int, code: str, kind: str, message: str) -> JsonResponse:
    return JsonResponse(
        {"errorType": kind, "errorCode": code, "errorMessage": message}, status=status
    )


def input_error(message: str = MISSING) -> JsonResponse:
    return error(400, "DH-905", "Input_Exception", message)


def order_error(message: str) -> JsonResponse:
    return error(400, "DH-906", "Order_Error", message)


def data_error(code: int, message: str) -> JsonResponse:
    return JsonResponse({"errorCode": code, "errorMessage": message})  # HTTP 200, as recorded


class Errors(kit.ErrorBodies):
    # No recorded answer for an unknown path or method: docs/brokers/dhan.md §5's trading-API error
    # body with DH-905 and the HTTP status (UNCONFIRMED).
    def not_found(self) -> HttpResponse:
        return error(404, "DH-905", "Input_Exception", "The requested API does not exist.")

    def method_not_allowed(self) -> HttpResponse:
        return error(405, "DH-905", "Input_Exception", "The request method is not supported.")

    def token_invalid(self) -> HttpResponse:
        return error(
            401,
            "DH-901",
            "Invalid_Authentication",
            "Client ID or user generated access token is invalid or expired.",
        )

    def rate_limited(self) -> HttpResponse:
        return error(  # the recording says Input_Exception, not Rate_Limit
            429,
            "DH-904",
            "Input_Exception",
            "Too many requests on server from single user breaching rate limits. "
            "Try throttling API calls.",
        )

    def server_error(self) -> HttpResponse:
        return error(500, "DH-908", "Internal_Server_Error", "Internal Server Error")

    # unavailable(): the gateway's HTML 503, the kit's default.


ERRORS = Errors()


# --- Helpers ----------------------------------------------------------------------------------
def number(value) -> float:
    return float(Decimal(str(value)))


def ist(ts: float) -> str:
    return web.ist_stamp(ts)


def security_of(segment: str, security_id) -> universe.Security | None:
    return universe.by_exchange_token(SEGMENT_EXCHANGES.get(segment, ""), security_id)


def security_id_of(security: universe.Security, segment: str) -> str:
    return security.exchange_token(SEGMENT_EXCHANGES[segment])


def rms_message(refusal: kit.Shortfall) -> str:
    """omsErrorDescription of an order the RMS refused (wording UNCONFIRMED)."""
    if refusal.kind == "holdings":
        return f"Insufficient holdings (RMS): {refusal.available:.0f} available to sell"
    return (
        f"Insufficient funds (RMS): required {refusal.required:.2f}, "
        f"available {refusal.available:.2f}"
    )


# --- Orders and trades (§4 place / modify / cancel / order book) ------------------------------
def status_word(order: kit.SandboxOrder) -> str:
    if order.status in ("OPEN", "TRIGGER PENDING"):
        return "PART_TRADED" if 0 < order.filled_quantity < order.quantity else "PENDING"
    return {"COMPLETE": "TRADED"}.get(order.status, order.status)


def order_row(order: kit.SandboxOrder, account_id: str) -> dict:
    security = universe.SECURITIES[order.symbol]
    sent = order.status != "REJECTED"
    segment = EXCHANGE_SEGMENTS[order.exchange]
    return {
        "dhanClientId": account_id,
        "orderId": order.order_id,
        "exchangeOrderId": f"1{order.order_id[-15:]}" if sent else "0",
        "correlationId": order.tag or "NA",
        "orderStatus": status_word(order),
        "transactionType": order.side,
        "exchangeSegment": segment,
        "productType": order.product,
        "orderType": DHAN_TYPES[order.order_type],
        "validity": order.validity,
        "tradingSymbol": security.symbol,
        "securityId": security_id_of(security, segment),
        "quantity": order.quantity,
        "disclosedQuantity": 0,
        "price": number(order.price),
        "triggerPrice": number(order.trigger_price),
        "afterMarketOrder": False,
        **dict.fromkeys(("boProfitValue", "boStopLossValue"), 0.0),
        "legName": "NA",
        "createTime": ist(order.placed_at),
        "updateTime": ist(order.updated_at),
        "exchangeTime": ist(order.placed_at) if sent else "0001-01-01 00:00:00",
        "drvExpiryDate": "0001-01-01",
        "drvOptionType": "NA",
        "drvStrikePrice": 0.0,
        "omsErrorCode": "0",
        "omsErrorDescription": order.status_message,
        "algoId": "0",
        "remainingQuantity": order.quantity - order.filled_quantity,
        "averageTradedPrice": number(order.average_price),
        "filledQty": order.filled_quantity,
    }


def trade_row(order: kit.SandboxOrder, account_id: str) -> dict:
    """docs/brokers/dhan.md §4 Trade book row: one fill per filled order (the demo market fills at
    once)."""
    row = order_row(order, account_id)
    return {
        **{k: row[k] for k in ("dhanClientId", "orderId", "exchangeOrderId")},
        "exchangeTradeId": f"2{order.order_id[-15:]}",
        **{k: row[k] for k in ("transactionType", "exchangeSegment", "productType")},
        **{k: row[k] for k in ("orderType", "tradingSymbol", "securityId")},
        "customSymbol": universe.SECURITIES[order.symbol].name,
        "tradedQuantity": order.filled_quantity,
        "tradedPrice": number(order.average_price),
        "createTime": ist(order.placed_at),
        "updateTime": ist(order.updated_at),
        "exchangeTime": ist(order.updated_at),
        "drvExpiryDate": "NA",
        "drvOptionType": "NA",
        "drvStrikePrice": 0.0,
    }


def position_row(account_id: str, key: tuple[str, str, str], leg: kit.Leg) -> dict:
    """docs/brokers/dhan.md §4 Positions row: the demo day and the sandbox's fills, one row per
    listing and product."""
    symbol, exchange, product = key
    security = universe.SECURITIES[symbol]
    net = leg.net
    return {
        "dhanClientId": account_id,
        "tradingSymbol": security.symbol,
        "securityId": security.exchange_token(exchange),
        "positionType": "LONG" if net > 0 else "SHORT" if net < 0 else "CLOSED",
        "exchangeSegment": EXCHANGE_SEGMENTS[exchange],
        "productType": product,
        "buyAvg": number(round(leg.buy_price, 2)),
        "costPrice": number(round(leg.average, 2)),
        "buyQty": leg.bought,
        "sellAvg": number(round(leg.sell_price, 2)),
        "sellQty": leg.sold,
        "netQty": net,
        "realizedProfit": number(round(leg.realised, 2)),
        "unrealizedProfit": number(round(leg.unrealised(security.last_price), 2)),
        "rbiReferenceRate": 1.0,
        "multiplier": 1,
        **dict.fromkeys(("carryForwardBuyQty", "carryForwardSellQty"), 0),
        **dict.fromkeys(("carryForwardBuyValue", "carryForwardSellValue"), 0.0),
        "dayBuyQty": leg.bought,
        "daySellQty": leg.sold,
        "dayBuyValue": number(leg.paid),
        "daySellValue": number(leg.got),
        "drvExpiryDate": "0001-01-01",
        "drvOptionType": None,
        "drvStrikePrice": 0.0,
        "crossCurrency": False,
    }


def quote_row(security: universe.Security, depth: bool = False, ohlc: bool = False) -> dict:
    """docs/brokers/dhan.md §4 market feed entry: LTP, then OHLC, then the full quote with a
    five-level book (the still demo market: one resting order a tick either side)."""
    last, close = security.last_price, security.close_price
    row: dict = {"last_price": number(last)}
    if ohlc or depth:
        row["ohlc"] = {
            "open": number(close),
            "close": number(close),
            "high": number(max(last, close)),
            "low": number(min(last, close)),
        }
    if depth:
        tick, empty = security.tick_size, {"quantity": 0, "orders": 0, "price": 0.0}
        band = (close * Decimal("0.2")).quantize(tick)
        row |= {
            "average_price": number(last),
            "buy_quantity": 100,
            "sell_quantity": 100,
            "depth": {
                "buy": [{"quantity": 100, "orders": 1, "price": number(last - tick)}, *[empty] * 4],
                "sell": [
                    {"quantity": 100, "orders": 1, "price": number(last + tick)},
                    *[empty] * 4,
                ],
            },
            "last_quantity": 1,
            "last_trade_time": web.ist_stamp(time.time(), "%d/%m/%Y %H:%M:%S"),
            "lower_circuit_limit": number(close - band),
            "upper_circuit_limit": number(close + band),
            "net_change": number(last - close),
            "oi": 0,
            "oi_day_high": 0,
            "oi_day_low": 0,
            "volume": 0,
        }
    return row
