"""/ws/brokers/: live connection health for the signed-in trader. Clients only listen.

Protocol
--------
Connect to ``/ws/brokers/`` with the session cookie (pages) or through an authenticated
session (API clients), choosing a format with the query string:

- ``?format=json`` (the default): one JSON text frame per update::

      {"type": "BROKER_STATUS_UPDATE", "connectionId": "…", "brokerType": "zerodha",
       "accountId": "…", "displayName": "…", "status": "ERROR", "previousStatus": "CONNECTED",
       "quality": "CRITICAL", "colour": "red", "reason": "…", "at": "ISO-8601",
       "metrics": {"averageMs", "p95Ms", "successRate", "errorsLastHour", "callsLastHour",
                   "callsLast24h", "uptime": {"hour", "day", "week"}, "consecutiveFailures",
                   "lastSuccessfulCall", "lastHealthCheck", "lastError"},
       "breaker": {"state", "retryAt", "windowCalls", "windowFailures"},
       "tokenExpiresAt": "…"}

- ``?format=html``: one text frame of HTML fragments per update, each with ``hx-swap-oob``
  and the id of the element it replaces: the dashboard card (``#connection-<id>``), the
  health dashboard row (``#health-<id>``) and the unread-notice count (``#unread-count``).
  Pages use it through the htmx websocket extension:
  ``<div hx-ext="ws" ws-connect="/ws/brokers/?format=html">``; fragments whose target is not
  on the page are ignored by htmx.

An update is sent on every status change and every quality change of one of the trader's own
connections, to that trader's group only. Other apps' pushes (``{"type": "push"}`` through
brokers.push) are forwarded as they are, whatever the format.

Anything a client sends is ignored: its size is logged (never its content) and the socket
stays open. Without a session the socket is closed with code 4401; an unknown format with
4400.
"""

import asyncio
import logging
from urllib.parse import parse_qs

from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from brokers.push import user_group
from health import live

logger = logging.getLogger(__name__)

# Close codes (4000-4999 are free for applications).
UNAUTHENTICATED = 4401
BAD_FORMAT = 4400
FORMATS = ("json", "html")


class BrokerStatusConsumer(AsyncWebsocketConsumer):
    """Joins the signed-in user's group and forwards what the server pushes."""

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHENTICATED)
            return
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        self.format = (query.get("format") or ["json"])[0]
        if self.format not in FORMATS:
            await self.close(code=BAD_FORMAT)
            return
        self.group = user_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        live.server_loop = asyncio.get_running_loop()
        self.user_id = user.pk
        await sync_to_async(live.track)(user.pk, 1)

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)
        if hasattr(self, "user_id"):
            await sync_to_async(live.track)(self.user_id, -1)

    async def receive(self, text_data=None, bytes_data=None):
        size = len(text_data or bytes_data or "")
        logger.info("ignored a %d-byte message from a websocket client", size)

    async def push(self, event):
        await self.send(text_data=event["text"])

    async def broker_status(self, event):
        await self.send(text_data=event[self.format])
