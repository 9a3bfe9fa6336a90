"""Fyers' wire shapes (§4 to §6): the {s, code, message} envelope, error bodies, and the demo
market as Fyers writes it (numeric enums, `NSE:SBIN-EQ` tickers, fyTokens)."""

from __future__ import annotations

from datetime import time
from decimal import Decimal

from django.http import JsonResponse

from brokers.clock import now_ist
from brokers.sandbox import kit, universe, web
from brokers.sandbox.demo import DEMO_APPS

BROKER = "fyers"
APPS = {DEMO_APPS[BROKER]["api_key"]: DEMO_APPS[BROKER]}
REFRESH_TTL = 15 * 24 * 3600  # §2: ~15 days (UNCONFIRMED)
ACCESS_CUTOVER = time(6, 0)  # §2: the one decoded sample expires 06:00 IST next day
TYPES = {1: "LIMIT", 2: "MARKET", 3: "SL-M", 4: "SL"}
TYPE_CODES = {v: k for k, v in TYPES.items()}
STATUS_CODES = {"CANCELLED": 1, "COMPLETE": 2, "REJECTED": 5, "OPEN": 6, "TRIGGER PENDING": 6}
PRODUCTS = {"CNC", "INTRADAY", "MARGIN", "MTF", "CO", "BO"}
EXCHANGE_CODES = {"NSE": 10, "BSE": 12}
SERIES = {"NSE": "EQ", "BSE": "A"}  # §6: BSE:SBIN-A, the series suffix is mandatory
KITE_PRODUCTS = {"CNC": "CNC", "MIS": "INTRADAY", "NRML": "MARGIN"}  # the universe's words
D = Decimal
STAMP = "%d-%b-%Y %H:%M:%S"  # orderDateTime, IST (§4)


# --- Envelopes and errors (§5) --------------------------------------------------------------
def ok(status: int = 200, *, code: int = 200, message: str = "", **payload) -> JsonResponse:
    return JsonResponse({"s": "ok", "code": code, "message": message, **payload}, status=status)


def error(code: int, message: str, status: int = 400, **extra) -> JsonResponse:
    return JsonResponse({"s": "error", "code": code, "message": message, **extra}, status=status)


class Errors(kit.ErrorBodies):
    # No recorded answer for an unknown path or method: the error envelope with -50
    # ("invalid parameters") and the HTTP status (UNCONFIRMED).
    def not_found(self):
        return error(-50, "Invalid request: no such API", 404)

    def method_not_allowed(self):
        return error(-50, "Invalid request method", 405)

    def token_invalid(self):
        return error(-16, "Could not authenticate the user", 401)  # F4: every /api/v3 route

    def rate_limited(self):
        response = error(-353, "API Limit exceeded", 429)
        response["Retry-After"] = "1"
        response["X-Retry-After-Ms"] = "1000"
        return response

    def server_error(self):
        return error(-96, "Unexpected error", 500)

    # unavailable(): the gateway's HTML 503, the kit's default.


ERRORS = Errors()


# --- Account and portfolio (§4) -------------------------------------------------------------
def amount(value) -> float:
    """Fyers sends JSON numbers (not strings) for money."""
    return float(D(value).quantize(D("0.01")))


def fy_symbol(symbol: str, exchange: str) -> str:
    return f"{exchange}:{symbol}-{SERIES[exchange]}"


def fy_token(security, exchange: str) -> str:
    code = security.exchange_token(exchange)
    return f"{EXCHANGE_CODES[exchange]}10{int(code):010d}"


def order_row(o, account_id: str, number: int) -> dict:
    security = universe.SECURITIES[o.symbol]
    status = STATUS_CODES[o.status]
    return {
        "clientId": account_id,
        "id": o.order_id,
        "exchOrdId": "" if o.status == "REJECTED" else f"11000000{o.order_id[-8:]}",
        "qty": o.quantity,
        "remainingQuantity": o.quantity - o.filled_quantity,
        "filledQty": o.filled_quantity,
        "discloseQty": 0,
        "limitPrice": amount(o.price),
        "stopPrice": amount(o.trigger_price),
        "tradedPrice": amount(o.average_price),
        "type": TYPE_CODES[o.order_type],
        "fyToken": fy_token(security, o.exchange),
        "exchange": EXCHANGE_CODES[o.exchange],
        "segment": 10,
        "symbol": fy_symbol(o.symbol, o.exchange),
        "instrument": 0,
        "message": o.status_message,
        "offlineOrder": False,
        "orderDateTime": web.ist_stamp(o.placed_at, STAMP),
        "orderValidity": o.validity,
        "pan": "",
        "productType": o.product,
        "side": 1 if o.side == "BUY" else -1,
        "status": status,
        "source": "API",
        "ex_sym": o.symbol,
        "description": security.name,
        "ch": amount(security.last_price - security.close_price),
        "chp": amount((security.last_price - security.close_price) / security.close_price * 100),
        "lp": amount(security.last_price),
        "slNo": number,
        "dqQtyRem": 0,
        "orderNumStatus": f"{o.order_id}:{status}",
        "disclosedQty": 0,
        "orderTag": o.tag,
    }


def depth_row(security, exchange: str) -> dict:
    """docs/brokers/fyers.md §4 Market depth of one symbol (inner fields as clients read them,
    UNCONFIRMED in the docs): the still demo market rests one order a tick either side."""
    last, close, tick = security.last_price, security.close_price, security.tick_size
    empty = {"price": 0, "volume": 0, "ord": 0}
    band = (close * D("0.2")).quantize(tick)
    return {
        "totalbuyqty": 100,
        "totalsellqty": 100,
        "bids": [{"price": amount(last - tick), "volume": 100, "ord": 1}, *[empty] * 4],
        "ask": [{"price": amount(last + tick), "volume": 100, "ord": 1}, *[empty] * 4],
        "o": amount(close),
        "h": amount(max(last, close)),
        "l": amount(min(last, close)),
        "c": amount(close),
        "chp": amount((last - close) / close * 100),
        "tick_Size": float(tick),
        "ch": amount(last - close),
        "ltq": 1,
        "ltt": int(now_ist().timestamp()),
        "ltp": amount(last),
        "v": 0,
        "atp": amount(last),
        "lower_ckt": amount(close - band),
        "upper_ckt": amount(close + band),
        "expiry": "",
        "oi": 0,
        "oiflag": False,
        "pdoi": 0,
        "oipercent": 0.0,
    }


def security_of(fy_symbol):
    """`NSE:RELIANCE-EQ` → (security, "NSE"), or None for anything we do not list."""
    exchange, _, ticker = str(fy_symbol or "").upper().partition(":")
    symbol, _, series = ticker.rpartition("-")
    if exchange not in SERIES or series != SERIES[exchange] or symbol not in universe.SECURITIES:
        return None
    return universe.SECURITIES[symbol], exchange


def master_row(token, name, kind, tick, isin, ticker, exchange, code, underlying) -> list:
    today = now_ist().date().isoformat()
    return [
        token,  # 0 Fytoken
        name,  # 1 symbol details
        kind,  # 2 exchange instrument type
        "1",  # 3 minimum lot size
        str(tick),  # 4 tick size
        isin,  # 5 ISIN
        "0915-1530|1815-1915:",  # 6 trading session
        today,  # 7 last update date
        "",  # 8 expiry (epoch; none for cash)
        ticker,  # 9 symbol ticker, what the API takes
        str(EXCHANGE_CODES[exchange]),  # 10 exchange
        "10",  # 11 segment: capital market
        code,  # 12 scrip code
        underlying,  # 13 underlying symbol
        code,  # 14 underlying scrip code
        "-1.0",  # 15 strike
        "XX",  # 16 option type
        token,  # 17 underlying Fytoken
        "None",  # 18.. reserved
        "0",
        "0.0",
    ]


def master_rows(exchange: str) -> list[list[str]]:
    rows = []
    if exchange == "NSE":
        index = ("101000000026000", "NIFTY 50", "10", "0.05", "", "NSE:NIFTY50-INDEX")
        rows.append(master_row(*index, "NSE", "26000", "NIFTY50"))
    for s in universe.SECURITIES.values():
        code = s.nse_token if exchange == "NSE" else s.bse_code
        ticker = fy_symbol(s.symbol, exchange)
        token = fy_token(s, exchange)
        rows.append(
            master_row(token, s.name, "0", s.tick_size, s.isin, ticker, exchange, code, s.symbol)
        )
    return rows


def holdings_payload(account_id: str) -> dict:
    rows, invested, current = [], D(0), D(0)
    for number, h in enumerate(universe.account(BROKER, account_id).holdings, start=1):  # type: ignore[union-attr]
        security = universe.SECURITIES[h.symbol]
        value, cost = security.last_price * h.quantity, h.average_price * h.quantity
        invested, current = invested + cost, current + value
        rows.append(
            {
                "holdingType": "HLD",
                "quantity": h.quantity,
                "costPrice": amount(h.average_price),
                "marketVal": amount(value),
                "remainingQuantity": h.quantity,
                "pl": amount(value - cost),
                "ltp": amount(security.last_price),
                "id": number,
                "fyToken": fy_token(security, h.exchange),
                "exchange": EXCHANGE_CODES[h.exchange],
                "symbol": fy_symbol(h.symbol, h.exchange),
                "segment": 10,
                "isin": security.isin,
                "qty_t1": 0,
                "remainingPledgeQuantity": h.quantity,
                "collateralQuantity": 0,
            }
        )
    overall = {
        "count_total": len(rows),
        "total_investment": amount(invested),
        "total_current_value": amount(current),
        "total_pl": amount(current - invested),
        "pnl_perc": round(float((current - invested) / invested * 100), 4) if invested else 0.0,
    }
    return {"holdings": rows, "overall": overall}


def positions_payload(account_id: str) -> dict:
    book = kit.day_book(BROKER, universe.account(BROKER, account_id), product=KITE_PRODUCTS.get)
    rows, realized_total, unrealized_total = [], D(0), D(0)
    for number, ((symbol, exchange, product), leg) in enumerate(book.items()):
        (bq, bv), (sq, sv) = (leg.bought, leg.paid), (leg.sold, leg.got)
        security, net = universe.SECURITIES[symbol], leg.net
        buy_avg, sell_avg, net_avg = leg.buy_price, leg.sell_price, leg.average
        realized, unrealized = leg.realised, leg.unrealised(security.last_price)
        realized_total, unrealized_total = realized_total + realized, unrealized_total + unrealized
        ticker = fy_symbol(symbol, exchange)
        rows.append(
            {
                "netQty": net,
                "qty": abs(net),
                "avgPrice": amount(net_avg),
                "netAvg": amount(net_avg),
                "side": (net > 0) - (net < 0),
                "productType": product,
                "realized_profit": amount(realized),
                "unrealized_profit": amount(unrealized),
                "pl": amount(realized + unrealized),
                "ltp": amount(security.last_price),
                "buyQty": bq,
                "buyAvg": amount(buy_avg),
                "buyVal": amount(bv),
                "sellQty": sq,
                "sellAvg": amount(sell_avg),
                "sellVal": amount(sv),
                "slNo": number,
                "fyToken": fy_token(security, exchange),
                "crossCurrency": "N",
                "rbiRefRate": 1.0,
                "qtyMulti_com": 1.0,
                "segment": 10,
                "symbol": ticker,
                "id": f"{ticker}-{product}",
                "cfBuyQty": 0,
                "cfSellQty": 0,
                "dayBuyQty": bq,
                "daySellQty": sq,
                "exchange": EXCHANGE_CODES[exchange],
            }
        )
    overall = {
        "count_total": len(rows),
        "count_open": sum(1 for r in rows if r["netQty"]),
        "pl_total": amount(realized_total + unrealized_total),
        "pl_realized": amount(realized_total),
        "pl_unrealized": amount(unrealized_total),
    }
    return {"netPositions": rows, "overall": overall}
