"""Simulated Zerodha Kite Connect v3, written from shared/brokers/zerodha.md alone.

Serves kite.zerodha.com (/connect/login) and api.kite.trade under /sandbox/zerodha/ with the
real paths, envelopes ({status, data} / {status: "error", message, error_type}), HTTP codes,
form-encoded bodies and the `Authorization: token api_key:access_token` + `X-Kite-Version: 3`
headers. Prices are JSON numbers, as Kite sends them.
"""

from __future__ import annotations

import csv
import functools
import gzip
import hashlib
import hmac
import io
import secrets
import time as clock_time
from datetime import datetime, time
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qsl, urlencode

from django.core.cache import cache
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse, QueryDict
from django.urls import path
from django.utils import timezone
from django.utils.html import escape
from django.views.decorators.csrf import csrf_exempt

from brokers.clock import IST, next_ist
from brokers.sandbox import demo, kit, universe

BROKER = "zerodha"
APP = demo.DEMO_APPS[BROKER]
EXCHANGES = ("NSE", "BSE", "NFO", "BFO", "CDS", "BCD", "MCX")
VARIETIES = ("regular", "amo", "co", "iceberg", "auction")
PRODUCTS = ("CNC", "MIS", "NRML", "MTF")
ORDER_TYPES = ("MARKET", "LIMIT", "SL", "SL-M")
VALIDITIES = ("DAY", "IOC", "TTL")
LIVE = ("OPEN", "TRIGGER PENDING")
MAX_MODIFICATIONS = 25  # §5: then cancel and place again
QUOTE_LIMIT = 1000  # §4: /quote/ohlc and /quote/ltp
UTILISED = (  # noqa: SIM905 - the §4 field list as the notes write it
    "debits exposure m2m_realised m2m_unrealised option_premium payout span holding_sales "
    "turnover liquid_collateral stock_collateral delivery"
).split()
CSV_COLUMNS = (
    "instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,strike,"
    "tick_size,lot_size,instrument_type,segment,exchange"
)


def redirect_url(request) -> str:
    """The redirect URL "registered" for the demo app in the (simulated) developer console.

    Kite's login URL carries no redirect URL (§1): the demo app is registered with the Zerodha
    callback of the site serving this sandbox.
    """
    return APP.get("redirect_url") or request.build_absolute_uri(f"/brokers/callback/{BROKER}/")


# --- Envelopes and errors (§5) ---------------------------------------------------------------
def ok(data) -> JsonResponse:
    return JsonResponse({"status": "success", "data": data}, safe=False)


def fail(message: str, error_type: str, status: int) -> JsonResponse:
    body = {"status": "error", "message": message, "data": None, "error_type": error_type}
    return JsonResponse(body, status=status)


def bad_input(message: str) -> JsonResponse:
    return fail(message, "InputException", 400)


class Errors(kit.ErrorBodies):
    def token_invalid(self):
        return fail("Incorrect `api_key` or `access_token`.", "TokenException", 403)

    def rate_limited(self):  # §5: 429 is a NetworkException, like an OMS outage
        return fail("Too many requests", "NetworkException", 429)

    def server_error(self):
        return fail("Something went wrong. Please try again.", "GeneralException", 500)

    def unavailable(self):
        return fail("Could not reach the OMS. Please try again.", "NetworkException", 503)


ERRORS = Errors()


def demo_login_fields() -> dict:
    return {}  # a browser login: nothing is typed into our app


# --- Login (§1, §2) --------------------------------------------------------------------------
def _page(title: str, body: str, status: int = 200) -> HttpResponse:
    html = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"</head><body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    return HttpResponse(html, status=status)


@csrf_exempt
def login(request):
    if request.method not in ("GET", "POST"):
        return _page("Kite sandbox", "<p>Method not allowed.</p>", 405)
    params = request.POST if request.method == "POST" else request.GET
    if params.get("api_key") != APP["api_key"]:
        return _page("Kite sandbox", "<p>Invalid <code>api_key</code>.</p>", 400)
    if params.get("v") != "3":
        return _page("Kite sandbox", "<p>Invalid <code>v</code>: Kite Connect v3 only.</p>", 400)
    if request.method == "GET":
        return _login_page(params)
    # The select's first account is preselected, so a bare submit means that one.
    account_id = params.get("account_id") or universe.default_account(BROKER).account_id
    if universe.account(BROKER, account_id) is None:
        return _page("Kite sandbox", "<p>Unknown account.</p>", 400)
    # §1.2: redirect_params key/values are echoed on the redirect.
    echoed = parse_qsl(params.get("redirect_params", ""))
    decision = params.get("decision")
    if decision == "approve":
        code = kit.issue_code(BROKER, {"api_key": APP["api_key"], "account": account_id})
        query = [("action", "login"), ("type", "login"), ("status", "success")]
        query += [("request_token", code), *echoed]
    elif decision == "deny":
        # Kite's denial shape is undocumented: the OAuth2 standard error, plus the echo.
        query = [("error", "access_denied"), *echoed]
    else:
        return _page("Kite sandbox", "<p>Choose approve or deny.</p>", 400)
    target = redirect_url(request)
    return HttpResponseRedirect(target + ("&" if "?" in target else "?") + urlencode(query))


def _login_page(params) -> HttpResponse:
    hidden = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in params.items()
    )
    options = "".join(
        f'<option value="{escape(a.account_id)}"{" selected" if i == 0 else ""}>'
        f"{escape(a.account_id)}: {escape(a.name)}</option>"
        for i, a in enumerate(universe.ACCOUNTS[BROKER])
    )
    body = (
        f"<p>The app <strong>{escape(APP['api_key'])}</strong> wants to access your Kite "
        f"account.</p><form method='post'>{hidden}"
        f"<label>Account <select name='account_id'>{options}</select></label> "
        "<button type='submit' name='decision' value='approve'>Log in and authorize</button> "
        "<button type='submit' name='decision' value='deny'>Deny</button></form>"
    )
    return _page("Zerodha sandbox login", body)


def _checksum(*parts: str) -> str:
    return hashlib.sha256("".join(parts).encode()).hexdigest()


@csrf_exempt
def session_token(request):
    if request.method == "DELETE":
        return _logout(request)
    if request.method != "POST":
        return fail("Method not allowed", "GeneralException", 405)
    if request.headers.get("X-Kite-Version") != "3":
        return bad_input("Invalid or missing `X-Kite-Version` header.")
    form = request.POST
    for name in ("api_key", "request_token", "checksum"):
        if not form.get(name):
            return bad_input(f"Missing `{name}`.")
    if form["api_key"] != APP["api_key"]:
        return fail("Invalid `api_key`.", "TokenException", 403)
    expected = _checksum(form["api_key"], form["request_token"], APP["api_secret"])
    if not hmac.compare_digest(expected, form["checksum"].lower()):
        return fail("Invalid `checksum`.", "TokenException", 403)
    grant = kit.take_code(BROKER, form["request_token"])  # §8.6: one-shot
    if not grant or grant["api_key"] != form["api_key"]:
        return fail("Token is invalid or has expired.", "TokenException", 403)
    account = universe.account(BROKER, grant["account"])
    # §2: the session dies at 06:00 IST, whenever the login happened.
    ttl = max(int((next_ist(time(6, 0)) - timezone.now()).total_seconds()), 1)
    access_token = kit.issue_token(BROKER, account.account_id, ttl=ttl)
    data = {
        **_profile(account),
        "api_key": APP["api_key"],
        "access_token": access_token,
        "public_token": secrets.token_hex(16),
        "enctoken": secrets.token_urlsafe(24),
        "refresh_token": "",  # §2: none for ordinary apps
        "silo": "",
        "login_time": _stamp(clock_time.time()),
    }
    return ok(data)


def _logout(request):
    if request.GET.get("api_key") != APP["api_key"]:
        return fail("Invalid `api_key`.", "TokenException", 403)
    token = request.GET.get("access_token", "")
    account_id = kit.account_for_token(BROKER, token)
    if account_id is None:
        return ERRORS.token_invalid()
    fault = kit.apply_faults(BROKER, account_id, ERRORS)
    if fault is not None:
        return fault
    kit.revoke_token(BROKER, token)
    return ok(True)


# --- Authenticated API (§3) --------------------------------------------------------------------
def api(*methods: str):
    """Method, version header, `token api_key:access_token`, then the injected faults."""

    def wrap(view):
        @csrf_exempt
        @functools.wraps(view)
        def handler(request, *args, **kwargs):
            if request.method not in methods:
                return fail("Method not allowed", "GeneralException", 405)
            if request.headers.get("X-Kite-Version") != "3":
                return bad_input("Invalid or missing `X-Kite-Version` header.")
            scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
            api_key, _, token = credentials.partition(":")
            account_id = kit.account_for_token(BROKER, token)
            if scheme != "token" or api_key != APP["api_key"] or account_id is None:
                return ERRORS.token_invalid()
            fault = kit.apply_faults(BROKER, account_id, ERRORS)
            if fault is not None:
                return fault
            return view(request, universe.account(BROKER, account_id), *args, **kwargs)

        return handler

    return wrap


def _num(value: Decimal) -> float | int:
    return int(value) if value == value.to_integral_value() else float(value)


def _stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, IST).strftime("%Y-%m-%d %H:%M:%S")


def _token(security: universe.Security, exchange: str) -> int:
    return security.kite_bse_token if exchange == "BSE" else security.kite_token


def _security(exchange: str, tradingsymbol: str) -> universe.Security | None:
    # The demo market lists its equities on NSE and BSE only.
    return universe.SECURITIES.get(tradingsymbol) if exchange in ("NSE", "BSE") else None


def _profile(account: universe.DemoAccount) -> dict:
    return {
        "user_id": account.account_id,
        "user_type": "individual",
        "email": account.email,
        "user_name": account.name,
        "user_shortname": account.name.split()[0],
        "broker": "ZERODHA",
        "exchanges": ["NSE", "NFO", "BFO", "CDS", "BSE", "MCX", "BCD", "MF"],
        "products": ["CNC", "NRML", "MIS", "BO", "CO"],
        "order_types": ["MARKET", "LIMIT", "SL", "SL-M"],
        "avatar_url": None,
        "meta": {"demat_consent": "physical"},
    }


@api("GET")
def profile(request, account):
    return ok(_profile(account))


def _segment(cash: Decimal) -> dict:
    zero = dict.fromkeys(UTILISED, 0)
    available = {
        "adhoc_margin": 0,
        "cash": _num(cash),
        "opening_balance": _num(cash),
        "live_balance": _num(cash),
        "collateral": 0,
        "intraday_payin": 0,
    }
    return {"enabled": True, "net": _num(cash), "available": available, "utilised": zero}


@api("GET")
def margins(request, account, segment=None):
    segments = {"equity": _segment(account.cash), "commodity": _segment(Decimal(0))}
    if segment is None:
        return ok(segments)
    if segment not in segments:
        return bad_input("Invalid segment.")
    return ok(segments[segment])


@api("GET")
def holdings(request, account):
    rows = []
    for held in account.holdings:
        s = universe.SECURITIES[held.symbol]
        qty, avg, last, close = held.quantity, held.average_price, s.last_price, s.close_price
        zero_mtf = dict.fromkeys(("quantity", "used_quantity", "average_price", "value"), 0)
        rows.append(
            {
                "tradingsymbol": s.symbol,
                "exchange": held.exchange,
                "instrument_token": _token(s, held.exchange),
                "isin": s.isin,
                "product": "CNC",
                "price": 0,
                "quantity": qty,
                "used_quantity": 0,
                "t1_quantity": 0,
                "realised_quantity": qty,
                "authorised_quantity": 0,
                "authorised_date": datetime.now(IST).strftime("%Y-%m-%d 00:00:00"),
                "authorisation": {},
                "opening_quantity": qty,
                "short_quantity": 0,
                "collateral_quantity": 0,
                "collateral_type": "",
                "discrepancy": False,
                "average_price": _num(avg),
                "last_price": _num(last),
                "close_price": _num(close),
                "pnl": _num((last - avg) * qty),
                "day_change": _num(last - close),
                "day_change_percentage": _num(round((last - close) / close * 100, 4)),
                "mtf": {**zero_mtf, "initial_margin": 0},
            }
        )
    return ok(rows)


@api("GET")
def positions(request, account):
    # Today's book: the demo account's intraday trades plus every fill in the sandbox.
    book: dict[tuple[str, str, str], list[Decimal]] = {}
    for p in account.positions:
        book[(p.exchange, p.symbol, p.product)] = [
            Decimal(p.buy_quantity),
            p.buy_price * p.buy_quantity,
            Decimal(p.sell_quantity),
            p.sell_price * p.sell_quantity,
        ]
    for order in kit.orders(BROKER, account.account_id):
        if order.filled_quantity:
            entry = book.setdefault((order.exchange, order.symbol, order.product), [Decimal(0)] * 4)
            side = 0 if order.side == "BUY" else 2
            entry[side] += order.filled_quantity
            entry[side + 1] += Decimal(order.average_price) * order.filled_quantity
    rows = [_position(key, *entry) for key, entry in book.items()]
    return ok({"net": rows, "day": rows})


def _position(key, buy_qty, buy_value, sell_qty, sell_value) -> dict:
    exchange, symbol, product = key
    s = universe.SECURITIES[symbol]
    buy_price = buy_value / buy_qty if buy_qty else Decimal(0)
    sell_price = sell_value / sell_qty if sell_qty else Decimal(0)
    net = buy_qty - sell_qty
    average = buy_price if net > 0 else sell_price if net < 0 else Decimal(0)
    realised = (sell_price - buy_price) * min(buy_qty, sell_qty)
    unrealised = (s.last_price - average) * net
    cents = Decimal("0.01")
    row = {
        "tradingsymbol": s.symbol,
        "exchange": exchange,
        "instrument_token": _token(s, exchange),
        "product": product,
        "quantity": int(net),
        "overnight_quantity": 0,
        "multiplier": 1,
        "average_price": _num(average.quantize(cents)),
        "close_price": _num(s.close_price),
        "last_price": _num(s.last_price),
        "value": _num((sell_value - buy_value).quantize(cents)),
        "pnl": _num((realised + unrealised).quantize(cents)),
        "m2m": _num((realised + unrealised).quantize(cents)),
        "unrealised": _num(unrealised.quantize(cents)),
        "realised": _num(realised.quantize(cents)),
    }
    for prefix in ("", "day_"):
        row |= {
            f"{prefix}buy_quantity": int(buy_qty),
            f"{prefix}buy_price": _num(buy_price.quantize(cents)),
            f"{prefix}buy_value": _num(buy_value.quantize(cents)),
            f"{prefix}sell_quantity": int(sell_qty),
            f"{prefix}sell_price": _num(sell_price.quantize(cents)),
            f"{prefix}sell_value": _num(sell_value.quantize(cents)),
        }
    row |= {"buy_m2m": row["buy_value"], "sell_m2m": row["sell_value"]}
    return row


# --- Orders (§4, §6) ---------------------------------------------------------------------------
def _modifications_key(order_id: str) -> str:
    return f"sbx:{BROKER}:modifications:{order_id}"


def _order_row(order: kit.SandboxOrder) -> dict:
    s = universe.SECURITIES[order.symbol]
    live = order.status in LIVE
    done = order.status == "COMPLETE"
    return {
        "placed_by": order.account,
        "order_id": order.order_id,
        "exchange_order_id": None if order.status == "REJECTED" else "13" + order.order_id[-14:],
        "parent_order_id": None,
        "status": order.status,
        "status_message": order.status_message or None,
        "status_message_raw": order.status_message or None,
        "order_timestamp": _stamp(order.placed_at),
        "exchange_update_timestamp": _stamp(order.updated_at),
        "exchange_timestamp": _stamp(order.updated_at) if done else None,
        "variety": "regular",
        "modified": bool(cache.get(_modifications_key(order.order_id))),
        "exchange": order.exchange,
        "tradingsymbol": order.symbol,
        "instrument_token": _token(s, order.exchange),
        "order_type": order.order_type,
        "transaction_type": order.side,
        "validity": order.validity,
        "product": order.product,
        "quantity": order.quantity,
        "disclosed_quantity": 0,
        "price": _num(Decimal(order.price)),
        "trigger_price": _num(Decimal(order.trigger_price)),
        "average_price": _num(Decimal(order.average_price)),
        "filled_quantity": order.filled_quantity,
        "pending_quantity": order.quantity - order.filled_quantity if live else 0,
        "cancelled_quantity": (
            order.quantity - order.filled_quantity if order.status == "CANCELLED" else 0
        ),
        "market_protection": -1 if order.order_type in ("MARKET", "SL-M") else 0,
        "meta": {},
        "tag": order.tag or None,
        "guid": order.order_id[-8:] + "Sbx",
    }


@api("GET")
def order_book(request, account):
    return ok([_order_row(o) for o in kit.orders(BROKER, account.account_id)])


def _price(form, name: str, security: universe.Security) -> tuple[Decimal | None, str]:
    try:
        value = Decimal(form.get(name, ""))
    except InvalidOperation:
        return None, f"Invalid `{name}`."
    if not value.is_finite() or value <= 0:
        return None, f"Invalid `{name}`."
    if value % security.tick_size:
        return None, (
            f"Tick size for this script is {security.tick_size}. Kindly enter "
            f"{name.replace('_', ' ')} in the multiple of tick size for this script"
        )
    return value, ""


def _form(request):
    # §3: POST/PUT bodies are form-encoded; §8.3: a JSON body is refused.
    if request.content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return None
    return request.POST if request.method == "POST" else QueryDict(request.body)


@api("POST")
def place(request, account, variety):
    if variety not in VARIETIES:
        return bad_input("Invalid `variety`.")
    if variety != "regular":
        return bad_input(f"The `{variety}` variety is not enabled for this app.")
    form = _form(request)
    if form is None:
        return bad_input("Invalid request: parameters must be form-encoded.")
    for name in ("exchange", "tradingsymbol", "transaction_type", "quantity", "product"):
        if not form.get(name):
            return bad_input(f"Missing `{name}`.")
    order_type = form.get("order_type", "")
    checks = {
        "exchange": form["exchange"] in EXCHANGES,
        "transaction_type": form["transaction_type"] in ("BUY", "SELL"),
        "order_type": order_type in ORDER_TYPES,
        "product": form["product"] in PRODUCTS,
        "validity": form.get("validity", "DAY") in VALIDITIES,
        "quantity": form["quantity"].isdigit() and int(form["quantity"]) > 0,
        "tag": len(form.get("tag", "")) <= 20,
    }
    for name, valid in checks.items():
        if not valid:
            return bad_input(f"Invalid `{name}`.")
    security = _security(form["exchange"], form["tradingsymbol"])
    if security is None:
        return bad_input("Invalid `tradingsymbol`.")
    price = trigger = Decimal(0)
    if order_type in ("LIMIT", "SL"):
        price, problem = _price(form, "price", security)
        if problem:
            return bad_input(problem)
    if order_type in ("SL", "SL-M"):
        trigger, problem = _price(form, "trigger_price", security)
        if problem:
            return bad_input(problem)
    if order_type in ("MARKET", "SL-M"):
        # §8.13: from April 2026, no market or SL-M order without market protection.
        protection = form.get("market_protection", "0")
        if protection != "-1" and not (protection.isdigit() and 1 <= int(protection) <= 100):
            return bad_input("Market orders need `market_protection` (-1 or 1 to 100).")
    order = kit.SandboxOrder(
        order_id=kit.new_order_id(),
        account=account.account_id,
        symbol=security.symbol,
        exchange=form["exchange"],
        side=form["transaction_type"],
        quantity=int(form["quantity"]),
        order_type=order_type,
        product=form["product"],
        price=str(price),
        trigger_price=str(trigger),
        validity=form.get("validity", "DAY"),
        tag=form.get("tag", ""),
        status="TRIGGER PENDING" if order_type in ("SL", "SL-M") else "OPEN",
    )
    # The RMS rejects after accepting: the order id comes back, the book says REJECTED.
    _risk_check(order, account, price or security.last_price)
    kit.save_order(BROKER, order)
    if kit.order_reply_lost(BROKER, account.account_id):
        return kit.lost_reply()
    return ok({"order_id": order.order_id})


def _risk_check(order: kit.SandboxOrder, account, price: Decimal) -> None:
    required = price * order.quantity
    if order.side == "BUY" and required > account.cash:
        order.status = "REJECTED"
        order.status_message = (
            f"Insufficient funds. Required margin is {required:.2f} "
            f"but available margin is {account.cash:.2f}."
        )
    held = sum(h.quantity for h in account.holdings if h.symbol == order.symbol)
    if order.side == "SELL" and order.product == "CNC" and order.quantity > held:
        order.status = "REJECTED"
        order.status_message = "Insufficient holdings to sell. Check your holdings."


@api("PUT", "DELETE")
def order_change(request, account, variety, order_id):
    if variety not in VARIETIES:
        return bad_input("Invalid `variety`.")
    order = kit.find_order(BROKER, account.account_id, order_id)
    if order is None:
        return bad_input("Invalid `order_id`.")
    verb = "modified" if request.method == "PUT" else "cancelled"
    if order.status not in LIVE:
        return fail(
            f"Order cannot be {verb} as it is {order.status.lower()}.", "OrderException", 400
        )
    if request.method == "DELETE":
        order.status = "CANCELLED"
        kit.save_order(BROKER, order)
        return ok({"order_id": order.order_id})
    return _modify(request, order)


def _modify(request, order: kit.SandboxOrder):
    form = _form(request)
    if form is None:
        return bad_input("Invalid request: parameters must be form-encoded.")
    count = (cache.get(_modifications_key(order.order_id)) or 0) + 1
    if count > MAX_MODIFICATIONS:
        return fail("Maximum allowed order modifications exceeded.", "OrderException", 400)
    security = universe.SECURITIES[order.symbol]
    order_type = form.get("order_type") or order.order_type
    if order_type not in ORDER_TYPES:
        return bad_input("Invalid `order_type`.")
    if "quantity" in form:
        if not form["quantity"].isdigit() or int(form["quantity"]) <= order.filled_quantity:
            return bad_input("Invalid `quantity`.")
        order.quantity = int(form["quantity"])
    for name in ("price", "trigger_price"):
        if name in form:
            value, problem = _price(form, name, security)
            if problem:
                return bad_input(problem)
            setattr(order, name, str(value))
    if form.get("validity", order.validity) not in VALIDITIES:
        return bad_input("Invalid `validity`.")
    order.validity = form.get("validity", order.validity)
    order.order_type = order_type
    order.status = "TRIGGER PENDING" if order_type in ("SL", "SL-M") else "OPEN"
    kit.save_order(BROKER, order)
    cache.set(_modifications_key(order.order_id), count, kit.STATE_TTL)
    return ok({"order_id": order.order_id})


def _trade_row(order: kit.SandboxOrder) -> dict:
    s = universe.SECURITIES[order.symbol]
    return {
        "trade_id": str(int(order.order_id) % 10**8).zfill(8),
        "order_id": order.order_id,
        "exchange": order.exchange,
        "tradingsymbol": order.symbol,
        "instrument_token": _token(s, order.exchange),
        "product": order.product,
        "average_price": _num(Decimal(order.average_price)),
        "quantity": order.filled_quantity,
        "exchange_order_id": "13" + order.order_id[-14:],
        "transaction_type": order.side,
        "fill_timestamp": _stamp(order.updated_at),
        "order_timestamp": _stamp(order.placed_at)[11:],  # §8.14: time only
        "exchange_timestamp": _stamp(order.updated_at),
    }


@api("GET")
def trades(request, account):
    fills = [o for o in kit.orders(BROKER, account.account_id) if o.filled_quantity]
    return ok([_trade_row(o) for o in fills])


# --- Market data (§4) --------------------------------------------------------------------------
def _quote_view(kind: str):
    @api("GET")
    def view(request, account):
        keys = request.GET.getlist("i")
        if not keys:
            return bad_input("No instruments specified.")
        if len(keys) > QUOTE_LIMIT:
            return bad_input(f"Too many instruments: at most {QUOTE_LIMIT}.")
        data = {}
        for key in keys:
            exchange, _, symbol = key.partition(":")
            s = _security(exchange, symbol)
            if s is None:
                continue  # §8.9: unknown instruments are silently left out
            data[key] = _quote(kind, s, exchange)
        return ok(data)

    return view


def _quote(kind: str, s: universe.Security, exchange: str) -> dict:
    item = {"instrument_token": _token(s, exchange), "last_price": _num(s.last_price)}
    if kind == "quote/ltp":
        return item
    ohlc = {
        "open": _num(s.close_price),
        "high": _num(max(s.last_price, s.close_price)),
        "low": _num(min(s.last_price, s.close_price)),
        "close": _num(s.close_price),  # the previous session's close
    }
    return {**item, "ohlc": ohlc}


@api("GET")
def instruments(request, account, exchange=None):
    # §4, §8.10: gzipped CSV, numbers as text, no ISIN column; yesterday's close as last_price.
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS.split(","))
    for s in universe.SECURITIES.values():
        for listing in ("NSE", "BSE"):
            if exchange and exchange != listing:
                continue
            token = _token(s, listing)
            row = [token, token >> 8, s.symbol, s.name, s.close_price, "", 0, s.tick_size]
            writer.writerow([*row, s.lot_size, "EQ", listing, listing])
    response = HttpResponse(gzip.compress(out.getvalue().encode()), content_type="text/csv")
    response["Content-Encoding"] = "gzip"
    return response


urlpatterns = [
    path("connect/login", login),
    path("session/token", session_token),
    path("user/profile", profile),
    path("user/margins", margins),
    path("user/margins/<str:segment>", margins),
    path("portfolio/holdings", holdings),
    path("portfolio/positions", positions),
    path("orders", order_book),
    path("orders/<str:variety>", place),
    path("orders/<str:variety>/<str:order_id>", order_change),
    path("trades", trades),
    path("quote/ohlc", _quote_view("quote/ohlc")),
    path("quote/ltp", _quote_view("quote/ltp")),
    path("instruments", instruments),
    path("instruments/<str:exchange>", instruments),
]
