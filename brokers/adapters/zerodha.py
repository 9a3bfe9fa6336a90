"""Zerodha Kite Connect v3 (docs/brokers/zerodha.md; https://kite.trade/docs/connect/v3/).

Login is a browser redirect that returns a one-shot ``request_token``, exchanged for an access
token with a SHA-256 checksum. Ordinary apps get no refresh token: the session dies at 06:00
IST every day and the trader logs in again. Wire mapping lives in ``_zerodha_parse``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import time
from urllib.parse import urlencode

from brokers.adapters import _zerodha_parse as vendor
from brokers.adapters.base import BrokerAdapter
from brokers.adapters.wire import json_body, retry_after
from brokers.clock import next_ist
from brokers.errors import (
    AuthError,
    BrokerError,
    BrokerUnavailable,
    InvalidRequest,
    OrderRejected,
    RateLimited,
    TokenExpired,
)
from brokers.http import CallKind
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
    OrderType,
    Position,
    Product,
    Profile,
    Quote,
    TagRule,
    Tokens,
    Trade,
)

SESSION_RESET = time(6, 0)  # §2: the access token lives until 06:00 IST
QUOTE_BATCH = 1000  # §4: /quote/ohlc takes at most 1000 instruments
VARIETY = "regular"  # the only variety we place, so modify/cancel address it too
# §5 error_type → our error (TokenException: see map_error; 429 and 5xx: the status decides).
ERRORS: dict[str, type[BrokerError]] = {
    "PermissionException": AuthError,
    "OrderException": OrderRejected,
    "MarginException": OrderRejected,
    "HoldingException": OrderRejected,
    "InputException": InvalidRequest,
    "UserException": InvalidRequest,
    "NetworkException": BrokerUnavailable,
    "DataException": BrokerUnavailable,
    "GeneralException": BrokerUnavailable,
}


class ZerodhaAdapter(BrokerAdapter):
    key = "zerodha"
    capabilities = Capabilities(
        login_kind=LoginKind.REDIRECT_CHECKSUM,
        supports_refresh=False,  # §2: refresh tokens only for exchange-approved platforms
        token_expiry_rule="06:00 IST next day",
        order_types=frozenset(OrderType),
        products=frozenset(Product),
        exchanges=frozenset({"NSE", "BSE", "NFO", "BFO", "CDS", "BCD", "MCX"}),
        # §5 rate limits: quotes 1/s; orders and everything else 10/s.
        rate_limits={"default": 10.0, "quote": 1.0, "order": 10.0},
        tag_rule=TagRule(max_length=20),  # §6: tag ≤ 20 chars
        throttle_refuses_orders=True,  # §5: over the limit → 429 "Too many requests"
    )

    # --- Login (§1, §2) -----------------------------------------------------------------
    def authorization_url(self, *, state: str, redirect_uri: str, code_challenge: str = "") -> str:
        # Kite redirects to the URL registered in its developer console (no redirect_uri on
        # the wire); our state travels in redirect_params, which Kite echoes on the redirect.
        query = {"v": "3", "api_key": self.app.api_key}
        if state:
            query["redirect_params"] = urlencode({"state": state})
        return self.url("LOGIN", "/connect/login") + "?" + urlencode(query)

    def complete_login(
        self, params: Mapping[str, str], *, redirect_uri: str = "", code_verifier: str = ""
    ) -> Tokens:
        # §8.5: the redirect says status=success alongside the request_token.
        request_token = params.get("request_token", "")
        if params.get("error") or params.get("status") != "success" or not request_token:
            raise AuthError(
                "the login was not completed at Kite", broker=self.key, endpoint="connect/login"
            )
        # §1.3: hex SHA-256 of api_key + request_token + api_secret, no separator.
        checksum = hashlib.sha256(
            (self.app.api_key + request_token + self.app.api_secret).encode()
        ).hexdigest()
        self.http.add_secrets(request_token, checksum)
        form = {"api_key": self.app.api_key, "request_token": request_token, "checksum": checksum}
        session = self._call(
            "POST",
            "/session/token",
            endpoint="session/token",
            kind=CallKind.AUTH,
            login=True,
            shape=vendor.session,
            data=form,
        )
        self.http.add_secrets(*session.values())
        self.tokens = Tokens(
            access_token=session["access_token"],
            expires_at=next_ist(SESSION_RESET),
            refresh_token=session["refresh_token"],  # "" for ordinary apps
            account_id=session["user_id"],
        )
        return self.tokens

    def logout(self) -> None:
        # §2: DELETE /session/token with api_key and access_token in the query string.
        params = {"api_key": self.app.api_key, "access_token": self.access_token("session/token")}
        self._call(
            "DELETE", "/session/token", endpoint="session/token", kind=CallKind.AUTH, params=params
        )

    # --- Reads (§4) ---------------------------------------------------------------------
    def profile(self) -> Profile:
        return self._call("GET", "/user/profile", endpoint="user/profile", shape=vendor.profile)

    def funds(self) -> Funds:
        return self._call(
            "GET", "/user/margins/equity", endpoint="user/margins", shape=vendor.funds
        )

    def holdings(self) -> list[Holding]:
        return self._call(
            "GET", "/portfolio/holdings", endpoint="portfolio/holdings", shape=_rows(vendor.holding)
        )

    def positions(self) -> list[Position]:
        # §8.8: an object {net, day}; `net` (carried + today) is what a positions screen shows.
        return self._call(
            "GET",
            "/portfolio/positions",
            endpoint="portfolio/positions",
            shape=lambda data: [vendor.position(row) for row in data["net"]],
        )

    def orders(self) -> list[Order]:
        return self._call("GET", "/orders", endpoint="orders", shape=_rows(vendor.order))

    def trades(self) -> list[Trade]:
        return self._call("GET", "/trades", endpoint="trades", shape=_rows(vendor.trade))

    def quotes(self, instruments: list[InstrumentRef]) -> dict[InstrumentRef, Quote]:
        # /quote/ohlc carries last_price and ohlc.close, the previous session's close (§4);
        # `i=EXCHANGE:TRADINGSYMBOL` repeated.
        refs = {f"{ref.exchange}:{ref.symbol}": ref for ref in instruments}
        keys, quotes = list(refs), dict[InstrumentRef, Quote]()
        for start in range(0, len(keys), QUOTE_BATCH):
            batch = keys[start : start + QUOTE_BATCH]
            quotes |= self._call(
                "GET",
                "/quote/ohlc",
                endpoint="quote/ohlc",
                bucket="quote",
                shape=lambda data, batch=batch: vendor.quotes(data, {k: refs[k] for k in batch}),
                params={"i": batch},
            )
        return quotes

    def instruments(self) -> list[Instrument]:
        # §4, §8.10: the whole master as gzipped CSV, behind the same auth headers.
        return self._call("GET", "/instruments", endpoint="instruments", parse=vendor.instruments)

    # --- Writes (§4, §6) ----------------------------------------------------------------
    def place_order(self, order: OrderRequest) -> OrderAck:
        self.check_tag(order.tag, "orders")
        form = {
            "exchange": order.exchange,
            "tradingsymbol": order.symbol,
            "transaction_type": order.side.value,
            "quantity": str(order.quantity),
            "product": order.product.value,
            "order_type": order.order_type.value,
            "validity": order.validity.value,
        }
        if order.price is not None and order.order_type in (OrderType.LIMIT, OrderType.SL):
            form["price"] = str(order.price)
        if order.trigger_price is not None and order.order_type in (OrderType.SL, OrderType.SL_M):
            form["trigger_price"] = str(order.trigger_price)
        if order.order_type in (OrderType.MARKET, OrderType.SL_M):
            # §8.13: from April 2026 market and SL-M orders need a non-zero protection.
            form["market_protection"] = str(order.market_protection)
        if order.tag:
            form["tag"] = order.tag
        return self._call(
            "POST",
            f"/orders/{VARIETY}",
            endpoint="orders",
            kind=CallKind.ORDER,
            tag=order.tag,  # an unknown outcome is reconciled with find_order(tag)
            data=form,
        )

    def modify_order(self, change: OrderModification) -> OrderAck:
        fields = {
            "quantity": change.quantity,
            "price": change.price,
            "trigger_price": change.trigger_price,
            "order_type": change.order_type.value if change.order_type else None,
            "validity": change.validity.value if change.validity else None,
        }
        return self._call(
            "PUT",
            f"/orders/{VARIETY}/{change.order_id}",
            endpoint="orders",
            kind=CallKind.ORDER,
            data={name: str(value) for name, value in fields.items() if value is not None},
        )

    def cancel_order(self, order_id: str) -> OrderAck:
        return self._call(
            "DELETE", f"/orders/{VARIETY}/{order_id}", endpoint="orders", kind=CallKind.ORDER
        )

    # --- Errors (§5) --------------------------------------------------------------------
    def map_error(self, response, *, endpoint: str, kind: CallKind, login: bool):
        body = json_body(response)
        status = response.status_code
        if not isinstance(body, dict):
            # Gateways answer 429 and 5xx with HTML or plain text; any other page is garbage
            # for the parser to report.
            if status == 429 or status >= 500:
                return super().map_error(response, endpoint=endpoint, kind=kind, login=login)
            return None
        # §5: the SDK treats `status: error` or any `error_type` as an error, whatever the code.
        error_type = str(body.get("error_type") or "")
        if body.get("status") != "error" and not error_type and status < 400:
            return None
        where = {"broker": self.key, "endpoint": endpoint, "code": error_type or str(status)}
        message = f"{error_type or f'HTTP {status}'}: {body.get('message') or 'no message'}"
        # §8.11: 429 comes as NetworkException, like an OMS outage, so the status decides first.
        if status == 429:
            return RateLimited(message, retry_after=retry_after(response), **where)
        if error_type == "TokenException":
            # At the token exchange it means a bad checksum or a used request_token, not expiry.
            return (AuthError if login else TokenExpired)(message, **where)
        fallback = BrokerUnavailable if status >= 500 else InvalidRequest
        return ERRORS.get(error_type, fallback)(message, **where)

    # --- Plumbing -----------------------------------------------------------------------
    def auth_headers(self, endpoint: str) -> dict[str, str]:
        # §8.4: `token api_key:access_token`, not Bearer.
        return {"Authorization": f"token {self.app.api_key}:{self.access_token(endpoint)}"}

    def _call(
        self,
        method: str,
        path: str,
        *,
        endpoint: str,
        kind: CallKind = CallKind.READ,
        bucket: str = "",
        login: bool = False,
        parse=vendor.data,
        shape=None,
        **kwargs,
    ):
        # §3: every request names the API version; the token exchange itself carries no
        # Authorization. Mapping runs inside the door, so a missing field or unknown enum
        # becomes BadResponse there; order writes answer only {order_id} (§8.7), hence the
        # default shape.
        shape = shape or (vendor.ack if kind is CallKind.ORDER else (lambda data: data))
        return self._request(
            method,
            path,
            endpoint=endpoint,
            parse=lambda response: shape(parse(response, endpoint=endpoint)),
            kind=kind,
            bucket=bucket,
            auth=not login,
            headers={"X-Kite-Version": "3"},
            **kwargs,
        )


def _rows(mapper):
    return lambda rows: [mapper(row) for row in rows]
