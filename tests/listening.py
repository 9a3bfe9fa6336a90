"""A socket's side of the real channel layer, for tests that check what a push delivers.

A web process holds its channels on its own event loop; channels-redis' pub/sub layer keeps
them per loop, so a channel made in one ``async_to_sync`` call is unknown to the next. A
``Listener`` keeps one loop running in a thread for its whole life, as a server would — and,
on Redis, a layer of its own, as each server process has (channels-redis' core layer refuses
receives from two loops at once on one layer object).
"""

from __future__ import annotations

import asyncio
import threading

from channels.layers import (
    DEFAULT_CHANNEL_LAYER,
    InMemoryChannelLayer,
    channel_layers,
    get_channel_layer,
)
from channels_redis.core import RedisChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer


class Listener:
    def __init__(self, *groups: str):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        shared = get_channel_layer()
        # The in-memory layer is the process's only one: its messages live in that object.
        in_memory = isinstance(shared, InMemoryChannelLayer)
        self.layer = shared if in_memory else channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
        self.channel = self._run(self.layer.new_channel())
        self.groups = groups
        for group in groups:
            self._run(self.layer.group_add(group, self.channel))

    def _run(self, coroutine, timeout: float = 10):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def receive(self, timeout: float = 2.0) -> dict | None:
        """The next message, or None when nothing came within ``timeout`` seconds."""

        async def get():
            return await asyncio.wait_for(self.layer.receive(self.channel), timeout)

        try:
            return self._run(get(), timeout + 5)
        except TimeoutError:
            return None

    def close(self) -> None:
        for group in self.groups:
            self._run(self.layer.group_discard(group, self.channel))
        if isinstance(self.layer, RedisPubSubChannelLayer):
            self._run(self.layer.flush())  # closes this loop's own Redis connection
        elif isinstance(self.layer, RedisChannelLayer):
            self._run(self.layer.close_pools())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()
