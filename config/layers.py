"""The channel layer's settings for Redis: channels-redis' core layer (the default) or its
pub/sub layer.

pubsub: one Redis connection per web process subscribed to the groups its sockets joined;
a group message is published once and handed to that process's sockets in memory, so a
broadcast costs one round trip whatever the number of sockets (bench/bench_idle_sockets.py).
Delivery is at most once, as with the core layer's expiry: a push that finds no subscriber
is gone, and a page rebuilds its state when its socket reconnects.

core: messages wait in Redis sorted sets, one BZPOPMIN round trip per delivered message, so
a broadcast grows with the sockets one process holds.

Measured on one uvicorn worker with 5,000 sockets (bench/bench_idle_sockets.py, README) the
pub/sub layer delivered the last socket later than the core layer, although the layer alone
fans out faster: all 5,000 sends then compete at once for the process's CPU. The core layer
stays the default until a run on a quiet host says otherwise.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from config import env

KINDS = ("pubsub", "core")


def redis_channel_layer(kind: str, url: str) -> dict:
    if kind not in KINDS:
        raise ImproperlyConfigured(f"CHANNEL_LAYER must be pubsub or core, not {kind!r}.")
    if kind == "pubsub":
        # Redis pub/sub channels are not bound to a database number: the prefix carries it,
        # so two installations on one Redis server (db 0 and db 3) never hear each other.
        db = urlsplit(url).path.strip("/") or "0"
        return {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [{"address": url, "socket_connect_timeout": 5}],
                "prefix": env.string("CHANNEL_LAYER_PREFIX", f"mb{db}:"),
            },
        }
    return {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            # redis-py 8 caps an async pool at 100 connections; thousands of sockets need
            # more or the 101st websocket fails.
            # Its receive loop blocks in BZPOPMIN for 5 s; redis-py 8's default 5 s socket
            # timeout would cut that read short under load and close every socket (1011).
            "hosts": [
                {
                    "address": url,
                    "max_connections": env.integer(
                        "CHANNEL_LAYER_MAX_CONNECTIONS", 2000, minimum=1
                    ),
                    "socket_timeout": 30,
                    "socket_connect_timeout": 5,
                }
            ],
            "prefix": env.string("CHANNEL_LAYER_PREFIX", "mb"),
            "capacity": 1500,
            "expiry": 30,
        },
    }
