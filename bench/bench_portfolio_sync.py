"""Wall time of one portfolio sync over seven sandbox brokers, each answering 200 ms late.

Goal: at most 1.25 x 200 ms = 250 ms. Each broker's sandbox runs in its own process on Django's
threaded WSGI server (bench/server.py), as seven real brokers are seven servers: every request
gets its own thread, the 200 ms waits overlap, and no broker's work competes with the sync or
with another broker for one interpreter. (Daphne would serve the sandbox's synchronous views
one at a time and measure the sandbox instead.)
A trader connects all seven demo accounts through their real logins; then we time:

- cold: the first sync (no snapshot yet, so quotes can only be asked once holdings are in,
  and IIFL downloads its instrument master);
- warm: later syncs, 1.5 s apart (every rate bucket full again), which ask last time's quotes
  alongside the holdings: one round trip per broker, if nothing else holds a broker back;
- back to back: warm syncs without a pause, where the brokers' rate caps show;
- the same warm sync for a trader with the five other brokers (no Groww, no Fyers).

What bounds the total shows in two figures: the per-broker finish times of one warm round (the
fetch alone), and the time each warm sync spends around its fetch.
"""

import statistics
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from django.conf import settings
from django.contrib.auth import get_user_model

from bench.server import threaded
from brokers.models import BrokerConnection
from brokers.sandbox.management.commands.sandbox_faults import remote_faults
from portfolio import fetch, services, snapshots
from portfolio.models import BrokerSnapshot

BROKERS = ["zerodha", "upstox", "fyers", "angelone", "groww", "dhan", "iifl"]
UNBOUNDED = ["zerodha", "upstox", "angelone", "dhan", "iifl"]
LATENCY_MS = 200
WARM_ROUNDS = 11
PAUSE = 1.5  # seconds between warm syncs


def set_latency(url: str, broker: str, ms: int | None) -> None:
    remote_faults(url, broker, values={"latency_ms": ms}, clear=not ms)


def trader_with(brokers: list[str], urls: dict[str, str]):
    from tests.portfolio.conftest import connect_demo

    user = get_user_model().objects.create(username=f"bench-sync-{time.time_ns()}")
    for broker in brokers:
        connect_demo(user, broker, urls[broker])
    return user


@contextmanager
def fetches_timed() -> Iterator[list[float]]:
    """While inside, each fetch.fetch_all is timed (sync_portfolio calls it), so what a sync
    does around its fetch is read off the same sync."""
    real, spent = fetch.fetch_all, []

    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            spent.append((time.perf_counter() - started) * 1000)

    fetch.fetch_all = timed
    try:
        yield spent
    finally:
        fetch.fetch_all = real


def timed_sync(user) -> float:
    started = time.perf_counter()
    services.sync_portfolio(user=user)
    return (time.perf_counter() - started) * 1000


def warm_syncs(user) -> tuple[list[float], list[float]]:
    """Each warm sync's wall time, and the part of it spent outside the fetch."""
    samples, around = [], []
    for _ in range(WARM_ROUNDS):
        time.sleep(PAUSE)
        with fetches_timed() as fetched:
            samples.append(timed_sync(user))
        around.append(samples[-1] - fetched[-1])
    return samples, around


def one_round(user) -> list[tuple[str, float]]:
    """The fetch alone (what sync_portfolio runs), with each broker's finish time."""
    connections = list(
        BrokerConnection.objects.for_user(user).active().select_related("app").order_by("broker")
    )
    stored = BrokerSnapshot.objects.filter(connection__in=connections)
    outcomes = fetch.fetch_all(
        connections,
        prefetch={s.connection_id: snapshots.asked_before(s.payload) for s in stored},
        timeout=services.SYNC_TIMEOUT,
    )
    return sorted(((o.connection.broker, o.elapsed_ms) for o in outcomes), key=lambda r: r[1])


def figures(samples: list[float]) -> str:
    return (
        f"median {statistics.median(samples):4.0f} ms, best {min(samples):4.0f}, "
        f"worst {max(samples):4.0f}"
    )


def run() -> None:
    with ExitStack() as servers:
        urls = {broker: servers.enter_context(threaded())[0] for broker in BROKERS}
        measure(urls)


def measure(urls: dict[str, str]) -> None:
    try:
        settings.BROKER_HOSTS = {
            broker: {host: f"{urls[broker]}/sandbox/{broker}" for host in hosts}
            for broker, hosts in settings.BROKER_REAL_HOSTS.items()
        }
        asha = trader_with(BROKERS, urls)
        five = trader_with(UNBOUNDED, urls)
        for broker in BROKERS:
            set_latency(urls[broker], broker, LATENCY_MS)
        time.sleep(PAUSE)  # the logins used some of each broker's rate budget

        cold = timed_sync(asha)
        warm, around = warm_syncs(asha)
        back_to_back = [timed_sync(asha) for _ in range(3)]
        time.sleep(PAUSE)
        finishes = one_round(asha)
        timed_sync(five)
        warm_five, _ = warm_syncs(five)

        view = services.get_consolidated(user=asha)
        goal = 1.25 * LATENCY_MS
        print(
            f"   7 brokers, {LATENCY_MS} ms added to every call: {len(view.covered)} covered, "
            f"{len(view.failed)} failed, {len(view.portfolio.lines)} consolidated lines"
        )
        print(f"   cold sync (no snapshot yet):           {cold:4.0f} ms")
        print(f"   warm sync, {PAUSE:g} s apart:              {figures(warm)} (goal <= {goal:.0f})")
        row = ", ".join(f"{ms:.0f}" for ms in back_to_back)
        print(f"   warm sync, back to back:               {row} ms")
        print(f"   warm sync, 5 brokers (no Groww/Fyers): {figures(warm_five)}")
        print("   one warm round, when each broker had answered everything:")
        for broker, ms in finishes:
            print(f"     {broker:9s} {ms:4.0f} ms")
        slowest, last_ms = finishes[-1]
        print(
            f"   the fetch waits for its slowest broker, {slowest} ({last_ms:.0f} ms, "
            f"{last_ms - LATENCY_MS:.0f} ms over the latency);\n"
            f"   around the fetch, a warm sync spends (reading connections, storing, caching, "
            f"the push): median {statistics.median(around):.0f} ms"
        )
    finally:
        for broker in BROKERS:
            set_latency(urls[broker], broker, None)
