"""Failover on the sandbox: the trader's rules move an order to a backup only once its failed
attempt is proven absent; an attempt whose fate is unknown keeps the order where it is; a
broker down or paused queues the order; a recovered broker gets new orders back only after
the configured healthy time."""

import copy
from datetime import timedelta

import pytest
from django.utils import timezone

from brokers.sandbox import kit
from brokers.types import OrderType, Product, Side
from health import breaker
from health.models import ConnectionHealth, Notification
from routing.orders import services
from routing.orders.inputs import OrderInput
from routing.orders.models import AttemptState, OrderState, QueuedOrder, QueueState
from routing.policy import services as policy_services

pytestmark = pytest.mark.django_db(transaction=True)

INFY = "NSE:INFY"
TIMEOUT_SWITCH = {"condition": "TIMEOUT", "threshold": "100", "action": "SWITCH"}


def buy(**kwargs) -> OrderInput:
    values = {
        "instrument": INFY,
        "side": Side.BUY,
        "quantity": 1,
        "order_type": OrderType.MARKET,
        "product": Product.CNC,
        **kwargs,
    }
    return OrderInput(**values)


def set_policy(user, *, priority=("zerodha", "upstox"), rules=(), recovery=None):
    """Zerodha first (a custom rule names it), Upstox the fallback."""
    state = policy_services.editing(user)
    document = copy.deepcopy(state.document)
    document["global"]["routing"]["strategy"] = "CUSTOM"
    document["global"]["routing"]["rules"] = [{"name": "primary", "broker": priority[0]}]
    document["global"]["routing"]["priority"] = list(priority)
    document["global"]["failover"]["rules"] = list(rules)
    if recovery is not None:
        document["global"]["failover"]["recovery"] = recovery
    policy_services.save_profile(user=user, document=document, version=state.version)


def book(connection) -> list:
    return kit.orders(connection.broker, connection.account_id)


def test_a_switch_waits_for_proof_of_absence_then_sends_a_similar_order_to_the_backup(
    trader, connected
):
    linked = connected("zerodha", "upstox")
    set_policy(trader, rules=[TIMEOUT_SWITCH])
    # Kite answers after 150 ms, and its gateway loses the order before the OMS gets it.
    kit.set_faults("zerodha", linked["zerodha"].account_id, drop_order_request=True, latency_ms=150)

    order = services.place_order(user=trader, order=buy()).order

    first, second = order.attempts.order_by("number")
    assert (first.broker_key, first.status) == ("zerodha", AttemptState.ABSENT)
    assert first.reconcile_reads >= 3  # proven absent from the book before anything else
    assert (second.broker_key, second.status) == ("upstox", AttemptState.ACCEPTED)
    assert order.status in (OrderState.PLACED, OrderState.OPEN, OrderState.FILLED)
    assert order.connection_id == linked["upstox"].pk
    assert book(linked["zerodha"]) == []
    assert [o.tag for o in book(linked["upstox"])] == [second.tag]
    reasons = list(order.events.values_list("reason", flat=True))
    switched = next(r for r in reasons if r.startswith("failover"))
    assert (
        "rule 1 (TIMEOUT → SWITCH)" in switched
        and "rule: 100 ms" in switched
        and "proven absent" in switched
    )
    assert "upstox" in switched
    notice = Notification.objects.get(user=trader, kind=Notification.Kind.FAILOVER)
    assert "from zerodha to upstox" in notice.title
    assert notice.link == f"/orders/{order.pk}/"  # the timeline says why


def test_an_unknown_attempt_blocks_any_order_elsewhere_until_it_is_reconciled(
    trader, connected, market
):
    linked = connected("zerodha", "upstox")
    set_policy(trader, rules=[TIMEOUT_SWITCH])
    # The order reaches Kite but the reply is lost, and Kite's order book does not answer.
    kit.set_faults(
        "zerodha",
        linked["zerodha"].account_id,
        lose_order_reply=True,
        error_rate=100,
        paths="orders",
    )

    order = services.place_order(user=trader, order=buy()).order

    assert order.status == OrderState.UNKNOWN
    assert "goes nowhere else until it is proven absent" in order.status_reason
    assert order.attempts.count() == 1
    assert book(linked["upstox"]) == []
    assert len(book(linked["zerodha"])) == 1

    kit.clear_faults("zerodha", linked["zerodha"].account_id)
    # The failed reads opened Kite's breaker; the health probes close it once Kite answers.
    breaker.reset(str(linked["zerodha"].pk))
    market.shift(5)
    assert services.track_order(order_id=order.pk) in (
        OrderState.PLACED,
        OrderState.OPEN,
        OrderState.FILLED,
    )
    order.refresh_from_db()
    assert order.connection_id == linked["zerodha"].pk
    assert [o.tag for o in book(linked["zerodha"])] == [order.attempts.get().tag]
    assert book(linked["upstox"]) == []


def test_a_paused_broker_queues_the_order_and_tells_the_trader_trading_is_paused(trader, connected):
    connected("zerodha")
    policy_services.set_paused(user=trader, key="zerodha", paused=True)

    order = services.place_order(user=trader, order=buy()).order

    assert order.status == OrderState.QUEUED
    row = QueuedOrder.objects.get(order=order)
    assert row.state == QueueState.WAITING and "you paused it" in row.reason
    assert order.attempts.count() == 0
    links = dict(Notification.objects.filter(user=trader).values_list("title", "link"))
    assert links["Trading paused — 1 order queued"] == "/policy/emergency/"
    queued_notice = next(t for t in links if t.startswith("Order queued: BUY 1 NSE:INFY"))
    assert links[queued_notice] == f"/orders/{order.pk}/"


def test_a_broker_the_trader_named_waits_for_it_in_the_queue(trader, connected):
    connected("zerodha", "upstox")
    policy_services.set_paused(user=trader, key="upstox", paused=True)

    order = services.place_order(user=trader, order=buy(broker="upstox")).order

    assert order.status == OrderState.QUEUED
    assert QueuedOrder.objects.get(order=order).target_key == "upstox"


def test_a_recovered_primary_gets_new_orders_only_after_the_healthy_time(trader, connected):
    linked = connected("zerodha", "upstox")
    set_policy(trader, recovery={"return_to_primary": True, "healthy_minutes": 15})
    ConnectionHealth.objects.update_or_create(
        connection=linked["zerodha"],
        defaults={
            "next_check_at": timezone.now(),
            "incident_open": False,
            "incident_closed_at": timezone.now() - timedelta(minutes=5),
        },
    )

    early = services.place_order(user=trader, order=buy()).order
    assert early.connection_id == linked["upstox"].pk
    routed = early.events.get(to_status=OrderState.ROUTED).reason
    assert "zerodha is healthy again for 5 of the 15 min" in routed

    ConnectionHealth.objects.filter(connection=linked["zerodha"]).update(
        incident_closed_at=timezone.now() - timedelta(minutes=16)
    )
    later = services.place_order(user=trader, order=buy()).order
    assert later.connection_id == linked["zerodha"].pk


def test_a_primary_that_refuses_the_connection_fails_over_at_once_without_reconciling(
    trader, connected, settings
):
    linked = connected("zerodha", "upstox")
    set_policy(trader, rules=[{"condition": "ERROR_RATE", "threshold": "1", "action": "SWITCH"}])
    # Kite's host refuses connections: nothing of the request ever left.
    settings.BROKER_HOSTS = {
        **settings.BROKER_HOSTS,
        "zerodha": dict.fromkeys(settings.BROKER_HOSTS["zerodha"], "http://127.0.0.1:9"),
    }

    order = services.place_order(user=trader, order=buy()).order

    first, second = order.attempts.order_by("number")
    assert first.status == AttemptState.ABSENT and first.reconcile_reads == 0
    assert "could not connect" in first.error
    assert (second.broker_key, second.status) == ("upstox", AttemptState.ACCEPTED)
    assert order.status in (OrderState.PLACED, OrderState.OPEN, OrderState.FILLED)
    assert [o.tag for o in book(linked["upstox"])] == [second.tag]
    assert "rule 1 (ERROR_RATE → SWITCH)" in order.events.filter(attempt=second).first().reason
