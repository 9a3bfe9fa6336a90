"""The Groww API behind the token: user, margins, portfolio, orders, live data, instruments."""

from __future__ import annotations

import secrets
import string
import uuid
from functools import wraps

from django.http import HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from brokers.sandbox import kit, universe, web
from brokers.sandbox.groww.render import (
    BROKER,
    ERRORS,
    FINAL,
    ORDER_TYPES,
    PRODUCTS,
    SEGMENTS,
    bad,
    decimal_or_none,
    failure,
    json_body,
    margins_payload,
    master_csv,
    number,
    ohlc_text,
    order_row,
    position_row,
    quote_payload,
    rejection_remark,
    status_payload,
    success,
    trade_row,
)


def api(method: str):
    """An authenticated endpoint: bearer token → account → faults → X-API-VERSION → body."""

    def decorate(view):
        @csrf_exempt
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method != method:
                return ERRORS.wrong_method([method])
            # The scheme word in any case, as HTTP allows (RFC 9110 §11.1).
            token = web.credentials(request, "Bearer", any_case=True)
            account_id = kit.account_for_token(BROKER, token)
            if (refused := kit.gate(BROKER, account_id, ERRORS)) is not None:
                return refused
            if request.headers.get("X-API-VERSION") != "1.0":
                return bad("Invalid or missing X-API-VERSION header")
            account = universe.account(BROKER, account_id)
            if method == "GET":
                return view(request, account, *args, **kwargs)
            body = json_body(request)
            if not isinstance(body, dict):
                return bad("Request body must be a JSON object")
            return view(request, account, body, *args, **kwargs)

        return wrapper

    return decorate


# --- User, Margin, Portfolio ---------------------------------------------------------------------
@api("GET")
def user_detail(request, account):
    return success(
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
    return success(margins_payload(account))


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
                "average_price": number(held.average_price),
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
    return success({"holdings": rows})


@api("GET")
def positions(request, account):
    segment = request.GET.get("segment", "")
    if segment and segment not in SEGMENTS:
        return bad("Invalid segment")
    books = kit.day_book(BROKER, account)  # the demo day and today's fills
    wanted = request.GET.get("trading_symbol")
    rows = [
        position_row(symbol, exchange, product, leg)
        for (symbol, exchange, product), leg in books.items()
        if segment in ("", "CASH") and wanted in (None, symbol)
    ]
    return success({"positions": rows})


# --- Orders --------------------------------------------------------------------------------------
@api("POST")
def order_create(request, account, body):
    return kit.order_write(BROKER, account.account_id, lambda: _create(account, body))


def _create(account, body):
    problem = _order_problem(body, account)
    if problem:
        return problem
    order_type = ORDER_TYPES[body["order_type"]]
    order = kit.SandboxOrder(
        order_id="GMK" + "".join(secrets.choice(_ID_CHARS) for _ in range(16)),
        account=account.account_id,
        symbol=body["trading_symbol"],
        exchange=body["exchange"],
        side=body["transaction_type"],
        quantity=body["quantity"],
        order_type=order_type,
        product=body["product"],
        price=str(decimal_or_none(body.get("price"))),
        trigger_price=str(decimal_or_none(body.get("trigger_price"))),
        validity=body["validity"],
        tag=body["order_reference_id"],
        status="TRIGGER PENDING" if order_type in ("SL", "SL-M") else "OPEN",
        status_message="Order placed successfully",
    )
    # The RMS refuses after accepting: the create answer is a success, the order REJECTED.
    refusal = kit.shortfall(BROKER, account, order, delivery="CNC")
    if refusal is not None:
        order.status, order.status_message = "REJECTED", rejection_remark(refusal)
    try:
        kit.save_order(BROKER, order, unique_tag=True)  # gotcha 10: one order per reference
    except kit.DuplicateTag:
        return duplicate_reference()
    return success(
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
        return bad(f"Missing required field(s): {', '.join(missing)}")
    reference = str(body["order_reference_id"])
    if (
        not 8 <= len(reference) <= 20
        or reference.count("-") > 2
        or not reference.replace("-", "").isalnum()
        or not reference.isascii()
    ):
        return bad("order_reference_id must be 8-20 alphanumeric characters with at most two '-'")
    if body["segment"] not in SEGMENTS:
        return bad("Invalid segment")
    if body["exchange"] not in ("NSE", "BSE"):
        return bad("Invalid exchange")
    if body["product"] not in PRODUCTS.get(body["segment"], ()):
        return bad("Invalid product")
    if body["transaction_type"] not in ("BUY", "SELL"):
        return bad("Invalid transaction_type")
    if body["validity"] not in ("DAY", "IOC"):
        return bad("Invalid validity")
    problem = _shape_problem(body)
    if problem:
        return bad(problem)
    if body["segment"] != "CASH" or body["trading_symbol"] not in universe.SECURITIES:
        return bad("Invalid trading symbol.")
    if kit.tagged(BROKER, account.account_id, reference):
        return duplicate_reference()
    return None


def duplicate_reference():
    return failure("GA007", "Duplicate order reference id", 400)


def _shape_problem(body: dict) -> str | None:
    """Order type, quantity, price and trigger: shared by create and modify."""
    if body.get("order_type") not in ORDER_TYPES:
        return "Invalid order_type"
    quantity = body.get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        return "quantity must be a positive integer"
    price, trigger = decimal_or_none(body.get("price")), decimal_or_none(body.get("trigger_price"))
    if price is None or trigger is None or price < 0 or trigger < 0:
        return "Invalid price"
    if body["order_type"] in ("LIMIT", "SL") and not price:
        return "price is required for LIMIT and SL orders"
    if body["order_type"] in ("SL", "SL_M") and not trigger:
        return "trigger_price is required for SL and SL_M orders"
    return None


@api("POST")
def order_modify(request, account, body):
    return kit.order_write(BROKER, account.account_id, lambda: _modify(account, body))


def _modify(account, body):
    order, problem = _open_order(account, body)
    if problem:
        return problem
    problem = _shape_problem(body)
    if problem:
        return bad(problem)
    order.order_type = ORDER_TYPES[body["order_type"]]
    order.quantity = body["quantity"]
    order.price = str(decimal_or_none(body.get("price")))
    order.trigger_price = str(decimal_or_none(body.get("trigger_price")))
    order.status = "TRIGGER PENDING" if order.order_type in ("SL", "SL-M") else "OPEN"
    order.status_message = "Order modified"
    kit.save_order(BROKER, order)
    return success({"groww_order_id": order.order_id, "order_status": "MODIFICATION_REQUESTED"})


@api("POST")
def order_cancel(request, account, body):
    return kit.order_write(BROKER, account.account_id, lambda: _cancel(account, body))


def _cancel(account, body):
    order, problem = _open_order(account, body)
    if problem:
        return problem
    order.status, order.status_message = "CANCELLED", "Order cancelled by user"
    kit.save_order(BROKER, order)
    return success({"groww_order_id": order.order_id, "order_status": "CANCELLATION_REQUESTED"})


def _open_order(account, body: dict):
    missing = [n for n in ("groww_order_id", "segment") if not body.get(n)]
    if missing:
        return None, bad(f"Missing required field(s): {', '.join(missing)}")
    order = kit.find_order(BROKER, account.account_id, str(body["groww_order_id"]))
    if order is None or body["segment"] != "CASH":
        return None, failure("GA004", "Requested entity does not exist", 404)
    if order.status in FINAL:
        return None, failure("GA006", "Cannot process this request", 400)
    return order, None


@api("GET")
def order_list(request, account):
    segment = request.GET.get("segment", "")
    if segment and segment not in SEGMENTS:
        return bad("Invalid segment")
    try:
        page = int(request.GET.get("page", 0))
        size = min(int(request.GET.get("page_size", 25)), 100)
    except ValueError:
        return bad("Invalid page or page_size")
    if page < 0 or size <= 0:
        return bad("Invalid page or page_size")
    rows = [] if segment not in ("", "CASH") else kit.orders(BROKER, account.account_id)
    rows.sort(key=lambda o: o.placed_at, reverse=True)
    return success({"order_list": [order_row(o) for o in rows[page * size : (page + 1) * size]]})


@api("GET")
def order_detail(request, account, order_id):
    order, problem = _order_for_read(request, account, order_id)
    return problem or success(order_row(order))


@api("GET")
def order_status(request, account, order_id):
    """GET /order/status/{groww_order_id}: where the order stands, in a few fields."""
    order, problem = _order_for_read(request, account, order_id)
    return problem or success(status_payload(order))


@api("GET")
def order_status_by_reference(request, account, reference):
    """GET /order/status/reference/{order_reference_id}: the same, found by our own id
    (gotcha 10: a reference id names one order)."""
    if not request.GET.get("segment"):
        return bad("Missing required field(s): segment")
    found = kit.tagged(BROKER, account.account_id, reference)
    if not found or request.GET["segment"] != "CASH":
        return failure("GA004", "Requested entity does not exist", 404)
    return success(status_payload(found[0]))


@api("GET")
def order_trades(request, account, order_id):
    order, problem = _order_for_read(request, account, order_id)
    if problem:
        return problem
    rows = []
    if order.filled_quantity and request.GET.get("page", "0") == "0":
        rows.append(trade_row(order))
    return success({"trade_list": rows})


def _order_for_read(request, account, order_id):
    # Gotcha 4: an order id alone is not enough; the segment is part of the address.
    if not request.GET.get("segment"):
        return None, bad("Missing required field(s): segment")
    order = kit.find_order(BROKER, account.account_id, order_id)
    if order is None or request.GET["segment"] != "CASH":
        return None, failure("GA004", "Requested entity does not exist", 404)
    return order, None


# --- Live Data -----------------------------------------------------------------------------------
@api("GET")
def quote(request, account):
    security = universe.listed(request.GET.get("exchange"), request.GET.get("trading_symbol"))
    if security is None or request.GET.get("segment") != "CASH":
        return bad("Invalid trading symbol.")
    return success(quote_payload(security))


@api("GET")
def ltp(request, account):
    return _batch(request, lambda s: number(s.last_price))


@api("GET")
def ohlc(request, account):
    return _batch(request, ohlc_text)


def _batch(request, render):
    """LTP/OHLC: up to 50 keys `<EXCHANGE>_<trading_symbol>`, repeated or comma-separated;
    unknown keys are left out."""
    keys = [k for v in request.GET.getlist("exchange_symbols") for k in v.split(",") if k]
    if not keys or len(keys) > 50:
        return bad("exchange_symbols must hold 1 to 50 symbols")
    if request.GET.get("segment", "CASH") != "CASH":
        return success({})
    found = {}
    for key in keys:
        exchange, _, symbol = key.partition("_")
        security = universe.listed(exchange, symbol)
        if security is not None:
            found[key] = render(security)
    return success(found)


# --- Instruments: public CSV on the assets host --------------------------------------------------
@csrf_exempt
def instrument_csv(request):
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    return HttpResponse(master_csv(), content_type="text/csv")
