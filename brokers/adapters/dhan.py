"""Dhan (DhanHQ API v2): consent login on auth.dhan.co, trading on api.dhan.co/v2.

Wire reference: docs/brokers/dhan.md. Trading answers are bare JSON (no envelope); errors are
``{errorType, errorCode: "DH-9xx", errorMessage}``; market-quote answers are enveloped and can
fail with HTTP 200 and a numeric ``errorCode``. Instruments are addressed by security id plus
exchange segment, never by trading symbol.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlencode

from brokers.adapters import _dhan_parse as vendor
from brokers.adapters import wire
from brokers.adapters.base import BrokerAdapter
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
    Position,
    Profile,
    Quote,
    TagRule,
    Tokens,
    Trade,
)

QUOTE_BATCH = 1000  # marketfeed takes at most 1000 instruments per call (§4 LTP)

# Trading-API DH-9xx codes and data-API numeric codes (§5; the latter also with HTTP 200).
ERRORS: dict[str, type[BrokerError]] = {
    **dict.fromkeys(["DH-901", "807", "809"], TokenExpired),
    **dict.fromkeys(["DH-902", "806", "808", "810"], AuthError),  # no access / subscription
    **dict.fromkeys(
        ["DH-903", "DH-905", "DH-907", "804", "811", "812", "813", "814"], InvalidRequest
    ),
    **dict.fromkeys(["DH-904", "805"], RateLimited),
    "DH-906": OrderRejected,
    **dict.fromkeys(["DH-908", "DH-909", "800"], BrokerUnavailable),
}


class DhanAdapter(BrokerAdapter):
    key = "dhan"
    capabilities = Capabilities(
        login_kind=LoginKind.CONSENT,
        supports_refresh=True,
        token_expiry_rule="24 h after login (expiryTime of the token); RenewToken extends it",
        order_types=frozenset(vendor.ORDER_TYPES),
        products=frozenset(vendor.PRODUCTS),
        exchanges=frozenset(vendor.SEGMENTS),
        # §5 rate limits, per second: order APIs, data APIs, quote APIs, everything else.
        rate_limits={"default": 20, "order": 25, "data": 5, "quote": 1},
        # correlationId's limit, enforced by Dhan's order validation (§4 place order).
        tag_rule=TagRule(max_length=25),
        has_logout=False,  # no revoke endpoint; tokens are revoked on Dhan Web (§2)
        throttle_refuses_orders=True,  # §5: over-limit → 429 DH-904 (recorded)
    )

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._master: dict[tuple[str, str], tuple[str, str]] | None = None

    # --- Login (§1b) ------------------------------------------------------------------------
    def authorization_url(self, *, state: str, redirect_uri: str, code_challenge: str = "") -> str:
        # Dhan knows the redirect URL from the app's registration and never echoes a state.
        consent_id = self._auth_call(
            "POST",
            "/app/generate-consent",
            "generate_consent",
            {"client_id": self.app.client_id},
            parse=_consent_id,
        )
        query = urlencode({"consentAppId": consent_id})
        return self.url("AUTH", f"/login/consentApp-login?{query}")

    def complete_login(
        self, params: Mapping[str, str], *, redirect_uri: str = "", code_verifier: str = ""
    ) -> Tokens:
        if params.get("error") or not params.get("tokenId"):
            raise AuthError("consent denied or no tokenId", broker=self.key, endpoint="login")
        # S1 uses GET here (openalgo POSTs the same query); the answer is bare JSON (§1b.3).
        tokens = self._auth_call(
            "GET",
            "/app/consumeApp-consent",
            "consume_consent",
            {"tokenId": params["tokenId"]},
            parse=lambda data: self._tokens(
                data["accessToken"], data, name=data.get("dhanClientName") or ""
            ),
        )
        # The consent was generated for the app's client (§1b.1) and the redirect carries no
        # state: an answer naming another client is not the login this app asked for.
        if self.app.client_id and tokens.account_id != self.app.client_id:
            raise AuthError(
                "the consent was approved for another Dhan client than the app's",
                broker=self.key,
                endpoint="login",
            )
        return tokens

    def refresh(self) -> Tokens:
        """GET /v2/RenewToken (§2): another 24 h for a still-active token."""
        tokens = self._require_tokens()
        headers = {"access-token": tokens.access_token, "dhanClientId": self._client_id()}
        # The new token is in "token" (S5); accept "accessToken" as the login answer names it.
        self.tokens = renewed = self._call(
            "GET",
            "API",
            "/v2/RenewToken",
            "renew_token",
            kind=CallKind.AUTH,
            headers=headers,
            parse=lambda data: self._tokens(
                data.get("token") or data["accessToken"], data, name=tokens.extra.get("name", "")
            ),
        )
        return renewed

    # --- Reads (§4) -------------------------------------------------------------------------
    def profile(self) -> Profile:
        name = self.tokens.extra.get("name", "") if self.tokens else ""
        return self._call(
            "GET", "API", "/v2/profile", "profile", parse=lambda d: vendor.profile(d, name)
        )

    def funds(self) -> Funds:
        return self._call("GET", "API", "/v2/fundlimit", "funds", parse=vendor.funds)

    def holdings(self) -> list[Holding]:
        return self._call("GET", "API", "/v2/holdings", "holdings", parse=vendor.holdings)

    def positions(self) -> list[Position]:
        return self._call("GET", "API", "/v2/positions", "positions", parse=vendor.positions)

    def orders(self) -> list[Order]:
        return self._call("GET", "API", "/v2/orders", "orders", parse=vendor.orders)

    def trades(self) -> list[Trade]:
        return self._call("GET", "API", "/v2/trades", "trades", parse=vendor.trades)

    def quotes(self, instruments: list[InstrumentRef]) -> dict[InstrumentRef, Quote]:
        """POST /v2/marketfeed/ohlc: last price, and ohlc.close is the previous session's."""
        wanted: dict[tuple[str, str], list[InstrumentRef]] = {}
        for ref in instruments:
            wanted.setdefault(self._locate(ref), []).append(ref)
        keys, result = list(wanted), dict[InstrumentRef, Quote]()
        for start in range(0, len(keys), QUOTE_BATCH):
            batch = keys[start : start + QUOTE_BATCH]
            body: dict[str, list[int]] = {}
            for segment, security_id in batch:
                body.setdefault(segment, []).append(int(security_id))
            result |= self._call(
                "POST",
                "API",
                "/v2/marketfeed/ohlc",
                "quotes",
                bucket="quote",
                json=body,
                parse=lambda data, batch=batch: vendor.quotes(data, {k: wanted[k] for k in batch}),
            )
        return result

    def instruments(self) -> Iterable[Instrument]:
        """The compact scrip master CSV (§4 instrument master): public, no auth, no ISIN."""
        return self.http.call(
            "GET",
            self.url("MASTER", "/api-data/api-scrip-master.csv"),
            endpoint="instruments",
            parse=self._master_file,
            bucket=None,  # a public file, outside the API's caps
        )

    def _master_file(self, response) -> list[Instrument]:
        wire.raise_for_download(response, broker=self.key, endpoint="instruments")
        return vendor.master(response, self.key)

    # --- Writes (§4 orders) -----------------------------------------------------------------
    def place_order(self, order: OrderRequest) -> OrderAck:
        self.check_tag(order.tag, "place_order")
        segment, security_id = self._locate(
            InstrumentRef(order.exchange, order.symbol, order.instrument_id)
        )
        body = {
            "dhanClientId": self._client_id(),
            "transactionType": order.side.value,
            "exchangeSegment": segment,
            "productType": vendor.PRODUCTS[order.product],
            "orderType": vendor.ORDER_TYPES[order.order_type],
            "validity": order.validity.value,
            "securityId": security_id,
            "quantity": order.quantity,
            "disclosedQuantity": 0,
            "price": vendor.number(order.price),
            "triggerPrice": vendor.number(order.trigger_price),
            "afterMarketOrder": False,
        }
        if order.tag:
            body["correlationId"] = order.tag
        return self._write("POST", "/v2/orders", "place_order", body, tag=order.tag)

    def modify_order(self, change: OrderModification) -> OrderAck:
        # Dhan wants the whole order back (type, quantity, price, validity), so fill the gaps.
        current = self._call(
            "GET", "API", f"/v2/orders/{change.order_id}", "order", parse=vendor.modifiable
        )
        changes = {
            "orderType": vendor.ORDER_TYPES[change.order_type] if change.order_type else None,
            "quantity": change.quantity,
            "price": change.price,
            "triggerPrice": change.trigger_price,
            "validity": change.validity.value if change.validity else None,
        }
        merged = current | {k: v for k, v in changes.items() if v is not None}
        body = {
            "dhanClientId": self._client_id(),
            "orderId": change.order_id,
            **merged,
            "price": vendor.number(merged["price"]),
            "triggerPrice": vendor.number(merged["triggerPrice"]),
            "disclosedQuantity": 0,
        }
        return self._write("PUT", f"/v2/orders/{change.order_id}", "modify_order", body)

    def cancel_order(self, order_id: str) -> OrderAck:
        return self._write("DELETE", f"/v2/orders/{order_id}", "cancel_order", None)

    # --- Plumbing ---------------------------------------------------------------------------
    def _call(self, method, host, path, endpoint, *, parse=None, headers=None, **kwargs) -> Any:
        def handle(response):
            data = _body(response)
            return parse(data) if parse else data

        return self._request(
            method,
            path,
            endpoint=endpoint,
            parse=handle,
            host=host,
            auth=headers is None,  # the auth host takes the app's own headers instead
            headers={"Content-Type": "application/json", "Accept": "application/json"}
            if headers is None
            else headers,
            **kwargs,
        )

    def _auth_call(self, method: str, path: str, endpoint: str, params: dict, *, parse) -> Any:
        # §1b: the auth host takes the app key and secret in underscored headers.
        headers = {"app_id": self.app.api_key, "app_secret": self.app.api_secret}
        return self._call(
            method, "AUTH", path, endpoint, kind=CallKind.AUTH, headers=headers, params=params,
            parse=parse,
        )  # fmt: skip

    def _write(
        self, method: str, path: str, endpoint: str, body: dict | None, *, tag: str = ""
    ) -> OrderAck:
        return self._call(
            method,
            "API",
            path,
            endpoint,
            kind=CallKind.ORDER,
            json=body,
            parse=lambda data: OrderAck(order_id=str(data["orderId"])),
            tag=tag,
        )

    def map_error(self, response, *, endpoint: str, kind: CallKind, login: bool):
        data, error = wire.json_body(response), None
        if isinstance(data, dict):
            if data.get("internalErrorCode") == "DH-1111":
                return None  # an empty book, spelt as an error (§8.7)
            error = _vendor_error(data, response, self.key, endpoint)
        if error is None and response.status_code >= 400:
            error = _error_for_status(response.status_code, response, self.key, endpoint, "", "")
        signed_by_app = "app_id" in response.request.headers  # the auth host's calls (§1b)
        if signed_by_app and isinstance(error, (InvalidRequest, TokenExpired)):
            # Any refusal on the auth host (wrong secret, used or unknown tokenId) means the
            # login failed, not our input.
            error = AuthError(error.message, broker=self.key, endpoint=endpoint, code=error.code)
        return error

    def auth_headers(self, endpoint: str) -> dict[str, str]:
        # §3: bare token in access-token (no Bearer) and client-id on every /v2 call.
        return {"access-token": self.access_token(endpoint), "client-id": self._client_id()}

    def _require_tokens(self) -> Tokens:
        if not self.tokens:
            raise TokenExpired("not logged in", broker=self.key)
        return self.tokens

    def _client_id(self) -> str:
        return (self.tokens.account_id if self.tokens else "") or self.app.client_id

    def _tokens(self, token: Any, data: Mapping[str, Any], *, name: str) -> Tokens:
        if not isinstance(token, str) or not token:
            raise ValueError("no access token in the answer")
        self.http.add_secrets(token)
        return Tokens(
            access_token=token,
            expires_at=vendor.expiry(data.get("expiryTime")),
            account_id=str(data.get("dhanClientId") or self._client_id()),
            extra={"name": name} if name else {},
        )

    def _locate(self, ref: InstrumentRef) -> tuple[str, str]:
        """(exchangeSegment, securityId): Dhan addresses instruments by id only (§6)."""
        if ref.instrument_id and ref.exchange in vendor.SEGMENTS:
            if not str(ref.instrument_id).isdigit():
                raise InvalidRequest(
                    f"{ref.instrument_id!r} is not a Dhan security id",
                    broker=self.key,
                    endpoint="lookup",
                )
            return vendor.SEGMENTS[ref.exchange], str(ref.instrument_id)
        if self._master is None:
            self._master = {
                (i.exchange, i.symbol): (i.segment, i.instrument_id) for i in self.instruments()
            }
        try:
            return self._master[(ref.exchange, ref.symbol)]
        except KeyError:
            raise InvalidRequest(
                f"unknown instrument {ref.exchange}:{ref.symbol}",
                broker=self.key,
                endpoint="lookup",
            ) from None


# --- Answers: errors are read first, by DhanAdapter.map_error (§5) ------------------------------
def _body(response) -> Any:
    data = wire.json_body(response)
    if isinstance(data, dict) and data.get("internalErrorCode") == "DH-1111":
        return []  # "No holdings available" comes as an error body instead of [] (§8.7)
    if data is None or response.status_code >= 400:
        raise ValueError("not JSON")  # the door reports it as BadResponse with a redacted snippet
    return data


def _vendor_error(data: dict, response, broker: str, endpoint: str) -> BrokerError | None:
    code, message = data.get("errorCode"), data.get("errorMessage") or data.get("errorType") or ""
    if code is None and str(data.get("status", "")).lower() in {"failed", "failure", "error"}:
        # openalgo-seen shape {"status": "failed", "data": {"806": "Data APIs not subscribed"}}
        inner = data.get("data")
        code, message = next(iter(inner.items())) if isinstance(inner, dict) and inner else ("", "")
        message = message or str(data.get("remarks") or "request failed")
    if code is None:
        return None
    code = str(code)
    cls = ERRORS.get(code)
    if cls is None:
        return _error_for_status(response.status_code, response, broker, endpoint, code, message)
    return _error(cls, response, broker, endpoint, code, message)


def _consent_id(data: dict) -> str:
    # S1 treats anything but status "success" with a consentAppId as a refused consent.
    if data.get("status") != "success" or not data.get("consentAppId"):
        raise AuthError("consent was not generated", broker="dhan", endpoint="generate_consent")
    return str(data["consentAppId"])


def _error_for_status(status: int, response, broker, endpoint, code, message) -> BrokerError:
    message = message or f"HTTP {status}"
    if status == 503 and "maintenance" in (response.text or "").lower():
        return Maintenance(message, broker=broker, endpoint=endpoint, code=code)
    cls = {401: TokenExpired, 403: AuthError, 429: RateLimited}.get(status, InvalidRequest)
    cls = BrokerUnavailable if status >= 500 else cls
    return _error(cls, response, broker, endpoint, code, message)


def _error(cls, response, broker, endpoint, code, message) -> BrokerError:
    text = f"{code} {message}".strip()
    if issubclass(cls, RateLimited):
        retry_after = wire.retry_after(response)
        return cls(text, retry_after=retry_after, broker=broker, endpoint=endpoint, code=code)
    return cls(text, broker=broker, endpoint=endpoint, code=code)
