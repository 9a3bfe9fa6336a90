"""The order path's decision for one order across seven brokers: risk.check + route.decide.

Goal: well under 1 ms at p50 (the whole path from API request to the broker request leaving,
with persistence, aims at 15 ms).

The trader is bench_policy's: seven connections (one per broker) and its full profile saved
through the real services (50 custom rules, an allocation cap per broker, global and
per-broker risk limits, ten restricted instruments per broker), read back with
``effective()`` as the order path reads it. Each run makes one order's decision as the order
path will: ``risk.check`` with no broker (the global rules), ``route.decide`` over seven
candidates (each with a p95, a quote and the charges estimated for it), then ``risk.check``
with the chosen broker (its own rules). Two routings: LOWEST_COST, and CUSTOM where the
twelfth rule matches. Each part and the whole are timed per run (wall clock), and the whole
also in this thread's CPU time, which a busy host's scheduler does not inflate; 3,000 runs
after 300 warm-up.
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from bench.bench_policy import _full_document, _trader

RUNS = 3000
WARM = 300


def _setup(strategy: str):
    from brokers.adapters.registry import capabilities
    from brokers.types import AssetType, OrderType, Product, Side
    from routing.intent import Book, Candidate, InstrumentInfo, Intent, Listing
    from routing.policy import services
    from routing.policy.effective import effective

    user = _trader()
    document = _full_document(user)
    document["global"]["routing"]["strategy"] = strategy
    services.save_profile(user=user, document=document, version=services.editing(user).version)
    policy = effective(user)
    instrument = InstrumentInfo(
        isin="INE002A01018",
        exchange="NSE",
        symbol="RELIANCE",
        tick_size=Decimal("0.05"),
        lower_band=Decimal("1110.00"),
        upper_band=Decimal("1360.00"),
    )
    # 10 x ₹1,234.50 = ₹12,345: the twelfth custom rule's window (₹12,000 to ₹12,999, CNC).
    intent = Intent(
        instrument=instrument,
        side=Side.BUY,
        quantity=10,
        order_type=OrderType.LIMIT,
        product=Product.CNC,
        price=Decimal("1234.50"),
    )
    candidates = []
    for n, (key, broker) in enumerate(policy.brokers.items()):
        caps = capabilities(broker.broker)
        candidates.append(
            Candidate(
                key=key,
                connection_id=broker.connection_id,
                broker=broker.broker,
                order_types=frozenset(caps.order_types),
                products=frozenset(caps.products),
                exchanges=frozenset(caps.exchanges),
                listing=Listing("NSE", "RELIANCE", f"{broker.broker}-738561"),
                p95_ms=None if n == 6 else 80.0 + 15 * n,
                success_rate=0.99,
                quote=Decimal("1234.00") + Decimal("0.05") * n,
                demat_quantity=20,
            )
        )
    book = Book(
        quantities={instrument.isin: 20},
        values={instrument.isin: Decimal("24690")},
        broker_quantities={c.key: 20 for c in candidates},
        broker_day_pnl={c.key: Decimal("-150") for c in candidates},
        realized_pnl=Decimal("-400"),
        unrealized_pnl=Decimal("250"),
        gross_exposure=Decimal("900000"),
        portfolio_value=Decimal("900000"),
        cash=Decimal("300000"),
        open_orders=4,
        # ₹60,000 to ₹1,80,000 of equity per broker: some within their 14 % cap, some over.
        broker_asset_values={
            c.key: {AssetType.EQUITY: Decimal(60000 + 20000 * n)} for n, c in enumerate(candidates)
        },
    )
    return policy, intent, candidates, book


def _line(name: str, samples: list[int]) -> str:
    ordered = sorted(samples)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    return (
        f"  {name:<34} p50 {statistics.median(ordered) / 1000:7.1f} µs · "
        f"p99 {p99 / 1000:7.1f} µs · max {ordered[-1] / 1000:7.1f} µs"
    )


def _measure(strategy: str) -> None:
    from routing import risk, route
    from routing.risk import IST

    policy, intent, candidates, book = _setup(strategy)
    now = datetime(2026, 6, 1, 10, 0, tzinfo=IST)
    last = Decimal("1234.00")
    parts: dict[str, list[int]] = {"risk.check (global)": [], "route.decide (7 brokers)": []}
    parts["risk.check (chosen broker)"] = []
    whole: list[int] = []
    cpu: list[int] = []
    decision = None
    clock, thread = time.perf_counter_ns, time.thread_time_ns
    for n in range(WARM + RUNS):
        seeded = replace(intent, quantity=10)
        c0 = thread()
        t0 = clock()
        breaches = risk.check(seeded, policy=policy, book=book, last_price=last, now=now)
        t1 = clock()
        decision = route.decide(
            seeded, candidates, policy=policy, now=now, last_price=last, book=book, seed=n
        )
        t2 = clock()
        chosen = decision.chosen.candidate.key
        breaches += risk.check(
            seeded, policy=policy, book=book, last_price=last, now=now, broker_key=chosen
        )
        t3 = clock()
        c3 = thread()
        if n >= WARM:
            parts["risk.check (global)"].append(t1 - t0)
            parts["route.decide (7 brokers)"].append(t2 - t1)
            parts["risk.check (chosen broker)"].append(t3 - t2)
            whole.append(t3 - t0)
            cpu.append(c3 - c0)
    assert not breaches, breaches
    print(f"{strategy}: {RUNS} decisions, chosen {decision.chosen.candidate.key}")
    print(f"  {decision.explanation[:160]}…")
    for name, samples in parts.items():
        print(_line(name, samples))
    print(_line("one order's decision (all three)", whole))
    print(_line("… this thread's CPU time for it", cpu))


def run() -> None:
    loads = os.getloadavg()
    print(f"load average at start: {loads[0]:.1f} {loads[1]:.1f} {loads[2]:.1f}")
    for strategy in ("LOWEST_COST", "CUSTOM"):
        _measure(strategy)
    loads = os.getloadavg()
    print(f"load average at end: {loads[0]:.1f} {loads[1]:.1f} {loads[2]:.1f}")
