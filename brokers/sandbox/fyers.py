"""Simulated Fyers API v3, written from shared/brokers/fyers.md (not from our adapter).

Both real hosts are served under /sandbox/fyers/: ``api-t1.fyers.in`` (``/api/v3/...`` trading
and account, ``/data/...`` market data) and ``public.fyers.in`` (``/sym_details/...`` symbol
master). Tokens are JWT-shaped with a real ``exp`` so clients can read their expiry.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time as clock
from collections import defaultdict
from datetime import datetime, time
from decimal import Decimal
from functools import wraps
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.http import HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect, JsonResponse
from django.urls import re_path
from django.utils.html import escape, format_html, format_html_join
from django.views.decorators.csrf import csrf_exempt

from brokers.clock import IST, next_ist, now_ist
from brokers.sandbox import kit, universe
from brokers.sandbox.demo import DEMO_APPS

BROKER = "fyers"
APPS = {DEMO_APPS[BROKER]["api_key"]: DEMO_APPS[BROKER]}
REFRESH_TTL = 15 * 24 * 3600  # §2: ~15 days (UNCONFIRMED)
ACCESS_CUTOVER = time(6, 0)  # §2: the one decoded sample expires 06:00 IST next day
TYPES = {1: "LIMIT", 2: "MARKET", 3: "SL-M", 4: "SL"}
TYPE_CODES = {v: k for k, v in TYPES.items()}
STATUS_CODES = {"CANCELLED": 1, "COMPLETE": 2, "REJECTED": 5, "OPEN": 6, "TRIGGER PENDING": 6}
PRODUCTS = {"CNC", "INTRADAY", "MARGIN", "MTF", "CO", "BO"}
EXCHANGE_CODES = {"NSE": 10, "BSE": 12}
SERIES = {"NSE": "EQ", "BSE": "A"}  # §6: BSE:SBIN-A, the series suffix is mandatory
D = Decimal


# --- Envelopes and errors (§5) --------------------------------------------------------------
def ok(status: int = 200, *, code: int = 200, message: str = "", **payload) -> JsonResponse:
    return JsonResponse({"s": "ok", "code": code, "message": message, **payload}, status=status)


def error(code: int, message: str, status: int = 400, **extra) -> JsonResponse:
    return JsonResponse({"s": "error", "code": code, "message": message, **extra}, status=status)


class Errors(kit.ErrorBodies):
    def token_invalid(self):
        return error(-16, "Could not authenticate the user", 401)  # F4: every /api/v3 route

    def rate_limited(self):
        response = error(-353, "API Limit exceeded", 429)
        response["Retry-After"] = "1"
        response["X-Retry-After-Ms"] = "1000"
        return response

    def server_error(self):
        return error(-96, "Unexpected error", 500)

    def unavailable(self):
        return HttpResponse(
            "<html><head><title>503 Service Temporarily Unavailable</title></head><body>"
            "<center><h1>503 Service Temporarily Unavailable</h1></center></body></html>",
            status=503,
            content_type="text/html",
        )


ERRORS = Errors()


def demo_login_fields() -> dict:
    return {}  # a browser login: nothing is typed into our app


# --- Tokens: JWT-shaped, HS256 over the app secret ------------------------------------------
def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwt(claims: dict, secret: str) -> str:
    """HS256 over the app secret, the MAC cut to 16 bytes: real Fyers JWTs are longer than a
    portable cache key allows, and kit keys tokens by their value (only `exp` and ids matter)."""
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(signature[:16])}"


def _claims(token: str) -> dict:
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def _app_hash(app_id: str) -> str:
    return hashlib.sha256(f"{app_id}:{APPS[app_id]['api_secret']}".encode()).hexdigest()


def _app_for_hash(value) -> str | None:
    return next((a for a in APPS if hmac.compare_digest(_app_hash(a), str(value or ""))), None)


def _token(app_id: str, account_id: str, *, sub: str, exp: float) -> str:
    claims = {"sub": sub, "app_id": app_id.rpartition("-")[0], "fy_id": account_id}
    claims |= {"iat": int(clock.time()), "exp": int(exp), "jti": secrets.token_hex(4)}
    return _jwt(claims, APPS[app_id]["api_secret"])


def _issue_access(app_id: str, account_id: str) -> str:
    exp = next_ist(ACCESS_CUTOVER).timestamp()
    token = _token(app_id, account_id, sub="access_token", exp=exp)
    return kit.issue_token(BROKER, account_id, ttl=max(1, int(exp - clock.time())), value=token)


def _account(header: str) -> str | None:
    """§3: `Authorization: APPID-100:<access token>`, no scheme word."""
    app_id, _, token = header.partition(":")
    claims = _claims(token)
    if app_id not in APPS or claims.get("app_id") != app_id.rpartition("-")[0]:
        return None
    return kit.account_for_token(BROKER, token)


def signed(*methods: str, data: bool = False):
    """Authenticated route: method check, token, then the injected faults."""

    def wrap(view):
        @csrf_exempt
        @wraps(view)
        def handler(request):
            if request.method not in methods:
                return HttpResponseNotAllowed(methods)
            account = _account(request.headers.get("Authorization", ""))
            if account is None and data:
                # F4: market-data routes answer -15. Its HTTP status was not recorded; we send
                # the 200 that §5 warns some auth failures come with (UNCONFIRMED).
                return error(-15, "Please provide valid token", 200)
            if account is None:
                return ERRORS.token_invalid()
            fault = kit.apply_faults(BROKER, account, ERRORS)
            return fault if fault is not None else view(request, account)

        return handler

    return wrap


def _body(request):
    try:
        return json.loads(request.body or b"null")
    except ValueError:
        return None


# --- Login (§1) -----------------------------------------------------------------------------
def _login_problem(params) -> str:
    if params.get("client_id") not in APPS:
        return "Invalid client_id: no app with this App ID"
    if urlsplit(params.get("redirect_uri", "")).scheme not in ("http", "https"):
        return "Invalid redirect_uri"
    if params.get("response_type") != "code":
        return "Invalid response_type: expected code"
    return ""


def _page(title: str, body: str, status: int = 200) -> HttpResponse:
    html = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title></head>"
        f"<body style='font-family:sans-serif;max-width:32rem;margin:3rem auto'>{body}"
        "</body></html>"
    )
    return HttpResponse(html, status=status)


def _with_query(url: str, params: dict) -> str:
    parts = urlsplit(url)
    query = urlencode([*parse_qsl(parts.query, keep_blank_values=True), *params.items()])
    return urlunsplit(parts._replace(query=query))


@csrf_exempt
def generate_authcode(request):
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    # The form posts back to the same URL: its query and its hidden inputs say the same.
    params = request.GET.dict() | (request.POST.dict() if request.method == "POST" else {})
    problem = _login_problem(params)
    if problem:
        return _page("Fyers sandbox login", format_html("<h1>Error</h1><p>{}</p>", problem), 400)
    if request.method == "GET":
        return _login_form(params)
    account_id = params.get("account_id") or universe.default_account(BROKER).account_id
    if universe.account(BROKER, account_id) is None:
        return _page("Fyers sandbox login", "<h1>Error</h1><p>Unknown account</p>", 400)
    state = {"state": params["state"]} if "state" in params else {}
    if params.get("decision") != "approve":
        # Not in the notes: the OAuth2 standard denial.
        return HttpResponseRedirect(
            _with_query(params["redirect_uri"], {"error": "access_denied", **state})
        )
    app_id = params["client_id"]
    code = kit.issue_code(BROKER, {"account": account_id, "app": app_id})
    # §1: the auth code is itself a JWT (~8 h 20 min in the sample); ours points at a one-time code.
    claims = {"sub": "auth_code", "iss": "api.login.fyers.in", "app_id": app_id.rpartition("-")[0]}
    claims |= {"uuid": code, "display_name": account_id, "exp": int(clock.time()) + kit.CODE_TTL}
    auth_code = _jwt(claims, APPS[app_id]["api_secret"])
    answer = {"s": "ok", "code": "200", "auth_code": auth_code, **state}
    return HttpResponseRedirect(_with_query(params["redirect_uri"], answer))


def _login_form(params) -> HttpResponse:
    hidden = format_html_join(
        "",
        '<input type="hidden" name="{}" value="{}">',
        ((k, v) for k, v in params.items() if k not in ("account_id", "decision")),
    )
    options = format_html_join(
        "",
        '<option value="{}"{}>{} ({})</option>',
        (
            (a.account_id, " selected" if i == 0 else "", a.name, a.account_id)
            for i, a in enumerate(universe.ACCOUNTS[BROKER])
        ),
    )
    body = format_html(
        "<h1>Fyers sandbox login</h1><p>App <strong>{}</strong> asks to access your account.</p>"
        '<form method="post">{}<label>Account <select name="account_id">{}</select></label>'
        '<p><button type="submit" name="decision" value="approve">Log in and authorize</button> '
        '<button type="submit" name="decision" value="deny">Deny</button></p></form>',
        params["client_id"],
        hidden,
        options,
    )
    return _page("Fyers sandbox login", body)


@csrf_exempt
def validate_authcode(request):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    body = _body(request)
    if not isinstance(body, dict):
        return error(-50, "Invalid input")
    if body.get("grant_type") != "authorization_code":
        return error(-441, "invalid grant type")  # F5
    app_id = _app_for_hash(body.get("appIdHash"))
    if app_id is None:
        return error(-371, "Please provide sha256 hash of appId and app secret")
    if not body.get("code"):
        return error(-374, "Please provide authorization code")
    granted = kit.take_code(BROKER, str(_claims(str(body["code"])).get("uuid", "")))
    if not granted or granted["app"] != app_id:
        return error(-437, "invalid auth code")  # F4; a used code is gone too
    account = granted["account"]
    refresh = _token(app_id, account, sub="refresh_token", exp=clock.time() + REFRESH_TTL)
    kit.issue_token(BROKER, account, kind="refresh", ttl=REFRESH_TTL, value=refresh)
    return ok(access_token=_issue_access(app_id, account), refresh_token=refresh)


@csrf_exempt
def validate_refresh_token(request):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    body = _body(request)
    if not isinstance(body, dict):
        return error(-50, "Invalid input")
    if body.get("grant_type") != "refresh_token":
        return error(-441, "invalid grant type")
    app_id = _app_for_hash(body.get("appIdHash"))
    if app_id is None:
        return error(-371, "Please provide sha256 hash of appId and app secret")
    refresh = str(body.get("refresh_token") or "")
    account = kit.account_for_token(BROKER, refresh, kind="refresh")
    if account is None or _claims(refresh).get("app_id") != app_id.rpartition("-")[0]:
        return error(-501, "Please provide valid refresh token")  # F4
    if not hmac.compare_digest(str(body.get("pin") or ""), APPS[app_id].get("pin", "")):
        return error(-50, "Please provide valid pin")  # UNCONFIRMED code for a wrong PIN
    return ok(access_token=_issue_access(app_id, account))  # §2: no new refresh token


@signed("POST")
def logout(request, account):
    kit.revoke_token(BROKER, request.headers["Authorization"].partition(":")[2])
    return ok(message="User Logged out Successfully")


# --- Account and portfolio (§4) -------------------------------------------------------------
def _num(value) -> float:
    """Fyers sends JSON numbers (not strings) for money."""
    return float(D(value).quantize(D("0.01")))


def _fy_symbol(symbol: str, exchange: str) -> str:
    return f"{exchange}:{symbol}-{SERIES[exchange]}"


def _fy_token(security, exchange: str) -> str:
    code = security.nse_token if exchange == "NSE" else security.bse_code
    return f"{EXCHANGE_CODES[exchange]}10{int(code):010d}"


@signed("GET")
def profile(request, account_id):
    account = universe.account(BROKER, account_id)
    data = {
        "fy_id": account.account_id,
        "name": account.name.upper(),
        "image": None,
        "display_name": None,
        "pin_change_date": "02-01-2025 15:46:04",
        "email_id": account.email,
        "pwd_change_date": None,
        "PAN": "ABCDE1234F",
        "mobile_number": "9000000000",
        "totp": True,
        "pwd_to_expire": 90,
        "ddpi_enabled": False,
        "mtf_enabled": False,
    }
    return ok(data=data)


@signed("GET")
def funds(request, account_id):
    cash = universe.account(BROKER, account_id).cash
    blocked = sum(
        (D(o.price) * o.quantity for o in kit.orders(BROKER, account_id) if _blocks(o)), D(0)
    )
    rows = [
        (1, "Total Balance", cash),
        (2, "Utilized Amount", blocked),
        (3, "Clear Balance", cash),
        (4, "Realized Profit and Loss", 0),
        (5, "Collaterals", 0),
        (6, "Fund Transfer", 0),
        (7, "Receivables", 0),
        (8, "Adhoc Limit", 0),
        (9, "Limit at start of the day", cash),
        (10, "Available Balance", cash - blocked),
    ]
    fund_limit = [
        {"id": i, "title": t, "equityAmount": _num(v), "commodityAmount": 0.0} for i, t, v in rows
    ]
    return ok(fund_limit=fund_limit)


def _blocks(order) -> bool:
    return order.status in ("OPEN", "TRIGGER PENDING") and order.side == "BUY"


@signed("GET")
def holdings(request, account_id):
    rows, invested, current = [], D(0), D(0)
    for number, h in enumerate(universe.account(BROKER, account_id).holdings, start=1):
        security = universe.SECURITIES[h.symbol]
        value, cost = security.last_price * h.quantity, h.average_price * h.quantity
        invested, current = invested + cost, current + value
        rows.append(
            {
                "holdingType": "HLD",
                "quantity": h.quantity,
                "costPrice": _num(h.average_price),
                "marketVal": _num(value),
                "remainingQuantity": h.quantity,
                "pl": _num(value - cost),
                "ltp": _num(security.last_price),
                "id": number,
                "fyToken": _fy_token(security, h.exchange),
                "exchange": EXCHANGE_CODES[h.exchange],
                "symbol": _fy_symbol(h.symbol, h.exchange),
                "segment": 10,
                "isin": security.isin,
                "qty_t1": 0,
                "remainingPledgeQuantity": h.quantity,
                "collateralQuantity": 0,
            }
        )
    overall = {
        "count_total": len(rows),
        "total_investment": _num(invested),
        "total_current_value": _num(current),
        "total_pl": _num(current - invested),
        "pnl_perc": round(float((current - invested) / invested * 100), 4) if invested else 0.0,
    }
    return ok(holdings=rows, overall=overall)


@signed("GET")
def positions(request, account_id):
    book = defaultdict(lambda: {"buy": [0, D(0)], "sell": [0, D(0)]})
    for o in kit.orders(BROKER, account_id):
        if o.status == "COMPLETE":
            side = book[(o.symbol, o.exchange, o.product)]["buy" if o.side == "BUY" else "sell"]
            side[0] += o.filled_quantity
            side[1] += D(o.average_price) * o.filled_quantity
    rows, realized_total, unrealized_total = [], D(0), D(0)
    for number, ((symbol, exchange, product), legs) in enumerate(book.items()):
        (bq, bv), (sq, sv) = legs["buy"], legs["sell"]
        security, net = universe.SECURITIES[symbol], bq - sq
        buy_avg, sell_avg = (bv / bq if bq else D(0)), (sv / sq if sq else D(0))
        net_avg = buy_avg if net > 0 else sell_avg if net < 0 else D(0)
        realized = (sell_avg - buy_avg) * min(bq, sq)
        unrealized = (security.last_price - net_avg) * net
        realized_total, unrealized_total = realized_total + realized, unrealized_total + unrealized
        fy_symbol = _fy_symbol(symbol, exchange)
        rows.append(
            {
                "netQty": net,
                "qty": abs(net),
                "avgPrice": _num(net_avg),
                "netAvg": _num(net_avg),
                "side": (net > 0) - (net < 0),
                "productType": product,
                "realized_profit": _num(realized),
                "unrealized_profit": _num(unrealized),
                "pl": _num(realized + unrealized),
                "ltp": _num(security.last_price),
                "buyQty": bq,
                "buyAvg": _num(buy_avg),
                "buyVal": _num(bv),
                "sellQty": sq,
                "sellAvg": _num(sell_avg),
                "sellVal": _num(sv),
                "slNo": number,
                "fyToken": _fy_token(security, exchange),
                "crossCurrency": "N",
                "rbiRefRate": 1.0,
                "qtyMulti_com": 1.0,
                "segment": 10,
                "symbol": fy_symbol,
                "id": f"{fy_symbol}-{product}",
                "cfBuyQty": 0,
                "cfSellQty": 0,
                "dayBuyQty": bq,
                "daySellQty": sq,
                "exchange": EXCHANGE_CODES[exchange],
            }
        )
    overall = {
        "count_total": len(rows),
        "count_open": sum(1 for r in rows if r["netQty"]),
        "pl_total": _num(realized_total + unrealized_total),
        "pl_realized": _num(realized_total),
        "pl_unrealized": _num(unrealized_total),
    }
    return ok(netPositions=rows, overall=overall)


# --- Orders (§4, §6) ------------------------------------------------------------------------
def _stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, IST).strftime("%d-%b-%Y %H:%M:%S")


def _order_row(o, account_id: str, number: int) -> dict:
    security = universe.SECURITIES[o.symbol]
    status = STATUS_CODES[o.status]
    return {
        "clientId": account_id,
        "id": o.order_id,
        "exchOrdId": "" if o.status == "REJECTED" else f"11000000{o.order_id[-8:]}",
        "qty": o.quantity,
        "remainingQuantity": o.quantity - o.filled_quantity,
        "filledQty": o.filled_quantity,
        "discloseQty": 0,
        "limitPrice": _num(o.price),
        "stopPrice": _num(o.trigger_price),
        "tradedPrice": _num(o.average_price),
        "type": TYPE_CODES[o.order_type],
        "fyToken": _fy_token(security, o.exchange),
        "exchange": EXCHANGE_CODES[o.exchange],
        "segment": 10,
        "symbol": _fy_symbol(o.symbol, o.exchange),
        "instrument": 0,
        "message": o.status_message,
        "offlineOrder": False,
        "orderDateTime": _stamp(o.placed_at),
        "orderValidity": o.validity,
        "pan": "",
        "productType": o.product,
        "side": 1 if o.side == "BUY" else -1,
        "status": status,
        "source": "API",
        "ex_sym": o.symbol,
        "description": security.name,
        "ch": _num(security.last_price - security.close_price),
        "chp": _num((security.last_price - security.close_price) / security.close_price * 100),
        "lp": _num(security.last_price),
        "slNo": number,
        "dqQtyRem": 0,
        "orderNumStatus": f"{o.order_id}:{status}",
        "disclosedQty": 0,
        "orderTag": o.tag,
    }


@signed("GET")
def order_book(request, account_id):
    wanted_id, wanted_tag = request.GET.get("id"), request.GET.get("order_tag")
    rows = [
        _order_row(o, account_id, number)
        for number, o in enumerate(kit.orders(BROKER, account_id), start=1)
        if (not wanted_id or o.order_id == wanted_id) and (not wanted_tag or o.tag == wanted_tag)
    ]
    return ok(orderBook=rows)


@signed("GET")
def tradebook(request, account_id):
    rows = []
    for number, o in enumerate(kit.orders(BROKER, account_id), start=1):
        if o.status != "COMPLETE":
            continue
        security, price = universe.SECURITIES[o.symbol], D(o.average_price)
        rows.append(
            {
                "clientId": account_id,
                "orderDateTime": _stamp(o.updated_at),
                "orderNumber": o.order_id,
                "exchangeOrderNo": f"11000000{o.order_id[-8:]}",
                "exchange": EXCHANGE_CODES[o.exchange],
                "side": 1 if o.side == "BUY" else -1,
                "segment": 10,
                "orderType": TYPE_CODES[o.order_type],
                "fyToken": _fy_token(security, o.exchange),
                "productType": o.product,
                "tradedQty": o.filled_quantity,
                "tradePrice": _num(price),
                "tradeValue": _num(price * o.filled_quantity),
                "tradeNumber": f"{o.order_id[-8:]}01",
                "row": number,
                "symbol": _fy_symbol(o.symbol, o.exchange),
                "orderTag": o.tag,
            }
        )
    return ok(tradeBook=rows)


def _security(fy_symbol):
    """`NSE:RELIANCE-EQ` → (security, "NSE"), or None for anything we do not list."""
    exchange, _, ticker = str(fy_symbol or "").upper().partition(":")
    symbol, _, series = ticker.rpartition("-")
    if exchange not in SERIES or series != SERIES[exchange] or symbol not in universe.SECURITIES:
        return None
    return universe.SECURITIES[symbol], exchange


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _price(value) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return D(str(value))


def _check_prices(order_type: str, limit, stop, tick: Decimal) -> JsonResponse | None:
    if order_type in ("LIMIT", "SL"):
        if limit is None or limit <= 0:
            return error(-308, "Invalid limitPrice")
        if limit % tick:
            return error(-392, "Price not a multiple of tick size")
    if order_type in ("SL", "SL-M") and (stop is None or stop <= 0 or stop % tick):
        return error(-309, "Invalid stopPrice")
    return None


@signed("POST", "PATCH", "DELETE")
def orders_sync(request, account_id):
    body = _body(request)
    if not isinstance(body, dict):
        return error(-50, "Invalid input")
    if request.method == "POST":
        return _place(body, account_id)
    order_id = body.get("id")
    if not isinstance(order_id, str) or not order_id.isdigit():
        return error(-209, "Invalid order number")
    order = kit.find_order(BROKER, account_id, order_id)
    if order is None:
        return error(-159, "Order not found in the order book")
    finished = {"COMPLETE": (-162, "traded"), "CANCELLED": (-161, "cancelled")}
    finished["REJECTED"] = (-164, "rejected")
    if order.status in finished:
        code, word = finished[order.status]
        return error(code, f"Order already {word}")
    if request.method == "DELETE":
        order.status = "CANCELLED"
        kit.save_order(BROKER, order)
        return ok(code=1103, message="Successfully cancelled order", id=order.order_id)
    return _modify(order, body)


def _place(body: dict, account_id: str) -> JsonResponse | HttpResponse:
    found = _security(body.get("symbol"))
    if found is None:
        return error(-300, "Invalid symbol")
    security, exchange = found
    qty, side, product = body.get("qty"), body.get("side"), body.get("productType")
    if not _is_int(qty) or qty <= 0:
        return error(-310, "Invalid qty")
    if not _is_int(body.get("type")) or body["type"] not in TYPES:
        return error(-101, "Invalid order type")
    if not _is_int(side) or side not in (1, -1):
        return error(-313, "Invalid side")
    if not isinstance(product, str) or product not in PRODUCTS:
        return error(-314, "Invalid productType")
    if body.get("validity", "DAY") not in ("DAY", "IOC"):  # a tuple: == on anything is safe
        return error(-326, "Invalid validity")
    if not _is_int(body.get("disclosedQty", 0)) or not 0 <= body.get("disclosedQty", 0) <= qty:
        return error(-327, "Invalid disclosedQty")
    if not isinstance(body.get("offlineOrder", False), bool):
        return error(-328, "Invalid offlineOrder")
    order_type = TYPES[body["type"]]
    limit, stop = _price(body.get("limitPrice", 0)), _price(body.get("stopPrice", 0))
    problem = _check_prices(order_type, limit, stop, security.tick_size)
    if problem:
        return problem
    order = kit.SandboxOrder(
        order_id=f"{now_ist():%y%m%d}{secrets.randbelow(10**8):08d}",
        account=account_id,
        symbol=security.symbol,
        exchange=exchange,
        side="BUY" if side == 1 else "SELL",
        quantity=qty,
        order_type=order_type,
        product=product,
        price=str(limit if order_type in ("LIMIT", "SL") else 0),
        trigger_price=str(stop if order_type in ("SL", "SL-M") else 0),
        validity=body.get("validity", "DAY"),
        tag=str(body.get("orderTag") or ""),
        status="TRIGGER PENDING" if order_type in ("SL", "SL-M") else "OPEN",
    )
    cost = (limit if order_type in ("LIMIT", "SL") else security.last_price) * qty
    if order.side == "BUY" and cost > _available(account_id):
        order.status, order.status_message = "REJECTED", "RMS:Margin Exceeds"
    kit.save_order(BROKER, order)
    if kit.order_reply_lost(BROKER, account_id):
        return kit.lost_reply()
    if order.status == "REJECTED":
        # The order exists (status 5 in the book) but the answer is an error, with HTTP 200.
        return error(-99, f"RMS:Margin Exceeds for order {order.order_id}", 200, id=order.order_id)
    message = f"Order Submitted Successfully. Your Order Ref. No.{order.order_id}"
    return ok(code=1101, message=message, id=order.order_id)


def _available(account_id: str) -> Decimal:
    cash = universe.account(BROKER, account_id).cash
    return cash - sum(
        (D(o.price) * o.quantity for o in kit.orders(BROKER, account_id) if _blocks(o)), D(0)
    )


def _modify(order, body: dict) -> JsonResponse:
    order_type = TYPES.get(body["type"]) if _is_int(body.get("type")) else order.order_type
    if "type" in body and (order_type is None or not _is_int(body["type"])):
        return error(-101, "Invalid order type")
    qty = body.get("qty", order.quantity)
    if not _is_int(qty) or qty <= 0:
        return error(-310, "Invalid qty")
    limit = _price(body["limitPrice"]) if "limitPrice" in body else D(order.price)
    stop = _price(body["stopPrice"]) if "stopPrice" in body else D(order.trigger_price)
    problem = _check_prices(order_type, limit, stop, universe.SECURITIES[order.symbol].tick_size)
    if problem:
        return problem
    order.order_type, order.quantity = order_type, qty
    order.price = str(limit if order_type in ("LIMIT", "SL") else 0)
    order.trigger_price = str(stop if order_type in ("SL", "SL-M") else 0)
    kit.save_order(BROKER, order)
    return ok(code=1102, message="Successfully modified order", id=order.order_id)


# --- Market data and the symbol master (§4) -------------------------------------------------
@signed("GET", data=True)
def quotes(request, account_id):
    symbols = [s for s in request.GET.get("symbols", "").split(",") if s]
    if not symbols or len(symbols) > 50:
        return error(-50, "Please provide between 1 and 50 symbols")
    entries = []
    for name in symbols:
        found = _security(name)
        if found is None:
            entries.append(
                {"n": name, "s": "error", "v": {"code": -300, "errmsg": "invalid symbol"}}
            )
            continue
        security, exchange = found
        last, close = security.last_price, security.close_price
        values = {
            "ch": _num(last - close),
            "chp": _num((last - close) / close * 100),
            "lp": _num(last),
            "spread": _num(security.tick_size),
            "ask": _num(last + security.tick_size),
            "bid": _num(last),
            "open_price": _num(close),
            "high_price": _num(max(last, close)),
            "low_price": _num(min(last, close)),
            "prev_close_price": _num(close),
            "atp": _num((last + close) / 2),
            "volume": 1_000_000,
            "short_name": f"{security.symbol}-{SERIES[exchange]}",
            "exchange": exchange,
            "description": _fy_symbol(security.symbol, exchange),
            "original_name": _fy_symbol(security.symbol, exchange),
            "symbol": _fy_symbol(security.symbol, exchange),
            "fyToken": _fy_token(security, exchange),
            "tt": str(int(clock.time())),
        }
        entries.append({"n": _fy_symbol(security.symbol, exchange), "s": "ok", "v": values})
    return ok(d=entries)


def _master_row(token, name, kind, tick, isin, ticker, exchange, code, underlying) -> list:
    today = now_ist().date().isoformat()
    return [
        token,  # 0 Fytoken
        name,  # 1 symbol details
        kind,  # 2 exchange instrument type
        "1",  # 3 minimum lot size
        str(tick),  # 4 tick size
        isin,  # 5 ISIN
        "0915-1530|1815-1915:",  # 6 trading session
        today,  # 7 last update date
        "",  # 8 expiry (epoch; none for cash)
        ticker,  # 9 symbol ticker, what the API takes
        str(EXCHANGE_CODES[exchange]),  # 10 exchange
        "10",  # 11 segment: capital market
        code,  # 12 scrip code
        underlying,  # 13 underlying symbol
        code,  # 14 underlying scrip code
        "-1.0",  # 15 strike
        "XX",  # 16 option type
        token,  # 17 underlying Fytoken
        "None",  # 18.. reserved
        "0",
        "0.0",
    ]


def _master_rows(exchange: str) -> list[list[str]]:
    rows = []
    if exchange == "NSE":
        index = ("101000000026000", "NIFTY 50", "10", "0.05", "", "NSE:NIFTY50-INDEX")
        rows.append(_master_row(*index, "NSE", "26000", "NIFTY50"))
    for s in universe.SECURITIES.values():
        code = s.nse_token if exchange == "NSE" else s.bse_code
        ticker = _fy_symbol(s.symbol, exchange)
        token = _fy_token(s, exchange)
        rows.append(
            _master_row(token, s.name, "0", s.tick_size, s.isin, ticker, exchange, code, s.symbol)
        )
    return rows


@csrf_exempt
def symbol_master(request, name):
    """§4: public daily CSVs, no header row, no auth."""
    exchange = {"NSE_CM.csv": "NSE", "BSE_CM.csv": "BSE"}.get(name)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    if exchange is None:
        return HttpResponse("Not Found", status=404, content_type="text/plain")
    text = "".join(",".join(row) + "\n" for row in _master_rows(exchange))
    return HttpResponse(text, content_type="text/csv")


urlpatterns = [
    # Both hosts share one prefix: their paths do not overlap. Trailing slashes are tolerated
    # because the official SDK writes some paths with one.
    re_path(r"^api/v3/generate-authcode/?$", generate_authcode),
    re_path(r"^api/v3/validate-authcode/?$", validate_authcode),
    re_path(r"^api/v3/validate-refresh-token/?$", validate_refresh_token),
    re_path(r"^api/v3/logout/?$", logout),
    re_path(r"^api/v3/profile/?$", profile),
    re_path(r"^api/v3/funds/?$", funds),
    re_path(r"^api/v3/holdings/?$", holdings),
    re_path(r"^api/v3/positions/?$", positions),
    re_path(r"^api/v3/orders/?$", order_book),
    re_path(r"^api/v3/orders/sync/?$", orders_sync),
    re_path(r"^api/v3/tradebook/?$", tradebook),
    re_path(r"^data/quotes/?$", quotes),
    re_path(r"^sym_details/(?P<name>[A-Za-z_]+\.csv)$", symbol_master),
]
