"""Our own time for one order, from the API request to the broker request leaving.

Goal: under 15 ms at p50. ``POST /api/v1/orders`` is called in-process (DRF's request
factory, the real view, authentication forced as a session would be) for a trader with seven
connected brokers and the full policy of bench_policy (50 custom rules, allocation caps,
restricted instruments); every step runs for real — the request parsed, the Idempotency-Key
checked and stored, the instrument found in the masters, the trader's book read (synced
positions, snapshots, open orders), each broker's breaker state and p95 read from the health
store, ``risk.check`` + ``route.decide`` over seven candidates with charges, the chosen
broker's rules, the order, its decision, events and first attempt committed — up to the moment
the adapter's ``place_order`` is called. The broker is a stub at the adapter that answers at
once (its quote too), so what is timed is ours alone; tracking is not queued. 300 orders after
30 warm-up; each with a new Idempotency-Key.
"""

from __future__ import annotations

import statistics
import time
import uuid
from datetime import datetime

from bench.bench_policy import _full_document, _trader

RUNS = 300
WARM = 30


class Stub:
    """A broker that answers at once; records when our request would have left."""

    def __init__(self, sent: list):
        self.sent = sent

    def quotes(self, refs):
        from brokers.types import Quote

        return {ref: Quote(ref.exchange, ref.symbol, last_price=_LAST) for ref in refs}

    def place_order(self, request):
        from brokers.types import OrderAck

        self.sent.append(time.perf_counter())
        return OrderAck(order_id=uuid.uuid4().hex[:15])


_LAST = None


def run() -> None:
    global _LAST
    from decimal import Decimal

    import time_machine
    from django.conf import settings
    from rest_framework.test import APIRequestFactory, force_authenticate

    from brokers.adapters import registry
    from brokers.clock import IST
    from brokers.models import InstrumentRecord
    from routing.orders import api, services
    from routing.orders.models import Order
    from routing.policy import services as policy_services

    _LAST = Decimal("1542.30")
    user = _trader()
    document = _full_document(user)
    # 330 orders of one instrument: no cap on open orders, exposure or concentration here.
    for limit in ("max_open_orders", "max_concentration_pct", "max_gross_exposure"):
        document["global"]["risk"][limit] = None
    policy_services.save_profile(
        user=user, document=document, version=policy_services.editing(user).version
    )
    if not InstrumentRecord.objects.filter(symbol="INFY").exists():
        InstrumentRecord.objects.bulk_create(
            InstrumentRecord(
                broker=broker,
                instrument_id=f"{broker}-1594",
                exchange="NSE",
                symbol="INFY",
                isin="INE009A01021",
                tick_size=Decimal("0.05"),
            )
            for broker in ("zerodha", "upstox", "fyers", "angelone", "groww", "dhan", "iifl")
        )
    sent: list[float] = []
    stub = Stub(sent)
    registry_adapter_for = registry.adapter_for
    registry.adapter_for = lambda connection: stub
    trackers = list(services._trackers)
    services._trackers.clear()
    view = api.OrdersApi.as_view(throttle_classes=[])  # 330 orders a minute: no throttle
    factory = APIRequestFactory()
    body = {
        "instrument": "NSE:INFY",
        "side": "BUY",
        "quantity": 1,
        "orderType": "LIMIT",
        "price": "1542.30",
        "product": "MIS",
    }
    samples, cpu = [], []
    # A weekday in market hours (IST), the clock moving.
    clock = time_machine.travel(datetime(2026, 6, 3, 10, 30, tzinfo=IST), tick=True)
    clock.start()
    try:
        for n in range(WARM + RUNS):
            request = factory.post(
                "/api/v1/orders", body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())
            )
            force_authenticate(request, user=user)
            c0 = time.thread_time_ns()
            started = time.perf_counter()
            answer = view(request)
            c1 = time.thread_time_ns()
            assert answer.status_code == 201, answer.data
            if n >= WARM:
                samples.append((sent[-1] - started) * 1000)
                cpu.append((c1 - c0) / 1e6)
    finally:
        registry.adapter_for = registry_adapter_for
        services._trackers.extend(trackers)
        clock.stop()
    placed = Order.objects.filter(user=user).count()
    ordered = sorted(samples)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    print(f"   {placed} orders placed, {RUNS} timed; database {engine}, cache {_cache()}")
    print(
        f"   API request → broker request leaving: p50 {statistics.median(ordered):6.2f} ms · "
        f"p99 {p99:6.2f} ms · max {ordered[-1]:6.2f} ms"
    )
    print(f"   … this thread's CPU for the whole request p50 {statistics.median(cpu):6.2f} ms")


def _cache() -> str:
    from django.conf import settings

    return settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
