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
from health.quality import Quality
from health.store import store
from health.summary import summarize

EVENT = "BROKER_STATUS_UPDATE"


def status_message(
    connection: BrokerConnection, *, previous_status: str = "", quality: Quality | None = None
) -> tuple[str, str]:
    """The (json, html) forms of one status update."""
    fresh = (
        BrokerConnection.objects.with_last_response().filter(pk=connection.pk).first() or connection
    )
    summary = summarize(fresh, charts_too=True)
    if quality is not None:
        summary.quality = quality
    data = {
        "type": EVENT,
        **summary.as_json(),
        "previousStatus": previous_status or fresh.status,
        "reason": fresh.last_error,
        "at": timezone.now().isoformat(),
    }
    unread = Notification.objects.filter(user_id=fresh.user_id, read_at__isnull=True).count()
    html = render_to_string(
        "health/_live_update.html",
        {"connection": fresh, "health": summary, "s": summary, "oob": True, "unread": unread},
    )
    return json.dumps(data), html


def push_status(
    connection: BrokerConnection, *, previous_status: str = "", quality: Quality | None = None
) -> None:
    if not listening(connection.user_id):
        return  # nobody has a page or a client open: nothing to render
    json_text, html = status_message(connection, previous_status=previous_status, quality=quality)
    send(connection.user_id, json_text=json_text, html=html)


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


def send(user_id, *, json_text: str, html: str) -> None:
    layer = get_channel_layer()
    message = {"type": "broker.status", "json": json_text, "html": html}
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
