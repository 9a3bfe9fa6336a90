"""Kite's authenticated API (§3, §4, §6): portfolio, orders, trades, quotes, instruments."""

from __future__ import annotations

import functools
import gzip
from decimal import Decimal, InvalidOperation

from django.core.cache import cache
from django.http import HttpResponse, QueryDict
from django.views.decorators.csrf import csrf_exempt

from brokers.sandbox import kit, universe, web
from brokers.sandbox.zerodha.render import (
    APP,
    BROKER,
    ERRORS,
    EXCHANGES,
    LIVE,
    MAX_MODIFICATIONS,
    ORDER_TYPES,
    PRODUCTS,
    QUOTE_LIMITS,
    VALIDITIES,
    VARIETIES,
    bad_input,
    fail,
    history_row,
    holding_rows,
    instrument_csv,
    margin_segment,
    modifications_key,
    ok,
    order_row,
    position_row,
    profile_data,
    quote_data,
    rms_message,
    tag_allowed,
    trade_row,
)


# --- Authenticated API (§3) --------------------------------------------------------------------
def api(*methods: str):
    """Method, version header, `token api_key:access_token`, then the injected faults."""

    def wrap(view):
        @csrf_exempt
        @functools.wraps(view)
        def handler(request, *args, **kwargs):
            if request.method not in methods:
                return ERRORS.wrong_method(methods)
            if request.headers.get("X-Kite-Version") != "3":
                return bad_input("Invalid or missing `X-Kite-Version` header.")
            api_key, _, token = web.credentials(request, "token").partition(":")
            account_id = kit.account_for_token(BROKER, token) if api_key == APP["api_key"] else None
            if (refused := kit.gate(BROKER, account_id, ERRORS)) is not None:
                return refused
            return view(request, universe.account(BROKER, account_id), *args, **kwargs)

        return handler

    return wrap


@api("GET")
def profile(request, account):
    return ok(profile_data(account))


@api("GET")
def margins(request, account, segment=None):
    # The equity segment follows the sandbox's own fills and open orders.
    ledger = kit.ledger(BROKER, account)
    segments = {
        "equity": margin_segment(ledger),
        "commodity": margin_segment(kit.Ledger(Decimal(0))),
    }
    if segment is None:
        return ok(segments)
    if segment not in segments:
        return bad_input("Invalid segment.")
    return ok(segments[segment])


@api("GET")
def holdings(request, account):
    return ok(holding_rows(account))


@api("GET")
def positions(request, account):
    # Today's book: the demo account's intraday trades plus every fill in the sandbox.
    rows = [position_row(key, leg) for key, leg in kit.day_book(BROKER, account).items()]
    return ok({"net": rows, "day": rows})


@api("GET")
def order_book(request, account):
    return ok([order_row(o) for o in kit.orders(BROKER, account.account_id)])


@api("GET")
def order_history(request, account, order_id):
    """docs/brokers/zerodha.md §4 One order's history: every state it went through, oldest first."""
    order = kit.find_order(BROKER, account.account_id, order_id)
    if order is None:
        return bad_input("Invalid `order_id`.")
    return ok([history_row(order, status, at) for status, at in kit.history(order)])


@api("GET")
def order_trades(request, account, order_id):
    """docs/brokers/zerodha.md §4 Trades of an order: empty until it fills."""
    order = kit.find_order(BROKER, account.account_id, order_id)
    if order is None:
        return bad_input("Invalid `order_id`.")
    return ok([trade_row(order)] if order.filled_quantity else [])


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
    return kit.order_write(BROKER, account.account_id, lambda: _place(request, account, variety))


def _place(request, account, variety):
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
        "quantity": form["quantity"].isdecimal() and int(form["quantity"]) > 0,
        "tag": tag_allowed(form.get("tag", "")),
    }
    for name, valid in checks.items():
        if not valid:
            return bad_input(f"Invalid `{name}`.")
    security = universe.listed(form["exchange"], form["tradingsymbol"])
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
        if protection != "-1" and not (protection.isdecimal() and 1 <= int(protection) <= 100):
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
    refusal = kit.shortfall(BROKER, account, order, delivery="CNC")
    if refusal is not None:
        order.status = "REJECTED"
        order.status_message, order.status_raw = rms_message(refusal, account.account_id)
    kit.save_order(BROKER, order)
    return ok({"order_id": order.order_id})


@api("PUT", "DELETE")
def order_change(request, account, variety, order_id):
    return kit.order_write(
        BROKER, account.account_id, lambda: _change(request, account, variety, order_id)
    )


def _change(request, account, variety, order_id):
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
    count = (cache.get(modifications_key(order.order_id)) or 0) + 1
    if count > MAX_MODIFICATIONS:
        return fail("Maximum allowed order modifications exceeded.", "OrderException", 400)
    security = universe.SECURITIES[order.symbol]
    order_type = form.get("order_type") or order.order_type
    if order_type not in ORDER_TYPES:
        return bad_input("Invalid `order_type`.")
    if "quantity" in form:
        if not form["quantity"].isdecimal() or int(form["quantity"]) <= order.filled_quantity:
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
    cache.set(modifications_key(order.order_id), count, kit.STATE_TTL)
    return ok({"order_id": order.order_id})


@api("GET")
def trades(request, account):
    fills = [o for o in kit.orders(BROKER, account.account_id) if o.filled_quantity]
    return ok([trade_row(o) for o in fills])


# --- Market data (§4) --------------------------------------------------------------------------
def quote_view(kind: str):
    limit = QUOTE_LIMITS[kind]

    @api("GET")
    def view(request, account):
        keys = request.GET.getlist("i")
        if not keys:
            return bad_input("No instruments specified.")
        if len(keys) > limit:
            return bad_input(f"Too many instruments: at most {limit}.")
        data = {}
        for key in keys:
            exchange, _, symbol = key.partition(":")
            s = universe.listed(exchange, symbol)
            if s is None:
                continue  # §8.9: unknown instruments are silently left out
            data[key] = quote_data(kind, s, exchange)
        return ok(data)

    return view


@api("GET")
def instruments(request, account, exchange=None):
    # §4, §8.10: gzipped CSV, numbers as text, no ISIN column; yesterday's close as last_price.
    response = HttpResponse(
        gzip.compress(instrument_csv(exchange).encode()), content_type="text/csv"
    )
    response["Content-Encoding"] = "gzip"
    return response
