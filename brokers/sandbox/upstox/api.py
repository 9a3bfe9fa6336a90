"""The Upstox API behind the token: portfolio and books (v2), LTP and order writes (v3), the
instrument master."""

from __future__ import annotations

import functools
import gzip
import json
from decimal import Decimal

from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt

from brokers.sandbox import kit, universe, web
from brokers.sandbox.upstox.login import holder
from brokers.sandbox.upstox.render import (
    BROKER,
    ERRORS,
    FINISHED,
    ORDER_ID,
    ORDER_TYPES,
    PRODUCTS,
    SEGMENTS,
    TAG_MAX,
    UNSUPPORTED,
    error,
    history_row,
    instrument_key,
    latency,
    master_rows,
    ok,
    order_row,
    profile_data,
    quote_row,
    resolve,
    rms_message,
    trade_row,
)


def api(*methods: str, version: str = "", write: bool = False):
    """Method, version header, bearer token (an extended token only reads), then faults."""

    def wrap(view):
        @csrf_exempt
        @functools.wraps(view)
        def handler(request):
            if request.method not in methods:
                return ERRORS.wrong_method(methods)
            accept = request.headers.get("Accept", "")
            if accept and "json" not in accept and "*/*" not in accept:
                return error(406, "UDAPI10000", UNSUPPORTED)
            sent = request.headers.get("Api-Version")
            if version and sent is not None and sent != version:
                return error(400, "UDAPI100015", "API Version does not exist")
            bearer = web.credentials(request, "Bearer")
            account_id = holder(bearer, "access")
            if account_id is None:
                extended = holder(bearer, "extended")
                if extended and write:
                    return error(
                        401,
                        "UDAPI100067",
                        "The API you are trying to access is not permitted with an extended_token",
                    )
                account_id = extended
            if (refused := kit.gate(BROKER, account_id, ERRORS)) is not None:
                return refused
            return view(request, universe.account(BROKER, account_id))

        return handler

    return wrap


@api("DELETE", version="2.0")
def logout(request, account):
    kit.revoke_token(BROKER, web.credentials(request, "Bearer"))
    return ok(True)


@api("GET", version="2.0")
def profile(request, account):
    return ok({**profile_data(account), "ddpi": False})


@api("GET", version="2.0")
def funds(request, account):
    # Today's fills and open buy orders use the margin; sale proceeds count the same day.
    ledger = kit.ledger(BROKER, account)
    zero = dict.fromkeys(
        ("used_margin", "payin_amount", "span_margin", "adhoc_margin", "notional_cash"), 0
    )
    equity = {**zero, "used_margin": web.number(ledger.used), "exposure_margin": 0}
    equity["payin_amount"] = web.number(ledger.sold)
    equity["available_margin"] = web.number(ledger.available)
    # Since July 2025 all funds sit in "equity"; "commodity" stays, zeroed.
    return ok(
        {"equity": equity, "commodity": {**zero, "available_margin": 0, "exposure_margin": 0}}
    )


@api("GET", version="2.0")
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
                "last_price": web.number(s.last_price),
                "close_price": web.number(s.close_price),
                "pnl": web.number((s.last_price - held.average_price) * held.quantity),
                "day_change": web.number(s.last_price - s.close_price),
                "day_change_percentage": web.number(
                    round((s.last_price - s.close_price) / s.close_price * 100, 4)
                ),
                "instrument_token": instrument_key(s, held.exchange),
                "average_price": web.number(held.average_price),
                "collateral_quantity": 0,
                "collateral_update_quantity": 0,
                "t1_quantity": 0,
                "exchange": held.exchange,
            }
        )
    return ok(rows)


@api("GET", version="2.0")
def positions(request, account):
    rows = []
    book = kit.day_book(BROKER, account, product=PRODUCTS.get)
    for (symbol, exchange, product), leg in book.items():
        s, net = universe.SECURITIES[symbol], leg.net
        bought, paid, sold, got = leg.bought, leg.paid, leg.sold, leg.got
        buy_price, sell_price, realised = leg.buy_price, leg.sell_price, leg.realised
        average = leg.average if net else None  # null once a position is closed
        unrealised = leg.unrealised(s.last_price)
        day = {
            "day_buy_value": web.number(paid),
            "day_buy_price": web.number(round(buy_price, 2)),
            "day_buy_quantity": bought,
            "day_sell_value": web.number(got),
            "day_sell_price": web.number(round(sell_price, 2)),
            "day_sell_quantity": sold,
        }
        overnight = dict.fromkeys(
            ("overnight_quantity", "overnight_buy_quantity", "overnight_sell_quantity"), 0
        ) | {"overnight_buy_amount": 0.0, "overnight_sell_amount": 0.0}
        rows.append(
            {
                "exchange": exchange,
                "multiplier": 1.0,
                "value": web.number(got - paid),
                "pnl": web.number(round(realised + unrealised, 2)),
                "product": product,
                "instrument_token": instrument_key(s, exchange),
                "average_price": None if average is None else web.number(round(average, 2)),
                "buy_value": web.number(paid),
                **day,
                **overnight,
                "quantity": net,
                "last_price": web.number(s.last_price),
                "unrealised": web.number(round(unrealised, 2)),
                "realised": web.number(round(realised, 2)),
                "sell_value": web.number(got),
                "trading_symbol": symbol,
                "tradingsymbol": symbol,
                "close_price": web.number(s.close_price),
                "buy_price": web.number(round(buy_price, 2)),
                "sell_price": web.number(round(sell_price, 2)),
            }
        )
    return ok(rows)


@api("GET", version="2.0")
def order_book(request, account):
    return ok([order_row(o) for o in kit.orders(BROKER, account.account_id)])


@api("GET", version="2.0")
def trades(request, account):
    fills = [o for o in kit.orders(BROKER, account.account_id) if o.filled_quantity]
    return ok([trade_row(o) for o in fills])


@api("GET", version="2.0")
def order_details(request, account):
    """GET /v2/order/details?order_id=: the order's latest state (docs/brokers/upstox.md §4 Order
    latest status)."""
    order, problem = _known_order(account, request.GET.get("order_id"))
    return problem or ok(order_row(order))


@api("GET", version="2.0")
def order_history(request, account):
    """GET /v2/order/history?order_id=&tag=: every state of the order, or of every order that
    carries the tag; with both, the order that matches both (the SDK's docstring)."""
    order_id, tag = request.GET.get("order_id"), request.GET.get("tag")
    if not order_id and not tag:
        return error(400, "UDAPI1023", "Order id is required", "order_id")
    if order_id:
        order, problem = _known_order(account, order_id)
        if problem:
            return problem
        matching = [order] if not tag or order.tag == tag else []
    else:
        matching = kit.tagged(BROKER, account.account_id, tag)
    if not matching:
        return error(400, "UDAPI100010", "Order not found", "tag", tag)
    return ok([history_row(o, step, at) for o in matching for step, at in kit.history(o)])


@api("GET", version="2.0")
def order_trades(request, account):
    """GET /v2/order/trades?order_id=: the trades of one order (none until it fills)."""
    order, problem = _known_order(account, request.GET.get("order_id"))
    if problem:
        return problem
    return ok([trade_row(order)] if order.filled_quantity else [])


def _known_order(account, order_id):
    """The account's order, or the documented error (UDAPI1023/1010/100010)."""
    if not order_id:
        return None, error(400, "UDAPI1023", "Order id is required", "order_id")
    if not ORDER_ID.match(str(order_id)):
        message = "Order id accepts only alphanumeric characters and '-'."
        return None, error(400, "UDAPI1010", message, "order_id", order_id)
    order = kit.find_order(BROKER, account.account_id, str(order_id))
    if order is None:
        return None, error(400, "UDAPI100010", "Order not found", "order_id", order_id)
    return order, None


def quotes_view(kind: str, *, key_param: str = "instrument_key", version: str = ""):
    """The quote routes: keyed SEGMENT:SYMBOL (gotcha 6), each row naming its instrument key.
    The v2 routes also take the list as ``symbol=``, as the v2.30 SDK sends it
    (docs/brokers/upstox.md §4)."""

    @api("GET", version=version)
    def view(request, account):
        given = request.GET.get(key_param) or request.GET.get("symbol", "")
        keys = [k for k in given.split(",") if k]
        if not keys:
            return error(400, "UDAPI1009", "instrument_key is required", "instrument_key")
        if len(keys) > 500:
            return error(400, "UDAPI100043", "Maximum 500 instrument keys are allowed")
        data = {}
        for key in keys:
            if "|" not in key:
                return error(400, "UDAPI1011", "Invalid format", "instrument_key", key)
            found = resolve(key)
            if found is None:
                return error(400, "UDAPI1087", "Invalid Instrument key", "instrument_key", key)
            security, exchange = found
            data[f"{SEGMENTS[exchange]}:{security.symbol}"] = quote_row(kind, security, key)
        return ok(data)

    return view


# --- Orders (api-hft.upstox.com, v3) -----------------------------------------------------------
def _json_body(request) -> dict | None:
    if "json" not in request.content_type:
        return None
    return web.json_object(request, parse_float=Decimal)


def _number(value) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        return None
    return Decimal(value)


def _check_terms(body: dict):
    """order_type, validity, price, trigger_price: shared by place and modify."""
    order_type, validity = body.get("order_type"), body.get("validity")
    if not order_type:
        return error(400, "UDAPI1004", "Valid order type is required", "order_type")
    if order_type not in ORDER_TYPES:
        return error(400, "UDAPI1056", "The 'order_type' is invalid", "order_type", order_type)
    if not validity:
        return error(400, "UDAPI1007", "Validity is required", "validity")
    if validity not in ("DAY", "IOC"):
        return error(400, "UDAPI1055", "The 'validity' is invalid", "validity", validity)
    price, trigger = _number(body.get("price")), _number(body.get("trigger_price"))
    if price is None or price < 0 or (order_type in ("LIMIT", "SL") and price == 0):
        return error(400, "UDAPI100036", "Invalid Input", "price", body.get("price"))
    if trigger is None or trigger < 0 or (order_type in ("SL", "SL-M") and trigger == 0):
        return error(
            400, "UDAPI100036", "Invalid Input", "trigger_price", body.get("trigger_price")
        )
    return None


@api("POST", write=True)
def place_order(request, account):
    return kit.order_write(BROKER, account.account_id, lambda: _place(request, account))


def _place(request, account):
    body = _json_body(request)
    if body is None:
        return error(400, "UDAPI100038", "Invalid input passed to the API")
    key, quantity, tag = body.get("instrument_token"), body.get("quantity"), body.get("tag") or ""
    if not key:
        return error(400, "UDAPI1026", "Instrument key is required", "instrument_token")
    if not quantity:
        return error(400, "UDAPI1052", "The order quantity cannot be zero", "quantity", quantity)
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 0:
        return error(400, "UDAPI100036", "Invalid Input", "quantity", quantity)
    if body.get("product") not in ("I", "D", "MTF"):
        return error(400, "UDAPI100036", "Invalid Input", "product", body.get("product"))
    if body.get("transaction_type") not in ("BUY", "SELL"):
        return error(400, "UDAPI100036", "Invalid Input", "transaction_type")
    problem = _check_terms(body)
    if problem:
        return problem
    if len(str(tag)) > TAG_MAX:
        return error(400, "UDAPI1119", f"Tag length should not exceed {TAG_MAX} characters")
    found = resolve(key)
    if found is None:
        return error(400, "UDAPI1087", "Invalid Instrument key", "instrument_token", key)
    security, exchange = found
    stop = body["order_type"] in ("SL", "SL-M")
    order = kit.SandboxOrder(
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
    )
    # The RMS refuses after accepting: the order id comes back, the book says rejected.
    refusal = kit.shortfall(BROKER, account, order, delivery="D")
    if refusal is not None:
        order.status = "REJECTED"
        order.status_message, order.status_raw = rms_message(refusal, account.account_id)
    kit.save_order(BROKER, order)
    return ok({"order_ids": [order.order_id]}, **latency())


def _live_order(account, order_id, *, verb: str):
    """The order to change, or the documented error (UDAPI1023/1010/100010/100040)."""
    order, problem = _known_order(account, order_id)
    if problem:
        return None, problem
    if order.status in FINISHED:
        code = "UDAPI100040" if verb == "Cancel" else "UDAPI100036"
        message = f"{verb} of already cancelled/rejected/completed order is not allowed"
        return None, error(400, code, message, "order_id", order_id)
    return order, None


@api("PUT", write=True)
def modify_order(request, account):
    return kit.order_write(BROKER, account.account_id, lambda: _modify(request, account))


def _modify(request, account):
    body = _json_body(request)
    if body is None:
        return error(400, "UDAPI100038", "Invalid input passed to the API")
    order, problem = _live_order(account, body.get("order_id"), verb="Modify")
    problem = problem or _check_terms(body)
    if problem:
        return problem
    quantity = body.get("quantity")
    if quantity is not None:
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
            return error(400, "UDAPI100036", "Invalid Input", "quantity", quantity)
        order.quantity = quantity
    order.order_type, order.validity = body["order_type"], body["validity"]
    order.price, order.trigger_price = str(body["price"]), str(body["trigger_price"])
    kit.save_order(BROKER, order)
    return ok({"order_id": order.order_id}, **latency())


@api("DELETE", write=True)
def cancel_order(request, account):
    return kit.order_write(BROKER, account.account_id, lambda: _cancel(request, account))


def _cancel(request, account):
    order, problem = _live_order(account, request.GET.get("order_id"), verb="Cancel")
    if problem:
        return problem
    order.status = "CANCELLED"
    kit.save_order(BROKER, order)
    return ok({"order_id": order.order_id}, **latency())


@csrf_exempt
def instrument_master(request, name: str):
    exchanges = {"complete": ("NSE", "BSE"), "NSE": ("NSE",), "BSE": ("BSE",)}[name]
    payload = gzip.compress(json.dumps(master_rows(exchanges)).encode(), mtime=0)
    return HttpResponse(payload, content_type="application/gzip")
