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
  and the id of the element it replaces: the dashboard card (``#connection-<id>``, part
  ``card``), the health row (``#health-<id>``, part ``row``) and the unread-notice count
  (``#unread-count``, part ``unread``). A page names the parts it holds, and may name the one
  connection it shows, so it is sent only what it can swap (htmx logs ``oobErrorNoTarget``
  for a fragment whose target is missing):
  ``<div hx-ext="ws" ws-connect="/ws/brokers/?format=html&parts=row,unread&connection=<id>">``.
  Without ``parts`` every fragment is sent. Other apps' fragments meant for every page (the
  emergency badge) are sent to every page.

An update is sent on every status change and every quality change of one of the trader's own
connections, to that trader's group only. Other apps' pushes (``{"type": "push"}`` through
brokers.push) are forwarded as they are, whatever the format.

Anything a client sends is ignored: its size is logged (never its content) and the socket
stays open. Close codes:

- 4401: no session (the handshake is refused), or the session ended while the socket was
  open — signed out, password changed, user deactivated (health.sockets): sign in again.
- 4400: an unknown format (the handshake is refused).
- 4429: the user already holds WEBSOCKETS_PER_USER open sockets (default 20, counted across
  every web process); the socket is accepted and closed at once so that the client can read
  the code. Close another socket, or reuse one.
"""

import asyncio
import contextlib
import logging
from importlib import import_module
from types import SimpleNamespace
from urllib.parse import parse_qs

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib import auth

from brokers.push import user_group
from health import live, sockets
from ops.instruments import WEBSOCKETS

logger = logging.getLogger(__name__)

# Close codes (4000-4999 are free for applications).
UNAUTHENTICATED = 4401
SESSION_ENDED = UNAUTHENTICATED  # the same answer for the client: sign in again
BAD_FORMAT = 4400
TOO_MANY_SOCKETS = 4429
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
        # A page names the fragments it can swap and, optionally, the one connection it shows.
        asked = (query.get("parts") or [""])[0]
        self.parts = [p for p in asked.split(",") if p in live.PARTS] if asked else None
        self.only = (query.get("connection") or [""])[0]
        limit = settings.WEBSOCKETS_PER_USER
        if not await sync_to_async(sockets.claim)(user.pk, self.channel_name, limit):
            await self.accept()
            await self.close(code=TOO_MANY_SOCKETS)
            return
        self.leased_by = user.pk
        self.session_key = self.scope["session"].session_key
        self.group = user_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        live.server_loop = asyncio.get_running_loop()
        self.user_id = user.pk
        WEBSOCKETS.inc()
        await sync_to_async(live.track)(user.pk, 1)
        self.renewal = asyncio.create_task(self._renew_lease())

    async def disconnect(self, code):
        if hasattr(self, "renewal"):
            self.renewal.cancel()
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)
        if hasattr(self, "user_id"):
            WEBSOCKETS.dec()
            await sync_to_async(live.track)(self.user_id, -1)
        if hasattr(self, "leased_by"):
            await sync_to_async(sockets.release)(self.leased_by, self.channel_name)

    async def _renew_lease(self):
        with contextlib.suppress(asyncio.CancelledError):
            while True:
                await asyncio.sleep(sockets.RENEW_SECONDS)
                await sync_to_async(sockets.claim)(self.user_id, self.channel_name, 1 << 30)

    async def session_check(self, event):
        """Close when this socket's session has ended (health.sockets says when to look)."""
        if event.get("ended") == sockets.session_tag(self.session_key) or not (
            await database_sync_to_async(self._still_signed_in)()
        ):
            # Out of the group first: nothing more reaches it while the close completes.
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await self.close(code=SESSION_ENDED)

    def _still_signed_in(self) -> bool:
        # A fresh read of the session: the scope's copy was loaded when the socket opened.
        session = import_module(settings.SESSION_ENGINE).SessionStore(self.session_key)
        user = auth.get_user(SimpleNamespace(session=session))
        return user.is_authenticated and user.pk == self.user_id

    async def receive(self, text_data=None, bytes_data=None):
        size = len(text_data or bytes_data or "")
        logger.info("ignored a %d-byte message from a websocket client", size)

    async def push(self, event):
        await self.send(text_data=event["text"])

    async def broker_status(self, event):
        if self.format == "json" or self.parts is None or "parts" not in event:
            await self.send(text_data=event[self.format])
            return
        if self.only and event.get("connection") != self.only:
            return
        html = "".join(event["parts"].get(part, "") for part in self.parts)
        if html:
            await self.send(text_data=html)
