import logging

from channels.generic.websocket import AsyncWebsocketConsumer

from brokers.push import user_group

logger = logging.getLogger(__name__)

# Close code for "sign in first" (4000-4999 are free for applications).
UNAUTHENTICATED = 4401


class BrokerStatusConsumer(AsyncWebsocketConsumer):
    """Joins the signed-in user's group and forwards what the server pushes. Clients only listen."""

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHENTICATED)
            return
        self.group = user_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        size = len(text_data or bytes_data or "")
        logger.info("ignored a %d-byte message from a websocket client", size)

    async def push(self, event):
        await self.send(text_data=event["text"])
