"""Live pushes of connection health to the trader's open pages and API clients.

One helper, ``push_status``, renders what the pages render — the dashboard card
(brokers/_connection_card.html) and the health dashboard row (health/_connection_row.html),
each marked hx-swap-oob so the htmx websocket extension swaps it in place — and the same
facts as JSON, and sends both in one message to the user's group only. The consumer
(health.consumers) forwards the form its client asked for.
"""

from __future__ import annotations

import asyncio
import json

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.template.loader import render_to_string
from django.utils import timezone

from brokers.models import BrokerConnection
from brokers.push import user_group
from health.models import Notification
from health.store import store
from health.summary import summarize

EVENT = "BROKER_STATUS_UPDATE"


def status_message(
    connection: BrokerConnection, *, previous_status: str = ""
) -> tuple[str, dict[str, str]]:
    """The JSON form of one status update and its HTML fragments by part (PARTS)."""
    fresh = (
        BrokerConnection.objects.with_last_response().filter(pk=connection.pk).first() or connection
    )
    summary = summarize(fresh, charts_too=True)
    data = {
        "type": EVENT,
        **summary.as_json(),
        "previousStatus": previous_status or fresh.status,
        "reason": fresh.last_error or summary.state.reason,
        "at": timezone.now().isoformat(),
    }
    unread = Notification.objects.filter(user_id=fresh.user_id, read_at__isnull=True).count()
    context = {"connection": fresh, "health": summary, "s": summary, "oob": True, "unread": unread}
    parts = {name: render_to_string(template, context) for name, template in PARTS.items()}
    return json.dumps(data), parts


# The fragments of a status update, by the name a page gives in its socket's ``parts``: each
# page asks only for those whose target it holds (htmx logs oobErrorNoTarget for the others).
PARTS = {
    "card": "brokers/_connection_card.html",  # the dashboard: #connection-<id>
    "row": "health/_connection_row.html",  # the health dashboard, diagnostics: #health-<id>
    "unread": "health/_unread_count.html",  # every signed-in page: #unread-count
}


def push_status(connection: BrokerConnection, *, previous_status: str = "") -> None:
    if not listening(connection.user_id):
        return  # nobody has a page or a client open: nothing to render
    json_text, parts = status_message(connection, previous_status=previous_status)
    send(connection.user_id, json_text=json_text, parts=parts, connection_id=str(connection.pk))


# Open sockets per user, counted by the consumer: a user with none gets no rendering at all.
# A process that dies leaves its count too high, which costs renders, never a lost push.
SOCKETS_TTL = 7 * 24 * 3600


def _sockets_key(user_id) -> str:
    return f"sockets:{user_id}"


def track(user_id, delta: int) -> None:
    def change(count):
        return max(0, (count or 0) + delta), None

    store().update(_sockets_key(user_id), change, SOCKETS_TTL)


def listening(user_id) -> bool:
    return (store().get(_sockets_key(user_id)) or 0) > 0


# The event loop of this process's ASGI server, recorded by the consumer when a socket opens.
server_loop: asyncio.AbstractEventLoop | None = None


def send(
    user_id,
    *,
    json_text: str,
    html: str = "",
    parts: dict[str, str] | None = None,
    connection_id: str = "",
) -> None:
    """One update to the user's sockets: ``html`` goes to every page as it is (its target is on
    every page); ``parts`` only to the pages that asked for them, and with ``connection_id``
    only to pages showing that connection or all of them."""
    message = {"type": "broker.status", "json": json_text, "html": html}
    if parts is not None:
        message["parts"] = parts
        message["connection"] = connection_id
        message["html"] = html + "".join(parts.values())
    deliver(user_id, message)


def deliver(user_id, message: dict) -> None:
    """``message`` to every socket of the user, from any thread of any process."""
    layer = get_channel_layer()
    loop = server_loop
    if isinstance(layer, InMemoryChannelLayer) and loop is not None and loop.is_running():
        # The in-memory layer's queues belong to the server's loop and are not thread-safe:
        # hand the send to that loop, or a push from a worker thread (the in-process
        # scheduler's sweep) waits until the server's loop happens to wake up.
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not loop:
            future = asyncio.run_coroutine_threadsafe(
                layer.group_send(user_group(user_id), message), loop
            )
            future.result(timeout=5)
            return
    async_to_sync(layer.group_send)(user_group(user_id), message)
