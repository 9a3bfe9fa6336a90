"""The single door to broker HTTP.

Every call to a broker goes through ``BrokerHttp.call``: rate limiter → hooks (circuit breaker)
→ request on a pooled session with explicit (connect, read) timeouts → the adapter's parser →
outcome and latency recorded → errors in our taxonomy with secrets redacted.

An order write that may have reached the broker (read timeout, dropped connection, 429, 5xx)
raises ``OrderStateUnknown``: it is reconciled from the order book, never resent blindly.
"""

from __future__ import annotations

import contextvars
import enum
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import InvalidOperation
from functools import cache, lru_cache
from typing import Any
from urllib.parse import urlsplit

import requests

from brokers.adapters.base import (
    BadResponse,
    BrokerError,
    BrokerUnavailable,
    OrderStateUnknown,
    RateLimit,
    RateLimited,
)
from brokers.ratelimit import buckets_for, limiter
from brokers.redaction import redact, snippet
from brokers.transport import Transport

logger = logging.getLogger(__name__)


class CallKind(enum.StrEnum):
    READ = "read"
    ORDER = "order"  # place / modify / cancel: never retried blindly
    AUTH = "auth"  # token exchange, refresh, logout


# (connect, read) seconds. Orders wait less: a slow order is reconciled, not waited on.
TIMEOUTS = {
    CallKind.READ: (3.05, 10.0),
    CallKind.AUTH: (3.05, 10.0),
    CallKind.ORDER: (3.05, 5.0),
}
# How long the limiter may hold a call back before refusing it locally.
MAX_LIMIT_WAIT = {CallKind.READ: 2.0, CallKind.AUTH: 2.0, CallKind.ORDER: 1.0}
# Stay near 80% of each documented cap.
RATE_HEADROOM = 0.8


@dataclass(frozen=True)
class CallContext:
    broker: str
    account: str
    connection_id: str
    endpoint: str
    kind: CallKind


@dataclass
class CallRecord:
    context: CallContext
    method: str
    elapsed_ms: float
    status_code: int | None = None
    error: BrokerError | None = None
    limiter_wait_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class Hooks:
    """Other apps plug in here (health registers its breaker and metrics in AppConfig.ready)."""

    before: list[Callable[[CallContext], None]] = field(default_factory=list)
    after: list[Callable[[CallRecord], None]] = field(default_factory=list)


hooks = Hooks()

_sessions: dict[tuple[str, str], requests.Session] = {}
_sessions_lock = threading.Lock()


def session_for(broker: str, account: str) -> requests.Session:
    """One pooled session per connection, kept for the life of the process."""
    key = (broker, account)
    session = _sessions.get(key)
    if session is None:
        with _sessions_lock:
            session = _sessions.get(key)
            if session is None:
                session = requests.Session()
                # requests would read the proxy and CA-bundle variables on every call (a walk
                # over os.environ each time: most of a call's CPU). They are read once instead:
                # the CA bundle here, the proxy per broker host in _proxies_for.
                session.trust_env = False
                session.verify = _ca_bundle()
                transport = Transport(maxsize=16)
                session.mount("https://", transport)
                session.mount("http://", transport)
                _sessions[key] = session
    return session


@cache
def _ca_bundle() -> str | bool:
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True


@lru_cache(maxsize=256)
def _proxies_for(origin: str) -> dict[str, str]:
    """The proxy (HTTPS_PROXY, ALL_PROXY...) for one scheme://host, NO_PROXY honoured."""
    return requests.utils.get_environ_proxies(origin)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@cache
def _side_calls() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=32, thread_name_prefix="broker-side-call")


def concurrently(*calls: Callable[[], Any]) -> list[Any]:
    """Independent calls of one adapter method at once (Groww's last prices and closes are two
    endpoints): the first runs in this thread, the others on a shared pool, each still through
    the door. Results come back in order; the first error is raised."""
    side = [
        _side_calls().submit(contextvars.copy_context().run, _closing, call) for call in calls[1:]
    ]
    results = [calls[0]()] if calls else []
    return results + [future.result() for future in side]


def _closing(call: Callable[[], Any]) -> Any:
    from django.db import connections

    try:
        return call()
    finally:
        connections.close_all()  # a hook may have used the ORM in this pool thread


class BrokerHttp:
    def __init__(
        self,
        *,
        broker: str,
        account: str = "",
        connection_id: str = "",
        rate_limits: Mapping[str, RateLimit] | None = None,
        secrets: tuple[str, ...] = (),
    ):
        self.broker, self.account, self.connection_id = broker, account, connection_id
        self.rate_limits = dict(rate_limits or {})
        self.secrets: set[str] = {s for s in secrets if s}
        self.session = session_for(broker, account or connection_id or "anonymous")

    def add_secrets(self, *values: str) -> None:
        """Values learned during a call (a fresh token) that must never be logged either."""
        self.secrets.update(v for v in values if v)

    def call(
        self,
        method: str,
        url: str,
        *,
        endpoint: str,
        parse: Callable[[requests.Response], Any],
        kind: CallKind = CallKind.READ,
        bucket: str | None = "default",
        tag: str = "",
        **request_kwargs: Any,
    ) -> Any:
        """One call. ``tag`` (our client order id) rides on an OrderStateUnknown for reconciling.
        ``bucket=None``: a public file outside the broker's API (an instrument master on its
        assets host), which no API cap counts, so it takes nothing from the account's budget."""
        context = CallContext(self.broker, self.account, self.connection_id, endpoint, kind)
        record = CallRecord(context=context, method=method, elapsed_ms=0.0)
        started = time.perf_counter()
        try:
            record.limiter_wait_ms = self._acquire(bucket, kind, endpoint)
            for hook in hooks.before:
                hook(context)
            response = self._send(method, url, kind=kind, endpoint=endpoint, **request_kwargs)
            record.status_code = response.status_code
            return self._parse(response, parse, kind=kind, endpoint=endpoint)
        except BrokerError as error:
            if isinstance(error, OrderStateUnknown) and tag and not error.tag:
                error.tag = tag
            record.error = self._clean(error, endpoint)
            raise record.error from None
        finally:
            record.elapsed_ms = (time.perf_counter() - started) * 1000
            self._record(record)

    # --- steps --------------------------------------------------------------------------
    def _acquire(self, bucket: str | None, kind: CallKind, endpoint: str) -> float:
        if bucket is None:
            return 0.0
        cap = self.rate_limits.get(bucket) or self.rate_limits.get("default")
        if not cap:
            return 0.0
        key = f"{self.broker}:{self.account or self.connection_id}:{bucket}"
        buckets = buckets_for(key, cap, headroom=RATE_HEADROOM)
        waited = limiter().acquire(buckets, max_wait=MAX_LIMIT_WAIT[kind])
        if waited is None:
            raise RateLimited(
                "held back by our own limiter to stay under the broker's cap",
                retry_after=1.0,
                broker=self.broker,
                endpoint=endpoint,
                code="local",
            )
        return waited * 1000

    def _send(self, method: str, url: str, *, kind: CallKind, endpoint: str, **kwargs):
        try:
            return self.session.send(
                self._prepare(method, url, **kwargs),
                timeout=TIMEOUTS[kind],
                proxies=_proxies_for(_origin(url)),
                verify=self.session.verify,
            )
        except requests.ConnectTimeout:
            # Nothing was sent: safe to call this unavailable, even for an order.
            raise BrokerUnavailable(
                "could not connect (timed out)", broker=self.broker, endpoint=endpoint
            ) from None
        except requests.ConnectionError as error:
            if kind is CallKind.ORDER and not _refused_before_sending(error):
                raise self._unknown("the connection dropped after sending", endpoint) from None
            raise BrokerUnavailable(
                "could not connect", broker=self.broker, endpoint=endpoint
            ) from None
        except requests.ReadTimeout:
            if kind is CallKind.ORDER:
                raise self._unknown("no reply within the order timeout", endpoint) from None
            raise BrokerUnavailable(
                "no reply within the read timeout", broker=self.broker, endpoint=endpoint
            ) from None
        except requests.RequestException as error:
            raise BrokerUnavailable(
                f"request failed ({type(error).__name__})", broker=self.broker, endpoint=endpoint
            ) from None

    def _prepare(
        self, method: str, url: str, *, headers=None, **kwargs
    ) -> requests.PreparedRequest:
        """The request as Session.request builds it (the session's headers and hooks), minus
        what the door never uses: cookies, auth and per-call setting merges, which are a
        third of a call's CPU in requests."""
        prepared = requests.PreparedRequest()
        prepared.prepare(
            method=method,
            url=url,
            headers={**self.session.headers, **(headers or {})},
            hooks=self.session.hooks,
            **kwargs,
        )
        return prepared

    def _parse(self, response, parse, *, kind: CallKind, endpoint: str):
        try:
            return parse(response)
        except (RateLimited, BrokerUnavailable) as error:
            # Throttled, failing or unreadable after an order went out: it may have been taken.
            if kind is CallKind.ORDER:
                raise self._unknown(f"{error.message} after the order was sent", endpoint) from None
            raise
        except BrokerError:
            raise
        except (ValueError, KeyError, TypeError, IndexError, AttributeError, InvalidOperation):
            error = BadResponse(
                f"unreadable answer (HTTP {response.status_code}): "
                f"{snippet(_body_text(response), tuple(self.secrets))}",
                broker=self.broker,
                endpoint=endpoint,
            )
            if kind is CallKind.ORDER:
                raise self._unknown(error.message, endpoint) from None
            raise error from None

    def _unknown(self, why: str, endpoint: str) -> OrderStateUnknown:
        return OrderStateUnknown(
            f"order outcome unknown: {why}; reconcile from the order book",
            broker=self.broker,
            endpoint=endpoint,
        )

    def _clean(self, error: BrokerError, endpoint: str) -> BrokerError:
        """Name the broker and endpoint, and mask every secret, in the error's own text."""
        secrets = tuple(self.secrets)
        error.message = redact(error.message, secrets)
        error.broker = error.broker or self.broker
        error.endpoint = error.endpoint or endpoint
        error.args = (redact(f"{error.broker} {error.endpoint}: {error.message}", secrets),)
        return error

    def _record(self, record: CallRecord) -> None:
        context = record.context
        outcome = type(record.error).__name__ if record.error else "ok"
        logger.debug(
            "%s %s %s -> %s %s in %.0f ms",
            context.broker,
            record.method,
            context.endpoint,
            record.status_code,
            outcome,
            record.elapsed_ms,
        )
        for hook in hooks.after:
            try:
                hook(record)
            except Exception:
                logger.exception("call hook failed for %s %s", context.broker, context.endpoint)


def _refused_before_sending(error: requests.ConnectionError) -> bool:
    """Nothing reached the broker: the connection, the proxy's tunnel or the TLS handshake
    failed (the transport raises requests' SSLError and ProxyError only while connecting)."""
    if isinstance(error, requests.exceptions.SSLError | requests.exceptions.ProxyError):
        return True
    text = repr(error.args[0]) if error.args else ""
    return any(
        marker in text
        for marker in (
            "NewConnectionError",
            "Connection refused",
            "Name or service not known",
            "NameResolutionError",
            "ConnectTimeout",
        )
    )


def _body_text(response) -> str:
    try:
        return response.text
    except Exception:
        return ""
