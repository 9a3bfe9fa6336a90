"""Groww Trade API (https://groww.in/trade-api/docs/curl, SDK growwapi 1.5.0).

No browser login: an API key and its secret mint a daily token with a checksum, or a TOTP key
does with a typed code. Every answer is {"status": "SUCCESS", "payload": ...} except the token
endpoint's; failures are {"status": "FAILURE", "error": {"code": "GA00x", "message": ...}}.
"""

from __future__ import annotations

import csv
import hashlib
import io
import secrets
from dataclasses import replace
from datetime import time
from functools import partial
from typing import Any

from django.utils import timezone

from brokers.adapters import _groww_parse as vendor
from brokers.adapters import wire
from brokers.adapters.base import BrokerAdapter
from brokers.clock import next_ist
from brokers.errors import (
    AuthError,
    BadResponse,
    BrokerError,
    BrokerUnavailable,
    InvalidRequest,
    Maintenance,
    NotSupported,
    OrderRejected,
    OrderStateUnknown,
    RateLimited,
    TokenExpired,
)
from brokers.http import CallKind, concurrently
from brokers.types import (
    Capabilities,
    Funds,
    Holding,
    Instrument,
    InstrumentRef,
    LoginKind,
    Order,
    OrderAck,
    OrderModification,
    OrderRequest,
    Position,
    Product,
    Profile,
    Quote,
    TagRule,
    Tokens,
    Trade,
)

BROKER = "groww"
TOKEN_DIES = time(6, 0)  # Introduction: every token expires at 6:00 AM IST
PAGE_SIZE = 25  # the SDK's default page size for the order book
TRADE_PAGE_SIZE = 50
MAX_PAGES = 40
BATCH = 50  # Live Data: LTP and OHLC take at most 50 exchange_symbols


class GrowwAdapter(BrokerAdapter):
    key = BROKER
    capabilities = Capabilities(
        login_kind=LoginKind.API_KEY,
        supports_refresh=False,
        token_expiry_rule="06:00 IST every day",
        order_types=frozenset(vendor.ORDER_TYPES.values()),
        products=frozenset({Product.CNC, Product.MIS, Product.NRML, Product.MTF}),
        exchanges=frozenset({"NSE", "BSE", "NFO", "BFO"}),
        # Introduction, rate limits per type (the per-minute caps are lower: 250/300/500).
        rate_limits={"default": 20, "order": 10, "quote": 10},
        # Orders: order_reference_id is 8-20 characters, at most two of them hyphens.
        tag_rule=TagRule(
            max_length=20,
            min_length=8,
            pattern=r"(?=(?:[^-]*-){0,2}[^-]*$)[A-Za-z0-9-]+",
            says="must be letters, digits and at most two hyphens (order_reference_id)",
        ),
        has_logout=False,
        throttle_refuses_orders=True,  # Introduction: over a type's limit → HTTP 429
    )

    # --- Login: Introduction, "API key + secret" and "TOTP" ----------------------------------
    def complete_login(self, params, *, redirect_uri: str = "", code_verifier: str = "") -> Tokens:
        """POST /v1/token/api/access with the API key as bearer: an approval checksum
        sha256(secret + epoch seconds), or the typed TOTP when ``params`` carries one."""
        self.http.add_secrets(self.app.api_key)
        totp = (params or {}).get("totp", "")
        if totp:
            self.http.add_secrets(totp)
            body = {"key_type": "totp", "totp": totp}
        else:
            stamp = int(timezone.now().timestamp())
            checksum = hashlib.sha256(f"{self.app.api_secret}{stamp}".encode()).hexdigest()
            self.http.add_secrets(checksum)
            body = {"key_type": "approval", "checksum": checksum, "timestamp": stamp}
        token = self._call(
            "POST",
            "/v1/token/api/access",
            endpoint="token/api/access",
            build=vendor.token,
            kind=CallKind.AUTH,
            bearer=self.app.api_key,
            json=body,
        )
        self.http.add_secrets(token)
        self.tokens = Tokens(access_token=token, expires_at=next_ist(TOKEN_DIES))
        # The token reply names no account; the profile's UCC does.
        self.tokens = replace(self.tokens, account_id=self.profile().account_id)
        return self.tokens

    # --- Reads: User, Margin, Portfolio ---------------------------------------------------
    def profile(self) -> Profile:
        return self._call("GET", "/v1/user/detail", endpoint="user/detail", build=vendor.profile)

    def funds(self) -> Funds:
        return self._call("GET", "/v1/margins/detail/user", endpoint="margins", build=vendor.funds)

    def holdings(self) -> list[Holding]:
        return self._call("GET", "/v1/holdings/user", endpoint="holdings", build=vendor.holdings)

    def positions(self) -> list[Position]:
        # No segment: every segment's positions (the SDK makes it optional).
        return self._call("GET", "/v1/positions/user", endpoint="positions", build=vendor.positions)

    # --- Orders: the order book is paged from page 0 ----------------------------------------
    def orders(self) -> list[Order]:
        found: dict[str, Order] = {}
        for page in range(MAX_PAGES):
            rows = self._call(
                "GET",
                "/v1/order/list",
                endpoint="order/list",
                build=lambda p: [vendor.order(row) for row in p["order_list"]],
                params={"page": page, "page_size": PAGE_SIZE},
            )
            found.update((o.order_id, o) for o in rows)
            if len(rows) < PAGE_SIZE:
                break
        return list(found.values())

    def trades(self) -> list[Trade]:
        """No account-wide trade book (gotcha 7): the trades of each order that filled."""
        trades: list[Trade] = []
        for order in self.orders():
            if not order.filled_quantity:
                continue
            for page in range(MAX_PAGES):
                rows = self._call(
                    "GET",
                    f"/v1/order/trades/{order.order_id}",
                    endpoint="order/trades",
                    build=lambda p: [vendor.trade(row) for row in p["trade_list"]],
                    params={
                        "segment": vendor.segment(order.exchange),
                        "page": page,
                        "page_size": TRADE_PAGE_SIZE,
                    },
                )
                trades += rows
                if len(rows) < TRADE_PAGE_SIZE:
                    break
        return trades

    # --- Live Data: batch LTP for the price, batch OHLC for the previous close -------------
    def quotes(self, instruments: list[InstrumentRef]) -> dict[InstrumentRef, Quote]:
        by_segment: dict[str, dict[str, InstrumentRef]] = {}
        for ref in instruments:
            exchange, segment = vendor.exchange_segment(ref.exchange, "live-data/ltp")
            by_segment.setdefault(segment, {})[f"{exchange}_{vendor.plain(ref.symbol)}"] = ref
        quotes: dict[InstrumentRef, Quote] = {}
        for segment, refs in by_segment.items():
            keys = list(refs)
            for start in range(0, len(keys), BATCH):
                # The SDK repeats exchange_symbols once per key; the server takes that form.
                params = {"segment": segment, "exchange_symbols": keys[start : start + BATCH]}
                last, closes = concurrently(
                    partial(
                        self._call,
                        "GET",
                        "/v1/live-data/ltp",
                        endpoint="live-data/ltp",
                        build=vendor.ltp,
                        params=params,
                    ),
                    partial(
                        self._call,
                        "GET",
                        "/v1/live-data/ohlc",
                        endpoint="live-data/ohlc",
                        build=vendor.closes,
                        params=params,
                    ),
                )
                for key in keys[start : start + BATCH]:
                    if last.get(key) is not None:
                        ref = refs[key]
                        quotes[ref] = Quote(
                            ref.exchange, vendor.plain(ref.symbol), last[key], closes.get(key)
                        )
        return quotes

    def instruments(self) -> list[Instrument]:
        """Instruments: a public CSV on the assets host, no auth header."""
        return self.http.call(
            "GET",
            self.url("ASSETS", "/instruments/instrument.csv"),
            endpoint="instruments",
            parse=_master,
            kind=CallKind.READ,
            bucket=None,  # a public file, outside the API's caps
        )

    # --- Writes: Orders ---------------------------------------------------------------------
    def place_order(self, order: OrderRequest) -> OrderAck:
        exchange, segment = vendor.exchange_segment(order.exchange, "order/create")
        # Our tag travels as order_reference_id (required, unique: GA007 on reuse).
        tag = order.tag or secrets.token_hex(8)
        self.check_tag(tag, "order/create")
        body = {
            "trading_symbol": vendor.plain(order.symbol),
            "quantity": order.quantity,
            "price": vendor.number(order.price if order.order_type in vendor.PRICED else None),
            "trigger_price": vendor.number(
                order.trigger_price if order.order_type in vendor.TRIGGERED else None
            ),
            "validity": order.validity.value,
            "exchange": exchange,
            "segment": segment,
            "product": order.product.value,
            "order_type": vendor.WIRE_ORDER_TYPES[order.order_type],
            "transaction_type": order.side.value,
            "order_reference_id": tag,
        }
        # An unknown outcome is reconciled by this tag, even when we made it up.
        return self._order_write("/v1/order/create", "order/create", body, tag=tag)

    def modify_order(self, change: OrderModification) -> OrderAck:
        if change.validity is not None:
            raise NotSupported("Groww's modify takes no validity", broker=BROKER)
        # Gotcha 4: modify needs the segment and the full new shape, so read the order first.
        current = self._order_by_id(change.order_id, "order/modify")
        order_type = change.order_type or current.order_type
        price = current.price if change.price is None else change.price
        trigger = current.trigger_price if change.trigger_price is None else change.trigger_price
        body = {
            "groww_order_id": change.order_id,
            "segment": vendor.segment(current.exchange),
            "order_type": vendor.WIRE_ORDER_TYPES[order_type],
            "quantity": change.quantity or current.quantity,
            "price": vendor.number(price if order_type in vendor.PRICED else None),
            "trigger_price": vendor.number(trigger if order_type in vendor.TRIGGERED else None),
        }
        return self._order_write("/v1/order/modify", "order/modify", body)

    def cancel_order(self, order_id: str) -> OrderAck:
        current = self._order_by_id(order_id, "order/cancel")
        body = {"groww_order_id": order_id, "segment": vendor.segment(current.exchange)}
        return self._order_write("/v1/order/cancel", "order/cancel", body)

    # --- Plumbing -----------------------------------------------------------------------------
    def _order_by_id(self, order_id: str, endpoint: str) -> Order:
        found = next((o for o in self.orders() if o.order_id == order_id), None)
        if found is None:
            raise InvalidRequest(
                f"no order {order_id} in the order book", broker=BROKER, endpoint=endpoint
            )
        return found

    def _order_write(self, path: str, endpoint: str, body: dict, *, tag: str = "") -> OrderAck:
        return self._call(
            "POST",
            path,
            endpoint=endpoint,
            build=lambda payload: vendor.ack(payload, endpoint),
            kind=CallKind.ORDER,
            json=body,
            tag=tag,
        )

    def _call(self, method, path, *, endpoint, build, kind=CallKind.READ, bearer="", **kwargs):
        """``bearer``: the token exchange's own Bearer (the API key), instead of the session."""
        bucket = "order" if kind is CallKind.ORDER else "default"
        if path.startswith("/v1/live-data/"):
            bucket = "quote"
        headers = {"Accept": "application/json", "X-API-VERSION": "1.0"}
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        return self._request(
            method,
            path,
            endpoint=endpoint,
            parse=lambda r: build(_payload(r, kind)),
            kind=kind,
            bucket=bucket,
            auth=not bearer,
            headers=headers,
            **kwargs,
        )

    def map_error(self, response, *, endpoint: str, kind: CallKind, login: bool):
        """Every failure: HTTP 4xx/5xx, or HTTP 200 with status FAILURE, which the SDK checks
        before the HTTP status."""
        body = wire.json_body(response)
        if not isinstance(body, dict):
            body = {}
            if response.status_code < 400:
                return None  # garbage, HTML or truncated with HTTP 200: the parser reports it
        error = body.get("error")
        if response.status_code < 400 and body.get("status") != "FAILURE":
            return None
        return _error_for(response, error if isinstance(error, dict) else {}, endpoint, kind)


# --- Answers: errors are read first, by GrowwAdapter.map_error ----------------------------------
def _payload(response, kind: CallKind):
    """The payload of a success (HTTP 2xx and status SUCCESS)."""
    body = wire.json_body(response)
    if not isinstance(body, dict) or response.status_code >= 400:
        raise ValueError("unreadable answer")  # the door: BadResponse / OrderStateUnknown
    if kind is CallKind.AUTH:
        return body  # the token reply is not enveloped (gotcha 2)
    if body.get("status") != "SUCCESS":
        raise ValueError(f"unexpected status {body.get('status')!r}")
    return body["payload"]


def _error_for(response, error: dict, endpoint: str, kind: CallKind) -> BrokerError | None:
    status = response.status_code
    code = str(error.get("code") or "")
    # The SDK reads displayMessage on token errors, message everywhere else.
    message = str(error.get("message") or error.get("displayMessage") or f"HTTP {status}")[:200]
    where: dict[str, Any] = {"broker": BROKER, "endpoint": endpoint, "code": code or str(status)}
    if status == 429:
        return RateLimited(message, retry_after=wire.retry_after(response), **where)
    if status >= 500 or code in ("GA000", "GA003"):
        if "maintenance" in message.lower():
            return Maintenance(message, **where)
        return BrokerUnavailable(message, **where)
    if not error and status not in (401, 403):
        return None  # unreadable: the parser reports BadResponse (OrderStateUnknown on a write)
    if kind is CallKind.AUTH:
        return AuthError(message, **where)  # wrong checksum, stale timestamp, unapproved key
    if status == 401:
        return TokenExpired(message, **where)
    if kind is CallKind.ORDER and code == "GA007":
        # "Duplicate order reference id": an order with our tag is already at Groww — an
        # earlier send of this very attempt was taken. Not a refusal: settle it by the tag.
        return OrderStateUnknown(f"{message}: Groww already holds this order", **where)
    if kind is CallKind.ORDER:
        return OrderRejected(message, **where)  # GA001, GA004, GA005, GA006
    if status == 403 or code == "GA005":
        return AuthError(message, **where)
    return InvalidRequest(message, **where)


def _master(response) -> list[Instrument]:
    """Instruments: CSV with a header row; cash rows carry the ISIN."""
    wire.raise_for_download(response, broker=BROKER, endpoint="instruments")
    text = response.content.decode("utf-8-sig")
    reader = csv.DictReader(io.StringIO(text), skipinitialspace=True)
    missing = vendor.MASTER_COLUMNS - {c.strip() for c in reader.fieldnames or ()}
    if missing:
        raise BadResponse(
            f"instrument master lacks {', '.join(sorted(missing))}",
            broker=BROKER,
            endpoint="instruments",
        )
    instruments = [vendor.instrument(row) for row in reader]
    if not instruments:
        raise BadResponse("instrument master is empty", broker=BROKER, endpoint="instruments")
    return instruments
