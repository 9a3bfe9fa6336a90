"""Thin tasks: load by id, call a service."""

from celery import shared_task

from routing.models import Policy
from routing.orders import emergency
from routing.orders import queue as order_queue
from routing.orders import services as order_services
from routing.policy import services


@shared_task
def back_up_profile(user_id: int) -> int | None:
    backup = services.back_up(user_id)
    return backup.pk if backup else None


@shared_task
def back_up_profiles() -> int:
    """Beat: one backup task per trader who has saved a policy."""
    users = list(Policy.objects.filter(version__gt=0).values_list("user_id", flat=True))
    for user_id in users:
        back_up_profile.delay(user_id)
    return len(users)


# --- Orders ------------------------------------------------------------------------------------
@shared_task
def track_order_task(order_id: str) -> str:
    """Read the broker's order book for one order and follow it (reconciling it first when
    its outcome is unknown)."""
    return order_services.track_order(order_id=order_id)


@shared_task
def track_open_orders() -> int:
    """Beat: every live order whose next read is due (backing off while it stays open)."""
    claimed = order_services.claim_due_orders()
    for pk in claimed:
        track_order_task.delay(str(pk))
    return len(claimed)


@shared_task
def purge_idempotency_keys() -> int:
    """Beat: Idempotency-Keys are kept 24 hours."""
    return order_services.purge_idempotency_keys()


@shared_task
def drain_order_queue(user_id: int | None = None) -> int:
    """Send the queued orders a broker can take now (one trader's, or everyone's due ones);
    expire those past their validity."""
    return len(order_queue.drain_queue(user_id=user_id).sent)


def on_broker_connected(connection, before: str, after: str) -> None:
    """brokers.states listener: a broker back to CONNECTED (health green again, or a fresh
    login) wakes its trader's queued orders and drains them at once."""
    if after != "CONNECTED" or before == "CONNECTED":
        return
    if order_queue.wake(user_id=connection.user_id):
        drain_order_queue.delay(connection.user_id)


@shared_task
def cancel_open_orders_task(event_id: int) -> int:
    """An arming of the kill switch that asked for it: cancel the trader's open orders."""
    return len(emergency.cancel_open_orders(event_id=event_id))


def queue_cancels(sender, *, event, **kwargs) -> None:
    """policy.services.kill_switch_armed receiver, in the process that armed the switch."""
    if event.cancel_open_orders:
        cancel_open_orders_task.delay(event.pk)


services.kill_switch_armed.connect(queue_cancels, weak=False, dispatch_uid="routing-kill-cancels")
order_services.register_tracker(lambda pk: track_order_task.apply_async((pk,), countdown=1))
