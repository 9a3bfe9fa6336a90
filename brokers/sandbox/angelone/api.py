"""The SmartAPI behind the session (§4): account, portfolio, orders, quotes, instrument master."""

from __future__ import annotations

from decimal import Decimal

from django.http import HttpResponseNotAllowed, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from brokers.sandbox import kit, universe
from brokers.sandbox.angelone.login import endpoint
from brokers.sandbox.angelone.render import (
    BROKER,
    ORDER_TYPES,
    PRODUCTS,
    RMS_FIELDS,
    TAG_MAX,
    VARIETIES,
    fail,
    filled,
    holding_row,
    listing,
    ltp_row,
    money,
    ok,
    order_row,
    position_rows,
    positive,
    quote_row,
    rejection_text,
    security_of,
    stamp,
    unique_id,
)


@endpoint("POST")
def logout(request, account, body):
    kit.revoke_token(BROKER, request.headers["Authorization"].partition(" ")[2])
    return ok("")


# --- Account reads (§4) ------------------------------------------------------------------------
@endpoint("GET")
def profile(request, account, body):
    return ok(
        {
            "clientcode": account.account_id,
            "name": account.name.upper(),
            "email": account.email,
            "mobileno": "",
            "exchanges": ["NSE", "BSE", "NFO", "BFO", "MCX", "CDS", "NCDEX"],
            "products": ["DELIVERY", "INTRADAY", "MARGIN", "CARRYFORWARD"],
            "lastlogintime": "",
            "brokerid": "B2C",
        }
    )


@endpoint("GET")
def rms(request, account, body):
    # docs/brokers/angelone.md §4: every RMS value is a string; net = availablecash -
    # utiliseddebits, where today's fills and open buy orders are the debits and sale proceeds add
    # to the cash.
    ledger = kit.ledger(BROKER, account)
    data = dict.fromkeys(RMS_FIELDS, "0")
    data.update(
        net=money(ledger.available),
        availablecash=money(ledger.opening + ledger.sold),
        utiliseddebits=money(ledger.used),
    )
    return ok(data)


@endpoint("GET")
def holding(request, account, body):
    return ok([holding_row(h) for h in account.holdings] or None)


@endpoint("GET")
def all_holding(request, account, body):
    rows = [holding_row(h) for h in account.holdings]
    value = sum(Decimal(str(r["ltp"])) * r["quantity"] for r in rows)
    invested = sum(h.average_price * h.quantity for h in account.holdings)
    totals = {
        "totalholdingvalue": float(value),
        "totalinvvalue": float(invested),
        "totalprofitandloss": float(value - invested),
        "totalpnlpercentage": round(float((value - invested) / invested * 100), 2)
        if invested
        else 0,
    }
    return ok({"holdings": rows, "totalholding": totals})


@endpoint("GET")
def position(request, account, body):
    return ok(position_rows(account) or None)  # §4: data null when there is nothing


# --- Orders (§4, §6) ---------------------------------------------------------------------------
def _order_refusal(body: dict, *, needs_side: bool) -> JsonResponse | None:
    """The checks a placeOrder/modifyOrder body goes through, in Angel's error words."""
    variety, order_type = body.get("variety"), body.get("ordertype")
    if variety not in VARIETIES:
        return fail("Invalid Order Variety", "AB1008")
    if variety == "ROBO":
        return fail("ROBO order is block", "AB2002")
    if body.get("producttype") not in PRODUCTS:
        return fail("Invalid Product Type", "AB1012")
    if (
        security_of(body.get("exchange"), body.get("symboltoken"), body.get("tradingsymbol"))
        is None
    ):
        return fail("Symbol Not Found", "AB1009")
    if needs_side and body.get("transactiontype") not in ("BUY", "SELL"):
        return fail("Invalid Transaction Type", "AB2000")
    if order_type not in ORDER_TYPES:
        return fail("Invalid Order Type", "AB2000")
    if (variety == "STOPLOSS") != order_type.startswith("STOPLOSS"):
        return fail("Invalid Order Variety", "AB1008")  # §8.12
    if body.get("duration") not in ("DAY", "IOC"):
        return fail("Invalid Duration", "AB2000")
    if not positive(body.get("quantity"), whole=True):
        return fail("Invalid Quantity", "AB2000")
    if order_type in ("LIMIT", "STOPLOSS_LIMIT") and not positive(body.get("price")):
        return fail("Invalid Price", "AB2000")
    if order_type.startswith("STOPLOSS") and not positive(body.get("triggerprice")):
        return fail("Invalid Trigger Price", "AB2000")
    if len(str(body.get("ordertag") or "")) > TAG_MAX:
        return fail(f"Ordertag length should not exceed {TAG_MAX} characters", "AB4008")
    return None


@endpoint("POST")
def place_order(request, account, body):
    return kit.order_write(BROKER, account.account_id, lambda: _place(account, body))


def _place(account, body):
    refused = _order_refusal(body, needs_side=True)
    if refused:
        return refused
    security = security_of(body["exchange"], body["symboltoken"], body["tradingsymbol"])
    stop = body["ordertype"].startswith("STOPLOSS")
    order = kit.SandboxOrder(
        order_id=kit.new_order_id(),
        account=account.account_id,
        symbol=security.symbol,
        exchange=body["exchange"],
        side=body["transactiontype"],
        quantity=int(Decimal(str(body["quantity"]))),
        order_type=ORDER_TYPES[body["ordertype"]],
        product=body["producttype"],
        price=str(body.get("price") or "0"),
        trigger_price=str(body.get("triggerprice") or "0"),
        validity=body["duration"],
        tag=str(body.get("ordertag") or ""),
        status="TRIGGER PENDING" if stop else "OPEN",
    )
    # The RMS refuses after accepting: the answer carries an order id, the book says rejected.
    refusal = kit.shortfall(BROKER, account, order, delivery="DELIVERY")
    if refusal is not None:
        order.status, order.status_message = "REJECTED", rejection_text(refusal)
    kit.save_order(BROKER, order)
    return ok(
        {
            "script": body["tradingsymbol"],
            "orderid": order.order_id,
            "uniqueorderid": unique_id(order.order_id),
        }
    )


def _open_order(account, body) -> tuple[kit.SandboxOrder | None, JsonResponse | None]:
    if body.get("variety") not in VARIETIES:
        return None, fail("Invalid Order Variety", "AB1008")
    order = kit.find_order(BROKER, account.account_id, str(body.get("orderid", "")))
    if order is None:
        return None, fail("Order not found", "AB1013")
    if order.status not in ("OPEN", "TRIGGER PENDING"):
        return None, fail(f"Order is already {order.status.lower()}", "AB2000")
    return order, None


@endpoint("POST")
def modify_order(request, account, body):
    return kit.order_write(BROKER, account.account_id, lambda: _modify(account, body))


def _modify(account, body):
    order, refused = _open_order(account, body)
    refused = refused or _order_refusal(body, needs_side=False)
    if refused:
        return refused
    order.order_type = ORDER_TYPES[body["ordertype"]]
    order.quantity = int(Decimal(str(body["quantity"])))
    order.price = str(body.get("price") or "0")
    order.trigger_price = str(body.get("triggerprice") or "0")
    order.validity = body["duration"]
    kit.save_order(BROKER, order)
    return ok({"orderid": order.order_id, "uniqueorderid": unique_id(order.order_id)})


@endpoint("POST")
def cancel_order(request, account, body):
    return kit.order_write(BROKER, account.account_id, lambda: _cancel(account, body))


def _cancel(account, body):
    order, refused = _open_order(account, body)
    if refused:
        return refused
    order.status = "CANCELLED"
    kit.save_order(BROKER, order)
    return ok({"orderid": order.order_id, "uniqueorderid": unique_id(order.order_id)})


@endpoint("GET")
def order_book(request, account, body):
    return ok([order_row(o) for o in kit.orders(BROKER, account.account_id)] or None)


@endpoint("GET")
def order_details(request, account, body, wanted: str):
    """docs/brokers/angelone.md §4 Single order, addressed by its uniqueorderid (§8.13), not the
    orderid."""
    book = kit.orders(BROKER, account.account_id)
    order = next((o for o in book if unique_id(o.order_id) == wanted.lower()), None)
    if order is None:
        return fail("Order not found", "AB1013")
    return ok(order_row(order))


@endpoint("GET")
def trade_book(request, account, body):
    rows = []
    for order in filled(account):
        tradingsymbol, _ = listing(universe.SECURITIES[order.symbol], order.exchange)
        price = Decimal(order.average_price)
        rows.append(
            {
                "exchange": order.exchange,
                "producttype": order.product,
                "tradingsymbol": tradingsymbol,
                "instrumenttype": "",
                "symbolgroup": "EQ",
                "strikeprice": "-1",
                "optiontype": "",
                "expirydate": "",
                "marketlot": "1",
                "precision": "2",
                "multiplier": "-1",
                "tradevalue": money(price * order.filled_quantity),
                "transactiontype": order.side,
                "fillprice": money(price),
                "fillsize": str(order.filled_quantity),
                "orderid": order.order_id,
                "fillid": str(int(order.order_id) % 10**8),
                "filltime": stamp(order.updated_at, "%H:%M:%S"),
            }
        )
    return ok(rows or None)


# --- Market data (§4) ---------------------------------------------------------------------------
@endpoint("POST")
def ltp_data(request, account, body):
    """getLtpData: one instrument, named by exchange, tradingsymbol and symboltoken."""
    exchange, token = body.get("exchange"), str(body.get("symboltoken") or "")
    if not token:
        return fail("Symbol token cannot be empty", "AB4018")
    security = security_of(exchange, token, str(body.get("tradingsymbol") or ""))
    if security is None:
        return fail("Symbol Not Found", "AB1009")
    return ok(ltp_row(security, exchange))


@endpoint("POST")
def quote(request, account, body):
    mode, wanted = body.get("mode"), body.get("exchangeTokens")
    if mode not in ("LTP", "OHLC", "FULL"):
        return fail("Invalid mode", "AB2000")
    if not isinstance(wanted, dict) or not all(isinstance(t, list) for t in wanted.values()):
        return fail("Invalid exchangeTokens", "AB2000")
    if sum(len(tokens) for tokens in wanted.values()) > 50:
        return fail("Maximum 50 tokens allowed in one request", "AB2000")
    fetched, unfetched = [], []
    for exchange, tokens in wanted.items():
        for token in map(str, tokens):
            security = security_of(exchange, token)
            if security:
                fetched.append(quote_row(security, exchange, token, mode))
                continue
            message, code = ("Symbol Not Found", "AB1009") if token else ("", "AB4018")
            unfetched.append(
                {
                    "exchange": exchange,
                    "symbolToken": token,
                    "message": message or "Symbol token cannot be empty",
                    "errorCode": code,
                }
            )
    return ok({"fetched": fetched, "unfetched": unfetched})


@csrf_exempt
def scrip_master(request):
    # §4 Instrument master: one JSON array (not CSV), strings throughout, tick size in paise,
    # strike x100 (-1 for cash), no ISIN column; NSE symbols carry "-EQ", BSE ones do not.
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    rows = []
    for security in universe.SECURITIES.values():
        for exchange in ("NSE", "BSE"):
            symbol, token = listing(security, exchange)
            rows.append(
                {
                    "token": token,
                    "symbol": symbol,
                    "name": security.symbol,
                    "expiry": "",
                    "strike": "-1.000000",
                    "lotsize": str(security.lot_size),
                    "instrumenttype": "",
                    "exch_seg": exchange,
                    "tick_size": f"{security.tick_size * 100:.6f}",
                }
            )
    return JsonResponse(rows, safe=False)
