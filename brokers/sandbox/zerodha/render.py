"""Kite's wire shapes: envelopes, error bodies, and the demo market as Kite writes it (§4, §5)."""

from __future__ import annotations

import csv
import hashlib
import io
import string
import time
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from django.core.cache import cache
from django.http import JsonResponse

from brokers.clock import IST
from brokers.sandbox import demo, kit, universe, web

BROKER = "zerodha"
APP = demo.DEMO_APPS[BROKER]
EXCHANGES = ("NSE", "BSE", "NFO", "BFO", "CDS", "BCD", "MCX")
VARIETIES = ("regular", "amo", "co", "iceberg", "auction")
PRODUCTS = ("CNC", "MIS", "NRML", "MTF")
ORDER_TYPES = ("MARKET", "LIMIT", "SL", "SL-M")
VALIDITIES = ("DAY", "IOC", "TTL")
LIVE = ("OPEN", "TRIGGER PENDING")
FINAL = ("COMPLETE", "CANCELLED", "REJECTED")
MAX_MODIFICATIONS = 25  # §5: then cancel and place again
QUOTE_LIMITS = {"quote": 500, "quote/ohlc": 1000, "quote/ltp": 1000}  # docs/brokers/zerodha.md §4
TAG_MAX = 20  # docs/brokers/zerodha.md §6
# docs/brokers/zerodha.md §6: the docs say alphanumeric; the official mocks show spaces, and Kite
# staff say "@" is whitelisted. Anything else is refused here, the stricter reading.
TAG_CHARACTERS = frozenset(string.ascii_letters + string.digits + " @")
UTILISED = (  # noqa: SIM905 - the §4 field list as the notes write it
    "debits exposure m2m_realised m2m_unrealised option_premium payout span holding_sales "
    "turnover liquid_collateral stock_collateral delivery"
).split()
CSV_COLUMNS = (
    "instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,strike,"
    "tick_size,lot_size,instrument_type,segment,exchange"
)


# --- Envelopes and errors (§5) ---------------------------------------------------------------
def ok(data) -> JsonResponse:
    return JsonResponse({"status": "success", "data": data}, safe=False)


def fail(message: str, error_type: str, status: int) -> JsonResponse:
    body = {"status": "error", "message": message, "data": None, "error_type": error_type}
    return JsonResponse(body, status=status)


def bad_input(message: str) -> JsonResponse:
    return fail(message, "InputException", 400)


class Errors(kit.ErrorBodies):
    # docs/brokers/zerodha.md §5 lists 404 and 405 among Kite's HTTP codes; the message words are
    # UNCONFIRMED.
    def not_found(self):
        return fail("Route not found", "GeneralException", 404)

    def method_not_allowed(self):
        return fail("Method not allowed", "GeneralException", 405)

    def token_invalid(self):
        return fail("Incorrect `api_key` or `access_token`.", "TokenException", 403)

    def rate_limited(self):  # §5: 429 is a NetworkException, like an OMS outage
        return fail("Too many requests", "NetworkException", 429)

    def server_error(self):
        return fail("Something went wrong. Please try again.", "GeneralException", 500)

    def unavailable(self):
        return fail("Could not reach the OMS. Please try again.", "NetworkException", 503)


ERRORS = Errors()


def kite_token(security: universe.Security, exchange: str) -> int:
    return security.kite_bse_token if exchange == "BSE" else security.kite_token


def profile_data(account: universe.DemoAccount) -> dict:
    return {
        "user_id": account.account_id,
        "user_type": "individual",
        "email": account.email,
        "user_name": account.name,
        "user_shortname": account.name.split()[0],
        "broker": "ZERODHA",
        "exchanges": ["NSE", "NFO", "BFO", "CDS", "BSE", "MCX", "BCD", "MF"],
        "products": ["CNC", "NRML", "MIS", "BO", "CO"],
        "order_types": ["MARKET", "LIMIT", "SL", "SL-M"],
        "avatar_url": None,
        "meta": {"demat_consent": "physical"},
    }


def margin_segment(ledger: kit.Ledger) -> dict:
    """docs/brokers/zerodha.md §4 funds: "net" is what is left to trade with; "debits" what fills
    and open buys use."""
    utilised = dict.fromkeys(UTILISED, 0) | {
        "debits": web.number(ledger.used),
        "holding_sales": web.number(ledger.sold),
    }
    available = {
        "adhoc_margin": 0,
        "cash": web.number(ledger.opening),
        "opening_balance": web.number(ledger.opening),
        "live_balance": web.number(ledger.available),
        "collateral": 0,
        "intraday_payin": 0,
    }
    net = web.number(ledger.available)
    return {"enabled": True, "net": net, "available": available, "utilised": utilised}


def holding_rows(account: universe.DemoAccount) -> list[dict]:
    rows = []
    for held in account.holdings:
        s = universe.SECURITIES[held.symbol]
        qty, avg, last, close = held.quantity, held.average_price, s.last_price, s.close_price
        zero_mtf = dict.fromkeys(("quantity", "used_quantity", "average_price", "value"), 0)
        rows.append(
            {
                "tradingsymbol": s.symbol,
                "exchange": held.exchange,
                "instrument_token": kite_token(s, held.exchange),
                "isin": s.isin,
                "product": "CNC",
                "price": 0,
                "quantity": qty,
                "used_quantity": 0,
                "t1_quantity": 0,
                "realised_quantity": qty,
                "authorised_quantity": 0,
                "authorised_date": datetime.now(IST).strftime("%Y-%m-%d 00:00:00"),
                "authorisation": {},
                "opening_quantity": qty,
                "short_quantity": 0,
                "collateral_quantity": 0,
                "collateral_type": "",
                "discrepancy": False,
                "average_price": web.number(avg),
                "last_price": web.number(last),
                "close_price": web.number(close),
                "pnl": web.number((last - avg) * qty),
                "day_change": web.number(last - close),
                "day_change_percentage": web.number(round((last - close) / close * 100, 4)),
                "mtf": {**zero_mtf, "initial_margin": 0},
            }
        )
    return rows


def position_row(key: tuple[str, str, str], leg: kit.Leg) -> dict:
    symbol, exchange, product = key
    s = universe.SECURITIES[symbol]
    buy_qty, buy_value, buy_price = leg.bought, leg.paid, leg.buy_price
    sell_qty, sell_value, sell_price = leg.sold, leg.got, leg.sell_price
    net, average, realised = leg.net, leg.average, leg.realised
    unrealised = leg.unrealised(s.last_price)
    cents = Decimal("0.01")
    row = {
        "tradingsymbol": s.symbol,
        "exchange": exchange,
        "instrument_token": kite_token(s, exchange),
        "product": product,
        "quantity": int(net),
        "overnight_quantity": 0,
        "multiplier": 1,
        "average_price": web.number(average.quantize(cents)),
        "close_price": web.number(s.close_price),
        "last_price": web.number(s.last_price),
        "value": web.number((sell_value - buy_value).quantize(cents)),
        "pnl": web.number((realised + unrealised).quantize(cents)),
        "m2m": web.number((realised + unrealised).quantize(cents)),
        "unrealised": web.number(unrealised.quantize(cents)),
        "realised": web.number(realised.quantize(cents)),
    }
    for prefix in ("", "day_"):
        row |= {
            f"{prefix}buy_quantity": int(buy_qty),
            f"{prefix}buy_price": web.number(buy_price.quantize(cents)),
            f"{prefix}buy_value": web.number(buy_value.quantize(cents)),
            f"{prefix}sell_quantity": int(sell_qty),
            f"{prefix}sell_price": web.number(sell_price.quantize(cents)),
            f"{prefix}sell_value": web.number(sell_value.quantize(cents)),
        }
    row |= {"buy_m2m": row["buy_value"], "sell_m2m": row["sell_value"]}
    return row


# --- Orders (§4, §6) ---------------------------------------------------------------------------
def modifications_key(order_id: str) -> str:
    return f"sbx:{BROKER}:modifications:{order_id}"


def tag_allowed(tag: str) -> bool:
    return len(tag) <= TAG_MAX and set(tag) <= TAG_CHARACTERS


def rms_message(refusal: kit.Shortfall, account_id: str) -> tuple[str, str]:
    """A rejection in Kite's words and the OMS's raw ones (the official mocks' orders.json)."""
    if refusal.kind == "holdings":
        return "Insufficient holdings to sell. Check your holdings.", ""
    required, available = f"{refusal.required:.2f}", f"{refusal.available:.2f}"
    return (
        f"Insufficient funds. Required margin is {required} but available margin is "
        f"{available}. Check the orderbook for open orders.",
        f"RMS:Margin Exceeds,Required:{required}, Available:{available} for entity "
        f"account-{account_id} across exchange across segment across product ",
    )


def order_row(order: kit.SandboxOrder) -> dict:
    s = universe.SECURITIES[order.symbol]
    live = order.status in LIVE
    done = order.status == "COMPLETE"
    sent = order.status not in ("REJECTED", *HISTORY_BEFORE_EXCHANGE)
    tags = {"tags": [order.tag]} if order.tag else {}  # the mocks: only tagged orders carry it
    return {
        "placed_by": order.account,
        "order_id": order.order_id,
        "exchange_order_id": "13" + order.order_id[-14:] if sent else None,
        "parent_order_id": None,
        "status": order.status,
        "status_message": order.status_message or None,
        "status_message_raw": order.status_raw or order.status_message or None,
        "order_timestamp": web.ist_stamp(order.placed_at),
        "exchange_update_timestamp": web.ist_stamp(order.updated_at) if sent else None,
        "exchange_timestamp": web.ist_stamp(order.updated_at) if done else None,
        "variety": "regular",
        "modified": bool(cache.get(modifications_key(order.order_id))),
        "exchange": order.exchange,
        "tradingsymbol": order.symbol,
        "instrument_token": kite_token(s, order.exchange),
        "order_type": order.order_type,
        "transaction_type": order.side,
        "validity": order.validity,
        "product": order.product,
        "quantity": order.quantity,
        "disclosed_quantity": 0,
        "price": web.number(Decimal(order.price)),
        "trigger_price": web.number(Decimal(order.trigger_price)),
        "average_price": web.number(Decimal(order.average_price)),
        "filled_quantity": order.filled_quantity,
        "pending_quantity": order.quantity - order.filled_quantity if live else 0,
        "cancelled_quantity": (
            order.quantity - order.filled_quantity if order.status == "CANCELLED" else 0
        ),
        "market_protection": -1 if order.order_type in ("MARKET", "SL-M") else 0,
        "meta": {},
        "tag": order.tag or None,
        **tags,
        "guid": order.order_id[-8:] + "Sbx",
    }


# The history's first steps, before the order reaches the exchange (no exchange id yet).
HISTORY_BEFORE_EXCHANGE = ("PUT ORDER REQ RECEIVED", "VALIDATION PENDING", "OPEN PENDING")


def history_row(order: kit.SandboxOrder, status: str, at: float) -> dict:
    """One step of docs/brokers/zerodha.md §4's order history: the order as it stood, stamped with
    that step's time."""
    filled = order.filled_quantity if status == "COMPLETE" else 0
    step = replace(
        order,
        status=status,
        filled_quantity=filled,
        average_price=order.average_price if filled else "0",
        status_message=order.status_message if status == "REJECTED" else "",
        status_raw=order.status_raw if status == "REJECTED" else "",
        updated_at=at,
    )
    row = order_row(step)
    row["pending_quantity"] = order.quantity - filled if status not in FINAL else 0
    return row


def trade_row(order: kit.SandboxOrder) -> dict:
    s = universe.SECURITIES[order.symbol]
    return {
        "trade_id": str(int(order.order_id) % 10**8).zfill(8),
        "order_id": order.order_id,
        "exchange": order.exchange,
        "tradingsymbol": order.symbol,
        "instrument_token": kite_token(s, order.exchange),
        "product": order.product,
        "average_price": web.number(Decimal(order.average_price)),
        "quantity": order.filled_quantity,
        "exchange_order_id": "13" + order.order_id[-14:],
        "transaction_type": order.side,
        "fill_timestamp": web.ist_stamp(order.updated_at),
        "order_timestamp": web.ist_stamp(order.placed_at)[11:],  # §8.14: time only
        "exchange_timestamp": web.ist_stamp(order.updated_at),
    }


def quote_data(kind: str, s: universe.Security, exchange: str) -> dict:
    item = {"instrument_token": kite_token(s, exchange), "last_price": web.number(s.last_price)}
    if kind == "quote/ltp":
        return item
    ohlc = {
        "open": web.number(s.close_price),
        "high": web.number(max(s.last_price, s.close_price)),
        "low": web.number(min(s.last_price, s.close_price)),
        "close": web.number(s.close_price),  # the previous session's close
    }
    if kind == "quote/ohlc":
        return {**item, "ohlc": ohlc}
    return full_quote(s, item, ohlc)


def full_quote(s: universe.Security, item: dict, ohlc: dict) -> dict:
    """docs/brokers/zerodha.md §4 Quote item: the still demo market, one resting order a tick either
    side."""
    now = web.ist_stamp(time.time())
    tick = s.tick_size
    level = {"price": 0, "quantity": 0, "orders": 0}
    bid = {"price": web.number(s.last_price - tick), "quantity": 100, "orders": 1}
    ask = {"price": web.number(s.last_price + tick), "quantity": 100, "orders": 1}
    band = (s.close_price * Decimal("0.2")).quantize(tick)
    return {
        "instrument_token": item["instrument_token"],
        "timestamp": now,
        "last_trade_time": now,
        "last_price": item["last_price"],
        "last_quantity": 1,
        "buy_quantity": 100,
        "sell_quantity": 100,
        "volume": 0,
        "average_price": item["last_price"],
        "oi": 0,
        "oi_day_high": 0,
        "oi_day_low": 0,
        "net_change": web.number(s.last_price - s.close_price),
        "lower_circuit_limit": web.number(s.close_price - band),
        "upper_circuit_limit": web.number(s.close_price + band),
        "ohlc": ohlc,
        "depth": {"buy": [bid] + [level] * 4, "sell": [ask] + [level] * 4},
    }


def instrument_csv(exchange: str | None) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS.split(","))
    for s in universe.SECURITIES.values():
        for listing in universe.LISTINGS:
            if exchange and exchange != listing:
                continue
            token = kite_token(s, listing)
            row = [token, token >> 8, s.symbol, s.name, s.close_price, "", 0, s.tick_size]
            writer.writerow([*row, s.lot_size, "EQ", listing, listing])
    return out.getvalue()


def postback_body(order: kit.SandboxOrder) -> dict:
    """Kite's postback (Postback (WebHooks) in the Kite Connect docs): the order item with
    user_id, app_id, unfilled_quantity and checksum = SHA-256(order_id + order_timestamp +
    api_secret), hex."""
    row = order_row(order)
    stamp = row["order_timestamp"]
    checksum = hashlib.sha256(f"{order.order_id}{stamp}{APP['api_secret']}".encode()).hexdigest()
    return {
        "user_id": order.account,
        "unfilled_quantity": row["pending_quantity"],
        "app_id": 1234,
        "checksum": checksum,
        **row,
    }


kit.register_postback(BROKER, postback_body)
