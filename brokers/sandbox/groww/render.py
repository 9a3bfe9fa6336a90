"""Groww's wire shapes: the SUCCESS/FAILURE envelopes, GA00x error bodies, and the demo market
as Groww writes it (JSON numbers in rupees, OHLC as a string)."""

from __future__ import annotations

import csv
import io
import time
from datetime import time as clock_time
from decimal import Decimal, InvalidOperation

from django.http import JsonResponse

from brokers.sandbox import kit, universe, web
from brokers.sandbox.demo import DEMO_APPS

BROKER = "groww"
APP = DEMO_APPS[BROKER]
TOTP_SECRET = APP["totp_secret"]  # the demo TOTP key's secret, published with the sandbox
TIMESTAMP_WINDOW = 600  # seconds a checksum's timestamp stays acceptable ("about 10 minutes")
TOKEN_DIES = clock_time(6, 0)
ORDER_TYPES = {"MARKET": "MARKET", "LIMIT": "LIMIT", "SL": "SL", "SL_M": "SL-M"}  # wire → kit
WIRE_ORDER_TYPES = {kit_word: wire for wire, kit_word in ORDER_TYPES.items()}


# kit's order states in Groww's words (Annexures: order_status).
WIRE_STATUS = {
    "OPEN": "APPROVED",
    "TRIGGER PENDING": "TRIGGER_PENDING",
    "COMPLETE": "EXECUTED",
    "CANCELLED": "CANCELLED",
    "REJECTED": "REJECTED",
}
FINAL = {"COMPLETE", "CANCELLED", "REJECTED"}
PRODUCTS = {"CASH": {"CNC", "MIS", "MTF"}, "FNO": {"NRML", "MIS"}}
SEGMENTS = {"CASH", "FNO", "COMMODITY"}
MASTER_HEADER = (
    "exchange", "exchange_token", "trading_symbol", "groww_symbol", "name", "instrument_type",
    "segment", "series", "isin", "underlying_symbol", "underlying_exchange_token", "expiry_date",
    "strike_price", "lot_size", "tick_size", "freeze_quantity", "is_reserved", "buy_allowed",
    "sell_allowed",
)  # fmt: skip


# --- Envelopes and errors (Introduction, Annexures: GA000-GA007) ---------------------------------
def success(payload) -> JsonResponse:
    return JsonResponse({"status": "SUCCESS", "payload": payload})


def failure(code: str, message: str, status: int, **extra) -> JsonResponse:
    error = {"code": code, "message": message, **extra, "metadata": None}
    return JsonResponse({"status": "FAILURE", "error": error}, status=status)


def bad(message: str) -> JsonResponse:
    return failure("GA001", message, 400)


def token_failure(code: str, message: str, status: int) -> JsonResponse:
    # The SDK reads error.displayMessage from the token endpoint's 400s.
    return failure(code, message, status, displayMessage=message)


class Errors(kit.ErrorBodies):
    # Unknown path: GA004 with the HTTP 404 the SDK maps to its NotFound exception; a wrong
    # method: GA001 "Bad request" (both bodies UNCONFIRMED).
    def not_found(self):
        return failure("GA004", "Requested entity does not exist", 404)

    def method_not_allowed(self):
        return failure("GA001", "Bad request", 405)

    def token_invalid(self):
        return failure("GA005", "User not authorised to perform this operation", 401)

    def rate_limited(self):
        return failure("GA003", "Rate limit exceeded. Please try after some time.", 429)

    def server_error(self):
        return failure("GA000", "Internal error occurred", 500)

    def unavailable(self):
        return failure("GA003", "Unable to serve request currently", 503)


ERRORS = Errors()


def order_row(o: kit.SandboxOrder) -> dict:
    created = ist(o.placed_at)
    return {
        "groww_order_id": o.order_id,
        "trading_symbol": o.symbol,
        "order_status": WIRE_STATUS.get(o.status, o.status),
        "remark": o.status_message,
        "quantity": o.quantity,
        "price": number(Decimal(o.price or 0)),
        "trigger_price": number(Decimal(o.trigger_price or 0)),
        "filled_quantity": o.filled_quantity,
        "remaining_quantity": o.quantity - o.filled_quantity,
        "average_fill_price": number(Decimal(o.average_price or 0)),
        "deliverable_quantity": o.filled_quantity if o.product == "CNC" else 0,
        "amo_status": "NA",
        "validity": o.validity,
        "exchange": o.exchange,
        "order_type": WIRE_ORDER_TYPES.get(o.order_type, o.order_type),
        "transaction_type": o.side,
        "segment": "CASH",
        "product": o.product,
        "created_at": created,
        "exchange_time": created,
        "trade_date": created[:10] + "T00:00:00",
        "order_reference_id": o.tag,
    }


def status_payload(o: kit.SandboxOrder) -> dict:
    """The order status answer: the detail's status fields only (exact set UNCONFIRMED)."""
    row = order_row(o)
    keys = ("groww_order_id", "order_status", "remark", "filled_quantity", "order_reference_id")
    return {key: row[key] for key in keys}


def rejection_remark(refusal: kit.Shortfall) -> str:
    """The remark of an order the RMS refused (wording UNCONFIRMED)."""
    if refusal.kind == "holdings":
        return f"Insufficient holdings: {refusal.available:.0f} shares available to sell"
    return f"Insufficient funds: required {refusal.required:.2f}, available {refusal.available:.2f}"


def ohlc_text(security) -> str:
    # The docs' sample renders OHLC as this string, not as an object (gotcha 11).
    last, close = security.last_price, security.close_price
    high, low = max(last, close), min(last, close)
    return f"{{open: {close},high: {high},low: {low},close: {close}}}"


# --- Helpers -------------------------------------------------------------------------------------
def number(value) -> float | int:
    # Groww prices are JSON numbers in rupees, to the paisa.
    return web.number(Decimal(value).quantize(Decimal("0.01")))


def decimal_or_none(value) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value if value is not None else 0))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def last_price(symbol: str) -> Decimal:
    security = universe.SECURITIES.get(symbol)
    return security.last_price if security else Decimal(0)


def ist(stamp: float) -> str:
    return web.ist_stamp(stamp, "%Y-%m-%dT%H:%M:%S")


def position_row(symbol: str, exchange: str, product: str, leg: kit.Leg) -> dict:
    return {
        "trading_symbol": symbol,
        "segment": "CASH",
        "credit_quantity": leg.bought,
        "credit_price": number(leg.buy_price),
        "debit_quantity": leg.sold,
        "debit_price": number(leg.sell_price),
        "carry_forward_credit_quantity": 0,
        "carry_forward_credit_price": 0,
        "carry_forward_debit_quantity": 0,
        "carry_forward_debit_price": 0,
        "exchange": exchange,
        "symbol_isin": universe.SECURITIES[symbol].isin,
        "quantity": leg.net,
        "product": product,
        "net_carry_forward_quantity": 0,
        "net_price": number(leg.average),
        "net_carry_forward_price": 0,
        "realised_pnl": number(leg.realised),
    }


def json_body(request) -> dict | None:
    if request.content_type != "application/json":
        return None
    return web.json_object(request)


def margins_payload(account) -> dict:
    # Today's fills and open buy orders (market orders at the last price) use the margin;
    # sale proceeds come back the same day.
    ledger = kit.ledger(BROKER, account)
    blocked, free = ledger.used, ledger.available
    cnc = sum(
        (
            (Decimal(o.price or 0) or last_price(o.symbol)) * o.quantity
            if o.status not in FINAL
            else Decimal(o.average_price) * o.filled_quantity
            for o in kit.orders(BROKER, account.account_id)
            if o.side == "BUY" and o.product == "CNC"
        ),
        Decimal(0),
    )
    return {
        "clear_cash": number(ledger.opening),
        "net_margin_used": number(blocked),
        "brokerage_and_charges": 0.0,
        "collateral_used": 0.0,
        "collateral_available": 0.0,
        "adhoc_margin": 0.0,
        "fno_margin_details": {
            "net_fno_margin_used": 0.0,
            "span_margin_used": 0.0,
            "exposure_margin_used": 0.0,
            "future_balance_available": number(free),
            "option_buy_balance_available": number(free),
            "option_sell_balance_available": number(free),
        },
        "equity_margin_details": {
            "net_equity_margin_used": number(blocked),
            "cnc_margin_used": number(cnc),
            "mis_margin_used": number(blocked - cnc),
            "cnc_balance_available": number(free),
            "mis_balance_available": number(free),
        },
    }


def quote_payload(security: universe.Security) -> dict:
    last, close = security.last_price, security.close_price
    return {
        "last_price": number(last),
        "average_price": number((last + close) / 2),
        "bid_price": number(last - security.tick_size),
        "bid_quantity": 120,
        "offer_price": number(last + security.tick_size),
        "offer_quantity": 95,
        "day_change": number(last - close),
        "day_change_perc": number(((last - close) / close * 100).quantize(Decimal("0.01"))),
        "upper_circuit_limit": number(close * Decimal("1.2")),
        "lower_circuit_limit": number(close * Decimal("0.8")),
        "ohlc": ohlc_text(security),
        "depth": {
            "buy": [{"price": number(last - security.tick_size), "quantity": 120}],
            "sell": [{"price": number(last + security.tick_size), "quantity": 95}],
        },
        "volume": 1254300,
        "last_trade_quantity": 10,
        "last_trade_time": int(time.time() * 1000),
        "total_buy_quantity": 250000,
        "total_sell_quantity": 231000,
    }


def trade_row(order: kit.SandboxOrder) -> dict:
    placed = ist(order.updated_at)
    return {
        "groww_trade_id": "GTR" + order.order_id[3:],
        "groww_order_id": order.order_id,
        "exchange_trade_id": str(int(order.updated_at * 1000) % 10**9),
        "exchange_order_id": str(int(order.placed_at * 1000) % 10**16),
        "trading_symbol": order.symbol,
        "quantity": order.filled_quantity,
        "price": number(Decimal(order.average_price)),
        "trade_status": "EXECUTED",
        "exchange": order.exchange,
        "segment": "CASH",
        "product": order.product,
        "transaction_type": order.side,
        "created_at": placed,
        "trade_date_time": placed,
        "settlement_number": placed[:10].replace("-", ""),
        "remark": "",
    }


def master_csv() -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(MASTER_HEADER)
    writer.writerow(
        ["NSE", "26000", "NIFTY", "NSE-NIFTY", "NIFTY 50", "IDX", "CASH", "", "", "", "", "", "",
         "1", "0.05", "", "0", "0", "0"]
    )  # fmt: skip
    for s in universe.SECURITIES.values():
        for exchange, series in (("NSE", "EQ"), ("BSE", "A")):
            token = s.exchange_token(exchange)
            writer.writerow(
                [exchange, token, s.symbol, f"{exchange}-{s.symbol}", s.name, "EQ", "CASH",
                 series, s.isin, "", "", "", "", s.lot_size, s.tick_size, "", "0", "1", "1"]
            )  # fmt: skip
    return out.getvalue()
