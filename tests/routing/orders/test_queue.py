"""The order queue on PostgreSQL and the sandbox: expiry, cancel, drain first in first out,
drain after a process died (holding the row, or after claiming it), two workers draining at
once, and the trader's own send."""

import copy
import os
import signal
import subprocess
import sys
import threading
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connections
from django.utils import timezone

from brokers import states
from brokers.clock import IST
from brokers.models import ConnectionStatus
from brokers.sandbox import kit
from brokers.types import OrderType, Product, Side
from health.models import Notification
from routing.orders import queue, services
from routing.orders.inputs import OrderInput
from routing.orders.models import AttemptState, Order, OrderState, QueuedOrder, QueueState
from routing.policy import services as policy_services
from tests.portfolio.conftest import eventually
from tests.routing.test_live import database_url

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[3]
PLACED = (OrderState.PLACED, OrderState.OPEN, OrderState.FILLED)


def buy(quantity=1, **kwargs) -> OrderInput:
    values = {
        "instrument": "NSE:INFY",
        "side": Side.BUY,
        "quantity": quantity,
        "order_type": OrderType.MARKET,
        "product": Product.CNC,
        **kwargs,
    }
    return OrderInput(**values)


def pause(user, paused=True):
    policy_services.set_paused(user=user, key="zerodha", paused=paused)


def queued(user, count=1, **kwargs) -> list[Order]:
    """Orders placed while Zerodha is paused: they wait in the queue."""
    pause(user)
    orders = [
        services.place_order(user=user, order=buy(quantity=n + 1, **kwargs)).order
        for n in range(count)
    ]
    assert {o.status for o in orders} == {OrderState.QUEUED}, [o.status_reason for o in orders]
    return orders


def tags_at(connection) -> list[str]:
    return [o.tag for o in kit.orders(connection.broker, connection.account_id)]


@pytest.fixture
def zerodha(trader, connected):
    return connected("zerodha")["zerodha"]


def test_a_queued_order_expires_at_the_end_of_its_session_and_is_never_sent(trader, zerodha):
    (order,) = queued(trader)
    row = QueuedOrder.objects.get(order=order)
    assert row.expires_at.astimezone(IST).strftime("%H:%M") == "15:30"

    drained = queue.drain_queue(now=row.expires_at + timedelta(seconds=1))

    assert drained.expired == 1 and drained.sent == []
    order.refresh_from_db()
    assert order.status == OrderState.EXPIRED and "nothing was sent" in order.status_reason
    notice = Notification.objects.get(user=trader, title__startswith="Queued order expired")
    assert notice.link == f"/orders/{order.pk}/"
    pause(trader, False)
    assert queue.drain_queue().sent == [] and tags_at(zerodha) == []


def test_the_trader_cancels_a_queued_order_and_nothing_is_sent(trader, other_trader, zerodha):
    (order,) = queued(trader)

    with pytest.raises(QueuedOrder.DoesNotExist):  # another trader's: not found
        queue.cancel_queued(user=other_trader, order_id=order.pk)
    queue.cancel_queued(user=trader, order_id=order.pk)

    order.refresh_from_db()
    assert order.status == OrderState.CANCELLED
    assert QueuedOrder.objects.get(order=order).state == QueueState.CANCELLED
    with pytest.raises(queue.QueueRefusal, match="you already cancelled it"):
        queue.cancel_queued(user=trader, order_id=order.pk)
    pause(trader, False)
    assert queue.drain_queue().sent == [] and tags_at(zerodha) == []


def test_the_cancel_endpoint_takes_a_queued_order_out_and_refuses_other_traders(
    trader, other_trader, zerodha, client
):
    (order,) = queued(trader)
    url = f"/api/v1/orders/{order.pk}/cancel"

    client.force_login(other_trader)
    assert client.post(url).status_code == 404
    assert QueuedOrder.objects.get(order=order).state == QueueState.WAITING

    client.force_login(trader)
    answer = client.post(url)
    assert answer.status_code == 200 and answer.json()["status"] == "CANCELLED"
    again = client.post(url)
    assert again.status_code == 422
    assert "no longer in the queue" in again.json()["error"]["message"]


def test_the_queue_drains_first_in_first_out_when_the_broker_is_back(trader, zerodha):
    orders = queued(trader, count=3)
    assert queue.drain_queue().sent == []  # still paused: nothing goes

    pause(trader, False)
    drained = queue.drain_queue(now=timezone.now() + timedelta(seconds=3))  # the beat's next pass

    assert drained.sent == [str(o.pk) for o in orders]
    tags = [Order.objects.get(pk=o.pk).attempts.get().tag for o in orders]
    assert tags_at(zerodha) == tags  # in the order they were queued, each once
    for order in orders:
        order.refresh_from_db()
        assert order.status in PLACED
        timeline = list(order.events.values_list("to_status", flat=True))
        assert timeline[:3] == ["QUEUED", "SENDING", "PLACED"]
        sent = order.events.get(to_status="SENDING").reason
        assert sent.startswith("from the queue after") and "risk checks passed again" in sent
    assert queue.drain_queue().sent == [] and len(tags_at(zerodha)) == 3


@pytest.mark.skipif(
    connections["default"].vendor != "postgresql",
    reason="a row lock another process holds and a worker skips needs PostgreSQL: SQLite locks "
    "the whole database (the embedded default is one process; its threads are serialized)",
)
def test_a_worker_killed_while_claiming_a_row_loses_nothing_and_sends_it_once(trader, zerodha):
    (order,) = queued(trader)
    pause(trader, False)
    row = QueuedOrder.objects.get(order=order)
    script = (
        "import time;from django.db import transaction;"
        "from routing.orders.models import QueuedOrder\n"
        "with transaction.atomic():\n"
        f"    QueuedOrder.objects.select_for_update().get(pk={row.pk});print('claimed',flush=True)"
        ";time.sleep(120)"
    )
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "INPROCESS_SCHEDULER": "false",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        lines = iter(worker.stdout.readline, "")
        assert any(line.strip() == "claimed" for line in lines)
        # Another worker skips the row the first one holds: nothing is sent twice.
        assert queue.drain_queue().sent == [] and tags_at(zerodha) == []
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)

    drained = queue.drain_queue()

    assert drained.sent == [str(order.pk)]
    order.refresh_from_db()
    assert order.status in PLACED and tags_at(zerodha) == [order.attempts.get().tag]


def test_a_worker_that_died_after_claiming_leaves_an_attempt_the_tracker_settles_once(
    trader, zerodha, market, monkeypatch
):
    (order,) = queued(trader)
    pause(trader, False)

    def killed(*args, **kwargs):
        raise SystemExit("worker killed before the request left")

    monkeypatch.setattr(services, "send_attempt", killed)
    with pytest.raises(SystemExit):
        queue.drain_queue()
    monkeypatch.undo()

    order.refresh_from_db()
    assert order.status == OrderState.SENDING
    assert QueuedOrder.objects.get(order=order).state == QueueState.SENT
    assert tags_at(zerodha) == []
    assert queue.drain_queue().sent == []  # the queue never sends it again

    market.shift(31)  # after a restart the tracker finds the attempt stuck in SENDING
    assert services.track_order(order_id=order.pk) in PLACED
    first, second = order.attempts.order_by("number")
    assert first.status == AttemptState.ABSENT and second.status == AttemptState.ACCEPTED
    assert tags_at(zerodha) == [second.tag]


def test_two_workers_draining_one_queue_at_once_send_each_order_once(
    trader, other_trader, connected
):
    zerodha = connected("zerodha")["zerodha"]
    connected("zerodha", user=other_trader)
    orders = queued(trader, count=3) + queued(other_trader, count=3)
    pause(trader, False)
    pause(other_trader, False)

    start = threading.Barrier(2)
    results, errors = [], []

    def worker():
        try:
            start.wait(timeout=10)
            results.append(queue.drain_queue())
        except Exception as error:  # surfaced below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for _ in range(3):  # a trader skipped while the other worker held their first row
        results.append(queue.drain_queue())

    assert errors == []
    sent = [pk for result in results for pk in result.sent]
    assert sorted(sent) == sorted(str(o.pk) for o in orders)  # every order, each once
    attempts = [Order.objects.get(pk=o.pk).attempts.get() for o in orders]
    book = tags_at(zerodha)  # both traders use the same demo account
    assert sorted(book) == sorted(a.tag for a in attempts) and len(set(book)) == 6


def test_a_limit_price_beyond_tolerance_at_drain_time_waits_for_the_traders_word(trader, zerodha):
    last = services.preview_order(user=trader, order=buy()).last_price
    tick = Decimal("0.05")
    price = (last * Decimal("1.005") / tick).to_integral_value() * tick
    (order,) = queued(trader, order_type=OrderType.LIMIT, price=price)
    # The market moved: now the price is further from it than Zerodha's tolerance allows.
    state = policy_services.editing(trader)
    document = copy.deepcopy(state.document)
    document["brokers"]["zerodha"]["trading"]["price_tolerance_pct"] = "0.1"
    policy_services.save_profile(user=trader, document=document, version=state.version)
    pause(trader, False)

    drained = queue.drain_queue()

    assert drained.sent == [] and drained.confirm == 1
    row = QueuedOrder.objects.get(order=order)
    assert row.state == QueueState.CONFIRM and "Send it yourself to confirm" in row.reason
    assert [r.order_id for r in queue.queued_orders(user=trader)] == [order.pk]
    assert tags_at(zerodha) == []

    sent = queue.send_queued(user=trader, order_id=order.pk, broker="zerodha")

    assert sent.status in PLACED and "sent by you" in sent.events.get(to_status="SENDING").reason
    assert tags_at(zerodha) == [sent.attempts.get().tag]
    with pytest.raises(queue.QueueRefusal, match="already sent"):
        queue.send_queued(user=trader, order_id=order.pk, broker="zerodha")


def test_sending_a_queued_order_to_a_broker_that_cannot_take_it_is_refused(
    trader, other_trader, zerodha
):
    (order,) = queued(trader)

    with pytest.raises(queue.QueueRefusal, match="you paused it"):
        queue.send_queued(user=trader, order_id=order.pk, broker="zerodha")
    with pytest.raises(queue.QueueRefusal, match="not one of your brokers"):
        queue.send_queued(user=trader, order_id=order.pk, broker="dhan")
    with pytest.raises(QueuedOrder.DoesNotExist):
        queue.send_queued(user=other_trader, order_id=order.pk, broker="zerodha")
    assert QueuedOrder.objects.get(order=order).state == QueueState.WAITING
    assert tags_at(zerodha) == []


def test_a_broker_back_to_connected_drains_its_traders_queue_at_once(trader, zerodha, worker):
    (order,) = queued(trader)
    pause(trader, False)  # resumed, but the row's next pass is not due yet
    states.transition(zerodha, ConnectionStatus.ERROR, reason="Down")

    states.transition(zerodha, ConnectionStatus.CONNECTED)  # health green again

    def placed() -> bool:
        order.refresh_from_db()
        return order.status in PLACED

    assert eventually(placed), order.status_reason
    assert tags_at(zerodha) == [order.attempts.get().tag]
