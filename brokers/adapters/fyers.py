"""Fyers API v3 (docs/brokers/fyers.md).

Trading and account calls live on ``api-t1.fyers.in/api/v3``, market data on
``api-t1.fyers.in/data``, the symbol master on ``public.fyers.in/sym_details``. Every answer is
``{s, code, message, <a key that differs per endpoint>}``; success and failure are in ``s``, not
in the HTTP status (§5, gotcha 7). Reading answers is in ``_fyers_parse``.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from oauthlib.oauth2 import WebApplicationClient

from brokers.adapters import _fyers_parse as vendor
from brokers.adapters._fyers_parse import BROKER, FYERS_PRODUCTS, FYERS_TYPES, SYMBOL_PREFIX
from brokers.adapters.base import BrokerAdapter
from brokers.adapters.wire import json_body, retry_after
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
    Side,
    TagRule,
    Tokens,
    Trade,
    Window,
)

QUOTE_BATCH = 50  # §5: ≤50 symbols per quotes call
# Cash-market masters: what ISIN joins need (F&O rows have no ISIN, and those files are big).
SYMBOL_MASTERS = ("NSE_CM", "BSE_CM")


# §5 error codes.
TOKEN_CODES = {-8, -15, -16, -17, -501}  # -501: the refresh token no longer works either
AUTH_CODES = {-371, -374, -437, -441}
RATE_CODES = {-353, -429}
RETRY_CODES = {-96, -201, -202, -203, -204, -205}
REJECT_CODES = {-99}


class FyersAdapter(BrokerAdapter):
    key = BROKER
    capabilities = Capabilities(
        login_kind=LoginKind.OAUTH2,
        supports_refresh=True,
        token_expiry_rule="the access token's JWT exp (one trading day); refresh token ~15 days",
        order_types=frozenset(OrderType),
        products=frozenset(FYERS_PRODUCTS),
        exchanges=frozenset(SYMBOL_PREFIX),
        # §5: 10/s and 200/min per user across every endpoint, orders included. The minute cap
        # binds for sustained traffic, and breaching it 3 times blocks the user for the day.
        rate_limits={"default": (Window(10), Window(200, 60))},  # orders count too
        # UNCONFIRMED: orderTag is alphanumeric; 30 characters is the assumed ceiling.
        tag_rule=TagRule(max_length=30, pattern="[A-Za-z0-9]+", says="must be letters and digits"),
    )

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.http.add_secrets(self._app_id_hash())

    # --- login (§1, §2) --------------------------------------------------------------------
    def authorization_url(self, *, state: str, redirect_uri: str, code_challenge: str = "") -> str:
        extra = {"code_challenge": code_challenge} if code_challenge else {}
        grant = WebApplicationClient(self.app.api_key).prepare_request_uri(
            "https://host.invalid/",  # oauthlib insists on https; only its query is kept
            redirect_uri=redirect_uri or self.app.redirect_uri,
            state=state,
            **extra,
        )
        return self.url("API", "/api/v3/generate-authcode") + "?" + urlsplit(grant).query

    def complete_login(
        self, params: Mapping[str, str], *, redirect_uri: str = "", code_verifier: str = ""
    ) -> Tokens:
        # Gotcha 3: the redirect is s=ok&code=200&auth_code=…; `code` is a status, not the grant.
        auth_code = params.get("auth_code", "")
        if params.get("error") or params.get("s", "ok") != "ok" or not auth_code:
            why = params.get("error") or params.get("message") or "no auth_code in the callback"
            raise AuthError(f"login not authorized: {why}", broker=BROKER, endpoint="login")
        self.http.add_secrets(auth_code)
        body = {
            "grant_type": "authorization_code",
            "appIdHash": self._app_id_hash(),
            "code": auth_code,
        }
        if code_verifier:
            body["code_verifier"] = code_verifier  # UNCONFIRMED: the PKCE field's name
        access, refresh = self._call(
            "POST",
            "/api/v3/validate-authcode",
            "validate-authcode",
            lambda b: (b["access_token"], b.get("refresh_token", "")),
            kind=CallKind.AUTH,
            json=body,
        )
        self.http.add_secrets(access, refresh)
        claims = vendor.jwt_claims(access)
        account = str(claims.get("fy_id") or claims.get("display_name") or "")
        expires_at = vendor.expires_at(claims)
        self.tokens = Tokens(access, expires_at, refresh_token=refresh, account_id=account)
        return self.tokens

    def refresh(self) -> Tokens:
        # §2: the user's PIN on every refresh; only a new access token comes back.
        if not self.tokens or not self.tokens.refresh_token:
            raise TokenExpired("no refresh token; log in again", broker=BROKER, endpoint="refresh")
        if not self.app.pin:
            raise AuthError("refresh needs the user's Fyers PIN", broker=BROKER, endpoint="refresh")
        body = {
            "grant_type": "refresh_token",
            "appIdHash": self._app_id_hash(),
            "refresh_token": self.tokens.refresh_token,
            "pin": self.app.pin,
        }
        access = self._call(
            "POST",
            "/api/v3/validate-refresh-token",
            "refresh",
            lambda b: b["access_token"],
            kind=CallKind.AUTH,
            json=body,
        )
        self.http.add_secrets(access)
        self.tokens = Tokens(
            access,
            vendor.expires_at(vendor.jwt_claims(access)),
            refresh_token=self.tokens.refresh_token,
            account_id=self.tokens.account_id,
            extra=self.tokens.extra,
        )
        return self.tokens

    def logout(self) -> None:
        self._call("POST", "/api/v3/logout", "logout", kind=CallKind.AUTH, signed=True)

    # --- reads (§4) ------------------------------------------------------------------------
    def profile(self) -> Profile:
        def read(body):
            data = body["data"]  # gotcha 8: the one payload wrapped in `data`
            return Profile(str(data["fy_id"]), data["name"] or "", email=data["email_id"] or "")

        return self._call("GET", "/api/v3/profile", "profile", read)

    def funds(self) -> Funds:
        # Rows are keyed on `id` (titles are for people). Equity and commodity margins are
        # separate pools, and only the equity one buys shares.
        def read(body):
            rows = {int(r["id"]): r["equityAmount"] for r in body["fund_limit"]}
            return Funds(
                available=vendor.money(rows[10]),
                used=vendor.money(rows.get(2, 0)),
                total=vendor.money(rows[1]) if 1 in rows else None,
                collateral=vendor.money(rows.get(5, 0)),
            )

        return self._call("GET", "/api/v3/funds", "funds", read)

    def holdings(self) -> list[Holding]:
        return self._call(
            "GET", "/api/v3/holdings", "holdings", vendor.rows("holdings", vendor.holding)
        )

    def positions(self) -> list[Position]:
        return self._call(
            "GET", "/api/v3/positions", "positions", vendor.rows("netPositions", vendor.position)
        )

    def orders(self) -> list[Order]:
        return self._call("GET", "/api/v3/orders", "orders", vendor.rows("orderBook", vendor.order))

    def trades(self) -> list[Trade]:
        return self._call(
            "GET", "/api/v3/tradebook", "trades", vendor.rows("tradeBook", vendor.trade)
        )

    def quotes(self, instruments: list[InstrumentRef]) -> dict[InstrumentRef, Quote]:
        wanted = {
            vendor.fyers_symbol(r.exchange, r.symbol, r.instrument_id): r for r in instruments
        }

        def read(body):
            found = {}
            for entry in body["d"]:
                ref = wanted.get(str(entry["n"]).upper())
                if ref is None or entry.get("s") != "ok":  # an unknown symbol fails on its own
                    continue
                values, close = entry["v"], entry["v"].get("prev_close_price")
                found[ref] = Quote(
                    ref.exchange,
                    ref.symbol,
                    last_price=vendor.money(values["lp"], signed=False),
                    previous_close=None if close is None else vendor.money(close, signed=False),
                )
            return found

        symbols, result = list(wanted), dict[InstrumentRef, Quote]()
        for start in range(0, len(symbols), QUOTE_BATCH):
            batch = ",".join(symbols[start : start + QUOTE_BATCH])
            result |= self._call("GET", "/data/quotes", "quotes", read, params={"symbols": batch})
        return result

    def instruments(self) -> list[Instrument]:
        found: list[Instrument] = []
        for master in SYMBOL_MASTERS:
            endpoint = f"sym_details/{master}.csv"
            found += self.http.call(
                "GET",
                self.url("PUBLIC", f"/sym_details/{master}.csv"),
                endpoint=endpoint,
                parse=functools.partial(vendor.parse_master, master=master, endpoint=endpoint),
                bucket=None,  # public files, outside the API's caps
            )
        return found

    # --- writes (§4, §6) --------------------------------------------------------------------
    def place_order(self, order: OrderRequest) -> OrderAck:
        self.check_tag(order.tag, "place_order")
        body = {
            "symbol": vendor.fyers_symbol(order.exchange, order.symbol, order.instrument_id),
            "qty": order.quantity,
            "type": FYERS_TYPES[order.order_type],
            "side": 1 if order.side is Side.BUY else -1,
            "productType": FYERS_PRODUCTS[order.product],
            "limitPrice": vendor.number(order.price),
            "stopPrice": vendor.number(order.trigger_price),
            "validity": order.validity.value,
            "disclosedQty": 0,
            "offlineOrder": False,  # a JSON boolean (old samples sent the string "False")
            "stopLoss": 0,
            "takeProfit": 0,
        }
        if order.tag:
            body["orderTag"] = order.tag
        return self._write("POST", "place_order", body, tag=order.tag)

    def modify_order(self, change: OrderModification) -> OrderAck:
        body: dict = {"id": change.order_id}
        if change.order_type is not None:
            body["type"] = FYERS_TYPES[change.order_type]
        if change.quantity is not None:
            body["qty"] = change.quantity
        if change.price is not None:
            body["limitPrice"] = vendor.number(change.price)
        if change.trigger_price is not None:
            body["stopPrice"] = vendor.number(change.trigger_price)
        return self._write("PATCH", "modify_order", body)

    def cancel_order(self, order_id: str) -> OrderAck:
        return self._write("DELETE", "cancel_order", {"id": order_id})  # gotcha 11: DELETE + body

    # --- plumbing ---------------------------------------------------------------------------
    def _app_id_hash(self) -> str:
        # §1, gotcha 2: sha256("APPID-100:secret"), colon included, lowercase hex.
        return hashlib.sha256(f"{self.app.api_key}:{self.app.api_secret}".encode()).hexdigest()

    def _write(self, method: str, endpoint: str, body: dict, *, tag: str = "") -> OrderAck:
        return self._call(
            method,
            "/api/v3/orders/sync",
            endpoint,
            lambda b: OrderAck(order_id=str(b["id"])),
            kind=CallKind.ORDER,
            json=body,
            tag=tag,
        )

    def _call(
        self,
        method: str,
        path: str,
        endpoint: str,
        read: Callable[[dict], object] = lambda body: body,
        *,
        kind: CallKind = CallKind.READ,
        signed: bool | None = None,
        **kwargs,
    ):
        """One call on the API host; ``read`` maps the payload inside the door's parser, so a
        missing field or an odd value becomes BadResponse (or OrderStateUnknown on a write)."""
        signed = kind is not CallKind.AUTH if signed is None else signed

        def parse(response):
            body = vendor.envelope(response)
            try:
                return read(body)
            except BadResponse as error:  # raised by a mapper that did not know the endpoint
                raise BadResponse(error.message, broker=BROKER, endpoint=endpoint) from None

        return self._request(
            method,
            path,
            endpoint=endpoint,
            parse=parse,
            kind=kind,
            bucket="default",  # §5: orders count against the same caps
            auth=signed,
            **kwargs,
        )

    def map_error(self, response, *, endpoint: str, kind: CallKind, login: bool):
        where: dict[str, Any] = {"broker": BROKER, "endpoint": endpoint}
        status = response.status_code
        if status == 429:
            return RateLimited("HTTP 429", retry_after=_retry_after(response), code="429", **where)
        body = json_body(response, parse_float=Decimal)
        if not isinstance(body, dict) or body.get("s") not in ("ok", "error"):
            if status >= 500:  # a gateway's HTML page during an outage
                return BrokerUnavailable(f"HTTP {status}", code=str(status), **where)
            return None  # the parser reports it (BadResponse)
        if body["s"] == "ok":
            return None
        # Errors may come with HTTP 200 (§5): the code decides, the status only breaks ties.
        code = int(body.get("code") or 0)
        message = f"{body.get('message') or 'no message'} (code {code})"
        where["code"] = str(code)
        if code in RATE_CODES:
            return RateLimited(message, retry_after=_retry_after(response), **where)
        error: type[BrokerError] = InvalidRequest
        if code in TOKEN_CODES or status == 401:
            error = TokenExpired
        elif code in AUTH_CODES or status == 403:
            error = AuthError
        elif "maintenance" in message.lower():
            error = Maintenance
        elif status >= 500 or code in RETRY_CODES:
            error = BrokerUnavailable
        elif login:  # a refused token exchange or refresh (wrong PIN...) means: log in again
            error = AuthError
        elif code in REJECT_CODES:
            error = OrderRejected
        return error(message, **where)

    def auth_headers(self, endpoint: str) -> dict[str, str]:
        # §3: "APPID-100:access_token", no scheme word; `version: 3` as the SDK sends it.
        return {
            "Authorization": f"{self.app.api_key}:{self.access_token(endpoint)}",
            "version": "3",
        }


def _retry_after(response) -> float | None:
    # §5: order routes reportedly add X-Retry-After-Ms beside Retry-After; the finer one wins.
    millis = retry_after(response, header="X-Retry-After-Ms", default=None)
    return millis / 1000 if millis is not None else retry_after(response)
