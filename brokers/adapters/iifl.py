"""IIFL Securities on Symphony XTS (https://ttblaze.iifl.com), per docs/brokers/iifl.md.

Two sessions from two app-key pairs: the interactive API (/interactive/...) trades, the
market-data API (/apimarketdata/...) quotes; each token goes bare in the ``authorization``
header and both can lapse on their own. Every answer is {type, code, description, result}.
Orders, trades and holdings name instruments only by (segment, exchange instrument id), so
symbols come from the instrument master, kept in the cache for the day.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import time
from typing import Any

from django.core.cache import cache
from django.utils import timezone

from brokers.adapters import _iifl_master as master
from brokers.adapters import _iifl_parse as vendor
from brokers.adapters import wire
from brokers.adapters.base import BrokerAdapter
from brokers.clock import next_ist
from brokers.errors import (
    AuthError,
    BrokerError,
    BrokerUnavailable,
    InvalidRequest,
    Maintenance,
    NotSupported,
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

# §2: lifetime UNCONFIRMED ("one trading day"); we call both sessions dead at the next IST
# midnight, which is never later than XTS's beginning-of-day reset.
TOKEN_DIES = time(0, 0)
MASTER_REFRESH = time(8, 0)  # the master changes once a day, before the pre-open
SOURCE = "WEBAPI"  # §1: S1 config.ini; openalgo's "WebAPI" works too
QUOTE_BATCH = 50  # §4 Quotes: at most 50 instruments per call (S3)
MASTER = "/apimarketdata/instruments/master"
ORDERS = "/interactive/orders"


class IiflAdapter(BrokerAdapter):
    key = vendor.BROKER
    capabilities = Capabilities(
        login_kind=LoginKind.CREDENTIALS,
        supports_refresh=False,
        token_expiry_rule="00:00 IST after login, both sessions (UNCONFIRMED: one trading day)",
        order_types=frozenset(OrderType),
        products=frozenset({Product.CNC, Product.MIS, Product.NRML}),
        exchanges=frozenset(vendor.SEGMENTS),
        # §5: IIFL publishes no limits (UNCONFIRMED); modest caps per API.
        rate_limits={"default": 5.0, "order": 10.0, "marketdata": 2.0},
        # orderUniqueIdentifier's length limit is UNCONFIRMED: refuse rather than truncate.
        tag_rule=TagRule(max_length=20),
        has_logout=True,
    )

    # --- §1 login: two POSTs with app key + secret, nothing typed --------------------------
    def complete_login(self, params, *, redirect_uri: str = "", code_verifier: str = "") -> Tokens:
        market_key = self.app.extra.get("marketdata_key", "")
        market_secret = self.app.extra.get("marketdata_secret", "")
        if not (self.app.api_key and self.app.api_secret and market_key and market_secret):
            raise AuthError(
                "needs the interactive and the market-data app key and secret",
                broker=self.key,
                endpoint="user/session",
            )
        self.http.add_secrets(self.app.api_secret, market_secret)
        token, user, investor, clients = self._login(
            "/interactive/user/session", "user/session", self.app.api_key, self.app.api_secret
        )
        market_token, _, _, _ = self._login(
            "/apimarketdata/auth/login", "auth/login", market_key, market_secret
        )
        extra = {"marketdata_token": market_token}
        account = user
        if not investor:  # §1: dealer logins name the client on every interactive call
            account = self.app.client_id or (clients[0] if clients else user)
            extra["client_id"] = account
        self.tokens = Tokens(
            access_token=token,
            expires_at=next_ist(TOKEN_DIES),
            account_id=account,
            extra=extra,
        )
        return self.tokens

    def _login(self, path: str, endpoint: str, key: str, secret: str):
        def parse(payload):
            found = vendor.login(payload)
            self.http.add_secrets(found[0])
            return found

        body = {"appKey": key, "secretKey": secret, "source": SOURCE}
        return self._call("POST", path, endpoint, parse, kind=CallKind.AUTH, token="", json=body)

    def logout(self) -> None:
        """§2: DELETE both sessions; one that is already gone is as good as logged out."""
        sessions: tuple[tuple[str, str, str, dict[str, str]], ...] = (
            ("/interactive/user/session", "user/session", "interactive", self._client()),
            ("/apimarketdata/auth/logout", "auth/logout", "marketdata", {}),
        )
        for path, endpoint, session, params in sessions:
            try:
                token = self._token(session, endpoint)
                self._call(
                    "DELETE",
                    path,
                    endpoint,
                    vendor.ignore,
                    kind=CallKind.AUTH,
                    token=token,
                    params=params,
                )
            except TokenExpired:
                continue

    # --- §4 reads --------------------------------------------------------------------------
    def profile(self) -> Profile:
        """§4 Profile: GET /interactive/user/profile."""
        return self._read("/interactive/user/profile", "user/profile", vendor.profile)

    def funds(self) -> Funds:
        """§4 Funds: GET /interactive/user/balance, BalanceList[0].limitObject.RMSSubLimits."""
        return self._read("/interactive/user/balance", "user/balance", vendor.funds)

    def holdings(self) -> list[Holding]:
        """§4 Holdings: GET /interactive/portfolio/holdings, keyed by ISIN, no symbol, no price."""
        rows = self._read("/interactive/portfolio/holdings", "holdings", vendor.holdings, empty={})
        names = self._names([(segment, h.instrument_id) for segment, h in rows])
        named = []
        for segment, holding in rows:
            symbol, isin, description = names.get(
                (segment, holding.instrument_id), (holding.isin, "", "")
            )
            named.append(
                replace(
                    holding, symbol=symbol, isin=holding.isin or isin, broker_symbol=description
                )
            )
        return named

    def positions(self) -> list[Position]:
        """§4 Positions: GET /interactive/portfolio/positions?dayOrNet=NetWise."""
        rows = self._read(
            "/interactive/portfolio/positions",
            "positions",
            vendor.positions,
            empty={},
            params={"dayOrNet": "NetWise"},
        )
        # Cash rows carry a usable TradingSymbol; derivative ones take the exchange's symbol.
        names = self._names([(s, p.instrument_id) for s, p in rows if s not in vendor.CASH])
        return [replace(p, symbol=names.get((s, p.instrument_id), (p.symbol,))[0]) for s, p in rows]

    def orders(self) -> list[Order]:
        """§4 Order book: GET /interactive/orders; empty is HTTP 400 (gotcha 7)."""
        return self._named(self._read(ORDERS, "orders", vendor.orders, empty=[]))

    def trades(self) -> list[Trade]:
        """§4 Trade book: GET /interactive/orders/trades."""
        return self._named(
            self._read("/interactive/orders/trades", "trades", vendor.trades, empty=[])
        )

    def quotes(self, instruments: list[InstrumentRef]) -> dict[InstrumentRef, Quote]:
        """§4 Quotes: POST /apimarketdata/instruments/quotes (1502), segments as numbers."""
        token = self._token("marketdata", "instruments/quotes")
        wanted: dict[tuple[int, int], InstrumentRef] = {}
        for ref in instruments:
            segment = self._segment(ref.exchange, "instruments/quotes")
            instrument = ref.instrument_id or self._instrument_id(segment, ref.symbol, "quotes")
            wanted[(vendor.SEGMENT_NUMBERS[segment], self._numeric(instrument, "quotes"))] = ref
        keys, found = list(wanted), {}
        for start in range(0, len(keys), QUOTE_BATCH):
            body = {
                "instruments": [
                    {"exchangeSegment": s, "exchangeInstrumentID": i}
                    for s, i in keys[start : start + QUOTE_BATCH]
                ],
                "xtsMessageCode": 1502,
                "publishFormat": "JSON",
            }
            prices = self._call(
                "POST",
                "/apimarketdata/instruments/quotes",
                "instruments/quotes",
                vendor.touchlines,
                bucket="marketdata",
                token=token,
                json=body,
            )
            for key, (last, close) in prices.items():
                if key in wanted:
                    ref = wanted[key]
                    found[ref] = Quote(ref.exchange, ref.symbol, last, close)
        return found

    def instruments(self) -> list[Instrument]:
        """§4 Instrument master: every segment in one POST; empty or corrupt is BadResponse."""
        return self._master(list(vendor.SEGMENT_NUMBERS), "instruments/master", master.instruments)

    # --- §4 writes -------------------------------------------------------------------------
    def place_order(self, order: OrderRequest) -> OrderAck:
        """POST /interactive/orders. "Request sent" only means queued (gotcha 11): a rejection
        shows up later in the order book."""
        where = {"broker": self.key, "endpoint": "place order"}
        self.check_tag(order.tag, "place order")
        if order.product not in self.capabilities.products:
            raise NotSupported(f"no {order.product} product", **where)
        segment = self._segment(order.exchange, "place order")
        instrument = order.instrument_id or self._instrument_id(
            segment, order.symbol, "place order"
        )
        body = {
            "exchangeSegment": segment,
            "exchangeInstrumentID": self._numeric(instrument, "place order"),
            "productType": order.product.value,
            "orderType": vendor.ORDER_TYPES[order.order_type],
            "orderSide": order.side.value,
            "timeInForce": order.validity.value,
            "disclosedQuantity": 0,
            "orderQuantity": order.quantity,
            "limitPrice": vendor.wire_price(order.price),
            "stopPrice": vendor.wire_price(order.trigger_price),
            "orderUniqueIdentifier": order.tag,
            "apiOrderSource": "",
            **self._client(),
        }
        return self._write("POST", "place order", vendor.ack, json=body, tag=order.tag)

    def modify_order(self, change: OrderModification) -> OrderAck:
        """PUT /interactive/orders with every modified* field (gotcha 12): unchanged ones are
        read from the order's history first."""
        current = self._current(change.order_id)
        order_type = vendor.ORDER_TYPES[change.order_type] if change.order_type else None
        order_type = order_type or current["order_type"]
        limit = change.price if change.price is not None else current["price"]
        stop = change.trigger_price if change.trigger_price is not None else current["stop"]
        validity = change.validity.value if change.validity else current["validity"]
        body = {
            "appOrderID": self._numeric(change.order_id, "modify order"),
            "modifiedProductType": current["product"],
            "modifiedOrderType": order_type,
            "modifiedOrderQuantity": change.quantity or current["quantity"],
            "modifiedDisclosedQuantity": current["disclosed"],
            "modifiedLimitPrice": 0 if order_type.endswith("MARKET") else vendor.wire_price(limit),
            "modifiedStopPrice": vendor.wire_price(stop) if order_type.startswith("STOP") else 0,
            "modifiedTimeInForce": validity,
            "orderUniqueIdentifier": current["tag"],
            **self._client(),
        }
        return self._write("PUT", "modify order", vendor.ack, json=body)

    def cancel_order(self, order_id: str) -> OrderAck:
        """DELETE /interactive/orders?appOrderID=&orderUniqueIdentifier= (query, not body)."""
        current = self._current(order_id)
        params = {
            "appOrderID": self._numeric(order_id, "cancel order"),
            "orderUniqueIdentifier": current["tag"],
            **self._client(),
        }
        return self._write("DELETE", "cancel order", vendor.ack, params=params)

    # --- plumbing --------------------------------------------------------------------------
    def _call(
        self,
        method,
        path,
        endpoint,
        parse,
        *,
        token,
        kind=CallKind.READ,
        bucket="default",
        empty=None,
        **kwargs,
    ):
        def parse_response(response):
            return parse(vendor.result(response, empty=empty))

        # Two sessions (trading and market data), so the token is chosen per call (_token)
        # rather than by auth_headers; §3: a bare token, no Bearer.
        return self._request(
            method,
            path,
            endpoint=endpoint,
            parse=parse_response,
            kind=kind,
            bucket=bucket,
            auth=False,
            headers={"authorization": token} if token else {},
            **kwargs,
        )

    def map_error(self, response, *, endpoint: str, kind: CallKind, login: bool):
        where: dict[str, Any] = {"broker": self.key, "endpoint": endpoint}
        status = response.status_code
        if status == 429:  # §5: over-limit shape UNCONFIRMED, so the status alone decides
            retry = wire.retry_after(response)
            return RateLimited(
                "too many requests (HTTP 429)", retry_after=retry, code="429", **where
            )
        if status >= 500:
            if status == 503 and "maintenance" in response.text.lower():
                return Maintenance("down for maintenance (HTTP 503)", code="503", **where)
            return BrokerUnavailable(f"server error (HTTP {status})", code=str(status), **where)
        body = wire.json_body(response)
        if not isinstance(body, dict) or body.get("type") not in ("success", "error"):
            return None  # no XTS envelope: the parser reports it
        if body["type"] == "success" and status < 400:
            return None
        code = str(body.get("code") or "")
        description = str(body.get("description") or "error without description")
        folded = description.strip().lower()
        message = f"{description} [{code}]" if code else description
        where["code"] = code
        # §5: "Invalid Token" comes with HTTP 400 (interactive) or HTTP 200 (market data).
        if folded == "invalid token":
            return TokenExpired("session invalid or expired; log in again", **where)
        if vendor.is_empty(body) and response.request.method == "GET":
            return None  # an empty book (gotcha 7): the read says what empty is
        if kind is CallKind.AUTH or status in (401, 403):
            return AuthError(message, **where)
        if folded == "bad request":  # §5: field messages in result.errors
            details = vendor.field_errors(body.get("result"))
            return InvalidRequest(f"{message}: {details}", **where)
        error: type[BrokerError] = OrderRejected if kind is CallKind.ORDER else InvalidRequest
        return error(message, **where)

    def _read(self, path, endpoint, parse, *, empty=None, params=None):
        token = self._token("interactive", endpoint)
        params = {**(params or {}), **self._client()}
        return self._call("GET", path, endpoint, parse, token=token, empty=empty, params=params)

    def _write(self, method, endpoint, parse, **kwargs):
        token = self._token("interactive", endpoint)
        kwargs.update(token=token, kind=CallKind.ORDER, bucket="order")
        return self._call(method, ORDERS, endpoint, parse, **kwargs)

    def _current(self, order_id: str) -> dict:
        """GET /interactive/orders?appOrderID=: the order's latest state (§4 Order history)."""
        params = {"appOrderID": self._numeric(order_id, "order history")}
        current = self._read(ORDERS, "order history", vendor.modifiable, empty=[], params=params)
        if current is None:
            raise InvalidRequest(f"no order {order_id}", broker=self.key, endpoint="order history")
        return current

    def _token(self, session: str, endpoint: str) -> str:
        token = ""
        if self.tokens and session == "interactive":
            token = self.tokens.access_token
        elif self.tokens:
            token = self.tokens.extra.get("marketdata_token", "")
        if not token:
            raise TokenExpired(f"no {session} session; log in", broker=self.key, endpoint=endpoint)
        return token

    def _client(self) -> dict:
        """§1: dealer logins send clientID on every interactive call; investors must not."""
        client = self.tokens.extra.get("client_id", "") if self.tokens else ""
        return {"clientID": client} if client else {}

    def _segment(self, exchange: str, endpoint: str) -> str:
        try:
            return vendor.SEGMENTS[exchange.upper()]
        except KeyError:
            raise InvalidRequest(
                f"no exchange {exchange!r}", broker=self.key, endpoint=endpoint
            ) from None

    def _numeric(self, value, endpoint: str) -> int:
        """XTS ids (exchange instrument id, AppOrderID) are integers on the vendor."""
        if not (str(value).isascii() and str(value).isdigit()):
            raise InvalidRequest(f"not an XTS id: {value!r}", broker=self.key, endpoint=endpoint)
        return int(value)

    def _master(self, segments: list[str], endpoint: str, parse):
        # The master needs no session (S3 downloads it bare); send market data's if we have one.
        token = self.tokens.extra.get("marketdata_token", "") if self.tokens else ""
        body = {"exchangeSegmentList": segments}
        return self._call(
            "POST", MASTER, endpoint, parse, bucket="marketdata", token=token, json=body
        )

    def _directory(self, segment: str) -> dict:
        """One segment's master lookups, cached until the next morning's master."""
        where = hashlib.sha256(f"{self.url('API', MASTER)}|{segment}".encode()).hexdigest()[:16]
        key = f"iifl:master:{where}"
        found = cache.get(key)
        if found is None:
            found = self._master([segment], "instruments/master", master.directory)
            expires = next_ist(MASTER_REFRESH, after=timezone.now()) - timezone.now()
            cache.set(key, found, max(int(expires.total_seconds()), 60))
        return found

    def _names(self, keys) -> dict[tuple[str, str], tuple[str, str, str]]:
        names = {}
        for segment in sorted({segment for segment, _ in keys}):
            ids = self._directory(segment)["ids"]
            names.update({(s, i): tuple(ids[i]) for s, i in keys if s == segment and i in ids})
        return names

    def _named(self, rows):
        """Order and trade rows carry only (segment, id): the master names them."""
        names = self._names([(segment, instrument) for segment, instrument, _ in rows])
        return [
            replace(record, symbol=names[(s, i)][0] if (s, i) in names else record.symbol or i)
            for s, i, record in rows
        ]

    def _instrument_id(self, segment: str, symbol: str, endpoint: str) -> str:
        found = self._directory(segment)["symbols"].get(vendor.plain(symbol))
        if not found:
            message = f"unknown symbol {symbol!r} in {segment}"
            raise InvalidRequest(message, broker=self.key, endpoint=endpoint)
        return found
