"""Our own overhead per broker call (limiter, signals, metrics, redaction), zero-latency broker.

The broker is the Zerodha sandbox's real holdings answer, served from memory by a transport
adapter mounted on the broker host's pooled session, so the network costs nothing and what is
left is ours. Three figures, each over many calls:

- transport: requests' own machinery as the door drives it (a prepared request sent on the
  pooled session) with the in-memory transport: the floor, not ours;
- door: BrokerHttp.call with a trivial parser, minus nothing (limiter, signals, timing, redaction);
- door + health: the same for a connected connection, so health's receivers run as on every real
  call (breaker check, rolling metrics, breaker window, status follow-up);
- adapter: ZerodhaAdapter.holdings(), parsing the answer into Decimal/int dataclasses.

Our overhead = door - transport. Run with REDIS_URL set to measure the shared Redis limiter.

Then over the wire: the Zerodha sandbox in its own process on a loopback port, and the CPU
this thread spends per ``holdings()`` call (answer waits excluded) on the door's transport,
requests' stock HTTPAdapter (urllib3's pool). In a portfolio sync the answers of seven brokers
arrive together and are read one at a time, so this CPU is wall time.
"""

import statistics
import time
from datetime import time as dtime

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from requests.adapters import BaseAdapter

from bench.bench_portfolio_sync import trader_with
from bench.server import threaded
from brokers import http
from brokers.adapters import registry
from brokers.clock import next_ist
from brokers.http import BrokerHttp, CallKind
from brokers.models import BrokerConnection, ConnectionStatus
from brokers.sandbox import demo, kit
from brokers.types import AppCredentials, Tokens

CALLS = 5000
WIRE_CALLS = 300
WIRE_ROUNDS = 7


class InMemoryTransport(BaseAdapter):
    """Answers every request with one canned response, instantly."""

    def __init__(self, status: int, body: bytes, headers: dict):
        super().__init__()
        self.status, self.body, self.headers = status, body, headers

    def send(self, request, **kwargs):
        response = requests.Response()
        response.status_code = self.status
        response._content = self.body
        response.headers.update(self.headers)
        response.url = request.url
        response.request = request
        response.encoding = "utf-8"
        return response

    def close(self):
        pass


def sandbox_holdings() -> tuple[int, bytes, dict]:
    token = kit.issue_token("zerodha", "ZD1234")
    answer = Client(HTTP_HOST="127.0.0.1").get(
        "/sandbox/zerodha/portfolio/holdings",
        HTTP_X_KITE_VERSION="3",
        HTTP_AUTHORIZATION=f"token {demo.DEMO_APPS['zerodha']['api_key']}:{token}",
    )
    return answer.status_code, answer.content, {"Content-Type": answer["Content-Type"]}


def percentiles(samples: list[float]) -> str:
    samples = sorted(samples)
    p50 = statistics.median(samples)
    p99 = samples[int(len(samples) * 0.99) - 1]
    return f"p50 {p50 * 1000:7.1f} µs   p99 {p99 * 1000:7.1f} µs"


def timed(fn, calls: int = CALLS) -> list[float]:
    for _ in range(200):  # warm up pools and caches
        fn()
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def run() -> None:
    status, body, headers = sandbox_holdings()
    app = AppCredentials(api_key=demo.DEMO_APPS["zerodha"]["api_key"], api_secret="bench-secret")
    tokens = Tokens(access_token="bench-access-token", expires_at=next_ist(dtime(6, 0)))
    adapter = registry.build("zerodha", app=app, tokens=tokens, account="BENCH01")
    # An uncapped limiter bucket: we measure the limiter's cost, not its waits.
    adapter.http.rate_limits = {"default": 1e9}
    url = adapter.url("API", "/portfolio/holdings")
    transport = InMemoryTransport(status, body, headers)
    session = http.session_for("zerodha", url)  # every account's door uses this host's session
    session.mount(url.split("/portfolio")[0], transport)
    door = BrokerHttp(
        broker="zerodha",
        account="BENCH01",
        rate_limits={"default": 1e9},
        secrets=("bench-access-token", "bench-secret"),
    )

    user = get_user_model().objects.create(username=f"bench-call-{time.time_ns()}")
    connection = BrokerConnection.objects.create(
        user=user, broker="zerodha", account_id="BENCH02", status=ConnectionStatus.CONNECTED
    )
    watched = BrokerHttp(
        broker="zerodha",
        account="BENCH02",
        connection_id=str(connection.pk),
        rate_limits={"default": 1e9},
        secrets=("bench-access-token", "bench-secret"),
    )

    def transport() -> None:  # requests' machinery as the door drives it: prepare, then send
        session.send(http._prepare(session, "GET", url), timeout=(3, 10), verify=session.verify)

    transport_only = timed(transport)
    through_door = timed(
        lambda: door.call(
            "GET",
            url,
            endpoint="portfolio/holdings",
            parse=lambda r: r.status_code,
            kind=CallKind.READ,
        )
    )
    with_health = timed(
        lambda: watched.call(
            "GET",
            url,
            endpoint="portfolio/holdings",
            parse=lambda r: r.status_code,
            kind=CallKind.READ,
        )
    )
    full = timed(adapter.holdings)
    # The floor, measured again last (the first run also warms the interpreter): the faster.
    again = timed(transport)
    transport_only = [min(a, b) for a, b in zip(sorted(transport_only), sorted(again), strict=True)]
    overhead = [d - t for d, t in zip(sorted(through_door), sorted(transport_only), strict=True)]
    health = [d - t for d, t in zip(sorted(with_health), sorted(transport_only), strict=True)]

    limiter = "Redis" if settings.REDIS_URL else "in-process"
    print(f"   {CALLS} calls each, limiter {limiter}")
    print(f"   transport only (requests, in-memory): {percentiles(transport_only)}")
    print(f"   through the door:                     {percentiles(through_door)}")
    print(f"   our overhead (door - transport):      {percentiles(overhead)}")
    print(f"   through the door + health's receivers: {percentiles(with_health)}")
    print(f"   our overhead with health's receivers:  {percentiles(health)}")
    print(f"   adapter.holdings() incl. parsing:     {percentiles(full)}")
    user.delete()
    http.close_sessions()  # the in-memory transport goes with its session
    over_the_wire()


def over_the_wire() -> None:
    with threaded() as (url, _):
        hosts = settings.BROKER_HOSTS
        settings.BROKER_HOSTS = {
            broker: {host: f"{url}/sandbox/{broker}" for host in names}
            for broker, names in settings.BROKER_REAL_HOSTS.items()
        }
        try:
            user = trader_with(["zerodha"], {"zerodha": url})
            adapter = registry.adapter_for(BrokerConnection.objects.get(user=user))
            adapter.http.rate_limits = {"default": 1e9}
            rounds = cpu_per_call(adapter.holdings)
            user.delete()
        finally:
            settings.BROKER_HOSTS = hosts
            http.close_sessions()
    print(f"   over a loopback socket, this thread's CPU per holdings() call ({WIRE_ROUNDS} rounds")
    print(f"   of {WIRE_CALLS} calls, requests on urllib3's pool):")
    print(f"     best round {rounds[0]:.2f} ms, median round {statistics.median(rounds):.2f} ms")


def cpu_per_call(fn) -> list[float]:
    for _ in range(30):
        fn()
    rounds = []
    for _ in range(WIRE_ROUNDS):
        started = time.thread_time()
        for _ in range(WIRE_CALLS):
            fn()
        rounds.append((time.thread_time() - started) / WIRE_CALLS * 1000)
    return sorted(rounds)
