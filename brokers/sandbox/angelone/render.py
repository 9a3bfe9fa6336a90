"""Angel One's wire shapes (§4, §5, §6): envelopes, error bodies, and the demo market as
SmartAPI writes it (strings for most numbers, `SBIN-EQ` + token 3045 for a listing)."""

from __future__ import annotations

import time
import uuid
from decimal import Decimal

from django.http import HttpResponse, JsonResponse

from brokers.sandbox import kit, universe, web
from brokers.sandbox.demo import DEMO_APPS

BROKER = "angelone"
DEMO = DEMO_APPS[BROKER]
SECURE = "rest/secure/angelbroking/"


# §3: sent on every call; values are not validated, presence is.
CLIENT_HEADERS = ("X-SourceID", "X-ClientLocalIP", "X-ClientPublicIP", "X-MACAddress")
VARIETIES = {"NORMAL", "STOPLOSS", "ROBO", "AMO"}
PRODUCTS = {"DELIVERY", "INTRADAY", "CARRYFORWARD", "MARGIN", "BO"}
KITE_PRODUCTS = {"CNC": "DELIVERY", "MIS": "INTRADAY", "NRML": "CARRYFORWARD"}  # the universe's
TAG_MAX = 20  # docs/brokers/angelone.md §5 AB4008, §8.13


# Angel's order types ↔ the kit's vocabulary.
ORDER_TYPES = {
    "MARKET": "MARKET",
    "LIMIT": "LIMIT",
    "STOPLOSS_LIMIT": "SL",
    "STOPLOSS_MARKET": "SL-M",
}
ORDER_TYPE_WORDS = {ours: theirs for theirs, ours in ORDER_TYPES.items()}
RMS_FIELDS = (  # noqa: SIM905 - the field list as §4 prints it
    "net availablecash availableintradaypayin availablelimitmargin collateral m2munrealized "
    "m2mrealized utiliseddebits utilisedspan utilisedoptionpremium utilisedholdingsales "
    "utilisedexposure utilisedturnover utilisedpayout"
).split()


# --- Envelopes (§5) ----------------------------------------------------------------------------
def ok(data) -> JsonResponse:
    return JsonResponse({"status": True, "message": "SUCCESS", "errorcode": "", "data": data})


def fail(message: str, code: str, status: int = 200) -> JsonResponse:
    # §5: refusals arrive with HTTP 200 and status false.
    body = {"status": False, "message": message, "errorcode": code, "data": None}
    return JsonResponse(body, status=status)


def gateway(message: str, code: str) -> JsonResponse:
    # §5: the gateway's token errors spell the envelope differently (success / errorCode).
    body = {"success": False, "message": message, "errorCode": code, "data": ""}
    return JsonResponse(body, status=403)


class Errors(kit.ErrorBodies):
    # No recorded answer for an unknown path or method: docs/brokers/angelone.md §5's failure
    # envelope, AB2000 ("Error not specified"), with the HTTP status (UNCONFIRMED).
    def not_found(self) -> HttpResponse:
        return fail("Not Found", "AB2000", status=404)

    def method_not_allowed(self) -> HttpResponse:
        return fail("Method Not Allowed", "AB2000", status=405)

    def token_invalid(self) -> HttpResponse:
        return gateway("Invalid Token", "AG8001")

    def rate_limited(self) -> HttpResponse:
        # §5/§8.5: plain text, HTTP 403, not JSON.
        return HttpResponse(
            "Access denied because of exceeding access rate", status=403, content_type="text/plain"
        )

    def server_error(self) -> HttpResponse:
        return fail("Internal Error, Please try after sometime", "AB2001", status=500)

    # unavailable(): the gateway's HTML 503, the kit's default.


ERRORS = Errors()


def holding_row(holding) -> dict:
    security = universe.SECURITIES[holding.symbol]
    symbol, token = listing(security, holding.exchange)
    invested = holding.average_price * holding.quantity
    pnl = (security.last_price - holding.average_price) * holding.quantity
    # §4/§8.2: holdings carry JSON numbers (not strings); P&L comes rounded.
    return {
        "tradingsymbol": symbol,
        "exchange": holding.exchange,
        "isin": security.isin,
        "t1quantity": 0,
        "realisedquantity": holding.quantity,
        "quantity": holding.quantity,
        "authorisedquantity": 0,
        "product": "DELIVERY",
        "collateralquantity": None,
        "collateraltype": None,
        "haircut": 0,
        "averageprice": float(holding.average_price),
        "ltp": float(security.last_price),
        "symboltoken": token,
        "close": float(security.close_price),
        "profitandloss": round(float(pnl)),
        "pnlpercentage": round(float(pnl / invested * 100), 2) if invested else 0,
    }


def order_row(order: kit.SandboxOrder) -> dict:
    tradingsymbol, token = listing(universe.SECURITIES[order.symbol], order.exchange)
    status = order.status.lower()
    unfilled = order.quantity - order.filled_quantity
    zero = dict.fromkeys(("disclosedquantity", "squareoff", "stoploss", "trailingstoploss"), "0")
    return zero | {
        "variety": "STOPLOSS" if order.order_type.startswith("SL") else "NORMAL",
        "ordertype": ORDER_TYPE_WORDS[order.order_type],
        "producttype": order.product,
        "duration": order.validity,
        "price": money(Decimal(order.price)),
        "triggerprice": money(Decimal(order.trigger_price)),
        "quantity": str(order.quantity),
        "tradingsymbol": tradingsymbol,
        "transactiontype": order.side,
        "exchange": order.exchange,
        "symboltoken": token,
        "ordertag": order.tag,
        "instrumenttype": "",
        "strikeprice": "-1",
        "optiontype": "",
        "expirydate": "",
        "lotsize": "1",
        "cancelsize": str(unfilled) if status == "cancelled" else "0",
        "averageprice": money(Decimal(order.average_price)),
        "filledshares": str(order.filled_quantity),
        "unfilledshares": str(unfilled),
        "orderid": order.order_id,
        "text": order.status_message,
        "status": status,
        "orderstatus": status,
        "updatetime": stamp(order.updated_at, "%d-%b-%Y %H:%M:%S"),
        "exchtime": stamp(order.placed_at, "%d-%b-%Y %H:%M:%S"),
        "exchorderupdatetime": stamp(order.updated_at, "%d-%b-%Y %H:%M:%S"),
        "fillid": "",
        "filltime": "",
        "parentorderid": "",
        "uniqueorderid": unique_id(order.order_id),
        "exchangeorderid": "1100000" + order.order_id[-9:],
    }


def quote_row(security, exchange: str, token: str, mode: str) -> dict:
    # §8.10: camelCase here; prices are JSON numbers; "close" is the previous session's close.
    last, close = security.last_price, security.close_price
    row = {
        "exchange": exchange,
        "tradingSymbol": listing(security, exchange)[0],
        "symbolToken": token,
        "ltp": float(last),
    }
    if mode in ("OHLC", "FULL"):
        row |= {
            "open": float(close),
            "high": float(max(last, close)),
            "low": float(min(last, close)),
            "close": float(close),
        }
    if mode == "FULL":
        row |= {
            "lastTradeQty": 1,
            "exchFeedTime": stamp(time.time(), "%d-%b-%Y %H:%M:%S"),
            "exchTradeTime": stamp(time.time(), "%d-%b-%Y %H:%M:%S"),
            "netChange": float(last - close),
            "percentChange": round(float((last - close) / close * 100), 2),
            "avgPrice": float(last),
            "tradeVolume": 0,
            "opnInterest": 0,
            "lowerCircuit": float((close * Decimal("0.8")).quantize(Decimal("0.05"))),
            "upperCircuit": float((close * Decimal("1.2")).quantize(Decimal("0.05"))),
            "totBuyQuan": 0,
            "totSellQuan": 0,
            "52WeekLow": float(min(last, close)),
            "52WeekHigh": float(max(last, close)),
            "depth": {"buy": [], "sell": []},
        }
    return row


# --- Helpers -----------------------------------------------------------------------------------
def listing(security, exchange: str) -> tuple[str, str]:
    """Angel's (tradingsymbol, symboltoken) for a listing (§6): NSE symbols carry "-EQ"."""
    symbol = security.symbol if exchange == "BSE" else f"{security.symbol}-EQ"
    return symbol, security.exchange_token(exchange)


def security_of(exchange, token, tradingsymbol: str | None = None):
    security = universe.by_exchange_token(exchange, token) if token else None
    if security and tradingsymbol is not None and listing(security, exchange)[0] != tradingsymbol:
        return None  # §6: the symbol must still match the master
    return security


def rejection_text(refusal: kit.Shortfall) -> str:
    """The RMS's reason in the order book's ``text`` (wording UNCONFIRMED)."""
    if refusal.kind == "holdings":
        return "Your order has been rejected due to insufficient holdings."
    return (
        f"Your order has been rejected due to Insufficient Funds. Available funds - Rs. "
        f"{refusal.available:.2f} . You require Rs. {refusal.required:.2f} funds to execute "
        "this order."
    )


def ltp_row(security, exchange: str) -> dict:
    """getLtpData's data: every number a string (docs/brokers/angelone.md §8.2); "close" is the
    previous close."""
    symbol, token = listing(security, exchange)
    last, close = security.last_price, security.close_price
    return {
        "exchange": exchange,
        "tradingsymbol": symbol,
        "symboltoken": token,
        "open": money(close),
        "high": money(max(last, close)),
        "low": money(min(last, close)),
        "close": money(close),
        "ltp": money(last),
    }


def filled(account) -> list[kit.SandboxOrder]:
    orders = kit.orders(BROKER, account.account_id)
    return [o for o in orders if o.status == "COMPLETE" and o.filled_quantity]


def positive(value, *, whole: bool = False) -> bool:
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        return False
    return number.is_finite() and number > 0 and (not whole or number == number.to_integral())


def money(value: Decimal) -> str:
    return f"{Decimal(value):.2f}"


def stamp(epoch: float, layout: str) -> str:
    return web.ist_stamp(epoch, layout) if epoch else ""


def unique_id(order_id: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"angelone:{order_id}"))  # §8.13: a UUID


def position_rows(account) -> list[dict]:
    # Today's fills, netted per instrument and product; every number a string (§4).
    rows = []
    book = kit.day_book(BROKER, account, product=KITE_PRODUCTS.get)
    for (symbol, exchange, product), leg in book.items():
        security = universe.SECURITIES[symbol]
        tradingsymbol, token = listing(security, exchange)
        buy_qty, sell_qty, buy_amount, sell_amount = leg.bought, leg.sold, leg.paid, leg.got
        buy_avg, sell_avg, net, net_price = leg.buy_price, leg.sell_price, leg.net, leg.average
        net_value = sell_amount - buy_amount
        pnl = leg.realised + leg.unrealised(security.last_price)
        row = dict.fromkeys(("cfbuyqty", "cfsellqty", "cfbuyamount", "cfsellamount"), "0")
        row |= dict.fromkeys(("cfbuyavgprice", "cfsellavgprice"), "0")
        row |= dict.fromkeys(("priceden", "pricenum", "genden", "gennum"), "1.00")
        row |= {
            "exchange": exchange,
            "symboltoken": token,
            "producttype": product,
            "tradingsymbol": tradingsymbol,
            "symbolname": symbol,
            "instrumenttype": "",
            "precision": "2",
            "multiplier": "-1",
            "boardlotsize": str(security.lot_size),
            "buyqty": str(buy_qty),
            "sellqty": str(sell_qty),
            "buyamount": money(buy_amount),
            "sellamount": money(sell_amount),
            "symbolgroup": "EQ",
            "strikeprice": "-1",
            "optiontype": "",
            "expirydate": "",
            "lotsize": str(security.lot_size),
            "buyavgprice": money(buy_avg),
            "sellavgprice": money(sell_avg),
            "avgnetprice": money(net_price),
            # The live API writes a negative netvalue with a space: "- 2235.80" (sample).
            "netvalue": money(net_value) if net_value >= 0 else f"- {money(-net_value)}",
            "netqty": str(net),
            "totalbuyvalue": money(buy_amount),
            "totalsellvalue": money(sell_amount),
            "totalbuyavgprice": money(buy_avg),
            "totalsellavgprice": money(sell_avg),
            "netprice": money(net_price),
            "ltp": money(security.last_price),
            "pnl": money(pnl),
        }
        rows.append(row)
    return rows
