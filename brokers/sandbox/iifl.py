"""Simulated IIFL Securities: Symphony XTS as served by ttblaze.iifl.com (shared/brokers/iifl.md).

Two logins with the demo app's two key pairs (interactive and market data), each token bare in
the ``authorization`` header; every answer is {type, code, description, result}. GET and DELETE
take query parameters, POST and PUT a JSON body. Strings marked UNCONFIRMED in the notes (error
codes other than e-session-0007, the over-limit answer) are this simulator's best guess.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from datetime import datetime
from datetime import time as clock
from decimal import Decimal
from functools import wraps

from django.http import HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from brokers.clock import IST, next_ist
from brokers.sandbox import kit, universe
from brokers.sandbox.demo import DEMO_APPS

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
def _ok(result, code: str, description: str) -> JsonResponse:
    body = {"type": "success", "code": code, "description": description, "result": result}
    return JsonResponse(body, safe=False, content_type=JSON)


def _error(code: str, description: str, status: int = 400, result=None) -> JsonResponse:
    body = {"type": "error", "code": code, "description": description, "result": result or {}}
    return JsonResponse(body, status=status, content_type=JSON)


def _bad_request(*errors: str) -> JsonResponse:
    return _error("e-app-0001", "Bad Request", result={"errors": list(errors)})


def _nothing(area: str) -> JsonResponse:
    """§5 / gotcha 7: an empty book is an HTTP 400 error, not []."""
    return _error(f"e-{area}-0005", "Data Not Available")


class Errors(kit.ErrorBodies):
    def token_invalid(self, status: int = 400) -> HttpResponse:
        # §5: interactive answers 400; market data has been seen answering 200.
        return _error("e-session-0007", "Invalid Token", status)

    def rate_limited(self) -> HttpResponse:
        response = _error("e-ratelimit-0001", "Too Many Requests", 429)  # shape UNCONFIRMED
        response["Retry-After"] = "1"
        return response

    def server_error(self) -> HttpResponse:
        return _error("e-response-0500", "Internal Server Error", 500)

    def unavailable(self) -> HttpResponse:
        page = "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>"
        return HttpResponse(page, status=503, content_type="text/html")


ERRORS = Errors()


class _Refusal(Exception):
    def __init__(self, response: HttpResponse):
        super().__init__("refused")
        self.response = response


def _json(request) -> dict:
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        raise _Refusal(_bad_request("request body is not valid JSON")) from None
    if not isinstance(data, dict):
        raise _Refusal(_bad_request("request body must be an object"))
    if "clientID" in data:  # gotcha 3: investor logins must not name a client
        raise _Refusal(_bad_request('"clientID" is not allowed'))
    return data


def _route(**handlers):
    """One URL, one handler per HTTP method (the SDK reuses /interactive/orders for four)."""

    @csrf_exempt
    def view(request):
        handler = handlers.get(request.method.lower())
        if handler is None:
            return HttpResponseNotAllowed([m.upper() for m in handlers])
        try:
            return handler(request)
        except _Refusal as refusal:
            return refusal.response

    return view


def _session(kind: str = "access", invalid_status: int = 400):
    """Resolve the bare token (§3), then apply the injected faults."""

    def wrap(handler):
        @wraps(handler)
        def inner(request):
            token = request.headers.get("authorization", "")
            # a token has no spaces: "Bearer <token>" is just a wrong token (gotcha 2)
            account_id = None if " " in token else kit.account_for_token(BROKER, token, kind=kind)
            if not account_id:
                return ERRORS.token_invalid(status=invalid_status)
            fault = kit.apply_faults(BROKER, account_id, ERRORS)
            if fault is not None:
                return fault
            if "clientID" in request.GET:
                return _bad_request('"clientID" is not allowed')
            return handler(request, universe.account(BROKER, account_id), token)

        return inner

    return wrap


# --- §1 logins, §2 logouts ---------------------------------------------------------------------
def _token_ttl() -> int:
    return max(int((next_ist(clock(0, 0)) - timezone.now()).total_seconds()), 1)


def _jwt_like(account_id: str, app_key: str) -> str:
    """XTS tokens are JWTs; this one only looks like one (the sandbox looks tokens up)."""

    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    claims = {"userID": f"{account_id}_{app_key[-4:]}", "iat": int(time.time())}
    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.{secrets.token_urlsafe(24)}"


def _credentials(request) -> dict:
    """The SDK posts the login form-encoded, openalgo as JSON: accept both (§1)."""
    try:
        data = json.loads(request.body or b"")
    except ValueError:
        data = request.POST.dict()
    return data if isinstance(data, dict) else {}


def _login(request, *, key: str, secret: str, kind: str):
    data = _credentials(request)
    missing = [
        f'"{name}" is required' for name in ("appKey", "secretKey", "source") if not data.get(name)
    ]
    if missing:
        return None, _bad_request(*missing)
    if str(data["source"]).upper() != "WEBAPI":
        return None, _bad_request('"source" must be WEBAPI')
    if data["appKey"] != key or data["secretKey"] != secret:
        return None, _error("e-app-0005", "Invalid appKey or secretKey")  # UNCONFIRMED
    account = universe.default_account(BROKER)
    fault = kit.apply_faults(BROKER, account.account_id, ERRORS)
    if fault is not None:
        return None, fault
    value = _jwt_like(account.account_id, key)
    kit.issue_token(BROKER, account.account_id, kind=kind, ttl=_token_ttl(), value=value)
    return (account, value), None


def interactive_login(request):
    issued, refusal = _login(request, key=APP["api_key"], secret=APP["api_secret"], kind="access")
    if refusal:
        return refusal
    account, token = issued
    result = {
        "enums": {
            "socketEvent": ["position", "order", "trade", "logout"],
            "exchangeSegment": SEGMENT_NUMBERS,
            "productType": list(PRODUCTS),
            "orderType": ["Market", "Limit", "StopLimit", "StopMarket"],
            "orderSide": ["Buy", "Sell"],
            "timeInForce": ["DAY", "IOC"],
        },
        "clientCodes": [account.account_id],
        "exchangeSegmentArray": [{"key": s, "value": n} for s, n in SEGMENT_NUMBERS.items()],
        "token": token,
        "userID": account.account_id,
        "isInvestorClient": True,
        "isOneTouchUser": False,
    }
    return _ok(result, "s-user-0001", "Valid User.")


def market_login(request):
    key, secret = APP["marketdata_key"], APP["marketdata_secret"]
    issued, refusal = _login(request, key=key, secret=secret, kind="marketdata")
    if refusal:
        return refusal
    account, token = issued
    return _ok({"token": token, "userID": account.account_id}, "s-user-0001", "Valid User.")


@_session()
def interactive_logout(request, account, token):
    kit.revoke_token(BROKER, token)
    return _ok({}, "s-user-0002", "User logged out successfully.")


@_session(kind="marketdata", invalid_status=200)
def market_logout(request, account, token):
    kit.revoke_token(BROKER, token, kind="marketdata")
    return _ok({}, "s-user-0002", "User logged out successfully.")


# --- §4 reads ----------------------------------------------------------------------------------
@_session()
def profile(request, account, token):
    details = {
        segment: {
            "ClientId": account.account_id,
            "ExchangeSegNumber": number,
            "Enabled": True,
            "ParticipantCode": "",
        }
        for segment, number in SEGMENT_NUMBERS.items()
        if segment in ("NSECM", "NSEFO", "BSECM")
    }
    result = {
        "ClientId": account.account_id,
        "ClientName": account.name.upper(),
        "EmailId": account.email,
        "MobileNo": "9800000000",
        "PAN": "ABCDE1234F",
        "ClientType": 1,
        "ClientStatus": "Active",
        "BranchId": "HO",
        "IsProClient": False,
        "IsInvestorClient": True,
        "ProductsAssigned": ",".join(PRODUCTS),
        "OrderTypesAssigned": "Market,Limit,StopLimit,StopMarket",
        "ClientExchangeDetailsList": details,
    }
    return _ok(result, "s-user-0001", "Fetched Profile.")


def _amount(value: Decimal) -> str:
    return f"{value:.2f}"


@_session()
def balance(request, account, token):
    # Open buy orders block margin; §4 Funds says netMarginAvailable is what is left.
    used = sum(
        (
            Decimal(o.price) * o.quantity
            for o in kit.orders(BROKER, account.account_id)
            if o.status in LIVE and o.side == "BUY"
        ),
        Decimal(0),
    )
    sub_limits = {
        "cashAvailable": _amount(account.cash),
        "collateral": 0,
        "marginUtilized": _amount(used),
        "netMarginAvailable": _amount(account.cash - used),
        "MTM": "0",
        "UnrealizedMTM": "0",
        "RealizedMTM": "0",
    }
    limit = {
        "AccountID": account.account_id,
        "RMSSubLimits": sub_limits,
        "marginAvailable": {"CashMarginAvailable": _amount(account.cash), "NotinalCash": "0"},
        "marginUtilized": {"MarginUsed": _amount(used), "CNCSellBenifit": "0"},
        "limitsAssigned": {"CNCLimit": "0"},
    }
    result = {"BalanceList": [{"limitHeader": "ALL|ALL|ALL", "limitObject": limit}]}
    return _ok(result, "s-user-0001", "Balance Fetched.")


@_session()
def holdings(request, account, token):
    """§4 Holdings: keyed by ISIN, instrument ids only; an NSE id of 0 means held on BSE."""
    items = {}
    for held in account.holdings:
        security = universe.SECURITIES[held.symbol]
        items[security.isin] = {
            "ISIN": security.isin,
            "ExchangeNSEInstrumentId": int(security.nse_token) if held.exchange == "NSE" else 0,
            "ExchangeBSEInstrumentId": int(security.bse_code),
            "HoldingType": 1,
            "HoldingQuantity": held.quantity,
            "UsedQuantity": 0,
            "AuthorizeQuantity": 0,
            "CollateralQuantity": 0,
            "Haircut": 0,
            "IsCollateralHolding": False,
            "BuyAvgPrice": float(held.average_price),
            "IsBuyAvgPriceProvided": True,
        }
    if not items:
        return _nothing("holdings")
    return _ok({"RMSHoldings": {"Holdings": items}}, "s-holdings-0001", "Holdings Fetched.")


def _instrument_id(security: universe.Security, exchange: str) -> int:
    return int(security.nse_token if exchange == "NSE" else security.bse_code)


@_session()
def positions(request, account, token):
    """§4 Positions: the demo positions plus today's fills, numbers as strings."""
    if request.GET.get("dayOrNet") not in ("DayWise", "NetWise"):
        return _bad_request('"dayOrNet" must be one of [DayWise, NetWise]')
    books: dict[tuple[str, str, str], list[Decimal]] = {}
    for p in account.positions:
        books[(p.symbol, p.exchange, p.product)] = [
            Decimal(p.buy_quantity),
            p.buy_price * p.buy_quantity,
            Decimal(p.sell_quantity),
            p.sell_price * p.sell_quantity,
        ]
    for o in kit.orders(BROKER, account.account_id):
        if o.filled_quantity:
            book = books.setdefault((o.symbol, o.exchange, o.product), [Decimal(0)] * 4)
            side = 0 if o.side == "BUY" else 2
            book[side] += o.filled_quantity
            book[side + 1] += Decimal(o.average_price) * o.filled_quantity
    rows = [_position(account, key, book) for key, book in books.items()]
    if not rows:
        return _nothing("portfolio")
    return _ok({"positionList": rows}, "s-portfolio-0001", "Position Fetched.")


def _position(account, key, book) -> dict:
    symbol, exchange, product = key
    bought, buy_amount, sold, sell_amount = book
    security = universe.SECURITIES[symbol]
    buy_average = buy_amount / bought if bought else Decimal(0)
    sell_average = sell_amount / sold if sold else Decimal(0)
    net = bought - sold
    realized = min(bought, sold) * (sell_average - buy_average)
    unrealized = net * (security.last_price - (buy_average if net > 0 else sell_average))
    return {
        "AccountID": account.account_id,
        "TradingSymbol": symbol,
        "ExchangeSegment": SEGMENT_OF[exchange],
        "ExchangeInstrumentId": str(_instrument_id(security, exchange)),
        "ProductType": product,
        "Marketlot": str(security.lot_size),
        "Multiplier": "1",
        "BuyAveragePrice": _amount(buy_average),
        "SellAveragePrice": _amount(sell_average),
        "OpenBuyQuantity": str(int(bought)),
        "OpenSellQuantity": str(int(sold)),
        "Quantity": str(int(net)),
        "BuyAmount": _amount(buy_amount),
        "SellAmount": _amount(sell_amount),
        "NetAmount": _amount(sell_amount - buy_amount),
        "UnrealizedMTM": _amount(unrealized if net else Decimal(0)),
        "RealizedMTM": _amount(realized),
        "MTM": _amount(realized + (unrealized if net else Decimal(0))),
        "StatisticsLevel": "ParentLevel",
        "IsInterOpPosition": False,
        "childPositions": {},
        "MessageCode": 9002,
    }


def _stamp(moment: float, *, zone: bool = False) -> str:
    """XTS writes 7 fractional digits, naive IST (S5 order row)."""
    local = datetime.fromtimestamp(moment or time.time(), IST)
    if zone:
        return local.strftime("%Y-%m-%dT%H:%M:%S+05:30")
    return local.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0"


def _order_row(account_id: str, o: kit.SandboxOrder, status: str | None = None) -> dict:
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
        "ExchangeInstrumentID": _instrument_id(security, o.exchange),
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
        "OrderGeneratedDateTime": _stamp(o.placed_at),
        "ExchangeTransactTime": _stamp(o.updated_at, zone=True),
        "LastUpdateDateTime": _stamp(o.updated_at),
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


@_session()
def order_book(request, account, token):
    """GET /interactive/orders: the book, or one order's history with ?appOrderID=."""
    wanted = request.GET.get("appOrderID")
    book = kit.orders(BROKER, account.account_id)
    if wanted is None:
        if not book:
            return _nothing("orders")
        rows = [_order_row(account.account_id, o) for o in book]
        return _ok(rows, "s-orders-0001", "Success order book")
    found = next((o for o in book if o.order_id == wanted), None)
    if found is None:
        return _nothing("orders")
    history = [
        _order_row(account.account_id, found, "PendingNew"),
        _order_row(account.account_id, found),
    ]
    return _ok(history, "s-orders-0001", "Success order history")


@_session()
def trade_book(request, account, token):
    rows = []
    for o in kit.orders(BROKER, account.account_id):
        if o.filled_quantity:
            row = _order_row(account.account_id, o)
            row.update(
                LastTradedPrice=float(o.average_price),
                LastTradedQuantity=o.filled_quantity,
                LastExecutionTransactTime=_stamp(o.updated_at, zone=True),
                ExecutionID=f"5{o.order_id[-9:]}",
                ExecutionReportIndex=1,
            )
            rows.append(row)
    if not rows:
        return _nothing("tradebook")
    return _ok(rows, "s-tradebook-0001", "Success trade book")


# --- §4 writes ---------------------------------------------------------------------------------
def _number(data: dict, name: str, *, whole: bool = False, positive: bool = False) -> Decimal:
    value = data.get(name)
    try:
        if isinstance(value, bool) or value is None or isinstance(value, (list, dict)):
            raise ValueError
        number = Decimal(str(value))
        if not number.is_finite() or number < 0 or (whole and number % 1):
            raise ValueError
    except (ArithmeticError, ValueError):
        raise _Refusal(_bad_request(f'"{name}" must be a number')) from None
    if positive and number <= 0:
        raise _Refusal(_bad_request(f'"{name}" must be a positive number'))
    return number


def _choice(data: dict, name: str, choices) -> str:
    value = str(data.get(name, "")).upper()
    if value not in choices:
        raise _Refusal(_bad_request(f'"{name}" must be one of [{", ".join(choices)}]'))
    return value


def _prices(order_type: str, limit: Decimal, stop: Decimal, prefix: str = "") -> None:
    if order_type in ("LIMIT", "SL") and limit <= 0:
        raise _Refusal(_bad_request(f'"{prefix}limitPrice" must be a positive number'))
    if order_type in ("SL", "SL-M") and stop <= 0:
        raise _Refusal(_bad_request(f'"{prefix}stopPrice" must be a positive number'))


def _tag(data: dict) -> str:
    if "orderUniqueIdentifier" not in data:
        raise _Refusal(_bad_request('"orderUniqueIdentifier" is required'))
    tag = str(data["orderUniqueIdentifier"])
    if len(tag) > TAG_MAX:
        raise _Refusal(_bad_request(f'"orderUniqueIdentifier" length must be <= {TAG_MAX}'))
    return tag


@_session()
def place(request, account, token):
    data = _json(request)
    segment = _choice(data, "exchangeSegment", tuple(SEGMENT_NUMBERS))
    instrument = _number(data, "exchangeInstrumentID", whole=True, positive=True)
    product = _choice(data, "productType", PRODUCTS)
    order_type = ORDER_TYPES[_choice(data, "orderType", tuple(ORDER_TYPES))]
    side = _choice(data, "orderSide", ("BUY", "SELL"))
    validity = _choice(data, "timeInForce", ("DAY", "IOC"))
    _number(data, "disclosedQuantity", whole=True)
    quantity = int(_number(data, "orderQuantity", whole=True, positive=True))
    limit, stop = _number(data, "limitPrice"), _number(data, "stopPrice")
    _prices(order_type, limit, stop)
    tag = _tag(data)
    exchange = LISTED.get(segment)
    security = None
    if exchange == "NSE":
        security = universe.by_token(str(instrument))
    elif exchange == "BSE":
        security = universe.by_bse_code(str(instrument))
    if security is None:
        return _error("e-orders-0003", "Invalid Instrument")  # UNCONFIRMED wording
    order = kit.SandboxOrder(
        order_id=kit.new_order_id(),
        account=account.account_id,
        symbol=security.symbol,
        exchange=exchange,
        side=side,
        quantity=quantity,
        order_type=order_type,
        product=product,
        price=str(limit),
        trigger_price=str(stop),
        validity=validity,
        tag=tag,
        status="TRIGGER PENDING" if order_type in ("SL", "SL-M") else "OPEN",
    )
    # gotcha 11: the RMS refuses after "Request sent"; only the order book tells.
    cost = (limit or security.last_price) * quantity
    if side == "BUY" and product == "CNC" and cost > account.cash:
        order.status = "REJECTED"
        order.status_message = f"RMS:Margin Exceeds,Required:{cost:.2f}, Available:{account.cash}"
    kit.save_order(BROKER, order)
    if kit.order_reply_lost(BROKER, account.account_id):
        return kit.lost_reply()
    result = {
        "AppOrderID": int(order.order_id),
        "OrderUniqueIdentifier": tag,
        "ClientID": account.account_id,
    }
    return _ok(result, "s-orders-0001", "Request sent")


def _open_order(account, app_order_id) -> kit.SandboxOrder:
    order = kit.find_order(BROKER, account.account_id, str(app_order_id))
    if order is None:
        raise _Refusal(_error("e-orders-0010", "Order Not Found"))  # UNCONFIRMED wording
    if order.status not in LIVE:
        raise _Refusal(_error("e-orders-0011", f"Order is already {STATUS_WORDS[order.status]}"))
    return order


MODIFY_FIELDS = (
    "appOrderID",
    "modifiedProductType",
    "modifiedOrderType",
    "modifiedOrderQuantity",
    "modifiedDisclosedQuantity",
    "modifiedLimitPrice",
    "modifiedStopPrice",
    "modifiedTimeInForce",
    "orderUniqueIdentifier",
)


@_session()
def modify(request, account, token):
    """PUT /interactive/orders: the SDK always sends every modified* field (gotcha 12)."""
    data = _json(request)
    missing = [f'"{name}" is required' for name in MODIFY_FIELDS if name not in data]
    if missing:
        return _bad_request(*missing)
    app_order_id = int(_number(data, "appOrderID", whole=True, positive=True))
    product = _choice(data, "modifiedProductType", PRODUCTS)
    order_type = ORDER_TYPES[_choice(data, "modifiedOrderType", tuple(ORDER_TYPES))]
    quantity = int(_number(data, "modifiedOrderQuantity", whole=True, positive=True))
    _number(data, "modifiedDisclosedQuantity", whole=True)
    limit, stop = _number(data, "modifiedLimitPrice"), _number(data, "modifiedStopPrice")
    _prices(order_type, limit, stop, prefix="modified")
    validity = _choice(data, "modifiedTimeInForce", ("DAY", "IOC"))
    tag = _tag(data)
    order = _open_order(account, app_order_id)
    order.product, order.order_type, order.quantity = product, order_type, quantity
    order.price, order.trigger_price = str(limit), str(stop)
    order.validity, order.tag = validity, tag
    order.status = "TRIGGER PENDING" if order_type in ("SL", "SL-M") else "OPEN"
    kit.save_order(BROKER, order)
    result = {
        "AppOrderID": app_order_id,
        "OrderUniqueIdentifier": tag,
        "ClientID": account.account_id,
    }
    return _ok(result, "s-orders-0002", "Request sent")


@_session()
def cancel(request, account, token):
    """DELETE /interactive/orders?appOrderID=&orderUniqueIdentifier= (query parameters)."""
    query = request.GET.dict()
    missing = [
        f'"{n}" is required' for n in ("appOrderID", "orderUniqueIdentifier") if n not in query
    ]
    if missing:
        return _bad_request(*missing)
    app_order_id = int(_number(query, "appOrderID", whole=True, positive=True))
    order = _open_order(account, app_order_id)
    order.status = "CANCELLED"
    kit.save_order(BROKER, order)
    return _ok(
        {"AppOrderID": app_order_id, "ClientID": account.account_id},
        "s-orders-0003",
        "Request sent",
    )


# --- §4 market data ----------------------------------------------------------------------------
def _security(segment, instrument) -> universe.Security | None:
    if str(segment) == str(SEGMENT_NUMBERS["NSECM"]):
        return universe.by_token(str(instrument))
    if str(segment) == str(SEGMENT_NUMBERS["BSECM"]):
        return universe.by_bse_code(str(instrument))
    return None


def _touchline(security: universe.Security, segment: int, instrument: int, code: int) -> str:
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


@_session(kind="marketdata", invalid_status=200)
def quotes(request, account, token):
    data = _json(request)
    instruments = data.get("instruments")
    if not isinstance(instruments, list) or not 0 < len(instruments) <= QUOTE_BATCH:
        return _bad_request(f'"instruments" must hold 1 to {QUOTE_BATCH} items')
    code = data.get("xtsMessageCode")
    if code not in MESSAGE_CODES:
        return _bad_request(f'"xtsMessageCode" must be one of {list(MESSAGE_CODES)}')
    if str(data.get("publishFormat", "")).upper() != "JSON":
        return _bad_request('"publishFormat" must be JSON')
    listed = []
    for item in instruments:
        segment = item.get("exchangeSegment") if isinstance(item, dict) else None
        instrument = item.get("exchangeInstrumentID") if isinstance(item, dict) else None
        security = _security(segment, instrument)
        if security is not None:
            listed.append(_touchline(security, int(segment), int(instrument), code))
    result = {"mdp": code, "quotesList": instruments, "listQuotes": listed}
    return _ok(result, "s-quotes-0001", "Get quotes successfully!")


def _master_row(security: universe.Security, segment: str) -> str:
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


@csrf_exempt
def master(request):
    """POST /apimarketdata/instruments/master: one headerless pipe-separated string (§4)."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    # The master is public (S3 fetches it bare); a token, when sent, still picks the faults.
    token = request.headers.get("authorization", "")
    account_id = kit.account_for_token(BROKER, token, kind="marketdata") or "*"
    fault = kit.apply_faults(BROKER, account_id, ERRORS)
    if fault is not None:
        return fault
    try:
        data = _json(request)
    except _Refusal as refusal:
        return refusal.response
    segments = data.get("exchangeSegmentList")
    if not isinstance(segments, list) or not segments:
        return _bad_request('"exchangeSegmentList" must be a non-empty array')
    unknown = [s for s in segments if s not in SEGMENT_NUMBERS]
    if unknown:
        return _bad_request(f'"exchangeSegmentList" has unknown segments {unknown}')
    rows = [
        _master_row(security, segment)
        for segment in segments
        if segment in LISTED
        for security in universe.SECURITIES.values()
    ]
    return _ok("\n".join(rows), "s-instrument-0002", "Instrument Master Fetched.")


def demo_login_fields() -> dict:
    """Nothing is typed at an XTS login: the app key and secret are the credentials."""
    return {}


urlpatterns = [
    path("interactive/user/session", _route(post=interactive_login, delete=interactive_logout)),
    path("interactive/user/profile", _route(get=profile)),
    path("interactive/user/balance", _route(get=balance)),
    path("interactive/portfolio/holdings", _route(get=holdings)),
    path("interactive/portfolio/positions", _route(get=positions)),
    path(
        "interactive/orders",
        _route(get=order_book, post=place, put=modify, delete=cancel),
    ),
    path("interactive/orders/trades", _route(get=trade_book)),
    path("apimarketdata/auth/login", _route(post=market_login)),
    path("apimarketdata/auth/logout", _route(delete=market_logout)),
    path("apimarketdata/instruments/quotes", _route(post=quotes)),
    path("apimarketdata/instruments/master", master),
]
