"""Upstox: API v2, with v3 for order writes and LTP quotes.

OAuth2 authorization code → one access token that dies at 03:30 IST, no refresh. Every call
but the token exchange answers ``{"status", "data"}``; errors come as ``errors[]`` with an
``errorCode``. Orders go to the HFT host. Reference: docs/brokers/upstox.md, which cites
https://upstox.com/developer/api-documentation/ (page names quoted below).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import time
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from oauthlib.oauth2 import WebApplicationClient

from brokers.adapters import _upstox_parse as vendor
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
    Profile,
    Quote,
    TagRule,
    Tokens,
    Trade,
    Validity,
)

TOKEN_DIES_AT = time(3, 30)  # Get Token: valid until 03:30 IST, whenever it was issued
SERVICE_OPENS_AT = time(5, 30)  # UDAPI100074: the APIs answer from 05:30 to midnight IST
LTP_BATCH = 500  # LTP Quotes V3: at most 500 instrument keys per call
DIALOG = "/v2/login/authorization/dialog"

# Error Codes page and the per-endpoint tables.
TOKEN_CODES = {"UDAPI100050"}  # invalid or expired token
AUTH_CODES = {
    "UDAPI100016",  # invalid credentials (client_id / client_secret)
    "UDAPI100057",  # invalid auth code: used, expired, or another redirect_uri
    "UDAPI100067",  # API not permitted with an extended_token
    "UDAPI100068",  # wrong client_id or redirect_uri
    "UDAPI100073",  # client_id inactive
}
RATE_CODES = {"UDAPI10005"}
CLOSED_CODES = {"UDAPI100074"}  # outside the daily service window
SERVER_CODES = {"UDAPI100500"}


class UpstoxAdapter(BrokerAdapter):
    key = "upstox"
    capabilities = Capabilities(
        login_kind=LoginKind.OAUTH2,
        supports_refresh=False,
        token_expiry_rule="03:30 IST next morning (a token minted 00:00-03:30 dies at 03:30)",
        order_types=frozenset(OrderType),
        products=frozenset(vendor.PRODUCT_CODES),
        exchanges=frozenset(vendor.SEGMENTS),
        # Rate-limiting page, per user and API: order APIs 10/s, other standard APIs 50/s.
        rate_limits={"default": 50.0, "order": 10.0},
        tag_rule=TagRule(max_length=40),  # the order tag's limit; a longer tag is refused
        throttle_refuses_orders=True,  # §5: exceeding a limit → 429 UDAPI10005
    )

    # --- Login ------------------------------------------------------------------------------
    def authorization_url(self, *, state: str, redirect_uri: str, code_challenge: str = "") -> str:
        """Authorize: the dialog takes client_id, redirect_uri and state. No PKCE is documented,
        so a code_challenge is not sent."""
        grant = WebApplicationClient(self.app.api_key).prepare_request_uri(
            "https://host.invalid/",  # oauthlib refuses http hosts (a local sandbox): query only
            redirect_uri=redirect_uri or self.app.redirect_uri,
            state=state,
        )
        return f"{self.url('API', DIALOG)}?{urlsplit(grant).query}"

    def complete_login(
        self, params: Mapping[str, str], *, redirect_uri: str = "", code_verifier: str = ""
    ) -> Tokens:
        """Get Token: a form POST of code, client_id, client_secret and redirect_uri. The code is
        single-use even when the exchange fails; the answer is a flat object, no envelope."""
        if params.get("error"):
            raise AuthError(f"login not approved ({params['error']})", broker=self.key)
        code = params.get("code", "")
        if not code:
            raise AuthError("the login callback carries no code", broker=self.key)
        self.http.add_secrets(code)
        body = WebApplicationClient(self.app.api_key).prepare_request_body(
            code=code,
            redirect_uri=redirect_uri or self.app.redirect_uri,
            client_secret=self.app.api_secret,
            include_client_id=True,
        )
        self.tokens = self._call(
            "POST",
            "API",
            "/v2/login/authorization/token",
            kind=CallKind.AUTH,
            signed=False,
            envelope=False,
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            parse=self._tokens,
        )
        return self.tokens

    def _tokens(self, body: dict) -> Tokens:
        access, extended = body["access_token"], body.get("extended_token") or ""
        if not isinstance(access, str) or not access:
            raise vendor.Unexpected("no access_token in the token response")
        self.http.add_secrets(access, extended)
        return Tokens(
            access_token=access,
            expires_at=next_ist(TOKEN_DIES_AT),
            account_id=str(body.get("user_id") or ""),
            # Read-only, valid a year (notes §2); kept sealed with the tokens, unused for now.
            extra={"extended_token": extended} if extended else {},
        )

    def logout(self) -> None:
        self._call("DELETE", "API", "/v2/logout", kind=CallKind.AUTH, parse=lambda data: None)

    # --- Reads ------------------------------------------------------------------------------
    def profile(self) -> Profile:
        return self._call("GET", "API", "/v2/user/profile", parse=vendor.profile)

    def funds(self) -> Funds:
        return self._call("GET", "API", "/v2/user/get-funds-and-margin", parse=vendor.funds)

    def holdings(self) -> list[Holding]:
        return self._rows("/v2/portfolio/long-term-holdings", vendor.holding)

    def positions(self) -> list[Position]:
        return self._rows("/v2/portfolio/short-term-positions", vendor.position)

    def orders(self) -> list[Order]:
        return self._rows("/v2/order/retrieve-all", vendor.order)

    def trades(self) -> list[Trade]:
        return self._rows("/v2/order/trades/get-trades-for-day", vendor.trade)

    def quotes(self, instruments: list[InstrumentRef]) -> dict[InstrumentRef, Quote]:
        """LTP Quotes V3: last price and "cp", the previous close."""
        wanted: dict[str, list[InstrumentRef]] = {}
        for ref in instruments:
            wanted.setdefault(self._instrument_key(ref, "/v3/market-quote/ltp"), []).append(ref)
        keys, result = list(wanted), {}
        for start in range(0, len(keys), LTP_BATCH):
            batch = ",".join(keys[start : start + LTP_BATCH])
            rows = self._call(
                "GET", "API", "/v3/market-quote/ltp", params={"instrument_key": batch},
                parse=vendor.ltp,
            )  # fmt: skip
            for key, (symbol, last, close) in rows.items():
                for ref in wanted.get(key, ()):
                    result[ref] = Quote(ref.exchange, symbol or ref.symbol, last, close)
        return result

    def instruments(self) -> Iterable[Instrument]:
        """Instruments: the daily gzipped JSON master on the assets host, no auth."""
        path = "/market-quote/instruments/exchange/complete.json.gz"
        return self.http.call(
            "GET",
            self.url("ASSETS", path),
            endpoint=path,
            parse=lambda response: vendor.master(response, endpoint=path),
            bucket=None,  # a public file, outside the API's caps
        )

    # --- Writes -----------------------------------------------------------------------------
    def place_order(self, order: OrderRequest) -> OrderAck:
        """Place Order V3, on the HFT host. The tag is our client order id; the order book
        carries it back."""
        path = "/v3/order/place"
        self.check_tag(order.tag, path)
        priced = order.order_type in (OrderType.LIMIT, OrderType.SL)
        body = {
            "quantity": order.quantity,
            "product": vendor.PRODUCT_CODES[order.product],
            "validity": order.validity.value,
            "price": wire.json_number(order.price) if priced else 0,
            "instrument_token": self._instrument_key(order, path),
            "order_type": order.order_type.value,
            "transaction_type": order.side.value,
            "disclosed_quantity": 0,
            "trigger_price": wire.json_number(order.trigger_price),
            "is_amo": False,
            "slice": False,  # one order id back, so one tag is one order
        }
        if order.tag:
            body["tag"] = order.tag
        if order.market_protection > 0 and order.order_type in (OrderType.MARKET, OrderType.SL_M):
            body["market_protection"] = order.market_protection
        return self._write("POST", path, vendor.placed, json=body, tag=order.tag)

    def modify_order(self, change: OrderModification) -> OrderAck:
        """Modify Order V3 requires validity, price, order_type and trigger_price: what the
        change leaves out is taken from the order as it stands."""
        order_type, price, trigger = change.order_type, change.price, change.trigger_price
        unpriced = order_type in (OrderType.MARKET, OrderType.SL_M)
        stop = order_type in (OrderType.SL, OrderType.SL_M)
        if order_type is None or (price is None and not unpriced) or (trigger is None and stop):
            current = next((o for o in self.orders() if o.order_id == change.order_id), None)
            if current is None:
                raise InvalidRequest(
                    "no such order today", broker=self.key, endpoint="/v3/order/modify"
                )
            order_type = order_type or current.order_type
            price = current.price if price is None else price
            trigger = current.trigger_price if trigger is None else trigger
        if order_type in (OrderType.MARKET, OrderType.SL_M):
            price = Decimal(0)
        body = {
            "order_id": change.order_id,
            "validity": (change.validity or Validity.DAY).value,
            "price": wire.json_number(price),
            "order_type": order_type.value,
            "trigger_price": wire.json_number(trigger),
        }
        if change.quantity is not None:
            body["quantity"] = change.quantity
        return self._write("PUT", "/v3/order/modify", vendor.acked, json=body)

    def cancel_order(self, order_id: str) -> OrderAck:
        return self._write(
            "DELETE", "/v3/order/cancel", vendor.acked, params={"order_id": order_id}
        )

    # --- Plumbing ---------------------------------------------------------------------------
    def _rows(self, path: str, row: Callable[[dict], Any]) -> list:
        return self._call("GET", "API", path, parse=lambda data: [row(r) for r in data])

    def _write(self, method: str, path: str, parse, **request_kwargs) -> OrderAck:
        return self._call(
            method, "HFT", path, kind=CallKind.ORDER, bucket="order", parse=parse,
            **request_kwargs,
        )  # fmt: skip

    def _call(
        self,
        method: str,
        host: str,
        path: str,
        *,
        parse: Callable[[Any], Any],
        kind: CallKind = CallKind.READ,
        bucket: str = "default",
        signed: bool = True,
        envelope: bool = True,
        headers: Mapping[str, str] | None = None,
        **request_kwargs: Any,
    ) -> Any:
        headers = {"Accept": "application/json", **(headers or {})}
        if path.startswith("/v2/"):
            headers["Api-Version"] = "2.0"  # the SDK sends it (UDAPI100015 when required)

        def handle(response):
            payload = _unwrap(response, envelope=envelope)
            try:
                return parse(payload)
            except vendor.Unexpected as error:
                if kind is CallKind.ORDER:
                    raise  # the door makes it OrderStateUnknown: the order may exist
                raise BadResponse(str(error), broker=self.key, endpoint=path) from None

        return self._request(
            method,
            path,
            endpoint=path,
            parse=handle,
            host=host,
            kind=kind,
            bucket=bucket,
            auth=signed,
            headers=headers,
            **request_kwargs,
        )

    def map_error(self, response, *, endpoint: str, kind: CallKind, login: bool):
        status, body = response.status_code, _body(response)
        if body is None and (status < 400 or (status not in (401, 429) and status < 500)):
            return None  # a page we cannot read: the parser reports BadResponse
        failed = isinstance(body, dict) and body.get("status") == "error"
        if status >= 400 or failed:  # an error envelope may also come with HTTP 200
            return _error_for(response, body, endpoint=endpoint, kind=kind)
        return None

    def _instrument_key(self, ref: InstrumentRef | OrderRequest, endpoint: str) -> str:
        """Upstox names instruments by key: SEGMENT|ISIN for equities, SEGMENT|token for F&O."""
        given = ref.instrument_id
        if "|" in given:
            return given
        if vendor.ISIN.match(given) and ref.exchange in ("NSE", "BSE"):
            return f"{vendor.SEGMENTS[ref.exchange]}|{given}"
        raise InvalidRequest(
            f"{ref.exchange}:{ref.symbol} needs its instrument key (NSE_EQ|<ISIN>, from "
            "instruments() or holdings)",
            broker=self.key,
            endpoint=endpoint,
        )


# --- The envelope: errors are read first, by UpstoxAdapter.map_error ---------------------------
def _body(response) -> Any:
    return wire.json_body(response, parse_float=Decimal, parse_constant=vendor.no_constants)


def _unwrap(response, *, envelope: bool = True) -> Any:
    body = _body(response)
    if body is None:
        raise ValueError("not JSON")  # the door reports BadResponse with a snippet
    if not envelope:
        return body
    if not isinstance(body, dict) or body.get("status") != "success":
        raise ValueError("no success status in the envelope")
    return body["data"]


def _error_for(response, body, *, endpoint: str, kind: CallKind) -> BrokerError:
    status = response.status_code
    errors = body.get("errors") if isinstance(body, dict) else None
    errors = [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []
    # Some answers repeat the fields in snake_case (notes §5): read both spellings.
    code = str(errors[0].get("errorCode") or errors[0].get("error_code") or "") if errors else ""
    text = "; ".join(str(e.get("message") or "") for e in errors).strip("; ")
    message = f"{text or 'error'} (HTTP {status})"
    where: dict[str, Any] = {"broker": UpstoxAdapter.key, "endpoint": endpoint, "code": code}
    if code in TOKEN_CODES:
        return TokenExpired(message, **where)
    if code in AUTH_CODES or (kind is CallKind.AUTH and status in (401, 403)):
        return AuthError(message, **where)
    if status == 401:  # Error Codes: 401 is an invalid or expired token
        return TokenExpired(message, **where)
    if code in RATE_CODES or status == 429:
        # No Retry-After is documented; the caps are per second.
        return RateLimited(message, retry_after=wire.retry_after(response), **where)
    if code in CLOSED_CODES:
        return Maintenance(message, until=next_ist(SERVICE_OPENS_AT), **where)
    if status == 503 and (errors or "maintenance" in (response.text or "").lower()):
        # Error Codes: "temporarily offline for maintenance", said in Upstox's envelope or
        # page; a bare 503 page from the gateway in front is an outage, not maintenance.
        return Maintenance(message, **where)
    if status >= 500 or code in SERVER_CODES:
        return BrokerUnavailable(message, **where)
    if kind is CallKind.ORDER:
        return OrderRejected(message, **where)
    return InvalidRequest(message, **where)
