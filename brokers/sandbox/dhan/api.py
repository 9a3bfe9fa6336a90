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
    data_error,
    input_error,
    ist,
    number,
    order_error,
    order_row,
    security_id_of,
    security_of,
    status_word,
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


def _available(account) -> float:
    return number(account.cash - kit.open_buys_value(BROKER, account.account_id))


@api("GET")
def fund_limit(request, account):
    available = _available(account)
    blocked = number(account.cash) - available
    return JsonResponse(  # the misspellings are Dhan's (§8.3)
        {
            "dhanClientId": account.account_id,
            "availabelBalance": available,
            "sodLimit": number(account.cash),
            "collateralAmount": 0.0,
            "receiveableAmount": 0.0,
            "utilizedAmount": blocked,
            "blockedPayoutAmount": 0.0,
            "withdrawableBalance": available,
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
    rows = []
    for p in account.positions:
        security = universe.SECURITIES[p.symbol]
        segment = "BSE_EQ" if p.exchange == "BSE" else "NSE_EQ"
        net = p.buy_quantity - p.sell_quantity
        buy_value, sell_value = p.buy_price * p.buy_quantity, p.sell_price * p.sell_quantity
        matched = min(p.buy_quantity, p.sell_quantity)
        rows.append(
            {
                "dhanClientId": account.account_id,
                "tradingSymbol": security.symbol,
                "securityId": security_id_of(security, segment),
                "positionType": "LONG" if net > 0 else "SHORT" if net < 0 else "CLOSED",
                "exchangeSegment": segment,
                "productType": PRODUCTS[p.product],
                "buyAvg": number(p.buy_price),
                "costPrice": number(p.buy_price if net > 0 else p.sell_price if net < 0 else 0),
                "buyQty": p.buy_quantity,
                "sellAvg": number(p.sell_price),
                "sellQty": p.sell_quantity,
                "netQty": net,
                "realizedProfit": number((p.sell_price - p.buy_price) * matched),
                "unrealizedProfit": number(
                    (security.last_price - (p.buy_price if net > 0 else p.sell_price)) * net
                ),
                "rbiReferenceRate": 1.0,
                "multiplier": 1,
                **dict.fromkeys(("carryForwardBuyQty", "carryForwardSellQty"), 0),
                **dict.fromkeys(("carryForwardBuyValue", "carryForwardSellValue"), 0.0),
                "dayBuyQty": p.buy_quantity,
                "daySellQty": p.sell_quantity,
                "dayBuyValue": number(buy_value),
                "daySellValue": number(sell_value),
                "drvExpiryDate": "0001-01-01",
                "drvOptionType": None,
                "drvStrikePrice": 0.0,
                "crossCurrency": False,
            }
        )
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
    if len(tag) > 25:
        return input_error("correlationId can be at most 25 characters")
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
        exchange=body["exchangeSegment"],
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
    value = (Decimal(order.price) or security.last_price) * order.quantity
    if order.side == "BUY" and value > Decimal(str(_available(account))):
        order.status, order.status_message = "REJECTED", "Insufficient funds (RMS)"
    kit.save_order(BROKER, order)
    if kit.order_reply_lost(BROKER, account.account_id):
        return kit.lost_reply()
    return JsonResponse({"orderId": order.order_id, "orderStatus": "TRANSIT"})


@api("GET", "POST")
def orders(request, account):
    if request.method == "POST":
        return _place(request, account)
    book = kit.orders(BROKER, account.account_id)
    return JsonResponse([order_row(o, account.account_id) for o in book], safe=False)


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
    order = kit.find_order(BROKER, account.account_id, order_id)
    if order is None:
        return order_error("Order not found")
    if request.method == "GET":
        return JsonResponse(order_row(order, account.account_id))
    if order.status != "OPEN":
        return order_error(f"Order is {status_word(order)} and cannot be changed")
    if request.method == "PUT":
        return _modify(request, account, order)
    order.status = "CANCELLED"
    kit.save_order(BROKER, order)
    return JsonResponse({"orderId": order.order_id, "orderStatus": "CANCELLED"})


@api("GET")
def trades(request, account):
    rows = []
    for order in kit.orders(BROKER, account.account_id):
        if not order.filled_quantity:
            continue
        row = order_row(order, account.account_id)
        rows.append(
            {
                **{k: row[k] for k in ("dhanClientId", "orderId", "exchangeOrderId")},
                "exchangeTradeId": f"2{order.order_id[-15:]}",
                **{k: row[k] for k in ("transactionType", "exchangeSegment", "productType")},
                **{k: row[k] for k in ("orderType", "tradingSymbol", "securityId")},
                "customSymbol": universe.SECURITIES[order.symbol].name,
                "tradedQuantity": order.filled_quantity,
                "tradedPrice": number(order.average_price),
                "createTime": ist(order.placed_at),
                "updateTime": ist(order.updated_at),
                "exchangeTime": ist(order.updated_at),
                "drvExpiryDate": "NA",
                "drvOptionType": "NA",
                "drvStrikePrice": 0.0,
            }
        )
    return JsonResponse(rows, safe=False)


# --- Market quotes (§4 LTP / OHLC): enveloped, integer ids in, string keys out ----------------
def market_feed(with_ohlc: bool):
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
                row: dict = {"last_price": number(security.last_price)}
                if with_ohlc:
                    low = min(security.last_price, security.close_price)
                    high = max(security.last_price, security.close_price)
                    row["ohlc"] = {
                        "open": number(security.close_price),
                        "close": number(security.close_price),
                        "high": number(high),
                        "low": number(low),
                    }
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
