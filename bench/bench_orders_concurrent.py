"""100 orders placed at once by 10 traders on the sandbox: each placed exactly once.

Ten traders, each with a Zerodha and an Upstox demo account connected through the sandbox
(Django's threaded server in a subprocess, as brokers answering many requests at once would;
the ten log in to the same demo accounts, so they share each account's order-rate cap);
100 market orders, ten per trader, placed from 20 threads at a time (``place_order``: risk,
routing, commit, send). Then each order book is read: every order must be there exactly
once, under its accepted attempt's tag. Figures: wall time, throughput, p50 and p99 of one
placement, retries and their causes. Needs DATABASE_URL (PostgreSQL: many writers at once)
and REDIS_URL (the sandbox's state shared with this process).
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

TRADERS = 10
ORDERS_EACH = 10
# Orders in flight at once: each holds a PostgreSQL connection, and the shared server has
# few to spare.
AT_ONCE = 20


def run() -> None:
    import os
    from datetime import datetime

    import time_machine
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import close_old_connections

    from accounts.roles import make_trader
    from bench.server import threaded
    from brokers.adapters import registry
    from brokers.clock import IST
    from brokers.services import load_master_if_stale
    from brokers.types import OrderType, Product, Side
    from routing.orders import services
    from routing.orders.inputs import OrderInput
    from routing.orders.models import Order, OrderAttempt
    from tests.portfolio.conftest import connect_demo

    if not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
        print("   needs DATABASE_URL (PostgreSQL) and REDIS_URL: skipped")
        return
    services._trackers.clear()  # placement only; the order books are read below
    clock = time_machine.travel(datetime(2026, 6, 3, 10, 30, tzinfo=IST), tick=True)
    with threaded() as (url, _):
        clock.start()
        settings.BROKER_HOSTS = {
            broker: {host: f"{url}/sandbox/{broker}" for host in hosts}
            for broker, hosts in settings.BROKER_REAL_HOSTS.items()
        }
        traders = []
        for n in range(TRADERS):
            user = get_user_model().objects.create(
                username=f"bench-orders-{uuid.uuid4().hex[:12]}-{n}"
            )
            make_trader(user)
            for broker in ("zerodha", "upstox"):
                load_master_if_stale(connect_demo(user, broker, url))
            traders.append(user)
        order = OrderInput(
            instrument="NSE:INFY",
            side=Side.BUY,
            quantity=1,
            order_type=OrderType.MARKET,
            product=Product.MIS,
        )

        def place(user) -> tuple[float, str, str]:
            started = time.perf_counter()
            try:
                placed = services.place_order(user=user, order=order).order
                return (time.perf_counter() - started) * 1000, placed.status, str(placed.pk)
            finally:
                close_old_connections()

        jobs = [user for user in traders for _ in range(ORDERS_EACH)]
        with ThreadPoolExecutor(max_workers=AT_ONCE) as pool:
            started = time.perf_counter()
            results = list(pool.map(place, jobs))
            wall = time.perf_counter() - started

        # Every order at its broker exactly once, under its accepted attempt's tag.
        # (The ten traders log in to the same demo accounts: each book is read once.)
        seen = Counter()
        books = {}
        for user in traders:
            for connection in user.broker_connections.all():
                books.setdefault((connection.broker, connection.account_id), connection)
        for connection in books.values():
            for found in registry.adapter_for(connection).orders():
                if found.tag:
                    seen[found.tag] += 1
        clock.stop()
    ids = [pk for _, _, pk in results]
    tags = list(
        OrderAttempt.objects.filter(order_id__in=ids, status="ACCEPTED").values_list(
            "tag", flat=True
        )
    )
    once = sum(1 for tag in tags if seen[tag] == 1)
    twice = sum(1 for tag in tags if seen[tag] > 1)
    statuses = Counter(status for _, status, _ in results)
    retries = OrderAttempt.objects.filter(order_id__in=ids).count() - len(ids)
    refused = Counter(
        Order.objects.filter(pk__in=ids, status="REJECTED").values_list("status_reason", flat=True)
    )
    errors = Counter(
        OrderAttempt.objects.filter(order_id__in=ids)
        .exclude(error="")
        .values_list("error_type", flat=True)
    )
    latencies = sorted(ms for ms, _, _ in results)
    p99 = latencies[max(0, round(0.99 * len(latencies)) - 1)]
    print(
        f"   {len(results)} orders by {TRADERS} traders: statuses {dict(statuses)}; "
        f"{once} at their broker exactly once, {twice} more than once, "
        f"{len(ids) - len(tags)} without an accepted attempt, {retries} retries; "
        f"{Order.objects.filter(pk__in=ids).count()} stored"
    )
    for reason, count in refused.most_common(3):
        print(f"   rejected x{count}: {reason[:160]}")
    print(f"   attempts answered with an error, by kind: {dict(errors)}")
    print(
        f"   wall {wall * 1000:6.0f} ms · {len(results) / wall:5.1f} orders/s · "
        f"p50 {statistics.median(latencies):6.0f} ms · p99 {p99:6.0f} ms"
    )
