"""Failover time on the sandbox: the primary fails, the backup's order is accepted.

For each run a new trader with a Zerodha (primary: a custom rule names it) and an Upstox
demo account connected through the sandbox (Django's threaded server in a subprocess),
failover rules TIMEOUT ≥ 100 ms → SWITCH and ERROR_RATE ≥ 1 % → SWITCH. Each run places one
market order (``place_order``) while Zerodha fails in one of two ways:

- ``lost after sending``: Kite answers after 150 ms that its gateway lost the order (502).
  The attempt's fate is unknown, so Kite's order book is read for its tag (the order path's
  reconciliation, about 2 s of reads) until it is proven absent; only then does Upstox get it.
- ``connection refused``: Kite's host refuses the connection, so nothing left: proven absent
  at once, no reconciliation needed.

Figures per case: from the moment Zerodha's failure was seen (its attempt's answer) to
Upstox's acceptance, and the whole placement, p50 and p99; then both order books are read:
each order at Upstox exactly once, none at Zerodha. Needs DATABASE_URL and REDIS_URL.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections import Counter

RUNS = 12  # each with a fresh trader and fresh logins (about 2 s each)


def _p(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(share * len(ordered)) - 1)]


def run() -> None:
    import copy
    import os
    from datetime import datetime, timedelta

    import time_machine
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from accounts.roles import make_trader
    from bench.server import threaded
    from brokers.clock import IST
    from brokers.sandbox import kit
    from brokers.services import load_master_if_stale
    from brokers.types import OrderType, Product, Side
    from routing.orders import services
    from routing.orders.inputs import OrderInput
    from routing.policy import services as policy_services
    from tests.portfolio.conftest import connect_demo

    if not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
        print("   needs DATABASE_URL (PostgreSQL) and REDIS_URL: skipped")
        return
    services._trackers.clear()  # placement only
    clock = time_machine.travel(datetime(2026, 6, 3, 10, 30, tzinfo=IST), tick=True)
    order = OrderInput(
        instrument="NSE:INFY",
        side=Side.BUY,
        quantity=1,
        order_type=OrderType.MARKET,
        product=Product.MIS,
    )
    with threaded() as (url, _):
        clock.start()
        sandbox = {
            broker: {host: f"{url}/sandbox/{broker}" for host in hosts}
            for broker, hosts in settings.BROKER_REAL_HOSTS.items()
        }
        settings.BROKER_HOSTS = sandbox

        def fresh_trader():
            """A trader whose brokers are healthy: the failures of one run (which turn
            Kite's connection red, as they should) do not route the next one away."""
            user = get_user_model().objects.create(
                username=f"bench-failover-{uuid.uuid4().hex[:12]}"
            )
            make_trader(user)
            linked = {}
            for broker in ("zerodha", "upstox"):
                linked[broker] = connect_demo(user, broker, url)
                load_master_if_stale(linked[broker])
            state = policy_services.editing(user)
            document = copy.deepcopy(state.document)
            document["global"]["routing"].update(
                strategy="CUSTOM",
                rules=[{"name": "primary", "broker": "zerodha"}],
                priority=["zerodha", "upstox"],
            )
            document["global"]["failover"]["rules"] = [
                {"condition": "TIMEOUT", "threshold": "100", "action": "SWITCH"},
                {"condition": "ERROR_RATE", "threshold": "1", "action": "SWITCH"},
            ]
            policy_services.save_profile(user=user, document=document, version=state.version)
            return user, linked

        def lost_after_sending(zerodha):
            kit.set_faults("zerodha", zerodha.account_id, drop_order_request=True, latency_ms=150)

        def connection_refused(zerodha):
            settings.BROKER_HOSTS = {
                **sandbox,
                "zerodha": dict.fromkeys(sandbox["zerodha"], "http://127.0.0.1:9"),
            }

        for name, fail in (
            ("lost after sending", lost_after_sending),
            ("connection refused", connection_refused),
        ):
            switch_ms, whole_ms, placed_ids, outcomes = [], [], [], Counter()
            for _ in range(RUNS):
                user, linked = fresh_trader()
                zerodha = linked["zerodha"]
                fail(zerodha)
                started = time.perf_counter()
                placed = services.place_order(user=user, order=order).order
                whole_ms.append((time.perf_counter() - started) * 1000)
                first, *rest = placed.attempts.order_by("number")
                outcomes[(first.status, tuple(a.broker_key for a in rest), placed.status)] += 1
                accepted = next((a for a in rest if a.status == "ACCEPTED"), None)
                if accepted is not None:
                    seen = first.sent_at + timedelta(milliseconds=first.elapsed_ms or 0)
                    switch_ms.append((accepted.finished_at - seen).total_seconds() * 1000)
                    placed_ids.append(accepted.tag)
                kit.clear_faults("zerodha", zerodha.account_id)
                settings.BROKER_HOSTS = sandbox
            upstox_tags = Counter(o.tag for o in kit.orders("upstox", linked["upstox"].account_id))
            zerodha_tags = {o.tag for o in kit.orders("zerodha", zerodha.account_id)}
            once = sum(upstox_tags[t] == 1 for t in placed_ids)
            print(f"   {name}: outcomes {dict(outcomes)}")
            print(
                f"   {name}: {once} of {RUNS} at Upstox exactly once, "
                f"{sum(t in zerodha_tags for t in placed_ids)} at Zerodha"
            )
            if switch_ms:
                print(
                    f"   {name}: failure seen → backup accepted p50 "
                    f"{statistics.median(switch_ms):6.0f} ms · p99 {_p(switch_ms, 0.99):6.0f} ms"
                    f" · whole placement p50 {statistics.median(whole_ms):6.0f} ms · p99 "
                    f"{_p(whole_ms, 0.99):6.0f} ms"
                )
        clock.stop()
