"""Dhan's wire shapes (§4, §5): bare JSON answers, {errorType, errorCode, errorMessage} errors,
and the demo market as Dhan writes it (security ids, IST times, the compact scrip master)."""

from __future__ import annotations

from decimal import Decimal

from django.http import HttpResponse, JsonResponse

from brokers.sandbox import kit, universe, web
from brokers.sandbox.demo import DEMO_APPS

BROKER = "dhan"
APP = DEMO_APPS[BROKER]
CONSENT_TTL = 600
SEGMENT_EXCHANGES = {"NSE_EQ": "NSE", "BSE_EQ": "BSE"}  # BSE ids are the scrip codes
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


# --- Orders and trades (§4 place / modify / cancel / order book) ------------------------------
def status_word(order: kit.SandboxOrder) -> str:
    if order.status in ("OPEN", "TRIGGER PENDING"):
        return "PART_TRADED" if 0 < order.filled_quantity < order.quantity else "PENDING"
    return {"COMPLETE": "TRADED"}.get(order.status, order.status)


def order_row(order: kit.SandboxOrder, account_id: str) -> dict:
    security = universe.SECURITIES[order.symbol]
    sent = order.status != "REJECTED"
    return {
        "dhanClientId": account_id,
        "orderId": order.order_id,
        "exchangeOrderId": f"1{order.order_id[-15:]}" if sent else "0",
        "correlationId": order.tag or "NA",
        "orderStatus": status_word(order),
        "transactionType": order.side,
        "exchangeSegment": order.exchange,
        "productType": order.product,
        "orderType": DHAN_TYPES[order.order_type],
        "validity": order.validity,
        "tradingSymbol": security.symbol,
        "securityId": security_id_of(security, order.exchange),
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
