"""XTS's wire shapes (§4, §5): the {type, code, description, result} envelope, error bodies,
and the demo market as IIFL's XTS writes it (segments, instrument ids, CamelCase words)."""

from __future__ import annotations

import json
import time
from datetime import datetime
from decimal import Decimal

from django.http import HttpResponse, JsonResponse

from brokers.clock import IST
from brokers.sandbox import kit, universe
from brokers.sandbox.demo import DEMO_APPS
from config import jsonbody

BROKER = "iifl"
APP = DEMO_APPS[BROKER]
SEGMENT_NUMBERS = {"NSECM": 1, "NSEFO": 2, "NSECD": 3, "BSECM": 11, "BSEFO": 12, "MCXFO": 51}
LISTED = {"NSECM": "NSE", "BSECM": "BSE"}  # the demo market has cash listings only
SEGMENT_OF = {exchange: segment for segment, exchange in LISTED.items()}
PRODUCTS = ("CNC", "MIS", "NRML")


# Request words → the kit's order vocabulary → the CamelCase words answers use (gotcha 4).
ORDER_TYPES = {"MARKET": "MARKET", "LIMIT": "LIMIT", "STOPLIMIT": "SL", "STOPMARKET": "SL-M"}
ORDER_TYPE_WORDS = {"MARKET": "Market", "LIMIT": "Limit", "SL": "StopLimit", "SL-M": "StopMarket"}
STATUS_WORDS = {
    "OPEN": "New",
    "TRIGGER PENDING": "Trigger Pending",
    "COMPLETE": "Filled",
    "CANCELLED": "Cancelled",
    "REJECTED": "Rejected",
}
LIVE = ("OPEN", "TRIGGER PENDING")  # the kit's states an order can still change from
MESSAGE_CODES = (1501, 1502, 1505, 1510, 1512)
TAG_MAX = 20
QUOTE_BATCH = 50
JSON = "application/json; charset=utf-8"


# --- Envelopes and errors (§5) ---------------------------------------------------------------
def ok(result, code: str, description: str) -> JsonResponse:
    body = {"type": "success", "code": code, "description": description, "result": result}
    return JsonResponse(body, safe=False, content_type=JSON)


def error(code: str, description: str, status: int = 400, result=None) -> JsonResponse:
    body = {"type": "error", "code": code, "description": description, "result": result or {}}
    return JsonResponse(body, status=status, content_type=JSON)


def bad_request(*errors: str) -> JsonResponse:
    return error("e-app-0001", "Bad Request", result={"errors": list(errors)})


def nothing(area: str) -> JsonResponse:
    """§5 / gotcha 7: an empty book is an HTTP 400 error, not []."""
    return error(f"e-{area}-0005", "Data Not Available")


class Errors(kit.ErrorBodies):
    # No recorded answer for an unknown path or method: the envelope with the HTTP status
    # (codes and words UNCONFIRMED, like every e- code but e-session-0007).
    def not_found(self) -> HttpResponse:
        return error("e-request-0404", "Resource Not Found", 404)

    def method_not_allowed(self) -> HttpResponse:
        return error("e-request-0405", "Method Not Allowed", 405)

    def token_invalid(self, status: int = 400) -> HttpResponse:
        # §5: interactive answers 400; market data has been seen answering 200.
        return error("e-session-0007", "Invalid Token", status)

    def rate_limited(self) -> HttpResponse:
        response = error("e-ratelimit-0001", "Too Many Requests", 429)  # shape UNCONFIRMED
        response["Retry-After"] = "1"
        return response

    def server_error(self) -> HttpResponse:
        return error("e-response-0500", "Internal Server Error", 500)

    # unavailable(): the gateway's HTML 503, the kit's default.


ERRORS = Errors()


class Refusal(Exception):
    def __init__(self, response: HttpResponse):
        super().__init__("refused")
        self.response = response


def json_body(request) -> dict:
    try:
        data = jsonbody.loads(request.body or b"{}")
    except ValueError:
        raise Refusal(bad_request("request body is not valid JSON")) from None
    if not isinstance(data, dict):
        raise Refusal(bad_request("request body must be an object"))
    if "clientID" in data:  # gotcha 3: investor logins must not name a client
        raise Refusal(bad_request('"clientID" is not allowed'))
    return data


def rejection_reason(refusal: kit.Shortfall) -> str:
    """CancelRejectReason of an order the RMS refused (gotcha 11; wording UNCONFIRMED)."""
    if refusal.kind == "holdings":
        return f"RMS:Insufficient holdings, Available:{refusal.available:.0f}"
    return f"RMS:Margin Exceeds,Required:{refusal.required:.2f}, Available:{refusal.available:.2f}"


def amount(value: Decimal) -> str:
    return f"{value:.2f}"


def instrument_id(security: universe.Security, exchange: str) -> int:
    return int(security.exchange_token(exchange))


def position_row(account, key: tuple[str, str, str], leg: kit.Leg) -> dict:
    symbol, exchange, product = key
    bought, buy_amount, sold, sell_amount = leg.bought, leg.paid, leg.sold, leg.got
    security = universe.SECURITIES[symbol]
    buy_average, sell_average, net = leg.buy_price, leg.sell_price, leg.net
    realized, unrealized = leg.realised, leg.unrealised(security.last_price)
    return {
        "AccountID": account.account_id,
        "TradingSymbol": symbol,
        "ExchangeSegment": SEGMENT_OF[exchange],
        "ExchangeInstrumentId": str(instrument_id(security, exchange)),
        "ProductType": product,
        "Marketlot": str(security.lot_size),
        "Multiplier": "1",
        "BuyAveragePrice": amount(buy_average),
        "SellAveragePrice": amount(sell_average),
        "OpenBuyQuantity": str(int(bought)),
        "OpenSellQuantity": str(int(sold)),
        "Quantity": str(int(net)),
        "BuyAmount": amount(buy_amount),
        "SellAmount": amount(sell_amount),
        "NetAmount": amount(sell_amount - buy_amount),
        "UnrealizedMTM": amount(unrealized if net else Decimal(0)),
        "RealizedMTM": amount(realized),
        "MTM": amount(realized + (unrealized if net else Decimal(0))),
        "StatisticsLevel": "ParentLevel",
        "IsInterOpPosition": False,
        "childPositions": {},
        "MessageCode": 9002,
    }


def stamp(moment: float, *, zone: bool = False) -> str:
    """XTS writes 7 fractional digits, naive IST (S5 order row)."""
    local = datetime.fromtimestamp(moment or time.time(), IST)
    if zone:
        return local.strftime("%Y-%m-%dT%H:%M:%S+05:30")
    return local.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0"


def order_row(account_id: str, o: kit.SandboxOrder, status: str | None = None) -> dict:
    security = universe.SECURITIES[o.symbol]
    status = status or STATUS_WORDS[o.status]
    accepted = status != "Rejected"
    return {
        "LoginID": account_id,
        "ClientID": account_id,
        "AppOrderID": int(o.order_id),
        "OrderReferenceID": "",
        "GeneratedBy": "TWSAPI",
        "ExchangeOrderID": f"1100000{o.order_id[-8:]}" if accepted else "",
        "OrderCategoryType": "NORMAL",
        "ExchangeSegment": SEGMENT_OF[o.exchange],
        "ExchangeInstrumentID": instrument_id(security, o.exchange),
        "OrderSide": o.side.capitalize(),
        "OrderType": ORDER_TYPE_WORDS[o.order_type],
        "ProductType": o.product,
        "TimeInForce": o.validity,
        "OrderPrice": float(o.price),
        "OrderQuantity": o.quantity,
        "OrderStopPrice": float(o.trigger_price),
        "OrderStatus": status,
        "OrderAverageTradedPrice": o.average_price if o.filled_quantity else "",
        "LeavesQuantity": o.quantity - o.filled_quantity if o.status in LIVE else 0,
        "CumulativeQuantity": o.filled_quantity,
        "OrderDisclosedQuantity": 0,
        "OrderGeneratedDateTime": stamp(o.placed_at),
        "ExchangeTransactTime": stamp(o.updated_at, zone=True),
        "LastUpdateDateTime": stamp(o.updated_at),
        "OrderExpiryDate": "1980-01-01T00:00:00",
        "CancelRejectReason": o.status_message,
        "OrderUniqueIdentifier": o.tag,
        "OrderLegStatus": "SingleOrderLeg",
        "IsSpread": False,
        "MessageCode": 9004,
        "MessageVersion": 4,
        "TokenID": 0,
        "ApplicationType": 0,
        "SequenceNumber": int(o.updated_at * 1000) % 10**10,
    }


# --- §4 market data ----------------------------------------------------------------------------
def security_of(segment, instrument) -> universe.Security | None:
    """Market data names a listing by segment number (§6) and exchange instrument id."""
    exchange = {str(SEGMENT_NUMBERS[s]): e for s, e in LISTED.items()}.get(str(segment))
    return universe.by_exchange_token(exchange, instrument) if exchange else None


def touchline(security: universe.Security, segment: int, instrument: int, code: int) -> str:
    last, close = security.last_price, security.close_price
    bid, ask = last - security.tick_size, last + security.tick_size
    touchline = {
        "BidInfo": {"Size": 120, "Price": float(bid), "TotalOrders": 3},
        "AskInfo": {"Size": 85, "Price": float(ask), "TotalOrders": 2},
        "LastTradedPrice": float(last),
        "TotalBuyQuantity": 412000,
        "TotalSellQuantity": 389000,
        "TotalTradedQuantity": 5123400,
        "AverageTradedPrice": float(last),
        "Open": float(close),
        "High": float(max(last, close)),
        "Low": float(min(last, close)),
        "Close": float(close),
        "PercentChange": float(round((last - close) / close * 100, 2)),
    }
    quote = {
        "MessageCode": code,
        "ExchangeSegment": segment,
        "ExchangeInstrumentID": instrument,
        "ExchangeTimeStamp": int(time.time()) - 315513000,  # XTS counts from 1980-01-01 IST
        "Touchline": touchline,
    }
    if code == 1502:
        quote["Bids"] = [touchline["BidInfo"]]
        quote["Asks"] = [touchline["AskInfo"]]
    return json.dumps(quote)  # gotcha 6: JSON text inside JSON


def master_row(security: universe.Security, segment: str) -> str:
    """§4 cash layout, 22 fields, no header."""
    nse = segment == "NSECM"
    instrument = security.nse_token if nse else security.bse_code
    series = "EQ" if nse else "A"
    description = f"{security.symbol}-{series}" if nse else security.symbol
    tick = security.tick_size
    high = (security.close_price * Decimal("1.2") / tick).to_integral_value() * tick
    low = (security.close_price * Decimal("0.8") / tick).to_integral_value() * tick
    fields = [
        segment,
        instrument,
        "8",
        security.symbol,
        description,
        series,
        f"{security.symbol}-{series}",
        str(int(instrument) + (1100100000000 if nse else 1200100000000)),
        str(high),
        str(low),
        "100000",
        str(security.tick_size),
        str(security.lot_size),
        "1",
        security.symbol,
        security.isin,
        "1",
        "1",
        f"{security.symbol}-{series}",
        "-1",
        "-1",
        "0",
    ]
    return "|".join(fields)
