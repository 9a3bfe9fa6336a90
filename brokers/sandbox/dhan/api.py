"""The Dhan trading and data APIs behind the token (§4): portfolio, funds, orders, trades,
market feed, and the public scrip master."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.http import HttpResponse, JsonResponse

from brokers.clock import IST
from brokers.sandbox import kit, universe, web
from brokers.sandbox.dhan.login import api, jwt_expiry
from brokers.sandbox.dhan.render import (
    BROKER,
    MASTER_HEADER,
    MISSING,
    ORDER_TYPES,
    PRODUCTS,
    SEGMENT_EXCHANGES,
    TAG_MAX,
    data_error,
    input_error,
    number,
    order_error,
    order_row,
    position_row,
    quote_row,
    rms_message,
    security_id_of,
    security_of,
    status_word,
    trade_row,
)


# --- Portfolio and funds (§4) -----------------------------------------------------------------
@api("GET")
def profile(request, account):
    expires = datetime.fromtimestamp(jwt_expiry(request.dhan_token), IST)
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


@api("GET")
def fund_limit(request, account):
    # Today's fills and open buy orders use the funds; sale proceeds come back the same day.
    ledger = kit.ledger(BROKER, account)
    return JsonResponse(  # the misspellings are Dhan's (§8.3)
        {
            "dhanClientId": account.account_id,
            "availabelBalance": number(ledger.available),
            "sodLimit": number(ledger.opening),
            "collateralAmount": 0.0,
            "receiveableAmount": number(ledger.sold),
            "utilizedAmount": number(ledger.used),
            "blockedPayoutAmount": 0.0,
            "withdrawableBalance": number(min(ledger.available, ledger.opening)),
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
                "securityId": security_id_of(security, segment),
                "isin": security.isin,
                "totalQty": h.quantity,
                "dpQty": h.quantity,
                "t1Qty": 0,
                "availableQty": h.quantity,
                "collateralQty": 0,
                "avgCostPrice": number(h.average_price),
                "lastTradedPrice": number(security.last_price),
            }
        )
    return JsonResponse(rows, safe=False)


@api("GET")
def positions(request, account):
    # The demo day and every fill the sandbox made today (docs/brokers/dhan.md §4 Positions; [] when
    # empty).
    book = kit.day_book(BROKER, account, product=PRODUCTS.get)
    rows = [position_row(account.account_id, key, leg) for key, leg in book.items()]
    return JsonResponse(rows, safe=False)


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
        return input_error("Invalid price")
    if order_type.startswith("STOP_LOSS") and trigger is None:
        return input_error("Invalid triggerPrice")
    keep_price = order_type in ("LIMIT", "STOP_LOSS")
    return str(price if keep_price else 0), str(trigger if order_type.startswith("STOP") else 0)


def _place(request, account):
    body = web.json_object(request)
    if body is None:
        return input_error("Invalid request body")
    required = ("dhanClientId", "transactionType", "exchangeSegment", "productType")
    required += ("orderType", "validity", "securityId", "quantity")
    missing = [f for f in required if body.get(f) in (None, "")]
    if missing:
        return input_error(f"{MISSING} Missing: {', '.join(missing)}")
    if str(body["dhanClientId"]) != account.account_id:
        return input_error("Invalid dhanClientId")
    if (
        body["transactionType"] not in ("BUY", "SELL")
        or body["productType"] not in ("CNC", "INTRADAY", "MARGIN", "MTF", "CO", "BO")
        or body["orderType"] not in ORDER_TYPES
        or body["validity"] not in ("DAY", "IOC")
    ):
        return input_error()
    quantity = _positive(body["quantity"], whole=True)
    if quantity is None:
        return input_error("Invalid quantity")
    tag = str(body.get("correlationId") or "")
    if len(tag) > TAG_MAX:
        return input_error(f"correlationId can be at most {TAG_MAX} characters")
    security = security_of(body["exchangeSegment"], body["securityId"])
    if security is None:
        return input_error("Invalid SecurityId")
    prices = _prices(body, body["orderType"])
    if isinstance(prices, JsonResponse):
        return prices
    order = kit.SandboxOrder(
        order_id=kit.new_order_id("5"),
        account=account.account_id,
        symbol=security.symbol,
        exchange=SEGMENT_EXCHANGES[body["exchangeSegment"]],
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
    refusal = kit.shortfall(BROKER, account, order, delivery="CNC")
    if refusal is not None:
        order.status, order.status_message = "REJECTED", rms_message(refusal)
    kit.save_order(BROKER, order)
    return JsonResponse({"orderId": order.order_id, "orderStatus": "TRANSIT"})


@api("GET", "POST")
def orders(request, account):
    if request.method == "POST":
        return kit.order_write(BROKER, account.account_id, lambda: _place(request, account))
    book = kit.orders(BROKER, account.account_id)
    return JsonResponse([order_row(o, account.account_id) for o in book], safe=False)


@api("GET")
def order_by_correlation_id(request, account, correlation_id: str):
    """docs/brokers/dhan.md §4 Order by correlation id: the order that carries our tag, one object
    like GET /orders/{order-id} (the newest, should a tag have been reused)."""
    found = kit.tagged(BROKER, account.account_id, correlation_id)
    if not found:
        return order_error("Order not found")
    return JsonResponse(order_row(found[-1], account.account_id))


def _modify(request, account, order: kit.SandboxOrder):
    body = web.json_object(request)
    if body is None:
        return input_error("Invalid request body")
    missing = [f for f in ("orderType", "quantity", "validity") if body.get(f) in (None, "")]
    if missing:
        return input_error(f"{MISSING} Missing: {', '.join(missing)}")
    if body["orderType"] not in ORDER_TYPES or body["validity"] not in ("DAY", "IOC"):
        return input_error()
    quantity = _positive(body["quantity"], whole=True)
    if quantity is None:
        return input_error("Invalid quantity")
    prices = _prices(body, body["orderType"])
    if isinstance(prices, JsonResponse):
        return prices
    order.order_type, order.validity = ORDER_TYPES[body["orderType"]], body["validity"]
    order.quantity, (order.price, order.trigger_price) = int(quantity), prices
    kit.save_order(BROKER, order)
    return JsonResponse({"orderId": order.order_id, "orderStatus": "TRANSIT"})


@api("GET", "PUT", "DELETE")
def order_detail(request, account, order_id: str):
    if request.method == "GET":
        order = kit.find_order(BROKER, account.account_id, order_id)
        if order is None:
            return order_error("Order not found")
        return JsonResponse(order_row(order, account.account_id))
    return kit.order_write(BROKER, account.account_id, lambda: _change(request, account, order_id))


def _change(request, account, order_id: str):
    order = kit.find_order(BROKER, account.account_id, order_id)
    if order is None:
        return order_error("Order not found")
    if order.status != "OPEN":
        return order_error(f"Order is {status_word(order)} and cannot be changed")
    if request.method == "PUT":
        return _modify(request, account, order)
    order.status = "CANCELLED"
    kit.save_order(BROKER, order)
    return JsonResponse({"orderId": order.order_id, "orderStatus": "CANCELLED"})


@api("GET")
def trades(request, account, order_id: str = ""):
    """docs/brokers/dhan.md §4 Trade book, or with an order id the trades of that order (the SDK
    asks for /trades/ with a trailing slash when it wants them all)."""
    book = kit.orders(BROKER, account.account_id)
    if order_id:
        book = [o for o in book if o.order_id == order_id]
    rows = [trade_row(o, account.account_id) for o in book if o.filled_quantity]
    return JsonResponse(rows, safe=False)


# --- Market quotes (docs/brokers/dhan.md §4 LTP, OHLC, quote): enveloped, integer ids in ---------
def market_feed(kind: str):
    @api("POST")
    def view(request, account):
        if request.headers.get("client-id") is None:  # mandatory on data APIs (§3)
            return data_error(810, "Client ID is invalid")
        body = web.json_object(request)
        if body is None:
            return data_error(814, "Invalid Request")
        # The SDK copies dhanClientId into every body; anything but a segment list is ignored.
        wanted = {k: v for k, v in body.items() if isinstance(v, list)}
        if sum(len(v) for v in wanted.values()) > 1000:
            return data_error(804, "Requested number of instruments exceeds limit")
        data: dict[str, dict] = {}
        for segment, ids in wanted.items():
            data[segment] = {}
            for security_id in ids:
                security = security_of(segment, security_id)
                if security is None:
                    continue
                row = quote_row(security, depth=kind == "quote", ohlc=kind == "ohlc")
                data[segment][str(security_id)] = row
        return JsonResponse({"data": data, "status": "success"})

    return view


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
