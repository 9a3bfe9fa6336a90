"""Simulated Dhan (DhanHQ v2), written from shared/brokers/dhan.md, not from the adapter.

Hosts, all under /sandbox/dhan/: auth.dhan.co (consent login), api.dhan.co (/v2/...),
images.dhan.co (the scrip master CSV). Trading answers are bare JSON, errors are
{errorType, errorCode, errorMessage}; market-feed answers are enveloped and fail with HTTP 200.

The auth host's ``app_id``/``app_secret`` headers have underscores, which Daphne and Django's
own servers drop before a view sees them (CVE-2015-0219). They are checked whenever they
arrive (test client, proxies that keep them); otherwise the single-use consent id and tokenId
are what bind the app, as they do on the real host too.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
import uuid
from datetime import datetime
from decimal import Decimal
from functools import wraps
from urllib.parse import urlencode

from django.core.cache import cache
from django.http import HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect, JsonResponse
from django.urls import path
from django.utils.html import escape
from django.views.decorators.csrf import csrf_exempt

from brokers.clock import IST
from brokers.sandbox import kit, universe
from brokers.sandbox.demo import DEMO_APPS

BROKER = "dhan"
APP = DEMO_APPS[BROKER]
CONSENT_TTL = 600
SEGMENT_CODES = {"NSE_EQ": "nse_token", "BSE_EQ": "bse_code"}  # BSE ids are the scrip codes
PRODUCTS = {"MIS": "INTRADAY", "CNC": "CNC", "NRML": "MARGIN"}
ORDER_TYPES = {"LIMIT": "LIMIT", "MARKET": "MARKET", "STOP_LOSS": "SL", "STOP_LOSS_MARKET": "SL-M"}
DHAN_TYPES = {ours: wire for wire, ours in ORDER_TYPES.items()}
MISSING = "Missing required fields, bad values for parameters etc."


def registered_redirect(request) -> str:
    """Dhan redirects to the URL registered with the API key on Dhan Web, never to one sent
    in a request. The demo app is registered with the callback of the site serving this
    sandbox, the URL its help page tells traders to register."""
    return APP.get("redirect_url") or request.build_absolute_uri(f"/brokers/callback/{BROKER}/")


def demo_login_fields() -> dict:
    return {}  # a browser (consent) login: nothing is typed into our app


# --- Errors (§5) ------------------------------------------------------------------------------
def _error(status: int, code: str, kind: str, message: str) -> JsonResponse:
    return JsonResponse(
        {"errorType": kind, "errorCode": code, "errorMessage": message}, status=status
    )


def _input_error(message: str = MISSING) -> JsonResponse:
    return _error(400, "DH-905", "Input_Exception", message)


def _order_error(message: str) -> JsonResponse:
    return _error(400, "DH-906", "Order_Error", message)


def _data_error(code: int, message: str) -> JsonResponse:
    return JsonResponse({"errorCode": code, "errorMessage": message})  # HTTP 200, as recorded


class Errors(kit.ErrorBodies):
    def token_invalid(self) -> HttpResponse:
        return _error(
            401,
            "DH-901",
            "Invalid_Authentication",
            "Client ID or user generated access token is invalid or expired.",
        )

    def rate_limited(self) -> HttpResponse:
        return _error(  # the recording says Input_Exception, not Rate_Limit
            429,
            "DH-904",
            "Input_Exception",
            "Too many requests on server from single user breaching rate limits. "
            "Try throttling API calls.",
        )

    def server_error(self) -> HttpResponse:
        return _error(500, "DH-908", "Internal_Server_Error", "Internal Server Error")

    def unavailable(self) -> HttpResponse:
        return HttpResponse(
            "<html><head><title>503 Service Temporarily Unavailable</title></head>"
            "<body><h1>503 Service Temporarily Unavailable</h1></body></html>",
            status=503,
            content_type="text/html",
        )


ERRORS = Errors()


# --- Helpers ----------------------------------------------------------------------------------
def _num(value) -> float:
    return float(Decimal(str(value)))


def _ist(ts: float) -> str:
    return datetime.fromtimestamp(ts, IST).strftime("%Y-%m-%d %H:%M:%S")


def _security(segment: str, security_id) -> universe.Security | None:
    field = SEGMENT_CODES.get(segment)
    return next(
        (
            s
            for s in universe.SECURITIES.values()
            if field and getattr(s, field) == str(security_id)
        ),
        None,
    )


def _security_id(security: universe.Security, segment: str) -> str:
    return getattr(security, SEGMENT_CODES[segment])


def _json_body(request) -> dict | None:
    try:
        body = json.loads(request.body or b"null")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _jwt(account_id: str, expires: float) -> str:
    """Dhan tokens are JWTs; this one only looks like one (validity lives in the kit). Kept
    short: the token is part of a cache key."""

    def part(data: dict) -> str:
        text = json.dumps(data, separators=(",", ":"))
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    claims = {"iss": "dhan", "exp": int(expires), "dhanClientId": account_id}
    return f"{part({'typ': 'JWT', 'alg': 'HS512'})}.{part(claims)}.{secrets.token_urlsafe(24)}"


def _jwt_expiry(token: str) -> float:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["exp"]


def _new_token(account_id: str) -> tuple[str, str]:
    expires = time.time() + kit.TOKEN_TTL
    token = kit.issue_token(BROKER, account_id, value=_jwt(account_id, expires))
    return token, datetime.fromtimestamp(expires, IST).strftime("%Y-%m-%dT%H:%M:%S")


def _token_shaped(token: str) -> bool:
    """A JWT's alphabet only ("Bearer x" never matches), so nothing odd reaches a cache key."""
    return bool(token) and all(c.isalnum() or c in "._-" for c in token)


def _app_refused(request) -> JsonResponse | None:
    """Checks app_id/app_secret when the server let them through (see the module docstring)."""
    app_id, secret = request.META.get("HTTP_APP_ID"), request.META.get("HTTP_APP_SECRET")
    if app_id is None and secret is None:
        return None
    if app_id != APP["api_key"] or secret != APP["api_secret"]:
        return _error(401, "DH-901", "Invalid_Authentication", "Invalid app_id or app_secret")
    return None


def api(*methods: str, auth: bool = True):
    """A Dhan endpoint: csrf-exempt, its methods only, and on api.dhan.co the bare
    access-token (no Bearer) resolved to a demo account, with faults applied; client-id, when
    sent, must name the same account (§3)."""

    def decorate(view):
        @csrf_exempt
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method not in methods:
                return HttpResponseNotAllowed(methods)
            if not auth:
                return view(request, *args, **kwargs)
            token = request.headers.get("access-token", "")
            account_id = kit.account_for_token(BROKER, token) if _token_shaped(token) else None
            client_id = request.headers.get("client-id")
            if account_id is None or (client_id is not None and client_id != account_id):
                return ERRORS.token_invalid()
            if fault := kit.apply_faults(BROKER, account_id, ERRORS):
                return fault
            request.dhan_token = token
            return view(request, universe.account(BROKER, account_id), *args, **kwargs)

        return wrapper

    return decorate


# --- Auth host (§1b) --------------------------------------------------------------------------
@api("POST", auth=False)
def generate_consent(request):
    if refused := _app_refused(request):
        return refused
    client_id = request.GET.get("client_id", "")
    if universe.account(BROKER, client_id) is None:
        return _input_error("Invalid client_id")
    consent_id = str(uuid.uuid4())
    cache.set(f"sbx:{BROKER}:consent:{consent_id}", {"client_id": client_id}, CONSENT_TTL)
    return JsonResponse(
        {"consentAppId": consent_id, "consentAppStatus": "GENERATED", "status": "success"}
    )


def _page(title: str, body: str, status: int = 200) -> HttpResponse:
    html = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"</head><body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    return HttpResponse(html, status=status)


@api("GET", "POST", auth=False)
def consent_login(request):
    """The browser step: the user picks a demo account and approves (or denies) the app."""
    params = request.GET if request.method == "GET" else request.POST
    consent_id = params.get("consentAppId", "")
    key = f"sbx:{BROKER}:consent:{consent_id}"
    consent = cache.get(key)
    if consent is None:
        return _page("Dhan sandbox login", "<p>Invalid or expired consentAppId.</p>", 400)
    accounts = universe.ACCOUNTS[BROKER]
    if request.method == "GET":
        options = "".join(
            f"<option value='{escape(a.account_id)}'{' selected' if i == 0 else ''}>"
            f"{escape(a.account_id)} ({escape(a.name)})</option>"
            for i, a in enumerate(accounts)
        )
        hidden = "".join(
            f"<input type='hidden' name='{escape(k)}' value='{escape(v)}'>"
            for k, v in request.GET.items()
        )
        body = (
            f"<p>App <b>{escape(APP['api_key'])}</b> asks to trade and read the account "
            f"of client {escape(consent['client_id'])}.</p><form method='post'>{hidden}"
            f"<label>Account <select name='account_id'>{options}</select></label> "
            "<button name='decision' value='approve'>Log in and authorize</button> "
            "<button name='decision' value='deny'>Deny</button></form>"
        )
        return _page("Dhan sandbox login", body)
    # No choice sent (a scripted client): the account the consent was generated for.
    account_id = request.POST.get("account_id") or consent["client_id"]
    if universe.account(BROKER, account_id) is None:
        return _page("Dhan sandbox login", "<p>Unknown client id.</p>", 400)
    cache.delete(key)  # a consent is used once, approved or not
    if request.POST.get("decision") == "approve":
        token_id = kit.issue_code(BROKER, {"account": account_id, "app": APP["api_key"]})
        query = {"tokenId": token_id}
    else:
        query = {"error": "access_denied"}  # no documented denial shape: OAuth2's
    target = registered_redirect(request)
    return HttpResponseRedirect(f"{target}{'&' if '?' in target else '?'}{urlencode(query)}")


@api("GET", "POST", auth=False)
def consume_consent(request):
    # The SDK sends GET, openalgo POST with the same query string: both work (§1b.3).
    if refused := _app_refused(request):
        return refused
    grant = kit.take_code(BROKER, request.GET.get("tokenId", ""))
    if grant is None:
        return _input_error("Invalid or expired tokenId")
    account = universe.account(BROKER, grant["account"])
    token, expiry = _new_token(account.account_id)
    return JsonResponse(
        {
            "dhanClientId": account.account_id,
            "dhanClientName": account.name.upper(),
            "dhanClientUcc": f"DEMO{account.account_id[-5:]}K",
            "givenPowerOfAttorney": True,
            "accessToken": token,
            "expiryTime": expiry,
        }
    )


@api("GET", auth=False)
def renew_token(request):
    """GET /v2/RenewToken: the header is dhanClientId here, not client-id (§2)."""
    token = request.headers.get("access-token", "")
    account_id = kit.account_for_token(BROKER, token) if _token_shaped(token) else None
    if account_id is None or request.headers.get("dhanClientId") != account_id:
        return ERRORS.token_invalid()
    if fault := kit.apply_faults(BROKER, account_id, ERRORS):
        return fault
    token, expiry = _new_token(account_id)
    return JsonResponse({"dhanClientId": account_id, "token": token, "expiryTime": expiry})


# --- Portfolio and funds (§4) -----------------------------------------------------------------
@api("GET")
def profile(request, account):
    expires = datetime.fromtimestamp(_jwt_expiry(request.dhan_token), IST)
    return JsonResponse(
        {
            "dhanClientId": account.account_id,
            "tokenValidity": expires.strftime("%d/%m/%Y %H:%M"),
            "activeSegment": "Equity, Derivative, Currency, Commodity",
            "ddpi": "Active",
            "mtf": "Active",
            "dataPlan": "Active",
            "dataValidity": "2099-12-31 23:59:59.0",
        }
    )


def _available(account) -> float:
    book = kit.orders(BROKER, account.account_id)
    blocked = sum(
        (Decimal(o.price) * o.quantity for o in book if o.status == "OPEN" and o.side == "BUY"),
        Decimal(0),
    )
    return _num(account.cash - blocked)


@api("GET")
def fund_limit(request, account):
    available = _available(account)
    blocked = _num(account.cash) - available
    return JsonResponse(  # the misspellings are Dhan's (§8.3)
        {
            "dhanClientId": account.account_id,
            "availabelBalance": available,
            "sodLimit": _num(account.cash),
            "collateralAmount": 0.0,
            "receiveableAmount": 0.0,
            "utilizedAmount": blocked,
            "blockedPayoutAmount": 0.0,
            "withdrawableBalance": available,
        }
    )


@api("GET")
def holdings(request, account):
    if not account.holdings:  # an error body instead of [] (§8.7)
        return JsonResponse(
            {
                "errorType": "HOLDING_ERROR",
                "errorCode": "DHOLDING_ERROR",
                "errorMessage": "No holdings available",
                "internalErrorCode": "DH-1111",
                "internalErrorMessage": "No holdings available",
            },
            status=400,
        )
    rows = []
    for h in account.holdings:
        security = universe.SECURITIES[h.symbol]
        segment = "BSE_EQ" if h.exchange == "BSE" else "NSE_EQ"
        rows.append(
            {
                "exchange": h.exchange,
                "tradingSymbol": security.symbol,
                "securityId": _security_id(security, segment),
                "isin": security.isin,
                "totalQty": h.quantity,
                "dpQty": h.quantity,
                "t1Qty": 0,
                "availableQty": h.quantity,
                "collateralQty": 0,
                "avgCostPrice": _num(h.average_price),
                "lastTradedPrice": _num(security.last_price),
            }
        )
    return JsonResponse(rows, safe=False)


@api("GET")
def positions(request, account):
    rows = []
    for p in account.positions:
        security = universe.SECURITIES[p.symbol]
        segment = "BSE_EQ" if p.exchange == "BSE" else "NSE_EQ"
        net = p.buy_quantity - p.sell_quantity
        buy_value, sell_value = p.buy_price * p.buy_quantity, p.sell_price * p.sell_quantity
        matched = min(p.buy_quantity, p.sell_quantity)
        rows.append(
            {
                "dhanClientId": account.account_id,
                "tradingSymbol": security.symbol,
                "securityId": _security_id(security, segment),
                "positionType": "LONG" if net > 0 else "SHORT" if net < 0 else "CLOSED",
                "exchangeSegment": segment,
                "productType": PRODUCTS[p.product],
                "buyAvg": _num(p.buy_price),
                "costPrice": _num(p.buy_price if net > 0 else p.sell_price if net < 0 else 0),
                "buyQty": p.buy_quantity,
                "sellAvg": _num(p.sell_price),
                "sellQty": p.sell_quantity,
                "netQty": net,
                "realizedProfit": _num((p.sell_price - p.buy_price) * matched),
                "unrealizedProfit": _num(
                    (security.last_price - (p.buy_price if net > 0 else p.sell_price)) * net
                ),
                "rbiReferenceRate": 1.0,
                "multiplier": 1,
                **dict.fromkeys(("carryForwardBuyQty", "carryForwardSellQty"), 0),
                **dict.fromkeys(("carryForwardBuyValue", "carryForwardSellValue"), 0.0),
                "dayBuyQty": p.buy_quantity,
                "daySellQty": p.sell_quantity,
                "dayBuyValue": _num(buy_value),
                "daySellValue": _num(sell_value),
                "drvExpiryDate": "0001-01-01",
                "drvOptionType": None,
                "drvStrikePrice": 0.0,
                "crossCurrency": False,
            }
        )
    return JsonResponse(rows, safe=False)


# --- Orders and trades (§4 place / modify / cancel / order book) ------------------------------
def _status(order: kit.SandboxOrder) -> str:
    if order.status in ("OPEN", "TRIGGER PENDING"):
        return "PART_TRADED" if 0 < order.filled_quantity < order.quantity else "PENDING"
    return {"COMPLETE": "TRADED"}.get(order.status, order.status)


def _order_row(order: kit.SandboxOrder, account_id: str) -> dict:
    security = universe.SECURITIES[order.symbol]
    sent = order.status != "REJECTED"
    return {
        "dhanClientId": account_id,
        "orderId": order.order_id,
        "exchangeOrderId": f"1{order.order_id[-15:]}" if sent else "0",
        "correlationId": order.tag or "NA",
        "orderStatus": _status(order),
        "transactionType": order.side,
        "exchangeSegment": order.exchange,
        "productType": order.product,
        "orderType": DHAN_TYPES[order.order_type],
        "validity": order.validity,
        "tradingSymbol": security.symbol,
        "securityId": _security_id(security, order.exchange),
        "quantity": order.quantity,
        "disclosedQuantity": 0,
        "price": _num(order.price),
        "triggerPrice": _num(order.trigger_price),
        "afterMarketOrder": False,
        **dict.fromkeys(("boProfitValue", "boStopLossValue"), 0.0),
        "legName": "NA",
        "createTime": _ist(order.placed_at),
        "updateTime": _ist(order.updated_at),
        "exchangeTime": _ist(order.placed_at) if sent else "0001-01-01 00:00:00",
        "drvExpiryDate": "0001-01-01",
        "drvOptionType": "NA",
        "drvStrikePrice": 0.0,
        "omsErrorCode": "0",
        "omsErrorDescription": order.status_message,
        "algoId": "0",
        "remainingQuantity": order.quantity - order.filled_quantity,
        "averageTradedPrice": _num(order.average_price),
        "filledQty": order.filled_quantity,
    }


def _positive(value, *, whole: bool = False) -> Decimal | None:
    """The SDK sends numbers, the docs' curl sends strings: both are read (§4 place order)."""
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        return None
    if not number.is_finite() or number <= 0 or (whole and number != int(number)):
        return None
    return number


def _prices(body: dict, order_type: str) -> tuple[str, str] | JsonResponse:
    price = _positive(body.get("price") or 0)
    trigger = _positive(body.get("triggerPrice") or 0)
    if order_type in ("LIMIT", "STOP_LOSS") and price is None:
        return _input_error("Invalid price")
    if order_type.startswith("STOP_LOSS") and trigger is None:
        return _input_error("Invalid triggerPrice")
    keep_price = order_type in ("LIMIT", "STOP_LOSS")
    return str(price if keep_price else 0), str(trigger if order_type.startswith("STOP") else 0)


def _place(request, account):
    body = _json_body(request)
    if body is None:
        return _input_error("Invalid request body")
    required = ("dhanClientId", "transactionType", "exchangeSegment", "productType")
    required += ("orderType", "validity", "securityId", "quantity")
    missing = [f for f in required if body.get(f) in (None, "")]
    if missing:
        return _input_error(f"{MISSING} Missing: {', '.join(missing)}")
    if str(body["dhanClientId"]) != account.account_id:
        return _input_error("Invalid dhanClientId")
    if (
        body["transactionType"] not in ("BUY", "SELL")
        or body["productType"] not in ("CNC", "INTRADAY", "MARGIN", "MTF", "CO", "BO")
        or body["orderType"] not in ORDER_TYPES
        or body["validity"] not in ("DAY", "IOC")
    ):
        return _input_error()
    quantity = _positive(body["quantity"], whole=True)
    if quantity is None:
        return _input_error("Invalid quantity")
    tag = str(body.get("correlationId") or "")
    if len(tag) > 25:
        return _input_error("correlationId can be at most 25 characters")
    security = _security(body["exchangeSegment"], body["securityId"])
    if security is None:
        return _input_error("Invalid SecurityId")
    prices = _prices(body, body["orderType"])
    if isinstance(prices, JsonResponse):
        return prices
    order = kit.SandboxOrder(
        order_id=kit.new_order_id("5"),
        account=account.account_id,
        symbol=security.symbol,
        exchange=body["exchangeSegment"],
        side=body["transactionType"],
        quantity=int(quantity),
        order_type=ORDER_TYPES[body["orderType"]],
        product=body["productType"],
        price=prices[0],
        trigger_price=prices[1],
        validity=body["validity"],
        tag=tag,
    )
    # Like the real OMS, the place call answers TRANSIT; an RMS refusal shows in the book.
    value = (Decimal(order.price) or security.last_price) * order.quantity
    if order.side == "BUY" and value > Decimal(str(_available(account))):
        order.status, order.status_message = "REJECTED", "Insufficient funds (RMS)"
    kit.save_order(BROKER, order)
    if kit.order_reply_lost(BROKER, account.account_id):
        return kit.lost_reply()
    return JsonResponse({"orderId": order.order_id, "orderStatus": "TRANSIT"})


@api("GET", "POST")
def orders(request, account):
    if request.method == "POST":
        return _place(request, account)
    book = kit.orders(BROKER, account.account_id)
    return JsonResponse([_order_row(o, account.account_id) for o in book], safe=False)


def _modify(request, account, order: kit.SandboxOrder):
    body = _json_body(request)
    if body is None:
        return _input_error("Invalid request body")
    missing = [f for f in ("orderType", "quantity", "validity") if body.get(f) in (None, "")]
    if missing:
        return _input_error(f"{MISSING} Missing: {', '.join(missing)}")
    if body["orderType"] not in ORDER_TYPES or body["validity"] not in ("DAY", "IOC"):
        return _input_error()
    quantity = _positive(body["quantity"], whole=True)
    if quantity is None:
        return _input_error("Invalid quantity")
    prices = _prices(body, body["orderType"])
    if isinstance(prices, JsonResponse):
        return prices
    order.order_type, order.validity = ORDER_TYPES[body["orderType"]], body["validity"]
    order.quantity, (order.price, order.trigger_price) = int(quantity), prices
    kit.save_order(BROKER, order)
    return JsonResponse({"orderId": order.order_id, "orderStatus": "TRANSIT"})


@api("GET", "PUT", "DELETE")
def order_detail(request, account, order_id: str):
    order = kit.find_order(BROKER, account.account_id, order_id)
    if order is None:
        return _order_error("Order not found")
    if request.method == "GET":
        return JsonResponse(_order_row(order, account.account_id))
    if order.status != "OPEN":
        return _order_error(f"Order is {_status(order)} and cannot be changed")
    if request.method == "PUT":
        return _modify(request, account, order)
    order.status = "CANCELLED"
    kit.save_order(BROKER, order)
    return JsonResponse({"orderId": order.order_id, "orderStatus": "CANCELLED"})


@api("GET")
def trades(request, account):
    rows = []
    for order in kit.orders(BROKER, account.account_id):
        if not order.filled_quantity:
            continue
        row = _order_row(order, account.account_id)
        rows.append(
            {
                **{k: row[k] for k in ("dhanClientId", "orderId", "exchangeOrderId")},
                "exchangeTradeId": f"2{order.order_id[-15:]}",
                **{k: row[k] for k in ("transactionType", "exchangeSegment", "productType")},
                **{k: row[k] for k in ("orderType", "tradingSymbol", "securityId")},
                "customSymbol": universe.SECURITIES[order.symbol].name,
                "tradedQuantity": order.filled_quantity,
                "tradedPrice": _num(order.average_price),
                "createTime": _ist(order.placed_at),
                "updateTime": _ist(order.updated_at),
                "exchangeTime": _ist(order.updated_at),
                "drvExpiryDate": "NA",
                "drvOptionType": "NA",
                "drvStrikePrice": 0.0,
            }
        )
    return JsonResponse(rows, safe=False)


# --- Market quotes (§4 LTP / OHLC): enveloped, integer ids in, string keys out ----------------
def _market_feed(with_ohlc: bool):
    @api("POST")
    def view(request, account):
        if request.headers.get("client-id") is None:  # mandatory on data APIs (§3)
            return _data_error(810, "Client ID is invalid")
        body = _json_body(request)
        if body is None:
            return _data_error(814, "Invalid Request")
        # The SDK copies dhanClientId into every body; anything but a segment list is ignored.
        wanted = {k: v for k, v in body.items() if isinstance(v, list)}
        if sum(len(v) for v in wanted.values()) > 1000:
            return _data_error(804, "Requested number of instruments exceeds limit")
        data: dict[str, dict] = {}
        for segment, ids in wanted.items():
            data[segment] = {}
            for security_id in ids:
                security = _security(segment, security_id)
                if security is None:
                    continue
                row: dict = {"last_price": _num(security.last_price)}
                if with_ohlc:
                    low = min(security.last_price, security.close_price)
                    high = max(security.last_price, security.close_price)
                    row["ohlc"] = {
                        "open": _num(security.close_price),
                        "close": _num(security.close_price),
                        "high": _num(high),
                        "low": _num(low),
                    }
                data[segment][str(security_id)] = row
        return JsonResponse({"data": data, "status": "success"})

    return view


# --- Instrument master (§4): compact CSV, tick sizes in paise, no ISIN column ------------------
MASTER_HEADER = (
    "SEM_EXM_EXCH_ID,SEM_SEGMENT,SEM_SMST_SECURITY_ID,SEM_INSTRUMENT_NAME,SEM_EXPIRY_CODE,"
    "SEM_TRADING_SYMBOL,SEM_LOT_UNITS,SEM_CUSTOM_SYMBOL,SEM_EXPIRY_DATE,SEM_STRIKE_PRICE,"
    "SEM_OPTION_TYPE,SEM_TICK_SIZE,SEM_EXPIRY_FLAG,SEM_EXCH_INSTRUMENT_TYPE,SEM_SERIES,"
    "SM_SYMBOL_NAME"
)


@api("GET", auth=False)
def scrip_master(request):
    lines = [MASTER_HEADER, "NSE,I,13,INDEX,,NIFTY,1.0,Nifty 50,,,XX,5.0000,NA,INDEX,X,NIFTY 50"]
    for security in universe.SECURITIES.values():
        tick = f"{security.tick_size * 100:.4f}"
        kind = "ETF" if security.kind == "ETF" else "ES"
        for exchange, security_id, series in (
            ("NSE", security.nse_token, "EQ"),
            ("BSE", security.bse_code, "A"),
        ):
            lines.append(
                f"{exchange},E,{security_id},EQUITY,0,{security.symbol},"
                f"{security.lot_size:.1f},{security.name.title()},,-0.01000,XX,{tick},NA,"
                f"{kind},{series},{security.name}"
            )
    lines.append(
        "NSE,D,35012,FUTIDX,1,NIFTY-Dec2099-FUT,75.0,NIFTY DEC FUT,2099-12-31 14:30:00,"
        "-0.01000,XX,10.0000,M,FUTIDX,NA,NIFTY"
    )
    return HttpResponse("\n".join(lines) + "\n", content_type="text/csv")


urlpatterns = [
    # auth.dhan.co
    path("app/generate-consent", generate_consent),
    path("login/consentApp-login", consent_login),
    path("app/consumeApp-consent", consume_consent),
    # api.dhan.co
    path("v2/RenewToken", renew_token),
    path("v2/profile", profile),
    path("v2/fundlimit", fund_limit),
    path("v2/holdings", holdings),
    path("v2/positions", positions),
    path("v2/orders", orders),
    path("v2/orders/<str:order_id>", order_detail),
    path("v2/trades", trades),
    path("v2/marketfeed/ltp", _market_feed(with_ohlc=False)),
    path("v2/marketfeed/ohlc", _market_feed(with_ohlc=True)),
    # images.dhan.co
    path("api-data/api-scrip-master.csv", scrip_master),
]
