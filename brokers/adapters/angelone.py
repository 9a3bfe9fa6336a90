"""Angel One SmartAPI: client code + PIN + TOTP login (or the publisher redirect), JSON over HTTPS.

Wire reference: docs/brokers/angelone.md; the § numbers in comments point into it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date
from typing import Any
from urllib.parse import urlencode

from brokers.adapters import _angelone_parse as payload
from brokers.adapters.base import BrokerAdapter
from brokers.adapters.wire import json_body, retry_after
from brokers.clock import now_ist
from brokers.errors import (
    AuthError,
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
    Product,
    Profile,
    Quote,
    TagRule,
    Tokens,
    Trade,
)

SECURE = "/rest/secure/angelbroking"
MASTER_PATH = "/OpenAPI_File/files/OpenAPIScripMaster.json"
QUOTE_BATCH = 50  # §4 market/v1/quote: at most 50 tokens a call

# §3: the IP/MAC headers must be present but are not validated today; an app may pin its
# registered static IP through AppCredentials.extra (SEBI 2026 rules for order APIs).
CLIENT_HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/json",
    "X-UserType": "USER",
    "X-SourceID": "WEB",
    "X-ClientLocalIP": "127.0.0.1",
    "X-ClientPublicIP": "127.0.0.1",
    "X-MACAddress": "02:00:00:00:00:01",
}
HEADER_OVERRIDES = {
    "client_local_ip": "X-ClientLocalIP",
    "client_public_ip": "X-ClientPublicIP",
    "mac_address": "X-MACAddress",
}

# §5 error codes. AB1050 (wrong TOTP) is not in the table but is what logins answer.
TOKEN_CODES = {"AG8001", "AG8002", "AG8003", "AB1010", "AB1011", "AB8050", "AB8051"}
AUTH_CODES = {
    *("AG8004", "AB1000", "AB1001", "AB1002", "AB1005", "AB1007", "AB1031", "AB1032", "AB1050"),
}
TRANSIENT_CODES = {"AB1004", "AB2001"}
# §5 rate table, per client code: 1/s unless listed; the three order APIs share one 9/s budget.
# The quote section says 1/s where the table says 10/s: we keep the stricter one.
RATE_LIMITS = {
    **dict.fromkeys(("default", "login", "refresh", "logout", "holdings", "positions"), 1),
    **dict.fromkeys(("orderbook", "tradebook", "quote", "master"), 1),
    "profile": 3,
    "funds": 2,
    "order": 9,
}

# Instrument master lookups (symbol → token), one download per master URL per IST day.
_master_index: dict[str, tuple[date, dict[tuple[str, str], tuple[str, str]]]] = {}


class AngelOneAdapter(BrokerAdapter):
    key = "angelone"
    capabilities = Capabilities(
        login_kind=LoginKind.CREDENTIALS,
        supports_refresh=True,
        token_expiry_rule="00:00 IST (midnight) after login; refresh tokens die with it",
        order_types=frozenset(OrderType),
        products=frozenset({Product.CNC, Product.MIS, Product.NRML, Product.MTF}),
        exchanges=frozenset({"NSE", "BSE", "NFO", "BFO", "MCX", "CDS", "NCDEX"}),
        rate_limits=RATE_LIMITS,
        has_logout=True,
        login_fields=("clientcode", "pin", "totp"),
        # §5 AB4008: "ordertag length should be less than 20 characters"
        tag_rule=TagRule(max_length=19),
        throttle_refuses_orders=True,  # §5: over-limit → plain-text 403 "Access denied..."
    )

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # §1b: no app secret exists; the API key (sent as X-PrivateKey) is what identifies us.
        self.http.add_secrets(self.app.api_key)

    # --- Login (§1, §2) -------------------------------------------------------------------
    def authorization_url(self, *, state: str, redirect_uri: str, code_challenge: str = "") -> str:
        query = {"api_key": self.app.api_key, "state": state}
        if redirect_uri or self.app.redirect_uri:
            query["redirect_url"] = redirect_uri or self.app.redirect_uri
        return self.url("LOGIN", "/publisher-login") + "?" + urlencode(query)

    def complete_login(
        self, params: Mapping[str, str], *, redirect_uri: str = "", code_verifier: str = ""
    ) -> Tokens:
        if params.get("error"):
            raise AuthError(
                f"login refused at Angel One ({params['error']})",
                broker=self.key,
                endpoint="publisher-login",
            )
        if params.get("auth_token"):
            return self._session_from_redirect(params)
        return self._login_by_password(params)

    def _session_from_redirect(self, params: Mapping[str, str]) -> Tokens:
        # §1a: the redirect already carries the usable JWT; a refresh_token there is
        # UNCONFIRMED, so it is taken only if present. The client code comes from the profile.
        feed = params.get("feed_token", "")
        self.http.add_secrets(params["auth_token"], feed, params.get("refresh_token", ""))
        self.tokens = Tokens(
            access_token=params["auth_token"],
            refresh_token=params.get("refresh_token", ""),
            expires_at=payload.session_end(),
            extra={"feed_token": feed} if feed else {},
        )
        self.tokens = replace(self.tokens, account_id=self.profile().account_id)
        return self.tokens

    def _login_by_password(self, params: Mapping[str, str]) -> Tokens:
        # §1b: "password" is the PIN; the TOTP is typed for this call only and never kept.
        client = params.get("clientcode") or self.app.client_id
        pin, totp = params.get("pin") or self.app.pin, params.get("totp", "")
        if not (client and pin and totp):
            raise InvalidRequest(
                "client code, PIN and TOTP are all needed to log in",
                broker=self.key,
                endpoint="loginByPassword",
            )
        self.http.add_secrets(pin, totp)
        self.tokens = self._call(
            "POST",
            "/rest/auth/angelbroking/user/v1/loginByPassword",
            endpoint="loginByPassword",
            bucket="login",
            kind=CallKind.AUTH,
            auth=False,
            json={"clientcode": client, "password": pin, "totp": totp},
            build=lambda data: self._tokens(data, account_id=client),
        )
        return self.tokens

    def refresh(self) -> Tokens:
        # §2: generateTokens takes the refresh token in the body and the current JWT as Bearer.
        if not self.tokens or not self.tokens.refresh_token:
            raise TokenExpired(
                "no refresh token (publisher logins get none): log in again",
                broker=self.key,
                endpoint="generateTokens",
            )
        current = self.tokens
        self.tokens = self._call(
            "POST",
            "/rest/auth/angelbroking/jwt/v1/generateTokens",
            endpoint="generateTokens",
            bucket="refresh",
            kind=CallKind.AUTH,
            json={"refreshToken": current.refresh_token},
            build=lambda data: self._tokens(
                data, account_id=current.account_id, refresh=current.refresh_token
            ),
        )
        return self.tokens

    def _tokens(self, data: dict, *, account_id: str, refresh: str = "") -> Tokens:
        access, feed = data["jwtToken"], data.get("feedToken") or ""
        refresh = data.get("refreshToken") or refresh
        self.http.add_secrets(access, refresh, feed)
        if not access:
            raise ValueError("empty jwtToken")
        return Tokens(
            access_token=access,
            refresh_token=refresh,
            expires_at=payload.session_end(),
            account_id=account_id,
            extra={"feed_token": feed} if feed else {},
        )

    def logout(self) -> None:
        # §2: kills the API session only, not the user's app/web login.
        client = (self.tokens.account_id if self.tokens else "") or self.app.client_id
        self._call(
            "POST",
            SECURE + "/user/v1/logout",
            endpoint="logout",
            bucket="logout",
            kind=CallKind.AUTH,
            json={"clientcode": client},
        )

    # --- Reads (§4) ---------------------------------------------------------------------------
    def profile(self) -> Profile:
        return self._get("/user/v1/getProfile", "profile", payload.profile)

    def funds(self) -> Funds:
        return self._get("/user/v1/getRMS", "funds", payload.funds)

    def holdings(self) -> list[Holding]:
        return self._get("/portfolio/v1/getAllHolding", "holdings", payload.holdings)

    def positions(self) -> list[Position]:
        return self._get("/order/v1/getPosition", "positions", payload.rows(payload.position))

    def orders(self) -> list[Order]:
        return self._get("/order/v1/getOrderBook", "orderbook", payload.rows(payload.order))

    def trades(self) -> list[Trade]:
        today = now_ist().date()
        trade = payload.rows(lambda row: payload.trade(row, today))
        return self._get("/order/v1/getTradeBook", "tradebook", trade)

    def quotes(self, instruments: list[InstrumentRef]) -> dict[InstrumentRef, Quote]:
        # §4 market/v1/quote in OHLC mode: "close" there is the previous session's close
        # (netChange = ltp - close). Answers are camelCase (§8.10), keyed by exchange + token.
        wanted = {}
        for ref in instruments:
            try:
                token = ref.instrument_id or self._resolve(ref.exchange, ref.symbol, "")[1]
            except InvalidRequest:
                continue  # not in the master: no quote, like the API's "unfetched"
            wanted[(ref.exchange, str(token))] = ref
        keys, found = list(wanted), {}
        for start in range(0, len(keys), QUOTE_BATCH):
            tokens: dict[str, list[str]] = {}
            for exchange, token in keys[start : start + QUOTE_BATCH]:
                tokens.setdefault(exchange, []).append(token)
            found.update(
                self._call(
                    "POST",
                    SECURE + "/market/v1/quote",
                    endpoint="quote",
                    bucket="quote",
                    json={"mode": "OHLC", "exchangeTokens": tokens},
                    build=lambda data: payload.quotes(data, wanted),
                )
            )
        return found

    def instruments(self) -> list[Instrument]:
        return [instrument for instrument, _ in self._master()]

    def _master(self) -> list[tuple[Instrument, str]]:
        # §4 Instrument master: one public JSON array, no auth, no envelope. Each download also
        # refreshes the symbol → (tradingsymbol, token) index that orders and quotes need.
        url = self.url("MASTER", MASTER_PATH)
        pairs = self.http.call(
            "GET", url, endpoint="OpenAPIScripMaster", parse=payload.master, bucket="master"
        )
        _master_index[url] = (now_ist().date(), payload.symbol_index(pairs))
        return pairs

    def _resolve(self, exchange: str, symbol: str, token: str) -> tuple[str, str]:
        """Angel's (tradingsymbol, symboltoken) for our symbol: §6 every call needs both."""
        if token and (exchange != "NSE" or payload.plain(symbol) != symbol):
            return symbol, token
        url = self.url("MASTER", MASTER_PATH)
        cached = _master_index.get(url)
        if not cached or cached[0] != now_ist().date():
            self._master()
            cached = _master_index[url]
        hit = cached[1].get((exchange, symbol))
        if not hit:
            raise InvalidRequest(
                f"{exchange}:{symbol} is not in Angel One's instrument master",
                broker=self.key,
                endpoint="OpenAPIScripMaster",
                code="AB1009",
            )
        return hit[0], token or hit[1]

    # --- Writes (§4, §6) --------------------------------------------------------------------
    def place_order(self, order: OrderRequest) -> OrderAck:
        self.check_tag(order.tag, "placeOrder")
        symbol, token = self._resolve(order.exchange, order.symbol, order.instrument_id)
        stop = order.order_type in (OrderType.SL, OrderType.SL_M)
        body = {
            "variety": "STOPLOSS" if stop else "NORMAL",  # §8.12
            "tradingsymbol": symbol,
            "symboltoken": token,
            "transactiontype": order.side.value,
            "exchange": order.exchange,
            "ordertype": payload.ORDER_TYPES_OUT[order.order_type],
            "producttype": payload.PRODUCTS_OUT[order.product],
            "duration": order.validity.value,
            "price": payload.wire_number(order.price),
            "triggerprice": payload.wire_number(order.trigger_price),
            "squareoff": "0",
            "stoploss": "0",
            "quantity": str(order.quantity),
        }
        if order.tag:
            body["ordertag"] = order.tag
        return self._write("placeOrder", body, tag=order.tag)

    def modify_order(self, change: OrderModification) -> OrderAck:
        # §4 modifyOrder wants the whole order again: start from today's order book.
        body = {**self._book_entry(change.order_id), "orderid": change.order_id}
        if change.order_type:
            body["ordertype"] = payload.ORDER_TYPES_OUT[change.order_type]
        if change.quantity is not None:
            body["quantity"] = str(change.quantity)
        if change.price is not None:
            body["price"] = payload.wire_number(change.price)
        if change.trigger_price is not None:
            body["triggerprice"] = payload.wire_number(change.trigger_price)
        if change.validity:
            body["duration"] = change.validity.value
        return self._write("modifyOrder", body)

    def cancel_order(self, order_id: str) -> OrderAck:
        # §4 cancelOrder needs the order's variety, which only the order book knows.
        variety = self._book_entry(order_id)["variety"]
        return self._write("cancelOrder", {"variety": variety, "orderid": order_id})

    def _book_entry(self, order_id: str) -> dict[str, str]:
        pick = functools.partial(payload.book_entry, order_id=order_id)
        entry = self._get("/order/v1/getOrderBook", "orderbook", pick)
        if entry is None:
            raise InvalidRequest(
                f"order {order_id} is not in today's order book",
                broker=self.key,
                endpoint="getOrderBook",
                code="AB1013",
            )
        return entry

    def _write(self, endpoint: str, body: dict, *, tag: str = "") -> OrderAck:
        return self._call(
            "POST",
            f"{SECURE}/order/v1/{endpoint}",
            endpoint=endpoint,
            bucket="order",
            kind=CallKind.ORDER,
            json=body,
            build=payload.ack,
            tag=tag,
        )

    # --- Plumbing ----------------------------------------------------------------------------
    def _get(self, path: str, bucket: str, build: Callable[[Any], Any]) -> Any:
        # §8.4: on the list reads, AB1013-AB1016 ("not found") mean an empty list.
        endpoint = path.rsplit("/", 1)[-1]
        return self._call("GET", SECURE + path, endpoint=endpoint, bucket=bucket, build=build)

    def _call(
        self,
        method: str,
        path: str,
        *,
        endpoint: str,
        bucket: str,
        build: Callable[[Any], Any] = lambda data: data,
        kind: CallKind = CallKind.READ,
        auth: bool = True,
        json: dict | None = None,
        tag: str = "",
    ) -> Any:
        return self._request(
            method,
            path,
            endpoint=endpoint,
            parse=lambda response: build(payload.data(response)),
            kind=kind,
            bucket=bucket,
            auth=auth,
            tag=tag,
            headers=self._client_headers(),
            json=json,
        )

    def map_error(self, response, *, endpoint: str, kind: CallKind, login: bool):
        status, where = response.status_code, {"broker": self.key, "endpoint": endpoint}
        body = json_body(response)
        # §8.5: the rate limiter answers HTTP 403 (sometimes 429) in plain text.
        if status == 429 or (status == 403 and body is None):
            retry = retry_after(response)
            return RateLimited("access rate exceeded", retry_after=retry, code=str(status), **where)
        if not isinstance(body, dict) or not ({"status", "success"} & body.keys()):
            if status >= 500:
                down = Maintenance if "maintenance" in response.text.lower() else BrokerUnavailable
                return down(f"HTTP {status}", code=str(status), **where)
            return None  # no envelope: the parser reports it (BadResponse)
        code = payload.error_code(body)
        if payload.success(body):
            return None
        if code in payload.EMPTY_CODES and response.request.method == "GET":
            return None  # §8.4: on the list reads, AB1013-AB1016 ("not found") mean empty
        message = str(body.get("message") or "refused")
        text = f"{message} ({code})" if code else message
        if code in TOKEN_CODES:
            return TokenExpired(text, code=code, **where)
        if code in AUTH_CODES or (kind is CallKind.AUTH and code not in TRANSIENT_CODES):
            return AuthError(text, code=code, **where)
        error: type[BrokerError] = InvalidRequest
        if code in TRANSIENT_CODES or status >= 500:
            error = BrokerUnavailable
        elif kind is CallKind.ORDER:
            error = OrderRejected
        return error(text, code=code, **where)

    def _client_headers(self) -> dict[str, str]:
        headers = {**CLIENT_HEADERS, "X-PrivateKey": self.app.api_key}  # §8.7: even on login
        for name, header in HEADER_OVERRIDES.items():
            if self.app.extra.get(name):
                headers[header] = self.app.extra[name]
        return headers  # the session's Bearer JWT (bare, §8.8) comes from auth_headers
