"""Simulated Upstox, written from shared/brokers/upstox.md (API v2; v3 order writes and LTP).

Its three hosts share /sandbox/upstox/: api.upstox.com (login dialog, token, portfolio, order
book, quotes), api-hft.upstox.com (/v3/order/place|modify|cancel) and assets.upstox.com (the
gzipped JSON instrument master). Login is OAuth2: dialog → 302 with ?code&state → form POST to
the token endpoint, answered flat. Everything else answers {"status", "data"} or
{"status": "error", "errors": [{"errorCode", "message", "propertyPath", "invalidValue"}]}.
"""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import hmac
import json
import random
import re
import secrets
import time
from datetime import datetime
from datetime import time as clock_time
from decimal import Decimal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import path, re_path
from django.utils.html import format_html, format_html_join
from django.views.decorators.csrf import csrf_exempt

from brokers.clock import IST, next_ist
from brokers.sandbox import demo, kit, universe

BROKER = "upstox"
APP = demo.DEMO_APPS[BROKER]
SEGMENTS = {"NSE": "NSE_EQ", "BSE": "BSE_EQ"}
EXCHANGES = {segment: exchange for exchange, segment in SEGMENTS.items()}
PRODUCTS = {"MIS": "I", "CNC": "D", "NRML": "D"}  # the universe speaks Kite's words
STATUS_WORDS = {
    "OPEN": "open",
    "TRIGGER PENDING": "trigger pending",
    "COMPLETE": "complete",
    "CANCELLED": "cancelled",
    "REJECTED": "rejected",
}
FINISHED = {"COMPLETE", "CANCELLED", "REJECTED"}
ORDER_TYPES = {"MARKET", "LIMIT", "SL", "SL-M"}
TAG_MAX = 40
EXTENDED_TTL = 365 * 24 * 3600  # the extended token lives a year
ORDER_ID = re.compile(r"^[A-Za-z0-9-]+$")  # UDAPI1010
UNSUPPORTED = "This request is not supported by Upstox API"


def _error(status: int, code: str, message: str, field: str | None = None, value=None):
    error = {"errorCode": code, "message": message, "propertyPath": field, "invalidValue": value}
    return JsonResponse({"status": "error", "errors": [error]}, status=status)


def _ok(data, **extra) -> JsonResponse:
    return JsonResponse({"status": "success", "data": data, **extra})


def _latency() -> dict:
    return {"metadata": {"latency": random.randint(8, 60)}}  # noqa: S311 - simulated


class Errors(kit.ErrorBodies):
    def token_invalid(self):
        return _error(401, "UDAPI100050", "Invalid token used to access API")

    def rate_limited(self):
        return _error(429, "UDAPI10005", "Too Many Request Sent")

    def server_error(self):
        return _error(500, "UDAPI100500", "Something went wrong... please contact us")

    def unavailable(self):
        return HttpResponse(
            "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>",
            status=503,
            content_type="text/html",
        )


ERRORS = Errors()


def demo_login_fields() -> dict:
    return {}  # a browser login: nothing is typed into the product


# --- Login: the authorization dialog and the token exchange ------------------------------------
def _page(body, status: int = 200) -> HttpResponse:
    return HttpResponse(
        format_html(
            "<!doctype html><html><head><title>Upstox sandbox login</title></head>"
            "<body><h1>Upstox sandbox login</h1>{}</body></html>",
            body,
        ),
        status=status,
    )


def _app_problem(params) -> str:
    """The dialog checks the app and its redirect before showing anything (Authorize)."""
    redirect = urlsplit(params.get("redirect_uri", ""))
    if params.get("client_id") != APP["api_key"] or redirect.scheme not in ("http", "https"):
        return "UDAPI100068: Check your 'client_id' and 'redirect_uri'; one or both are incorrect."
    if params.get("response_type") != "code":
        return "UDAPI100036: Invalid Input: response_type must be 'code'."
    return ""


def _login_form(params) -> HttpResponse:
    carried = ("response_type", "client_id", "redirect_uri", "state")
    hidden = format_html_join(
        "",
        '<input type="hidden" name="{}" value="{}">',
        ((name, params[name]) for name in carried if name in params),
    )
    options = format_html_join(
        "",
        '<option value="{}"{}>{} ({})</option>',
        (
            (a.account_id, " selected" if i == 0 else "", a.name, a.account_id)
            for i, a in enumerate(universe.ACCOUNTS[BROKER])
        ),
    )
    return _page(
        format_html(
            "<p>The app <strong>{}</strong> asks to use your Upstox account.</p>"
            '<form method="post">{}<label>Account <select name="account_id">{}</select></label>'
            '<button type="submit" name="decision" value="approve">Log in and authorize</button>'
            '<button type="submit" name="decision" value="deny">Deny</button></form>',
            params["client_id"],
            hidden,
            options,
        )
    )


def _back_to_app(redirect_uri: str, **params) -> HttpResponseRedirect:
    parts = urlsplit(redirect_uri)
    query = parse_qsl(parts.query) + [(k, v) for k, v in params.items() if v]
    return HttpResponseRedirect(urlunsplit(parts._replace(query=urlencode(query))))


@csrf_exempt
def dialog(request):
    params = request.POST if request.method == "POST" else request.GET
    problem = _app_problem(params)
    if problem:
        return _page(format_html("<p>{}</p>", problem), status=400)
    if request.method != "POST":
        return _login_form(params)
    # A browser always sends the select's choice; a bare client gets the preselected account.
    chosen = params.get("account_id") or universe.default_account(BROKER).account_id
    account = universe.account(BROKER, chosen)
    if account is None:
        return _page(format_html("<p>Unknown account {}.</p>", chosen), 400)
    redirect_uri, state = params["redirect_uri"], params.get("state", "")
    if params.get("decision") != "approve":
        # No denial shape is documented: the OAuth2 standard one.
        return _back_to_app(redirect_uri, error="access_denied", state=state)
    code = kit.issue_code(
        BROKER,
        {"account": account.account_id, "client_id": APP["api_key"], "redirect_uri": redirect_uri},
    )
    return _back_to_app(redirect_uri, code=code, state=state)


def _profile(account: universe.DemoAccount) -> dict:
    return {
        "email": account.email,
        "exchanges": ["NSE", "NFO", "BSE", "CDS", "BFO", "BCD"],
        "products": ["D", "CO", "I"],
        "broker": "UPSTOX",
        "user_id": account.account_id,
        "user_name": account.name,
        "order_types": ["MARKET", "LIMIT", "SL", "SL-M"],
        "user_type": "individual",
        "poa": False,
        "is_active": True,
    }


@csrf_exempt
def token(request):
    """Get Token: form fields only; the code is spent even when the exchange fails."""
    if request.method != "POST":
        return _error(405, "UDAPI10000", UNSUPPORTED)
    form = request.POST
    grant = kit.take_code(BROKER, form.get("code", "")) if form.get("code") else None
    if form.get("grant_type") != "authorization_code":
        return _error(400, "UDAPI100036", "Invalid Input", "grant_type", form.get("grant_type"))
    secret = form.get("client_secret", "").encode()
    secret_ok = hmac.compare_digest(secret, APP["api_secret"].encode())
    if form.get("client_id") != APP["api_key"] or not secret_ok:
        return _error(401, "UDAPI100016", "Invalid Credentials")
    if grant is None or grant["redirect_uri"] != form.get("redirect_uri"):
        return _error(400, "UDAPI100057", "Invalid Auth code")
    account = universe.account(BROKER, grant["account"])
    access = _mint(account.account_id, "access", next_ist(clock_time(3, 30)).timestamp())
    extended = _mint(account.account_id, "extended", time.time() + EXTENDED_TTL)
    return JsonResponse({**_profile(account), "access_token": access, "extended_token": extended})


def _b64(claims: dict) -> str:
    raw = json.dumps(claims, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _mint(account_id: str, kind: str, expires: float) -> str:
    """A JWT like Upstox's, whose "exp" the sandbox checks itself: a cache's TTL runs on the
    cache server's clock, and tests travel in time."""
    now = int(time.time())
    claims = {"sub": account_id, "iat": now, "exp": int(expires), "jti": secrets.token_hex(6)}
    jwt = f"{_b64({'alg': 'HS256', 'typ': 'JWT'})}.{_b64(claims)}"
    signature = hmac.new(APP["api_secret"].encode(), jwt.encode(), hashlib.sha256).digest()
    jwt += "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()
    ttl = max(1, int(expires - now))
    return kit.issue_token(BROKER, account_id, kind=kind, ttl=ttl, value=jwt)


def _holder(token: str, kind: str) -> str | None:
    """The account a live token belongs to."""
    account_id = kit.account_for_token(BROKER, token, kind=kind)
    if account_id is None:
        return None
    body = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return account_id if time.time() < claims["exp"] else None


# --- The authenticated API ---------------------------------------------------------------------
def _bearer(request) -> str:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme == "Bearer" else ""


def _api(*methods: str, version: str = "", write: bool = False):
    """Method, version header, bearer token (an extended token only reads), then faults."""

    def wrap(view):
        @csrf_exempt
        @functools.wraps(view)
        def handler(request):
            if request.method not in methods:
                return _error(405, "UDAPI10000", UNSUPPORTED)
            accept = request.headers.get("Accept", "")
            if accept and "json" not in accept and "*/*" not in accept:
                return _error(406, "UDAPI10000", UNSUPPORTED)
            sent = request.headers.get("Api-Version")
            if version and sent is not None and sent != version:
                return _error(400, "UDAPI100015", "API Version does not exist")
            bearer = _bearer(request)
            account_id = _holder(bearer, "access")
            if account_id is None:
                extended = _holder(bearer, "extended")
                if extended and write:
                    return _error(
                        401,
                        "UDAPI100067",
                        "The API you are trying to access is not permitted with an extended_token",
                    )
                account_id = extended
            if account_id is None:
                return ERRORS.token_invalid()
            fault = kit.apply_faults(BROKER, account_id, ERRORS)
            if fault is not None:
                return fault
            return view(request, universe.account(BROKER, account_id))

        return handler

    return wrap


def _num(value) -> float | int:
    value = Decimal(str(value))
    return int(value) if value == value.to_integral_value() else float(value)


def _key(security: universe.Security, exchange: str) -> str:
    return f"{SEGMENTS[exchange]}|{security.isin}"


def _resolve(key: str) -> tuple[universe.Security, str] | None:
    segment, _, isin = str(key).partition("|")
    security = universe.by_isin(isin)
    return (security, EXCHANGES[segment]) if security and segment in EXCHANGES else None


def _ist(epoch: float, layout: str = "%Y-%m-%d %H:%M:%S") -> str:
    return datetime.fromtimestamp(epoch, IST).strftime(layout)


@_api("DELETE", version="2.0")
def logout(request, account):
    kit.revoke_token(BROKER, _bearer(request))
    return _ok(True)


@_api("GET", version="2.0")
def profile(request, account):
    return _ok({**_profile(account), "ddpi": False})


@_api("GET", version="2.0")
def funds(request, account):
    orders = kit.orders(BROKER, account.account_id)
    open_buys = [o for o in orders if o.status == "OPEN" and o.side == "BUY"]
    blocked = sum((Decimal(o.price) * o.quantity for o in open_buys), Decimal(0))
    zero = dict.fromkeys(
        ("used_margin", "payin_amount", "span_margin", "adhoc_margin", "notional_cash"), 0
    )
    equity = {**zero, "used_margin": _num(blocked), "exposure_margin": 0}
    equity["available_margin"] = _num(account.cash - blocked)
    # Since July 2025 all funds sit in "equity"; "commodity" stays, zeroed.
    return _ok(
        {"equity": equity, "commodity": {**zero, "available_margin": 0, "exposure_margin": 0}}
    )


@_api("GET", version="2.0")
def holdings(request, account):
    rows = []
    for held in account.holdings:
        s = universe.SECURITIES[held.symbol]
        rows.append(
            {
                "isin": s.isin,
                "cnc_used_quantity": 0,
                "collateral_type": "WC",
                "company_name": s.name,
                "haircut": 0.2,
                "product": "D",
                "quantity": held.quantity,
                "trading_symbol": s.symbol,
                "tradingsymbol": s.symbol,
                "last_price": _num(s.last_price),
                "close_price": _num(s.close_price),
                "pnl": _num((s.last_price - held.average_price) * held.quantity),
                "day_change": _num(s.last_price - s.close_price),
                "day_change_percentage": _num(
                    round((s.last_price - s.close_price) / s.close_price * 100, 4)
                ),
                "instrument_token": _key(s, held.exchange),
                "average_price": _num(held.average_price),
                "collateral_quantity": 0,
                "collateral_update_quantity": 0,
                "t1_quantity": 0,
                "exchange": held.exchange,
            }
        )
    return _ok(rows)


def _legs(account) -> dict:
    """(symbol, exchange, product) → [bought, buy value, sold, sell value], from the demo day
    and today's filled sandbox orders."""
    legs: dict[tuple, list] = {}
    for p in account.positions:
        leg = legs.setdefault((p.symbol, p.exchange, PRODUCTS[p.product]), [0, 0, 0, 0])
        leg[0] += p.buy_quantity
        leg[1] += p.buy_price * p.buy_quantity
        leg[2] += p.sell_quantity
        leg[3] += p.sell_price * p.sell_quantity
    for o in kit.orders(BROKER, account.account_id):
        if o.status == "COMPLETE":
            leg = legs.setdefault((o.symbol, o.exchange, o.product), [0, 0, 0, 0])
            side = 0 if o.side == "BUY" else 2
            leg[side] += o.filled_quantity
            leg[side + 1] += Decimal(o.average_price) * o.filled_quantity
    return legs


@_api("GET", version="2.0")
def positions(request, account):
    rows = []
    for (symbol, exchange, product), (bought, paid, sold, got) in _legs(account).items():
        s, net = universe.SECURITIES[symbol], bought - sold
        buy_price = paid / bought if bought else Decimal(0)
        sell_price = got / sold if sold else Decimal(0)
        average = buy_price if net > 0 else sell_price if net < 0 else None
        realised = min(bought, sold) * (sell_price - buy_price)
        unrealised = net * (s.last_price - average) if average is not None else Decimal(0)
        day = {
            "day_buy_value": _num(paid),
            "day_buy_price": _num(round(buy_price, 2)),
            "day_buy_quantity": bought,
            "day_sell_value": _num(got),
            "day_sell_price": _num(round(sell_price, 2)),
            "day_sell_quantity": sold,
        }
        overnight = dict.fromkeys(
            ("overnight_quantity", "overnight_buy_quantity", "overnight_sell_quantity"), 0
        ) | {"overnight_buy_amount": 0.0, "overnight_sell_amount": 0.0}
        rows.append(
            {
                "exchange": exchange,
                "multiplier": 1.0,
                "value": _num(got - paid),
                "pnl": _num(round(realised + unrealised, 2)),
                "product": product,
                "instrument_token": _key(s, exchange),
                "average_price": None if average is None else _num(round(average, 2)),
                "buy_value": _num(paid),
                **day,
                **overnight,
                "quantity": net,
                "last_price": _num(s.last_price),
                "unrealised": _num(round(unrealised, 2)),
                "realised": _num(round(realised, 2)),
                "sell_value": _num(got),
                "trading_symbol": symbol,
                "tradingsymbol": symbol,
                "close_price": _num(s.close_price),
                "buy_price": _num(round(buy_price, 2)),
                "sell_price": _num(round(sell_price, 2)),
            }
        )
    return _ok(rows)


def _order_row(o: kit.SandboxOrder) -> dict:
    s = universe.SECURITIES[o.symbol]
    open_now = o.status not in FINISHED
    return {
        "exchange": o.exchange,
        "product": o.product,
        "price": _num(o.price),
        "quantity": o.quantity,
        "status": STATUS_WORDS[o.status],
        "guid": None,
        "tag": o.tag or None,
        "instrument_token": _key(s, o.exchange),
        "placed_by": o.account,
        "trading_symbol": o.symbol,
        "tradingsymbol": o.symbol,
        "order_type": o.order_type,
        "validity": o.validity,
        "trigger_price": _num(o.trigger_price),
        "disclosed_quantity": 0,
        "transaction_type": o.side,
        "average_price": _num(o.average_price),
        "filled_quantity": o.filled_quantity,
        "pending_quantity": o.quantity - o.filled_quantity if open_now else 0,
        "status_message": o.status_message or None,
        "status_message_raw": o.status_message or None,
        "exchange_order_id": "1" + o.order_id,
        "parent_order_id": None,
        "order_id": o.order_id,
        "variety": "SIMPLE",
        "order_timestamp": _ist(o.placed_at),
        "exchange_timestamp": _ist(o.updated_at),
        "is_amo": False,
        "order_request_id": "1",
        "order_ref_id": "udapi-" + o.order_id[-8:],
    }


@_api("GET", version="2.0")
def order_book(request, account):
    return _ok([_order_row(o) for o in kit.orders(BROKER, account.account_id)])


@_api("GET", version="2.0")
def trades(request, account):
    rows = []
    for o in kit.orders(BROKER, account.account_id):
        if o.status != "COMPLETE":
            continue
        row = _order_row(o)
        rows.append(
            {k: row[k] for k in ("exchange", "product", "trading_symbol", "tradingsymbol")}
            | {k: row[k] for k in ("instrument_token", "order_type", "transaction_type")}
            | {
                "quantity": o.filled_quantity,
                "exchange_order_id": row["exchange_order_id"],
                "order_id": o.order_id,
                "exchange_timestamp": _ist(o.updated_at, "%d-%b-%Y %H:%M:%S"),
                "average_price": _num(o.average_price),
                "trade_id": o.order_id[-8:],
                "order_ref_id": row["order_ref_id"],
                "order_timestamp": _ist(o.placed_at, "%d-%b-%Y %H:%M:%S"),
            }
        )
    return _ok(rows)


@_api("GET")
def ltp(request, account):
    """LTP Quotes V3: keyed SEGMENT:SYMBOL; "cp" is the previous close."""
    keys = [k for k in request.GET.get("instrument_key", "").split(",") if k]
    if not keys:
        return _error(400, "UDAPI1009", "instrument_key is required", "instrument_key")
    if len(keys) > 500:
        return _error(400, "UDAPI100043", "Maximum 500 instrument keys are allowed")
    data = {}
    for key in keys:
        if "|" not in key:
            return _error(400, "UDAPI1011", "Invalid format", "instrument_key", key)
        found = _resolve(key)
        if found is None:
            return _error(400, "UDAPI1087", "Invalid Instrument key", "instrument_key", key)
        s, exchange = found
        data[f"{SEGMENTS[exchange]}:{s.symbol}"] = {
            "last_price": _num(s.last_price),
            "instrument_token": key,
            "ltq": 5,
            "volume": 1_000_000,
            "cp": _num(s.close_price),
        }
    return _ok(data)


# --- Orders (api-hft.upstox.com, v3) -----------------------------------------------------------
def _json_body(request) -> dict | None:
    if "json" not in request.content_type:
        return None
    try:
        body = json.loads(request.body or b"null", parse_float=Decimal)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _number(value) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        return None
    return Decimal(value)


def _check_terms(body: dict):
    """order_type, validity, price, trigger_price: shared by place and modify."""
    order_type, validity = body.get("order_type"), body.get("validity")
    if not order_type:
        return _error(400, "UDAPI1004", "Valid order type is required", "order_type")
    if order_type not in ORDER_TYPES:
        return _error(400, "UDAPI1056", "The 'order_type' is invalid", "order_type", order_type)
    if not validity:
        return _error(400, "UDAPI1007", "Validity is required", "validity")
    if validity not in ("DAY", "IOC"):
        return _error(400, "UDAPI1055", "The 'validity' is invalid", "validity", validity)
    price, trigger = _number(body.get("price")), _number(body.get("trigger_price"))
    if price is None or price < 0 or (order_type in ("LIMIT", "SL") and price == 0):
        return _error(400, "UDAPI100036", "Invalid Input", "price", body.get("price"))
    if trigger is None or trigger < 0 or (order_type in ("SL", "SL-M") and trigger == 0):
        return _error(
            400, "UDAPI100036", "Invalid Input", "trigger_price", body.get("trigger_price")
        )
    return None


@_api("POST", write=True)
def place_order(request, account):
    body = _json_body(request)
    if body is None:
        return _error(400, "UDAPI100038", "Invalid input passed to the API")
    key, quantity, tag = body.get("instrument_token"), body.get("quantity"), body.get("tag") or ""
    if not key:
        return _error(400, "UDAPI1026", "Instrument key is required", "instrument_token")
    if not quantity:
        return _error(400, "UDAPI1052", "The order quantity cannot be zero", "quantity", quantity)
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 0:
        return _error(400, "UDAPI100036", "Invalid Input", "quantity", quantity)
    if body.get("product") not in ("I", "D", "MTF"):
        return _error(400, "UDAPI100036", "Invalid Input", "product", body.get("product"))
    if body.get("transaction_type") not in ("BUY", "SELL"):
        return _error(400, "UDAPI100036", "Invalid Input", "transaction_type")
    problem = _check_terms(body)
    if problem:
        return problem
    if len(str(tag)) > TAG_MAX:
        return _error(400, "UDAPI1119", f"Tag length should not exceed {TAG_MAX} characters")
    found = _resolve(key)
    if found is None:
        return _error(400, "UDAPI1087", "Invalid Instrument key", "instrument_token", key)
    security, exchange = found
    stop = body["order_type"] in ("SL", "SL-M")
    order = kit.save_order(
        BROKER,
        kit.SandboxOrder(
            order_id=kit.new_order_id(),
            account=account.account_id,
            symbol=security.symbol,
            exchange=exchange,
            side=body["transaction_type"],
            quantity=quantity,
            order_type=body["order_type"],
            product=body["product"],
            price=str(body["price"]),
            trigger_price=str(body["trigger_price"]),
            validity=body["validity"],
            tag=str(tag),
            status="TRIGGER PENDING" if stop else "OPEN",
        ),
    )
    if kit.order_reply_lost(BROKER, account.account_id):
        return kit.lost_reply()
    return _ok({"order_ids": [order.order_id]}, **_latency())


def _live_order(account, order_id, *, verb: str):
    """The order to change, or the documented error (UDAPI1023/1010/100010/100040)."""
    if not order_id:
        return None, _error(400, "UDAPI1023", "Order id is required", "order_id")
    if not ORDER_ID.match(str(order_id)):
        message = "Order id accepts only alphanumeric characters and '-'."
        return None, _error(400, "UDAPI1010", message, "order_id", order_id)
    order = kit.find_order(BROKER, account.account_id, str(order_id))
    if order is None:
        return None, _error(400, "UDAPI100010", "Order not found", "order_id", order_id)
    if order.status in FINISHED:
        code = "UDAPI100040" if verb == "Cancel" else "UDAPI100036"
        message = f"{verb} of already cancelled/rejected/completed order is not allowed"
        return None, _error(400, code, message, "order_id", order_id)
    return order, None


@_api("PUT", write=True)
def modify_order(request, account):
    body = _json_body(request)
    if body is None:
        return _error(400, "UDAPI100038", "Invalid input passed to the API")
    order, problem = _live_order(account, body.get("order_id"), verb="Modify")
    problem = problem or _check_terms(body)
    if problem:
        return problem
    quantity = body.get("quantity")
    if quantity is not None:
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
            return _error(400, "UDAPI100036", "Invalid Input", "quantity", quantity)
        order.quantity = quantity
    order.order_type, order.validity = body["order_type"], body["validity"]
    order.price, order.trigger_price = str(body["price"]), str(body["trigger_price"])
    kit.save_order(BROKER, order)
    return _ok({"order_id": order.order_id}, **_latency())


@_api("DELETE", write=True)
def cancel_order(request, account):
    order, problem = _live_order(account, request.GET.get("order_id"), verb="Cancel")
    if problem:
        return problem
    order.status = "CANCELLED"
    kit.save_order(BROKER, order)
    return _ok({"order_id": order.order_id}, **_latency())


# --- Instrument master (assets.upstox.com, no auth) --------------------------------------------
def _master_rows(exchanges: tuple[str, ...]) -> list[dict]:
    rows = []
    for s in universe.SECURITIES.values():
        for exchange in exchanges:
            rows.append(
                {
                    "segment": SEGMENTS[exchange],
                    "name": s.name,
                    "exchange": exchange,
                    "isin": s.isin,
                    "instrument_type": "EQ",
                    "instrument_key": _key(s, exchange),
                    "lot_size": s.lot_size,
                    "freeze_quantity": 100000.0,
                    "exchange_token": s.nse_token if exchange == "NSE" else s.bse_code,
                    "tick_size": float(s.tick_size * 100),  # paise, as the real file
                    "trading_symbol": s.symbol,
                    "short_name": s.symbol,
                    "security_type": "NORMAL",
                }
            )
    if "NSE" in exchanges:
        rows.append(
            {
                "segment": "NSE_INDEX",
                "name": "Nifty 50",
                "exchange": "NSE",
                "instrument_type": "INDEX",
                "instrument_key": "NSE_INDEX|Nifty 50",
                "exchange_token": "26000",
                "trading_symbol": "NIFTY",
            }
        )
    return rows


@csrf_exempt
def instrument_master(request, name: str):
    exchanges = {"complete": ("NSE", "BSE"), "NSE": ("NSE",), "BSE": ("BSE",)}[name]
    payload = gzip.compress(json.dumps(_master_rows(exchanges)).encode(), mtime=0)
    return HttpResponse(payload, content_type="application/gzip")


@csrf_exempt
def unsupported(request, rest: str = ""):
    return _error(404, "UDAPI10000", UNSUPPORTED)


urlpatterns = [
    path("v2/login/authorization/dialog", dialog),
    path("v2/login/authorization/token", token),
    path("v2/logout", logout),
    path("v2/user/profile", profile),
    path("v2/user/get-funds-and-margin", funds),
    path("v2/portfolio/long-term-holdings", holdings),
    path("v2/portfolio/short-term-positions", positions),
    path("v2/order/retrieve-all", order_book),
    path("v2/order/trades/get-trades-for-day", trades),
    path("v3/market-quote/ltp", ltp),
    path("v3/order/place", place_order),
    path("v3/order/modify", modify_order),
    path("v3/order/cancel", cancel_order),
    re_path(
        r"^market-quote/instruments/exchange/(?P<name>complete|NSE|BSE)\.json\.gz$",
        instrument_master,
    ),
    re_path(r"^(?P<rest>.*)$", unsupported),
]
