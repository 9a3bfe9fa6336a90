"""The single door to broker HTTP.

Every call to a broker goes through ``BrokerHttp.call``: rate limiter → ``call_started``
(receivers may refuse: the circuit breaker) → request on a pooled session with explicit
(connect, read) timeouts → the adapter's parser → ``call_finished`` (outcome and latency) →
errors in our taxonomy with secrets redacted.

An order write that may have reached the broker (read timeout, dropped connection, 429, 5xx)
raises ``OrderStateUnknown``: it is reconciled from the order book, never resent blindly.
"""

from __future__ import annotations

import contextvars
import enum
import http.client
import logging
import os
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import InvalidOperation
from functools import cache, lru_cache
from typing import Any
from urllib.parse import urlsplit

import requests
from django.db import connections
from requests.adapters import HTTPAdapter
from urllib3.exceptions import (
    ConnectTimeoutError,
    IncompleteRead,
    MaxRetryError,
    NewConnectionError,
    ReadTimeoutError,
)
from urllib3.exceptions import ProxyError as urllib3_ProxyError
from urllib3.exceptions import SSLError as urllib3_SSLError

from brokers.errors import (
    BadResponse,
    BrokerError,
    BrokerUnavailable,
    Maintenance,
    OrderStateUnknown,
    RateLimited,
)
from brokers.ratelimit import buckets_for, limiter
from brokers.redaction import redact, snippet
from brokers.signals import call_finished, call_started
from brokers.types import RateLimit, Window

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
# An order path that would rather queue its write in the limiter than be refused says how
# long it may wait, for the calls of its context (``order_limit_wait``): a wait there is a
# place in the queue, where a refusal and a later retry would lose it to newer calls.
_order_wait: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "order_limit_wait", default=None
)


@contextmanager
def order_limit_wait(seconds: float) -> Iterator[None]:
    """Let order writes made in this context wait up to ``seconds`` in the limiter."""
    token = _order_wait.set(max(0.0, seconds))
    try:
        yield
    finally:
        _order_wait.reset(token)


# Stay near 80% of each documented cap.
RATE_HEADROOM = 0.8
# Between retries of a read (a connection's retry count; orders are never retried).
RETRY_PAUSE = 0.2
# ``code`` of a BrokerUnavailable raised here, naming how the exchange failed.
FAILED_CONNECT = "connect"  # nothing reached the broker
NO_ANSWER = "no_answer"  # sent; nothing came back (timeout, closed before the reply)
CUT_OFF = "cut_off"  # sent; the answer stopped before its end


def with_ceilings(limits: dict[str, RateLimit], ceilings: Mapping[str, float]) -> dict:
    """The documented caps, each category's per-second rate lowered to the connection's own
    ceiling where it has one (never raised)."""
    out = dict(limits)
    for category, ceiling in ceilings.items():
        cap = limits.get(category)
        if cap is None or not ceiling or ceiling <= 0:
            continue
        if isinstance(cap, tuple):
            windows = [w for w in cap if w.seconds != 1]
            second = [w for w in cap if w.seconds == 1]
            count = min([float(ceiling), *(w.count for w in second)])
            out[category] = (Window(count), *windows)
        else:
            out[category] = min(float(cap), float(ceiling))
    return out


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


# Threads of this process that call brokers at once: the sync's shared pool (portfolio.fetch)
# sizes itself from this, and so does each broker host's connection pool below.
SYNC_FAN_OUT = 64
# Idle keep-alive sockets kept per broker host: as many as the sync can use at once. More may
# be open for a moment in a burst; urllib3 closes the extras when they are handed back.
POOL_SIZE = SYNC_FAN_OUT

_sessions: dict[tuple[str, str], requests.Session] = {}
_sessions_lock = threading.Lock()


def session_for(broker: str, url: str) -> requests.Session:
    """The pooled session of one broker host (scheme://host:port of ``url``), shared by every
    account of that broker in this process and kept for its life: sockets and TLS handshakes
    grow with the calls made at once, never with the number of accounts.

    Underneath is requests' stock HTTPAdapter, so urllib3's pool: keep-alive, a socket the
    broker closed while idle noticed and replaced, TLS verified, proxies, gzip and chunked
    bodies. No retries there: the door decides what may be tried again."""
    key = (broker, _origin(url))
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
                adapter = HTTPAdapter(pool_connections=1, pool_maxsize=POOL_SIZE, max_retries=0)
                session.mount("https://", adapter)
                session.mount("http://", adapter)
                _sessions[key] = session
    return session


def close_sessions() -> None:
    """Close every pooled session (tests whose broker server stops; a worker shutting down)."""
    with _sessions_lock:
        sessions = list(_sessions.values())
        _sessions.clear()
    for session in sessions:
        session.close()


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
        read_timeout: float | None = None,
        retries: int = 0,
        ceilings: Mapping[str, float] | None = None,
    ):
        """``read_timeout``, ``retries`` and ``ceilings`` are a connection's own settings
        (its trader's policy): the read timeout of reads (an order's never grows past its
        own), how often a read that failed for a retryable reason is tried again (an order
        never is), and requests per second per category, never above the documented cap."""
        self.broker, self.account, self.connection_id = broker, account, connection_id
        self.rate_limits = with_ceilings(dict(rate_limits or {}), ceilings or {})
        self.timeouts = dict(TIMEOUTS)
        if read_timeout:
            for kind in (CallKind.READ, CallKind.AUTH):
                self.timeouts[kind] = (TIMEOUTS[kind][0], float(read_timeout))
            connect, read = TIMEOUTS[CallKind.ORDER]
            self.timeouts[CallKind.ORDER] = (connect, min(read, float(read_timeout)))
        self.retries = max(0, int(retries))
        self.secrets: set[str] = {s for s in secrets if s}

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
        attempts = 1 + (self.retries if kind is CallKind.READ else 0)
        for attempt in range(1, attempts + 1):
            try:
                return self._call_once(
                    method,
                    url,
                    endpoint=endpoint,
                    parse=parse,
                    kind=kind,
                    bucket=bucket,
                    tag=tag,
                    **request_kwargs,
                )
            except BrokerUnavailable as error:
                if attempt == attempts or isinstance(error, Maintenance):
                    raise
                time.sleep(RETRY_PAUSE * attempt)
        raise AssertionError("unreachable")

    def _call_once(self, method, url, *, endpoint, parse, kind, bucket, tag, **request_kwargs):
        context = CallContext(self.broker, self.account, self.connection_id, endpoint, kind)
        record = CallRecord(context=context, method=method, elapsed_ms=0.0)
        started = time.perf_counter()
        try:
            record.limiter_wait_ms = self._acquire(bucket, kind, endpoint)
            call_started.send(
                BrokerHttp,
                context=context,
                broker=context.broker,
                endpoint=endpoint,
                kind=kind,
                connection_id=context.connection_id,
            )
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
        most = MAX_LIMIT_WAIT[kind]
        if kind is CallKind.ORDER and (longer := _order_wait.get()) is not None:
            most = longer
        waited = limiter().acquire(buckets, max_wait=most)
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
        session = session_for(self.broker, url)
        try:
            return session.send(
                _prepare(session, method, url, **kwargs),
                timeout=self.timeouts[kind],
                proxies=_proxies_for(_origin(url)),
                verify=session.verify,
            )
        except requests.RequestException as error:
            raise self._failure(error, kind, endpoint) from None

    def _failure(
        self, error: requests.RequestException, kind: CallKind, endpoint: str
    ) -> BrokerError:
        """What a failed exchange means, from the exception's type alone. Only a failure proven
        to have happened before any byte of the request left (never_sent) is plainly
        unavailable; for an order write anything else may have reached the broker."""
        what = _what_failed(error, self.timeouts[kind][1])
        if never_sent(error):
            return BrokerUnavailable(
                f"could not connect ({what})",
                broker=self.broker,
                endpoint=endpoint,
                code=FAILED_CONNECT,
            )
        if kind is CallKind.ORDER:
            return self._unknown(f"{what} after the order was sent", endpoint)
        return BrokerUnavailable(
            what, broker=self.broker, endpoint=endpoint, code=_after_sending(error)
        )

    def _parse(self, response, parse, *, kind: CallKind, endpoint: str):
        try:
            return parse(response)
        except (RateLimited, BrokerUnavailable) as error:
            # Throttled, failing or unreadable after an order went out: it may have been taken.
            # The throttle rides along: where the broker documents it as a refusal, the order
            # path may send the order again after the wait instead of reconciling.
            if kind is CallKind.ORDER:
                unknown = self._unknown(f"{error.message} after the order was sent", endpoint)
                if isinstance(error, RateLimited):
                    unknown.throttle = error
                raise unknown from None
            raise
        except BrokerError:
            raise
        except (ValueError, KeyError, TypeError, IndexError, AttributeError, InvalidOperation):
            unreadable = BadResponse(
                f"unreadable answer (HTTP {response.status_code}): "
                f"{snippet(_body_text(response), tuple(self.secrets))}",
                broker=self.broker,
                endpoint=endpoint,
            )
            if kind is CallKind.ORDER:
                raise self._unknown(unreadable.message, endpoint) from None
            raise unreadable from None

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
        answers = call_finished.send_robust(
            BrokerHttp,
            record=record,
            broker=context.broker,
            endpoint=context.endpoint,
            kind=context.kind,
            connection_id=context.connection_id,
            elapsed_ms=record.elapsed_ms,
            outcome=outcome,
            error=record.error,
        )
        for receiver, answer in answers:
            if isinstance(answer, Exception):
                logger.error(
                    "call_finished receiver %s failed for %s %s",
                    getattr(receiver, "__qualname__", receiver),
                    context.broker,
                    context.endpoint,
                    exc_info=answer,
                )


def never_sent(error: requests.RequestException) -> bool:
    """True only when the exception's type proves no byte of the request left this process:
    the TCP connection was refused or timed out, the host name did not resolve, the proxy
    refused the tunnel, or the broker's certificate failed verification (checked during the
    handshake, before the request). urllib3 raises these from its connect step, wrapped in a
    MaxRetryError (no retries are configured); everything raised while sending the request or
    reading its answer (read timeout, reset, a body cut short or that does not decompress, and
    any other TLS error) may have followed a request the broker received."""
    if isinstance(error, requests.ConnectTimeout | requests.exceptions.ProxyError):
        return True
    cause = error.args[0] if error.args else None
    if not isinstance(cause, MaxRetryError):
        return False
    reason = cause.reason
    if isinstance(reason, NewConnectionError | ConnectTimeoutError | urllib3_ProxyError):
        return True  # NameResolutionError is a NewConnectionError
    return isinstance(reason, urllib3_SSLError) and any(
        isinstance(arg, ssl.SSLCertVerificationError) for arg in reason.args
    )


def _what_failed(error: requests.RequestException, read_timeout: float) -> str:
    """A person's words for the failure, chosen by its type."""
    cause = error.args[0] if error.args else None
    reason = cause.reason if isinstance(cause, MaxRetryError) else cause
    if isinstance(error, requests.ConnectTimeout):
        return "timed out connecting"
    if isinstance(error, requests.exceptions.ProxyError):
        return "the proxy refused the tunnel"
    if isinstance(reason, NewConnectionError):
        return "connection refused or host not found"
    if isinstance(error, requests.exceptions.SSLError):
        return "TLS failed"
    if isinstance(error, requests.ReadTimeout) or isinstance(reason, ReadTimeoutError):
        return f"no reply within the {read_timeout:g} s read timeout"
    if isinstance(error, requests.exceptions.ContentDecodingError):
        return "an answer that does not decompress (ContentDecodingError)"
    if isinstance(error, requests.exceptions.ChunkedEncodingError):
        return "the answer was cut short"
    if isinstance(error, requests.ConnectionError):
        return "the connection dropped"
    return f"request failed ({type(error).__name__})"


def _prepare(
    session: requests.Session, method: str, url: str, *, headers=None, **kwargs
) -> requests.PreparedRequest:
    """The request as Session.request builds it (the session's headers and hooks), minus what
    the door never uses: cookies, auth and per-call setting merges, which are a third of a
    call's CPU in requests."""
    prepared = requests.PreparedRequest()
    prepared.prepare(
        method=method,
        url=url,
        headers={**session.headers, **(headers or {})},
        hooks=session.hooks,
        **kwargs,
    )
    return prepared


def _after_sending(error: requests.RequestException) -> str:
    """For a read that failed once its request was out: no answer (a read timeout, a connection
    closed or reset before the reply) or an answer cut off (a body that stopped before its end
    or does not decompress) — from the exception types in the chain, never the message."""
    if isinstance(
        error, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError
    ):
        return CUT_OFF
    seen, pending = set(), list(error.args)
    while pending:
        item = pending.pop()
        if id(item) in seen or not isinstance(item, BaseException):
            continue
        seen.add(id(item))
        if isinstance(item, IncompleteRead | http.client.IncompleteRead):
            return CUT_OFF
        pending.extend(item.args)
        pending.extend(
            x for x in (item.__cause__, item.__context__, getattr(item, "reason", None)) if x
        )
    return NO_ANSWER


def _body_text(response) -> str:
    try:
        return response.text
    except Exception:
        return ""
