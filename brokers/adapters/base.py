"""The one adapter contract: every broker is spoken to through these methods.

The values it speaks in live in brokers.types, the errors adapters raise in brokers.errors.
A broker's adapter keeps only what is its own: endpoints, payloads, parsing, error codes and
capabilities (its order-tag rule among them). The way a request is made is here, once:
``_request()`` adds the broker's auth headers (no token → TokenExpired), picks the rate
bucket, hands the order's tag to the door for an unknown outcome, and reads every answer inside
the door: first ``map_error()``, the broker's reading of its error envelope (an HTTP 200 may
carry one), then the call's own parser for a good answer.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

import requests

from brokers.adapters.wire import retry_after
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
from brokers.http import BrokerHttp, CallKind
from brokers.types import (
    AppCredentials,
    Capabilities,
    Funds,
    Holding,
    Instrument,
    InstrumentRef,
    Order,
    OrderAck,
    OrderModification,
    OrderRequest,
    Position,
    Profile,
    Quote,
    Tokens,
    Trade,
)


class BrokerAdapter(abc.ABC):
    """One broker. Built by registry.build(); every call goes through ``self.http``.

    Must-haves are abstract; what a broker may lack (browser login, refresh, logout, trades,
    quotes, a master) raises NotSupported unless the adapter provides it."""

    key: ClassVar[str]
    capabilities: ClassVar[Capabilities]

    def __init__(
        self,
        *,
        http: BrokerHttp,
        app: AppCredentials,
        tokens: Tokens | None = None,
        hosts: Mapping[str, str],
    ):
        """``hosts``: this broker's base URLs by name (API, LOGIN, ASSETS...), given by the
        registry from settings.BROKER_HOSTS."""
        self.http: BrokerHttp = http
        self.app: AppCredentials = app
        self.tokens: Tokens | None = tokens
        self.hosts: dict[str, str] = dict(hosts)

    def url(self, host: str, path: str) -> str:
        """A URL on one of this broker's hosts."""
        return self.hosts[host] + path

    # --- Login ----------------------------------------------------------------------------
    def authorization_url(self, *, state: str, redirect_uri: str, code_challenge: str = "") -> str:
        raise NotSupported("no browser login", broker=self.key)

    @abc.abstractmethod
    def complete_login(
        self, params: Mapping[str, str], *, redirect_uri: str = "", code_verifier: str = ""
    ) -> Tokens: ...

    def refresh(self) -> Tokens:
        raise NotSupported("tokens cannot be refreshed; log in again", broker=self.key)

    def logout(self) -> None:
        raise NotSupported("no logout endpoint", broker=self.key)

    # --- Reads ----------------------------------------------------------------------------
    @abc.abstractmethod
    def profile(self) -> Profile: ...

    @abc.abstractmethod
    def funds(self) -> Funds: ...

    @abc.abstractmethod
    def holdings(self) -> list[Holding]: ...

    @abc.abstractmethod
    def positions(self) -> list[Position]: ...

    @abc.abstractmethod
    def orders(self) -> list[Order]: ...

    def trades(self) -> list[Trade]:
        raise NotSupported("no trade book", broker=self.key)

    def quotes(self, instruments: list[InstrumentRef]) -> dict[InstrumentRef, Quote]:
        raise NotSupported("no quotes", broker=self.key)

    def instruments(self) -> Iterable[Instrument]:
        raise NotSupported("no instrument master", broker=self.key)

    # --- Writes ---------------------------------------------------------------------------
    @abc.abstractmethod
    def place_order(self, order: OrderRequest) -> OrderAck: ...

    @abc.abstractmethod
    def modify_order(self, change: OrderModification) -> OrderAck: ...

    @abc.abstractmethod
    def cancel_order(self, order_id: str) -> OrderAck: ...

    # --- Derived, shared by every broker --------------------------------------------------
    def probe(self) -> Profile:
        """The cheapest authenticated call, for health checks."""
        return self.profile()

    def find_order(self, tag: str) -> Order | None:
        """Reconcile an OrderStateUnknown: the order carrying our tag, if the broker has it."""
        return next((o for o in self.orders() if tag and o.tag == tag), None)

    # --- The one request path -------------------------------------------------------------
    def access_token(self, endpoint: str = "") -> str:
        """The session's token; none means the trader must log in (again)."""
        if not self.tokens or not self.tokens.access_token:
            raise TokenExpired("not logged in", broker=self.key, endpoint=endpoint)
        return self.tokens.access_token

    def auth_headers(self, endpoint: str) -> dict[str, str]:
        """The headers that carry the session (most brokers: a Bearer token)."""
        return {"Authorization": f"Bearer {self.access_token(endpoint)}"}

    def check_tag(self, tag: str, endpoint: str) -> None:
        """Refuse a tag the broker would refuse or cut: cutting it would break reconciling."""
        problem = self.capabilities.tag_rule.problem(tag)
        if problem:
            raise InvalidRequest(
                f"order tag {problem}", broker=self.key, endpoint=endpoint, code="tag"
            )

    def _request(
        self,
        method: str,
        path: str,
        *,
        endpoint: str,
        parse: Callable[[Any], Any],
        host: str = "API",
        kind: CallKind = CallKind.READ,
        bucket: str | None = "",
        auth: bool = True,
        tag: str = "",
        headers: Mapping[str, str] | None = None,
        **request_kwargs: Any,
    ) -> Any:
        """One call on one of the broker's hosts. The answer is read inside the door: an error
        ``map_error()`` finds is raised, anything else goes to ``parse`` (which takes the
        requests.Response), so a missing field becomes BadResponse (OrderStateUnknown on an
        order write, carrying ``tag``). ``bucket``: the rate category; "" picks "order" for
        writes and "default" otherwise; None for a public file no API cap counts. A call of
        kind AUTH without the session (``auth=False``) is a login: see ``map_error()``."""
        sent = {**(self.auth_headers(endpoint) if auth else {}), **(headers or {})}
        if bucket == "":
            bucket = "order" if kind is CallKind.ORDER else "default"
        login = kind is CallKind.AUTH and not auth

        def read(response: requests.Response) -> Any:
            error = self.map_error(response, endpoint=endpoint, kind=kind, login=login)
            if error is not None:
                raise error
            return parse(response)

        return self.http.call(
            method,
            self.url(host, path),
            endpoint=endpoint,
            parse=read,
            kind=kind,
            bucket=bucket,
            tag=tag,
            headers=sent,
            **request_kwargs,
        )

    def map_error(
        self, response: requests.Response, *, endpoint: str, kind: CallKind, login: bool
    ) -> BrokerError | None:
        """The broker's error in this answer, naming the broker, or None for an answer to
        parse. Called for every answer of ``_request()``; a broker overrides it to read its
        vendor envelope and codes, which may say "error" under HTTP 200. ``login``: the call
        opens a session (token exchange, refresh), where a refusal means the login failed.

        This default is what the HTTP status alone says. An unreadable 2xx (empty, HTML, the
        wrong envelope) is left to the parser, which the door then reports as BadResponse."""
        status = response.status_code
        if status < 400:
            return None
        where: dict[str, Any] = {"broker": self.key, "endpoint": endpoint, "code": str(status)}
        message = f"HTTP {status}"
        if status == 429:
            return RateLimited(message, retry_after=retry_after(response), **where)
        if status in (401, 403):
            return (AuthError if login or status == 403 else TokenExpired)(message, **where)
        if status >= 500:
            if status == 503 and "maintenance" in response.text.lower():
                return Maintenance(message, **where)
            return BrokerUnavailable(message, **where)
        if kind is CallKind.ORDER:
            return OrderRejected(message, **where)
        return InvalidRequest(message, **where)
