"""Upstox's wire shapes: envelopes, error bodies, and the demo market as Upstox writes it."""

from __future__ import annotations

import random
import re
import time
from decimal import Decimal

from django.http import JsonResponse

from brokers.sandbox import demo, kit, universe, web

BROKER = "upstox"
APP = demo.DEMO_APPS[BROKER]
SEGMENTS = {"NSE": "NSE_EQ", "BSE": "BSE_EQ"}
EXCHANGES = {segment: exchange for exchange, segment in SEGMENTS.items()}
PRODUCTS = {"MIS": "I", "CNC": "D", "NRML": "D"}  # the universe speaks Kite's words
STATUS_WORDS = {
    "OPEN": "open",
    "TRIGGER PENDING": "trigger pending",
    "COMPLETE": "complete",
    "CANCELLED": "cancelled",
    "REJECTED": "rejected",
}
FINISHED = {"COMPLETE", "CANCELLED", "REJECTED"}
ORDER_TYPES = {"MARKET", "LIMIT", "SL", "SL-M"}
TAG_MAX = 40
EXTENDED_TTL = 365 * 24 * 3600  # the extended token lives a year
ORDER_ID = re.compile(r"^[A-Za-z0-9-]+$")  # UDAPI1010
UNSUPPORTED = "This request is not supported by Upstox API"


def error(status: int, code: str, message: str, field: str | None = None, value=None):
    error = {"errorCode": code, "message": message, "propertyPath": field, "invalidValue": value}
    return JsonResponse({"status": "error", "errors": [error]}, status=status)


def ok(data, **extra) -> JsonResponse:
    return JsonResponse({"status": "success", "data": data, **extra})


def latency() -> dict:
    return {"metadata": {"latency": random.randint(8, 60)}}  # noqa: S311 - simulated


class Errors(kit.ErrorBodies):
    # docs/brokers/upstox.md §5: UDAPI10000 is Upstox's "unsupported request/URL", with HTTP 404 or
    # 405.
    def not_found(self):
        return error(404, "UDAPI10000", UNSUPPORTED)

    def method_not_allowed(self):
        return error(405, "UDAPI10000", UNSUPPORTED)

    def token_invalid(self):
        return error(401, "UDAPI100050", "Invalid token used to access API")

    def rate_limited(self):
        return error(429, "UDAPI10005", "Too Many Request Sent")

    def server_error(self):
        return error(500, "UDAPI100500", "Something went wrong... please contact us")

    # unavailable(): the gateway's HTML 503, the kit's default.


ERRORS = Errors()


def profile_data(account: universe.DemoAccount) -> dict:
    return {
        "email": account.email,
        "exchanges": ["NSE", "NFO", "BSE", "CDS", "BFO", "BCD"],
        "products": ["D", "CO", "I"],
        "broker": "UPSTOX",
        "user_id": account.account_id,
        "user_name": account.name,
        "order_types": ["MARKET", "LIMIT", "SL", "SL-M"],
        "user_type": "individual",
        "poa": False,
        "is_active": True,
    }


def instrument_key(security: universe.Security, exchange: str) -> str:
    return f"{SEGMENTS[exchange]}|{security.isin}"


def resolve(key: str) -> tuple[universe.Security, str] | None:
    segment, _, isin = str(key).partition("|")
    security = universe.by_isin(isin)
    return (security, EXCHANGES[segment]) if security and segment in EXCHANGES else None


def order_row(o: kit.SandboxOrder) -> dict:
    s = universe.SECURITIES[o.symbol]
    open_now = o.status not in FINISHED
    return {
        "exchange": o.exchange,
        "product": o.product,
        "price": web.number(o.price),
        "quantity": o.quantity,
        "status": STATUS_WORDS[o.status],
        "guid": None,
        "tag": o.tag or None,
        "instrument_token": instrument_key(s, o.exchange),
        "placed_by": o.account,
        "trading_symbol": o.symbol,
        "tradingsymbol": o.symbol,
        "order_type": o.order_type,
        "validity": o.validity,
        "trigger_price": web.number(o.trigger_price),
        "disclosed_quantity": 0,
        "transaction_type": o.side,
        "average_price": web.number(o.average_price),
        "filled_quantity": o.filled_quantity,
        "pending_quantity": o.quantity - o.filled_quantity if open_now else 0,
        "status_message": o.status_message or None,
        "status_message_raw": o.status_raw or o.status_message or None,
        "exchange_order_id": "1" + o.order_id,
        "parent_order_id": None,
        "order_id": o.order_id,
        "variety": "SIMPLE",
        "order_timestamp": web.ist_stamp(o.placed_at),
        "exchange_timestamp": web.ist_stamp(o.updated_at),
        "is_amo": False,
        "order_request_id": "1",
        "order_ref_id": "udapi-" + o.order_id[-8:],
    }


def history_row(o: kit.SandboxOrder, status: str, at: float) -> dict:
    """One step of GET /v2/order/history: the order as it stood then, in lowercase words."""
    filled = o.filled_quantity if status == "COMPLETE" else 0
    row = order_row(o) | {
        "status": status.lower(),
        "filled_quantity": filled,
        "average_price": web.number(o.average_price) if filled else 0,
        "pending_quantity": o.quantity - filled if status not in FINISHED else 0,
        "order_timestamp": web.ist_stamp(at),
        "exchange_timestamp": web.ist_stamp(at),
    }
    if status != "REJECTED":
        row["status_message"] = row["status_message_raw"] = None
    return row


def trade_row(o: kit.SandboxOrder) -> dict:
    """docs/brokers/upstox.md §4 Trade: one fill per filled order (the demo market fills at
    once)."""
    row = order_row(o)
    keys = ("exchange", "product", "trading_symbol", "tradingsymbol", "instrument_token")
    return {k: row[k] for k in keys} | {
        "order_type": row["order_type"],
        "transaction_type": row["transaction_type"],
        "quantity": o.filled_quantity,
        "exchange_order_id": row["exchange_order_id"],
        "order_id": o.order_id,
        "exchange_timestamp": web.ist_stamp(o.updated_at, "%d-%b-%Y %H:%M:%S"),
        "average_price": web.number(o.average_price),
        "trade_id": o.order_id[-8:],
        "order_ref_id": row["order_ref_id"],
        "order_timestamp": web.ist_stamp(o.placed_at, "%d-%b-%Y %H:%M:%S"),
    }


def rms_message(refusal: kit.Shortfall, account_id: str) -> tuple[str, str]:
    """A rejection's status_message and status_message_raw (wording UNCONFIRMED)."""
    if refusal.kind == "holdings":
        return "Insufficient holdings to sell.", ""
    required, available = f"{refusal.required:.2f}", f"{refusal.available:.2f}"
    return (
        f"Insufficient funds. Required margin is {required} but available margin is {available}.",
        f"RMS:Margin Exceeds,Required:{required}, Available:{available} for entity "
        f"account-{account_id} across exchange across segment across product ",
    )


def quote_row(kind: str, s: universe.Security, key: str) -> dict:
    """An entry of the LTP (v3 or v2) or full-quote map; "cp" and ohlc.close are the previous
    session's close, and the still demo market rests one order a tick either side."""
    last, close = s.last_price, s.close_price
    if kind == "ltp3":
        return {
            "last_price": web.number(last),
            "instrument_token": key,
            "ltq": 5,
            "volume": 1_000_000,
            "cp": web.number(close),
        }
    if kind == "ltp":
        return {"last_price": web.number(last), "instrument_token": key}
    level = {"quantity": 0, "price": 0, "orders": 0}
    band = (close * Decimal("0.2")).quantize(s.tick_size)
    now = time.time()
    return {
        "ohlc": {
            "open": web.number(close),
            "high": web.number(max(last, close)),
            "low": web.number(min(last, close)),
            "close": web.number(close),
        },
        "depth": {
            "buy": [{"quantity": 100, "price": web.number(last - s.tick_size), "orders": 1}]
            + [level] * 4,
            "sell": [{"quantity": 100, "price": web.number(last + s.tick_size), "orders": 1}]
            + [level] * 4,
        },
        "timestamp": web.ist_stamp(now, "%Y-%m-%dT%H:%M:%S.000+05:30"),
        "instrument_token": key,
        "symbol": s.symbol,
        "last_price": web.number(last),
        "volume": 1_000_000,
        "average_price": web.number(last),
        "oi": 0,
        "net_change": web.number(last - close),
        "total_buy_quantity": 100,
        "total_sell_quantity": 100,
        "lower_circuit_limit": web.number(close - band),
        "upper_circuit_limit": web.number(close + band),
        "last_trade_time": str(int(now * 1000)),
        "oi_day_high": 0,
        "oi_day_low": 0,
    }


# --- Instrument master (assets.upstox.com, no auth) --------------------------------------------
def master_rows(exchanges: tuple[str, ...]) -> list[dict]:
    rows = []
    for s in universe.SECURITIES.values():
        for exchange in exchanges:
            rows.append(
                {
                    "segment": SEGMENTS[exchange],
                    "name": s.name,
                    "exchange": exchange,
                    "isin": s.isin,
                    "instrument_type": "EQ",
                    "instrument_key": instrument_key(s, exchange),
                    "lot_size": s.lot_size,
                    "freeze_quantity": 100000.0,
                    "exchange_token": s.nse_token if exchange == "NSE" else s.bse_code,
                    "tick_size": float(s.tick_size * 100),  # paise, as the real file
                    "trading_symbol": s.symbol,
                    "short_name": s.symbol,
                    "security_type": "NORMAL",
                }
            )
    if "NSE" in exchanges:
        rows.append(
            {
                "segment": "NSE_INDEX",
                "name": "Nifty 50",
                "exchange": "NSE",
                "instrument_type": "INDEX",
                "instrument_key": "NSE_INDEX|Nifty 50",
                "exchange_token": "26000",
                "trading_symbol": "NIFTY",
            }
        )
    return rows


def postback_body(o: kit.SandboxOrder) -> dict:
    """Upstox's order-update webhook (Webhook in the Upstox API docs): the order stream's
    update, unsigned — the docs ask for an open POST endpoint."""
    row = order_row(o)
    return {
        "update_type": "order",
        "user_id": o.account,
        "userId": o.account,
        "instrument_key": row["instrument_token"],
        **row,
    }


kit.register_postback(BROKER, postback_body)
