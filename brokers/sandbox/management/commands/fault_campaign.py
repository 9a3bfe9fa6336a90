"""The fault campaign: randomized orders on the sandbox with faults injected at random
points, then every broker's order book compared with every intent — 0 duplicates, 0 lost.

For a trader whose sandbox brokers are connected (``--user``): each run picks a fault at
random (seeded), injects it on the broker the order is routed to, places one market order
through the order path (``place_order``: commit, send, reconcile, fail over by the trader's
rules, queue) and clears the fault. Then the campaign settles: faults cleared, breakers
closed, every order still unknown or sending reconciled by the tracker, the queue drained.
Finally each order's attempt tags are looked up in every broker's order book:

- duplicate: the intent is in the books more than once (never allowed);
- lost: neither placed (once, at the broker it says), queued, rejected with a reason, nor
  expired or cancelled (never allowed);
- unresolved: still reconciling when the campaign ended (reported, not lost: the order waits).

Faults: none; the reply lost after the broker accepted (504); the request dropped before the
broker got it (502); 5xx before acceptance; 429; the answer cut off (connection reset after
acceptance); the order book unreadable as well as the reply lost; slow replies past the order
timeout (rare: each costs about 30 s). Not covered here: killing the worker process mid-order
and restarting Redis (the queue's process-kill test covers a killed claim). Needs REDIS_URL:
the sandbox's state must be shared with the server that answers for it.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from brokers import states
from brokers.models import BrokerConnection, ConnectionStatus
from brokers.sandbox import kit
from brokers.types import OrderType, Product, Side
from health import breaker
from routing.orders import queue, services
from routing.orders.inputs import OrderInput
from routing.orders.models import Order, OrderState

# (name, faults injected on the routed broker's account, weight)
FAULTS: list[tuple[str, dict, int]] = [
    ("none", {}, 3),
    ("reply lost after acceptance", {"lose_order_reply": True}, 3),
    ("request dropped before the broker", {"drop_order_request": True}, 3),
    ("5xx before acceptance", {"error_rate": 100}, 2),
    ("429", {"rate_limited": True}, 2),
    ("connection reset after acceptance", {"cut_off": True}, 2),
    ("reply lost and order book unreadable", {"lose_order_reply": True, "outage": True}, 2),
    ("slow past the order timeout", {"latency_ms": 5500}, 1),
]
FINAL_OK = {
    OrderState.QUEUED,
    OrderState.RISK_REJECTED,
    OrderState.REJECTED,
    OrderState.EXPIRED,
    OrderState.CANCELLED,
}
PLACED = {OrderState.PLACED, OrderState.OPEN, OrderState.PARTIALLY_FILLED, OrderState.FILLED}


@dataclass
class Outcome:
    runs: int = 0
    by_fault: Counter = field(default_factory=Counter)
    table: dict = field(default_factory=dict)  # fault → Counter of results
    duplicates: int = 0
    lost: int = 0
    unresolved: int = 0
    seconds: float = 0.0


def _restore(connections) -> None:
    """Each run starts from brokers that answer: faults cleared, breakers closed, the
    connection usable again (the campaign is about orders, not about health's recovery)."""
    for connection in connections:
        kit.clear_faults(connection.broker, connection.account_id)
        breaker.reset(str(connection.pk))
        connection.refresh_from_db()
        if connection.status in (ConnectionStatus.ERROR, ConnectionStatus.CONNECTING):
            states.transition(connection, ConnectionStatus.CONNECTED, reason="campaign reset")


def run_campaign(
    *, user, runs: int, seed: int, faults=None, instrument="NSE:INFY", say=print
) -> Outcome:
    rng = random.Random(seed)  # noqa: S311 (a reproducible campaign, not a secret)
    chosen = [f for f in FAULTS if faults is None or f[0] in faults]
    names, kinds, weights = zip(*chosen, strict=True)
    connections = list(
        BrokerConnection.objects.filter(user=user, status=ConnectionStatus.CONNECTED)
    )
    if not connections:
        raise CommandError("the trader has no connected broker: connect the sandbox accounts")
    outcome = Outcome()
    started = time.monotonic()
    placed_ids: dict[str, str] = {}  # order id → fault
    for n in range(runs):
        index = rng.choices(range(len(names)), weights=weights)[0]
        name, fault = names[index], kinds[index]
        ticket = OrderInput(
            instrument=instrument,
            side=Side.BUY,
            quantity=rng.randint(1, 3),
            order_type=OrderType.MARKET,
            product=Product.MIS,
        )
        preview = services.preview_order(user=user, order=ticket)
        if preview.chosen and fault:
            target = preview.connections[preview.chosen]
            kit.set_faults(target.broker, target.account_id, **fault)
        try:
            placed = services.place_order(user=user, order=ticket, idempotency_key=f"fc-{seed}-{n}")
        finally:
            _restore(connections)
        placed_ids[str(placed.order.pk)] = name
        outcome.by_fault[name] += 1
        if (n + 1) % 50 == 0:
            say(f"   {n + 1} runs, {time.monotonic() - started:,.0f} s")
    outcome.runs = runs

    # Settle: what is still unknown is reconciled, the queue drained, with every broker back.
    for _ in range(5):
        pending = list(
            Order.objects.filter(
                pk__in=placed_ids, status__in=(OrderState.UNKNOWN, OrderState.SENDING)
            )
        )
        for order in pending:
            Order.objects.filter(pk=order.pk).update(next_check_at=None)
            services.track_order(order_id=order.pk)
            _restore(connections)
        queue.wake(user_id=user.pk)  # the brokers are back: every waiting row is due
        queue.drain_queue(user_id=user.pk)
        _restore(connections)
        if not pending:
            break
        time.sleep(1)

    books: Counter = Counter()
    rejected_at_broker: set[str] = set()
    for key in {(c.broker, c.account_id) for c in connections}:
        for found in kit.orders(*key):
            books[found.tag] += 1
            if found.status == "REJECTED":
                rejected_at_broker.add(found.tag)
    for order in Order.objects.filter(pk__in=placed_ids).prefetch_related("attempts"):
        fault = placed_ids[str(order.pk)]
        tags = [a.tag for a in order.attempts.all() if a.kind == "PLACE"]
        at_brokers = sum(books[t] for t in tags)
        row = outcome.table.setdefault(fault, Counter())
        if at_brokers > 1:
            outcome.duplicates += 1
            row["DUPLICATE"] += 1
        elif order.status in PLACED and at_brokers == 1:
            row["placed once"] += 1
        elif order.status in (OrderState.UNKNOWN, OrderState.SENDING) and at_brokers <= 1:
            outcome.unresolved += 1
            row["unresolved (waiting)"] += 1
        elif (
            order.status in FINAL_OK
            and order.status_reason
            and (at_brokers == 0 or all(t in rejected_at_broker for t in tags if books[t]))
        ):
            row[order.get_status_display().split(" (")[0].lower()] += 1
        else:
            outcome.lost += 1
            row["LOST"] += 1
    outcome.seconds = time.monotonic() - started
    return outcome


def table(outcome: Outcome) -> list[str]:
    columns = sorted({c for row in outcome.table.values() for c in row})
    lines = ["| fault | runs | " + " | ".join(columns) + " |"]
    lines.append("|---" * (len(columns) + 2) + "|")
    for fault, row in sorted(outcome.table.items()):
        cells = " | ".join(str(row.get(c, 0)) for c in columns)
        lines.append(f"| {fault} | {outcome.by_fault[fault]} | {cells} |")
    lines.append(
        f"{outcome.runs} runs in {outcome.seconds:,.0f} s: {outcome.duplicates} duplicates, "
        f"{outcome.lost} lost, {outcome.unresolved} unresolved"
    )
    return lines


class Command(BaseCommand):
    help = "Randomized orders with injected faults on the sandbox: 0 duplicates, 0 lost."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="a trader with sandbox brokers connected")
        parser.add_argument("--runs", type=int, default=1000)
        parser.add_argument("--seed", type=int, default=21)

    def handle(self, *args, **options):
        if not settings.REDIS_URL:
            raise CommandError("needs REDIS_URL: faults are shared with the sandbox's server")
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"no user {options['user']!r}")
        outcome = run_campaign(
            user=user, runs=options["runs"], seed=options["seed"], say=self.stdout.write
        )
        for line in table(outcome):
            self.stdout.write(line)
        if outcome.duplicates or outcome.lost:
            raise CommandError("duplicates or lost orders: see the table")
