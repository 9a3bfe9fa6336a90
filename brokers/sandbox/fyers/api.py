"""The Fyers API behind the token (§3, §4): account, portfolio, orders, quotes, symbol master."""

from __future__ import annotations

import secrets
import time as clock
from decimal import Decimal
from functools import wraps

from django.http import HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from brokers.clock import now_ist
from brokers.sandbox import kit, universe, web
from brokers.sandbox.fyers.render import (
    APPS,
    BROKER,
    ERRORS,
    EXCHANGE_CODES,
    PRODUCTS,
    SERIES,
    STAMP,
    TYPE_CODES,
    TYPES,
    D,
    amount,
    depth_row,
    error,
    fy_symbol,
    fy_token,
    holdings_payload,
    master_rows,
    ok,
    order_row,
    positions_payload,
    security_of,
)


def _account(header: str) -> str | None:
    """§3: `Authorization: APPID-100:<access token>`, no scheme word."""
    app_id, _, token = header.partition(":")
    claims = web.jwt_claims(token)
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
                return ERRORS.wrong_method(methods)
            account = _account(request.headers.get("Authorization", ""))
            if account is None and data:
                # F4: market-data routes answer -15. Its HTTP status was not recorded; we send
                # the 200 that §5 warns some auth failures come with (UNCONFIRMED).
                return error(-15, "Please provide valid token", 200)
            refused = kit.gate(BROKER, account, ERRORS)
            return refused if refused is not None else view(request, account)

        return handler

    return wrap


@signed("POST")
def logout(request, account):
    kit.revoke_token(BROKER, request.headers["Authorization"].partition(":")[2])
    return ok(message="User Logged out Successfully")


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
    # Today's fills and open buy orders use the funds; sale proceeds are receivable today.
    ledger = kit.ledger(BROKER, universe.account(BROKER, account_id))
    rows = [
        (1, "Total Balance", ledger.opening),
        (2, "Utilized Amount", ledger.used),
        (3, "Clear Balance", ledger.opening),
        (4, "Realized Profit and Loss", 0),
        (5, "Collaterals", 0),
        (6, "Fund Transfer", 0),
        (7, "Receivables", ledger.sold),
        (8, "Adhoc Limit", 0),
        (9, "Limit at start of the day", ledger.opening),
        (10, "Available Balance", ledger.available),
    ]
    fund_limit = [
        {"id": i, "title": t, "equityAmount": amount(v), "commodityAmount": 0.0} for i, t, v in rows
    ]
    return ok(fund_limit=fund_limit)


@signed("GET")
def holdings(request, account_id):
    return ok(**holdings_payload(account_id))


@signed("GET")
def positions(request, account_id):
    return ok(**positions_payload(account_id))


@signed("GET")
def order_book(request, account_id):
    wanted_id, wanted_tag = request.GET.get("id"), request.GET.get("order_tag")
    rows = [
        order_row(o, account_id, number)
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
                "orderDateTime": web.ist_stamp(o.updated_at, STAMP),
                "orderNumber": o.order_id,
                "exchangeOrderNo": f"11000000{o.order_id[-8:]}",
                "exchange": EXCHANGE_CODES[o.exchange],
                "side": 1 if o.side == "BUY" else -1,
                "segment": 10,
                "orderType": TYPE_CODES[o.order_type],
                "fyToken": fy_token(security, o.exchange),
                "productType": o.product,
                "tradedQty": o.filled_quantity,
                "tradePrice": amount(price),
                "tradeValue": amount(price * o.filled_quantity),
                "tradeNumber": f"{o.order_id[-8:]}01",
                "row": number,
                "symbol": fy_symbol(o.symbol, o.exchange),
                "orderTag": o.tag,
            }
        )
    return ok(tradeBook=rows)


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
    return kit.order_write(BROKER, account_id, lambda: _order_write(request, account_id))


def _order_write(request, account_id):
    body = web.json_object(request)
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
    found = security_of(body.get("symbol"))
    if found is None:
        return error(-300, "Invalid symbol")
    security, exchange = found
    qty, side, product = body.get("qty"), body.get("side"), body.get("productType")
    if not _is_int(qty) or qty <= 0:  # type: ignore[operator]
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
        quantity=qty,  # type: ignore[arg-type]
        order_type=order_type,
        product=product,
        price=str(limit if order_type in ("LIMIT", "SL") else 0),
        trigger_price=str(stop if order_type in ("SL", "SL-M") else 0),
        validity=body.get("validity", "DAY"),
        tag=str(body.get("orderTag") or ""),
        status="TRIGGER PENDING" if order_type in ("SL", "SL-M") else "OPEN",
    )
    account = universe.account(BROKER, account_id)
    refusal = kit.shortfall(BROKER, account, order, delivery="CNC")
    if refusal is not None:
        reason = "Margin Exceeds" if refusal.kind == "funds" else "Insufficient holdings"
        order.status, order.status_message = "REJECTED", f"RMS:{reason}"
    kit.save_order(BROKER, order)
    if order.status == "REJECTED":
        # The order exists (status 5 in the book) but the answer is an error, with HTTP 200.
        message = f"{order.status_message} for order {order.order_id}"
        return error(-99, message, 200, id=order.order_id)
    message = f"Order Submitted Successfully. Your Order Ref. No.{order.order_id}"
    return ok(code=1101, message=message, id=order.order_id)


def _modify(order, body: dict) -> JsonResponse:
    order_type = TYPES.get(body["type"]) if _is_int(body.get("type")) else order.order_type
    if "type" in body and (order_type is None or not _is_int(body["type"])):
        return error(-101, "Invalid order type")
    qty = body.get("qty", order.quantity)
    if not _is_int(qty) or qty <= 0:
        return error(-310, "Invalid qty")
    limit = _price(body["limitPrice"]) if "limitPrice" in body else D(order.price)
    stop = _price(body["stopPrice"]) if "stopPrice" in body else D(order.trigger_price)
    problem = _check_prices(order_type, limit, stop, universe.SECURITIES[order.symbol].tick_size)  # type: ignore[arg-type]
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
        found = security_of(name)
        if found is None:
            entries.append(
                {"n": name, "s": "error", "v": {"code": -300, "errmsg": "invalid symbol"}}
            )
            continue
        security, exchange = found
        last, close = security.last_price, security.close_price
        values = {
            "ch": amount(last - close),
            "chp": amount((last - close) / close * 100),
            "lp": amount(last),
            "spread": amount(security.tick_size),
            "ask": amount(last + security.tick_size),
            "bid": amount(last),
            "open_price": amount(close),
            "high_price": amount(max(last, close)),
            "low_price": amount(min(last, close)),
            "prev_close_price": amount(close),
            "atp": amount((last + close) / 2),
            "volume": 1_000_000,
            "short_name": f"{security.symbol}-{SERIES[exchange]}",
            "exchange": exchange,
            "description": fy_symbol(security.symbol, exchange),
            "original_name": fy_symbol(security.symbol, exchange),
            "symbol": fy_symbol(security.symbol, exchange),
            "fyToken": fy_token(security, exchange),
            "tt": str(int(clock.time())),
        }
        entries.append({"n": fy_symbol(security.symbol, exchange), "s": "ok", "v": values})
    return ok(d=entries)


@signed("GET", data=True)
def depth(request, account_id):
    """docs/brokers/fyers.md §4 Market depth: one symbol, its book under d[symbol]."""
    found = security_of(request.GET.get("symbol"))
    if found is None:
        return error(-300, "Invalid symbol")
    security, exchange = found
    return ok(d={fy_symbol(security.symbol, exchange): depth_row(security, exchange)})


@signed("GET", data=True)
def market_status(request, account_id):
    """docs/brokers/fyers.md §4 Market status: the demo market trades whenever the sandbox runs
    (orders fill at any hour), so its capital-market segments say OPEN."""
    rows = [
        {"exchange": code, "market_type": "NORMAL", "segment": 10, "status": "OPEN"}
        for code in EXCHANGE_CODES.values()
    ]
    return ok(marketStatus=rows)


@csrf_exempt
def symbol_master(request, name):
    """§4: public daily CSVs, no header row, no auth."""
    exchange = {"NSE_CM.csv": "NSE", "BSE_CM.csv": "BSE"}.get(name)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    if exchange is None:
        return HttpResponse("Not Found", status=404, content_type="text/plain")
    text = "".join(",".join(row) + "\n" for row in master_rows(exchange))
    return HttpResponse(text, content_type="text/csv")
