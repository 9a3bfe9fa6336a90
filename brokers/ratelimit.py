"""Token buckets per broker, account and endpoint class.

In-process without Redis; with REDIS_URL the bucket lives in Redis (one atomic script), so
every web and worker process shares the same budget for an account.
"""

from __future__ import annotations

import threading
import time
from functools import cache

from django.conf import settings


class LocalLimiter:
    def __init__(self):
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def reserve(self, key: str, rate: float) -> float:
        """Take one token; return how long to wait before using it (0 if available now)."""
        capacity = max(1.0, rate)
        now = time.monotonic()
        with self._lock:
            tokens, stamp = self._buckets.get(key, (capacity, now))
            tokens = min(capacity, tokens + (now - stamp) * rate) - 1
            self._buckets[key] = (tokens, now)
        return 0.0 if tokens >= 0 else -tokens / rate

    def acquire(self, key: str, *, rate: float, max_wait: float) -> float | None:
        wait = self.reserve(key, rate)
        if wait > max_wait:
            self._give_back(key)
            return None
        if wait:
            time.sleep(wait)
        return wait

    def _give_back(self, key: str) -> None:
        with self._lock:
            tokens, stamp = self._buckets[key]
            self._buckets[key] = (tokens + 1, stamp)


# KEYS[1] bucket; ARGV: rate, capacity, max_wait (s). Returns the wait in microseconds, or -1
# when the wait would exceed max_wait (nothing is taken then). The clock is Redis' own, so
# every process agrees on it and a call costs one round trip.
_RESERVE = """
local rate, capacity, max_wait = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens = tonumber(state[1]) or capacity
local stamp = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - stamp) * rate) - 1
local wait = 0
if tokens < 0 then wait = -tokens / rate end
if wait > max_wait then return -1 end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'stamp', now)
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 60)
return math.floor(wait * 1000000)
"""


class RedisLimiter:
    def __init__(self, url: str):
        import redis

        self.client = redis.Redis.from_url(url)
        self.script = self.client.register_script(_RESERVE)

    def acquire(self, key: str, *, rate: float, max_wait: float) -> float | None:
        capacity = max(1.0, rate)
        micros = self.script(keys=[f"ratelimit:{key}"], args=[rate, capacity, max_wait])
        if micros < 0:
            return None
        wait = micros / 1e6
        if wait:
            time.sleep(wait)
        return wait


@cache
def limiter() -> LocalLimiter | RedisLimiter:
    return RedisLimiter(settings.REDIS_URL) if settings.REDIS_URL else LocalLimiter()
