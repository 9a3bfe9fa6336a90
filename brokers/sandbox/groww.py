"""Simulated Groww Trade API, written from shared/brokers/groww.md (never from the adapter).

Both real hosts are served under /sandbox/groww/: api.groww.in's /v1/... and
growwapi-assets.groww.in's /instruments/instrument.csv. There is no browser login: the demo
API key mints a token with an approval checksum or a TOTP, and tokens die at 06:00 IST.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import secrets
import string
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from datetime import time as clock_time
from decimal import Decimal, InvalidOperation
from functools import wraps

from django.http import HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from brokers.clock import IST, next_ist
from brokers.sandbox import kit, universe
from brokers.sandbox.demo import DEMO_APPS

BROKER = "groww"
APP = DEMO_APPS[BROKER]
# demo.py names no TOTP secret for Groww; this one is published with the sandbox.
TOTP_SECRET = APP.get("totp_secret", "GROWWDEMOTOTP234")
TIMESTAMP_WINDOW = 600  # seconds a checksum's timestamp stays acceptable ("about 10 minutes")
TOKEN_DIES = clock_time(6, 0)

ORDER_TYPES = {"MARKET": "MARKET", "LIMIT": "LIMIT", "SL": "SL", "SL_M": "SL-M"}  # wire → kit
WIRE_ORDER_TYPES = {kit_word: wire for wire, kit_word in ORDER_TYPES.items()}
# kit's order states in Groww's words (Annexures: order_status).
WIRE_STATUS = {
    "OPEN": "APPROVED",
    "TRIGGER PENDING": "TRIGGER_PENDING",
    "COMPLETE": "EXECUTED",
    "CANCELLED": "CANCELLED",
    "REJECTED": "REJECTED",
}
FINAL = {"COMPLETE", "CANCELLED", "REJECTED"}
PRODUCTS = {"CASH": {"CNC", "MIS", "MTF"}, "FNO": {"NRML", "MIS"}}
SEGMENTS = {"CASH", "FNO", "COMMODITY"}
MASTER_HEADER = (
    "exchange", "exchange_token", "trading_symbol", "groww_symbol", "name", "instrument_type",
    "segment", "series", "isin", "underlying_symbol", "underlying_exchange_token", "expiry_date",
    "strike_price", "lot_size", "tick_size", "freeze_quantity", "is_reserved", "buy_allowed",
    "sell_allowed",
)  # fmt: skip


def demo_login_fields() -> dict:
    """Nothing is typed: the demo key logs in with its secret's checksum (no browser)."""
    return {}


# --- Envelopes and errors (Introduction, Annexures: GA000-GA007) ---------------------------------
def _success(payload) -> JsonResponse:
    return JsonResponse({"status": "SUCCESS", "payload": payload})


def _failure(code: str, message: str, status: int, **extra) -> JsonResponse:
    error = {"code": code, "message": message, **extra, "metadata": None}
    return JsonResponse({"status": "FAILURE", "error": error}, status=status)


def _bad(message: str) -> JsonResponse:
    return _failure("GA001", message, 400)


def _token_failure(code: str, message: str, status: int) -> JsonResponse:
    # The SDK reads error.displayMessage from the token endpoint's 400s.
    return _failure(code, message, status, displayMessage=message)


class Errors(kit.ErrorBodies):
    def token_invalid(self):
        return _failure("GA005", "User not authorised to perform this operation", 401)

    def rate_limited(self):
        return _failure("GA003", "Rate limit exceeded. Please try after some time.", 429)

    def server_error(self):
        return _failure("GA000", "Internal error occurred", 500)

    def unavailable(self):
        return _failure("GA003", "Unable to serve request currently", 503)


ERRORS = Errors()


def _bearer(request) -> str:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def _json_body(request):
    if request.content_type != "application/json":
        return None
    try:
        return json.loads(request.body or b"null")
    except ValueError:
        return None


def api(method: str):
    """An authenticated endpoint: bearer token → account → faults → X-API-VERSION → body."""

    def decorate(view):
        @csrf_exempt
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method != method:
                return HttpResponseNotAllowed([method])
            account_id = kit.account_for_token(BROKER, _bearer(request))
            if account_id is None:
                return ERRORS.token_invalid()
            fault = kit.apply_faults(BROKER, account_id, ERRORS)
            if fault is not None:
                return fault
            if request.headers.get("X-API-VERSION") != "1.0":
                return _bad("Invalid or missing X-API-VERSION header")
            account = universe.account(BROKER, account_id)
            if method == "GET":
                return view(request, account, *args, **kwargs)
            body = _json_body(request)
            if not isinstance(body, dict):
                return _bad("Request body must be a JSON object")
            return view(request, account, body, *args, **kwargs)

        return wrapper

    return decorate


# --- Token: POST /v1/token/api/access (not enveloped on success) ---------------------------------
@csrf_exempt
def token_access(request):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not hmac.compare_digest(_bearer(request), APP["api_key"]):
        return _token_failure("GA005", "Invalid API key", 401)
    body = _json_body(request)
    if not isinstance(body, dict):
        return _token_failure("GA001", "Invalid request body", 400)
    account = universe.default_account(BROKER)
    fault = kit.apply_faults(BROKER, account.account_id, ERRORS)
    if fault is not None:
        return fault
    if body.get("key_type") == "approval":
        problem = _checksum_problem(body)
    elif body.get("key_type") == "totp":
        problem = None if kit.totp_valid(TOTP_SECRET, str(body.get("totp", ""))) else "Invalid TOTP"
    else:
        problem = "Invalid key_type"
    if problem:
        return _token_failure("GA001", problem, 400)
    expires = next_ist(TOKEN_DIES)
    ttl = max(1, int((expires - timezone.now()).total_seconds()))
    token = kit.issue_token(BROKER, account.account_id, ttl=ttl)
    return JsonResponse(
        {
            "token": token,
            "tokenRefId": str(uuid.uuid4()),
            "sessionName": "sandbox-demo-key",
            "expiry": expires.strftime("%Y-%m-%dT%H:%M:%S"),
            "isActive": True,
        }
    )


def _checksum_problem(body: dict) -> str | None:
    """checksum = sha256_hex(secret + str(epoch seconds)); the timestamp may be int or str."""
    try:
        stamp = int(str(body.get("timestamp")))
    except ValueError:
        return "Invalid timestamp"
    if abs(time.time() - stamp) > TIMESTAMP_WINDOW:
        return "Timestamp expired"
    expected = hashlib.sha256(f"{APP['api_secret']}{stamp}".encode()).hexdigest()
    if not hmac.compare_digest(str(body.get("checksum", "")).lower(), expected):
        return "Invalid checksum"
    return None


# --- User, Margin, Portfolio ---------------------------------------------------------------------
@api("GET")
def user_detail(request, account):
    return _success(
        {
            "vendor_user_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"groww:{account.account_id}")),
            "ucc": account.account_id,
            "nse_enabled": True,
            "bse_enabled": True,
            "ddpi_enabled": False,
            "active_segments": ["CASH", "FNO"],
        }
    )


@api("GET")
def margins(request, account):
    # Open buy orders block their value (market orders at the last price).
    open_buys = [
        o
        for o in kit.orders(BROKER, account.account_id)
        if o.side == "BUY" and o.status not in FINAL
    ]
    values = {
        o.order_id: (Decimal(o.price or 0) or _last(o.symbol)) * o.quantity for o in open_buys
    }
    blocked = sum(values.values(), Decimal(0))
    cnc = sum((values[o.order_id] for o in open_buys if o.product == "CNC"), Decimal(0))
    free = account.cash - blocked
    return _success(
        {
            "clear_cash": _num(account.cash),
            "net_margin_used": _num(blocked),
            "brokerage_and_charges": 0.0,
            "collateral_used": 0.0,
            "collateral_available": 0.0,
            "adhoc_margin": 0.0,
            "fno_margin_details": {
                "net_fno_margin_used": 0.0,
                "span_margin_used": 0.0,
                "exposure_margin_used": 0.0,
                "future_balance_available": _num(free),
                "option_buy_balance_available": _num(free),
                "option_sell_balance_available": _num(free),
            },
            "equity_margin_details": {
                "net_equity_margin_used": _num(blocked),
                "cnc_margin_used": _num(cnc),
                "mis_margin_used": _num(blocked - cnc),
                "cnc_balance_available": _num(free),
                "mis_balance_available": _num(free),
            },
        }
    )


@api("GET")
def holdings(request, account):
    # Portfolio: no exchange, LTP or P&L on a holding.
    rows = []
    for held in account.holdings:
        rows.append(
            {
                "isin": universe.SECURITIES[held.symbol].isin,
                "trading_symbol": held.symbol,
                "quantity": held.quantity,
                "average_price": _num(held.average_price),
                "pledge_quantity": 0,
                "demat_locked_quantity": 0,
                "groww_locked_quantity": 0,
                "repledge_quantity": 0,
                "t1_quantity": 0,
                "demat_free_quantity": held.quantity,
                "corporate_action_additional_quantity": 0,
                "active_demat_transfer_quantity": 0,
            }
        )
    return _success({"holdings": rows})


@api("GET")
def positions(request, account):
    segment = request.GET.get("segment", "")
    if segment and segment not in SEGMENTS:
        return _bad("Invalid segment")
    books: dict[tuple, _Book] = {}
    for p in account.positions:
        book = books.setdefault((p.symbol, p.exchange, p.product), _Book())
        book.add(p.buy_quantity, p.buy_price, p.sell_quantity, p.sell_price)
    for o in kit.orders(BROKER, account.account_id):  # today's fills move positions too
        if o.status == "COMPLETE":
            book = books.setdefault((o.symbol, o.exchange, o.product), _Book())
            price, buy = Decimal(o.average_price), o.side == "BUY"
            book.add(o.quantity if buy else 0, price, 0 if buy else o.quantity, price)
    wanted = request.GET.get("trading_symbol")
    rows = [
        book.row(symbol, exchange, product)
        for (symbol, exchange, product), book in books.items()
        if segment in ("", "CASH") and wanted in (None, symbol)
    ]
    return _success({"positions": rows})


@dataclass
class _Book:
    bought: int = 0
    bought_value: Decimal = Decimal(0)
    sold: int = 0
    sold_value: Decimal = Decimal(0)

    def add(self, bought, buy_price, sold, sell_price) -> None:
        self.bought += bought
        self.bought_value += bought * buy_price
        self.sold += sold
        self.sold_value += sold * sell_price

    def row(self, symbol, exchange, product) -> dict:
        buy_avg = self.bought_value / self.bought if self.bought else Decimal(0)
        sell_avg = self.sold_value / self.sold if self.sold else Decimal(0)
        net = self.bought - self.sold
        return {
            "trading_symbol": symbol,
            "segment": "CASH",
            "credit_quantity": self.bought,
            "credit_price": _num(buy_avg),
            "debit_quantity": self.sold,
            "debit_price": _num(sell_avg),
            "carry_forward_credit_quantity": 0,
            "carry_forward_credit_price": 0,
            "carry_forward_debit_quantity": 0,
            "carry_forward_debit_price": 0,
            "exchange": exchange,
            "symbol_isin": universe.SECURITIES[symbol].isin,
            "quantity": net,
            "product": product,
            "net_carry_forward_quantity": 0,
            "net_price": _num(buy_avg if net > 0 else sell_avg if net < 0 else 0),
            "net_carry_forward_price": 0,
            "realised_pnl": _num(min(self.bought, self.sold) * (sell_avg - buy_avg)),
        }


# --- Orders --------------------------------------------------------------------------------------
@api("POST")
def order_create(request, account, body):
    problem = _order_problem(body, account)
    if problem:
        return problem
    order_type = ORDER_TYPES[body["order_type"]]
    order = kit.save_order(
        BROKER,
        kit.SandboxOrder(
            order_id="GMK" + "".join(secrets.choice(_ID_CHARS) for _ in range(16)),
            account=account.account_id,
            symbol=body["trading_symbol"],
            exchange=body["exchange"],
            side=body["transaction_type"],
            quantity=body["quantity"],
            order_type=order_type,
            product=body["product"],
            price=str(_decimal(body.get("price"))),
            trigger_price=str(_decimal(body.get("trigger_price"))),
            validity=body["validity"],
            tag=body["order_reference_id"],
            status="TRIGGER PENDING" if order_type in ("SL", "SL-M") else "OPEN",
            status_message="Order placed successfully",
        ),
    )
    if kit.order_reply_lost(BROKER, account.account_id):
        return kit.lost_reply()
    return _success(
        {
            "groww_order_id": order.order_id,
            "order_status": "OPEN",  # the docs' create sample says OPEN
            "order_reference_id": order.tag,
            "remark": order.status_message,
        }
    )


_ID_CHARS = string.ascii_uppercase + string.digits


def _order_problem(body: dict, account) -> JsonResponse | None:
    required = (
        "trading_symbol",
        "quantity",
        "validity",
        "exchange",
        "segment",
        "product",
        "order_type",
        "transaction_type",
        "order_reference_id",
    )
    missing = [name for name in required if body.get(name) in (None, "")]
    if missing:
        return _bad(f"Missing required field(s): {', '.join(missing)}")
    reference = str(body["order_reference_id"])
    if (
        not 8 <= len(reference) <= 20
        or reference.count("-") > 2
        or not reference.replace("-", "").isalnum()
        or not reference.isascii()
    ):
        return _bad("order_reference_id must be 8-20 alphanumeric characters with at most two '-'")
    if body["segment"] not in SEGMENTS:
        return _bad("Invalid segment")
    if body["exchange"] not in ("NSE", "BSE"):
        return _bad("Invalid exchange")
    if body["product"] not in PRODUCTS.get(body["segment"], ()):
        return _bad("Invalid product")
    if body["transaction_type"] not in ("BUY", "SELL"):
        return _bad("Invalid transaction_type")
    if body["validity"] not in ("DAY", "IOC"):
        return _bad("Invalid validity")
    problem = _shape_problem(body)
    if problem:
        return _bad(problem)
    if body["segment"] != "CASH" or body["trading_symbol"] not in universe.SECURITIES:
        return _bad("Invalid trading symbol.")
    if any(o.tag == reference for o in kit.orders(BROKER, account.account_id)):
        return _failure("GA007", "Duplicate order reference id", 400)
    return None


def _shape_problem(body: dict) -> str | None:
    """Order type, quantity, price and trigger: shared by create and modify."""
    if body.get("order_type") not in ORDER_TYPES:
        return "Invalid order_type"
    quantity = body.get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        return "quantity must be a positive integer"
    price, trigger = _decimal(body.get("price")), _decimal(body.get("trigger_price"))
    if price is None or trigger is None or price < 0 or trigger < 0:
        return "Invalid price"
    if body["order_type"] in ("LIMIT", "SL") and not price:
        return "price is required for LIMIT and SL orders"
    if body["order_type"] in ("SL", "SL_M") and not trigger:
        return "trigger_price is required for SL and SL_M orders"
    return None


@api("POST")
def order_modify(request, account, body):
    order, problem = _open_order(account, body)
    if problem:
        return problem
    problem = _shape_problem(body)
    if problem:
        return _bad(problem)
    order.order_type = ORDER_TYPES[body["order_type"]]
    order.quantity = body["quantity"]
    order.price = str(_decimal(body.get("price")))
    order.trigger_price = str(_decimal(body.get("trigger_price")))
    order.status = "TRIGGER PENDING" if order.order_type in ("SL", "SL-M") else "OPEN"
    order.status_message = "Order modified"
    kit.save_order(BROKER, order)
    return _success({"groww_order_id": order.order_id, "order_status": "MODIFICATION_REQUESTED"})


@api("POST")
def order_cancel(request, account, body):
    order, problem = _open_order(account, body)
    if problem:
        return problem
    order.status, order.status_message = "CANCELLED", "Order cancelled by user"
    kit.save_order(BROKER, order)
    return _success({"groww_order_id": order.order_id, "order_status": "CANCELLATION_REQUESTED"})


def _open_order(account, body: dict):
    missing = [n for n in ("groww_order_id", "segment") if not body.get(n)]
    if missing:
        return None, _bad(f"Missing required field(s): {', '.join(missing)}")
    order = kit.find_order(BROKER, account.account_id, str(body["groww_order_id"]))
    if order is None or body["segment"] != "CASH":
        return None, _failure("GA004", "Requested entity does not exist", 404)
    if order.status in FINAL:
        return None, _failure("GA006", "Cannot process this request", 400)
    return order, None


@api("GET")
def order_list(request, account):
    segment = request.GET.get("segment", "")
    if segment and segment not in SEGMENTS:
        return _bad("Invalid segment")
    try:
        page = int(request.GET.get("page", 0))
        size = min(int(request.GET.get("page_size", 25)), 100)
    except ValueError:
        return _bad("Invalid page or page_size")
    if page < 0 or size <= 0:
        return _bad("Invalid page or page_size")
    rows = [] if segment not in ("", "CASH") else kit.orders(BROKER, account.account_id)
    rows.sort(key=lambda o: o.placed_at, reverse=True)
    return _success({"order_list": [_order_row(o) for o in rows[page * size : (page + 1) * size]]})


@api("GET")
def order_detail(request, account, order_id):
    order, problem = _order_for_read(request, account, order_id)
    return problem or _success(_order_row(order))


@api("GET")
def order_trades(request, account, order_id):
    order, problem = _order_for_read(request, account, order_id)
    if problem:
        return problem
    rows = []
    if order.filled_quantity and request.GET.get("page", "0") == "0":
        placed = _ist(order.updated_at)
        rows.append(
            {
                "groww_trade_id": "GTR" + order.order_id[3:],
                "groww_order_id": order.order_id,
                "exchange_trade_id": str(int(order.updated_at * 1000) % 10**9),
                "exchange_order_id": str(int(order.placed_at * 1000) % 10**16),
                "trading_symbol": order.symbol,
                "quantity": order.filled_quantity,
                "price": _num(Decimal(order.average_price)),
                "trade_status": "EXECUTED",
                "exchange": order.exchange,
                "segment": "CASH",
                "product": order.product,
                "transaction_type": order.side,
                "created_at": placed,
                "trade_date_time": placed,
                "settlement_number": placed[:10].replace("-", ""),
                "remark": "",
            }
        )
    return _success({"trade_list": rows})


def _order_for_read(request, account, order_id):
    # Gotcha 4: an order id alone is not enough; the segment is part of the address.
    if not request.GET.get("segment"):
        return None, _bad("Missing required field(s): segment")
    order = kit.find_order(BROKER, account.account_id, order_id)
    if order is None or request.GET["segment"] != "CASH":
        return None, _failure("GA004", "Requested entity does not exist", 404)
    return order, None


def _order_row(o: kit.SandboxOrder) -> dict:
    created = _ist(o.placed_at)
    return {
        "groww_order_id": o.order_id,
        "trading_symbol": o.symbol,
        "order_status": WIRE_STATUS.get(o.status, o.status),
        "remark": o.status_message,
        "quantity": o.quantity,
        "price": _num(Decimal(o.price or 0)),
        "trigger_price": _num(Decimal(o.trigger_price or 0)),
        "filled_quantity": o.filled_quantity,
        "remaining_quantity": o.quantity - o.filled_quantity,
        "average_fill_price": _num(Decimal(o.average_price or 0)),
        "deliverable_quantity": o.filled_quantity if o.product == "CNC" else 0,
        "amo_status": "NA",
        "validity": o.validity,
        "exchange": o.exchange,
        "order_type": WIRE_ORDER_TYPES.get(o.order_type, o.order_type),
        "transaction_type": o.side,
        "segment": "CASH",
        "product": o.product,
        "created_at": created,
        "exchange_time": created,
        "trade_date": created[:10] + "T00:00:00",
        "order_reference_id": o.tag,
    }


# --- Live Data -----------------------------------------------------------------------------------
@api("GET")
def quote(request, account):
    security = _security(request.GET.get("exchange"), request.GET.get("trading_symbol"))
    if security is None or request.GET.get("segment") != "CASH":
        return _bad("Invalid trading symbol.")
    last, close = security.last_price, security.close_price
    return _success(
        {
            "last_price": _num(last),
            "average_price": _num((last + close) / 2),
            "bid_price": _num(last - security.tick_size),
            "bid_quantity": 120,
            "offer_price": _num(last + security.tick_size),
            "offer_quantity": 95,
            "day_change": _num(last - close),
            "day_change_perc": _num(((last - close) / close * 100).quantize(Decimal("0.01"))),
            "upper_circuit_limit": _num(close * Decimal("1.2")),
            "lower_circuit_limit": _num(close * Decimal("0.8")),
            "ohlc": _ohlc(security),
            "depth": {
                "buy": [{"price": _num(last - security.tick_size), "quantity": 120}],
                "sell": [{"price": _num(last + security.tick_size), "quantity": 95}],
            },
            "volume": 1254300,
            "last_trade_quantity": 10,
            "last_trade_time": int(time.time() * 1000),
            "total_buy_quantity": 250000,
            "total_sell_quantity": 231000,
        }
    )


@api("GET")
def ltp(request, account):
    return _batch(request, lambda s: _num(s.last_price))


@api("GET")
def ohlc(request, account):
    return _batch(request, _ohlc)


def _batch(request, render):
    """LTP/OHLC: up to 50 keys `<EXCHANGE>_<trading_symbol>`, repeated or comma-separated;
    unknown keys are left out."""
    keys = [k for v in request.GET.getlist("exchange_symbols") for k in v.split(",") if k]
    if not keys or len(keys) > 50:
        return _bad("exchange_symbols must hold 1 to 50 symbols")
    if request.GET.get("segment", "CASH") != "CASH":
        return _success({})
    found = {}
    for key in keys:
        exchange, _, symbol = key.partition("_")
        security = _security(exchange, symbol)
        if security is not None:
            found[key] = render(security)
    return _success(found)


def _ohlc(security) -> str:
    # The docs' sample renders OHLC as this string, not as an object (gotcha 11).
    last, close = security.last_price, security.close_price
    high, low = max(last, close), min(last, close)
    return f"{{open: {close},high: {high},low: {low},close: {close}}}"


def _security(exchange, symbol):
    return universe.SECURITIES.get(symbol or "") if exchange in ("NSE", "BSE") else None


# --- Instruments: public CSV on the assets host --------------------------------------------------
@csrf_exempt
def instrument_csv(request):
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(MASTER_HEADER)
    writer.writerow(
        ["NSE", "26000", "NIFTY", "NSE-NIFTY", "NIFTY 50", "IDX", "CASH", "", "", "", "", "", "",
         "1", "0.05", "", "0", "0", "0"]
    )  # fmt: skip
    for s in universe.SECURITIES.values():
        for exchange, token, series in (("NSE", s.nse_token, "EQ"), ("BSE", s.bse_code, "A")):
            writer.writerow(
                [exchange, token, s.symbol, f"{exchange}-{s.symbol}", s.name, "EQ", "CASH",
                 series, s.isin, "", "", "", "", s.lot_size, s.tick_size, "", "0", "1", "1"]
            )  # fmt: skip
    return HttpResponse(out.getvalue(), content_type="text/csv")


# --- Helpers -------------------------------------------------------------------------------------
def _num(value) -> float | int:
    # Groww prices are JSON numbers in rupees.
    value = Decimal(value).quantize(Decimal("0.01"))
    return int(value) if value == value.to_integral_value() else float(value)


def _decimal(value) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value if value is not None else 0))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def _last(symbol: str) -> Decimal:
    security = universe.SECURITIES.get(symbol)
    return security.last_price if security else Decimal(0)


def _ist(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, tz=IST).strftime("%Y-%m-%dT%H:%M:%S")


urlpatterns = [
    path("v1/token/api/access", token_access),
    path("v1/user/detail", user_detail),
    path("v1/margins/detail/user", margins),
    path("v1/holdings/user", holdings),
    path("v1/positions/user", positions),
    path("v1/positions/trading-symbol", positions),
    path("v1/order/create", order_create),
    path("v1/order/modify", order_modify),
    path("v1/order/cancel", order_cancel),
    path("v1/order/list", order_list),
    path("v1/order/detail/<str:order_id>", order_detail),
    path("v1/order/trades/<str:order_id>", order_trades),
    path("v1/live-data/quote", quote),
    path("v1/live-data/ltp", ltp),
    path("v1/live-data/ohlc", ohlc),
    path("instruments/instrument.csv", instrument_csv),
]
