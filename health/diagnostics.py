"""ConnectionDiagnostics: a live diagnosis step by step, and what the history says.

The diagnosis times each step against the broker's API host (settings.BROKER_HOSTS): DNS,
TCP and TLS with socket/ssl directly (TLS is "n/a" on plain http), then auth (the cheapest
authenticated call), profile and holdings through the adapter and the HTTP door, so they are
counted, redacted and guarded by the breaker like every other call. A failed step stops the
ones after it. Each failure comes with one plain sentence of advice.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone

from brokers.adapters import registry
from brokers.clock import IST
from brokers.errors import BrokerError, Maintenance, RateLimited
from brokers.http import RATE_HEADROOM
from brokers.models import Broker, BrokerConnection, BrokerHealthLog
from brokers.models import ConnectionStatus as S
from brokers.ratelimit import buckets_for, limiter
from brokers.types import Window
from health import breaker

CONNECT_TIMEOUT = 3.05


@dataclass
class Step:
    name: str
    ok: bool | None  # None: not run (n/a, or skipped after an earlier failure)
    ms: float | None = None
    detail: str = ""
    advice: str = ""


# --- Advice ---------------------------------------------------------------------------------
ADVICE = {
    "TokenExpired": "Token expired: log in again.",
    "AuthError": "The broker refused the session or the app's credentials: log in again, and "
    "check the app's key and secret if it keeps failing.",
    "RateLimited": "The broker is limiting requests: the platform slows down and retries by "
    "itself. Nothing to do unless it lasts.",
    "Maintenance": "The broker announced maintenance: it is checked again until it ends.",
    "CircuitOpen": "Calls are paused after repeated failures so the broker is not hammered; "
    "the platform tries again with growing pauses. Use Retry now to try at once.",
    "BadResponse": "The broker sent an answer that could not be read (an error page or a "
    "truncated reply); usually passing. If it lasts, the broker may have changed its API.",
    "BrokerUnavailable": "The broker is not answering (server errors or time-outs); the "
    "platform retries by itself with growing pauses.",
    "OrderStateUnknown": "An order's outcome is unknown: it is reconciled from the order "
    "book. Check the order book before placing it again.",
    "InvalidRequest": "The broker refused a request's input; the connection itself is fine.",
    "OrderRejected": "The broker rejected an order (margin, price band, RMS); the connection "
    "itself is fine.",
    "DNS": "The broker's host name does not resolve from this server: check its DNS and network.",
    "TCP": "No connection to the broker's host: the broker may be down, or a firewall blocks "
    "the way.",
    "TLS": "The secure connection failed: check this server's clock and any proxy that "
    "inspects TLS.",
}


def advice(error_type: str, error: BrokerError | None = None) -> str:
    if isinstance(error, Maintenance) and error.until:
        return f"Broker maintenance until {error.until.astimezone(IST):%H:%M} IST."
    if isinstance(error, RateLimited) and error.retry_after:
        return (
            f"The broker is limiting requests; the platform waits {error.retry_after:.0f} s "
            "and retries by itself."
        )
    return ADVICE.get(error_type, "")


def status_advice(connection: BrokerConnection, state=None) -> str:
    """What the trader should know or do, for the connection's current state."""
    name = Broker(connection.broker).label
    if connection.status == S.TOKEN_EXPIRED:
        return f"Token expired: log in again to {name}."
    if connection.status == S.MAINTENANCE:
        return f"{name} announced maintenance; it is checked again until it answers."
    if connection.status == S.RATE_LIMITED:
        return ADVICE["RateLimited"]
    if connection.status == S.ERROR:
        why = state.reason if state is not None and state.reason else f"{name} is failing."
        return f"{why} The platform keeps checking by itself; use Retry now to check at once."
    if connection.status == S.CONNECTING:
        return f"{name} is answering again; it turns green after a run of good calls."
    if connection.status in (S.DISCONNECTED, S.SUSPENDED):
        return "This connection is not active: connect it again to use it."
    return ""


# --- The live diagnosis -----------------------------------------------------------------------
def _timed(fn):
    started = time.perf_counter()
    try:
        return fn(), None, (time.perf_counter() - started) * 1000
    except Exception as error:
        return None, error, (time.perf_counter() - started) * 1000


def diagnose(connection: BrokerConnection) -> list[Step]:
    url = settings.BROKER_HOSTS[connection.broker]["API"]
    parts = urlsplit(url)
    host = parts.hostname or ""
    tls = parts.scheme == "https"
    port = parts.port or (443 if tls else 80)
    steps: list[Step] = []

    addresses, error, ms = _timed(lambda: socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
    if error:
        steps.append(Step("DNS", False, ms, f"{host}: {type(error).__name__}", ADVICE["DNS"]))
        return _skipped(steps, "TCP", "TLS", "Auth", "Profile", "Holdings")
    address = addresses[0][4]
    steps.append(Step("DNS", True, ms, f"{host} → {address[0]}"))

    sock, error, ms = _timed(lambda: socket.create_connection(address[:2], CONNECT_TIMEOUT))
    if error:
        steps.append(Step("TCP", False, ms, f"port {port}: {type(error).__name__}", ADVICE["TCP"]))
        return _skipped(steps, "TLS", "Auth", "Profile", "Holdings")
    steps.append(Step("TCP", True, ms, f"port {port} open"))
    try:
        if tls:
            context = ssl.create_default_context()
            wrapped, error, ms = _timed(lambda: context.wrap_socket(sock, server_hostname=host))
            if error:
                steps.append(Step("TLS", False, ms, type(error).__name__, ADVICE["TLS"]))
                return _skipped(steps, "Auth", "Profile", "Holdings")
            steps.append(Step("TLS", True, ms, wrapped.version() or ""))
            wrapped.close()
        else:
            steps.append(Step("TLS", None, None, "n/a (plain http)"))
    finally:
        sock.close()

    if not connection.has_access_token:
        steps.append(Step("Auth", False, None, "no session", "Log in to the broker first."))
        return _skipped(steps, "Profile", "Holdings")
    adapter = registry.adapter_for(connection)
    for name, call, describe in (
        ("Auth", adapter.probe, lambda r: "session accepted"),
        ("Profile", adapter.profile, lambda r: f"account {r.account_id}"),
        ("Holdings", adapter.holdings, lambda r: f"{len(r)} holdings"),
    ):
        result, error, ms = _timed(call)
        if error is None:
            steps.append(Step(name, True, ms, describe(result)))
            continue
        if isinstance(error, BrokerError):
            kind = type(error).__name__
            steps.append(Step(name, False, ms, f"{kind}: {error.message}", advice(kind, error)))
        else:
            steps.append(Step(name, False, ms, "unexpected error", ADVICE["BadResponse"]))
        remaining = [n for n in ("Profile", "Holdings") if n not in {s.name for s in steps}]
        return _skipped(steps, *remaining)
    return steps


def _skipped(steps: list[Step], *names: str) -> list[Step]:
    return steps + [Step(name, None, None, "skipped") for name in names]


# --- What the history says --------------------------------------------------------------------
def errors_by_type(connection: BrokerConnection, *, hours: int = 24) -> list[tuple[str, int, str]]:
    since = timezone.now() - timedelta(hours=hours)
    counts = Counter(
        BrokerHealthLog.objects.filter(
            connection=connection,
            kind__in=[BrokerHealthLog.Kind.PROBE, BrokerHealthLog.Kind.CALL],
            success=False,
            created_at__gte=since,
        ).values_list("error_type", flat=True)
    )
    return [(kind or "unknown", n, ADVICE.get(kind, "")) for kind, n in counts.most_common()]


def transitions(connection: BrokerConnection, limit: int = 20):
    return BrokerHealthLog.objects.filter(
        connection=connection, kind=BrokerHealthLog.Kind.TRANSITION
    ).order_by("-created_at", "-pk")[:limit]


@dataclass
class Headroom:
    bucket: str
    documented: str  # the broker's cap: "10/s", "200/min"
    target: str  # what our limiter allows (80 %)
    available: float  # requests that could go right now without waiting
    capacity: float

    @property
    def share(self) -> float:
        return self.available / self.capacity if self.capacity else 1.0


def rate_headroom(connection: BrokerConnection) -> list[Headroom]:
    caps = registry.capabilities(connection.broker).rate_limits
    shared = limiter()
    rows = []
    for name, cap in caps.items():
        key = f"{connection.broker}:{connection.account_id or connection.pk}:{name}"
        for bucket in buckets_for(key, cap, headroom=RATE_HEADROOM):
            target = Window(bucket.window.count * RATE_HEADROOM, bucket.window.seconds)
            rows.append(
                Headroom(
                    name,
                    str(bucket.window),
                    str(target),
                    shared.available(bucket),
                    bucket.capacity,
                )
            )
    return rows


def breaker_view(connection: BrokerConnection) -> dict:
    cid = str(connection.pk)
    return {"now": breaker.snapshot(cid), "history": breaker.history(cid)}
