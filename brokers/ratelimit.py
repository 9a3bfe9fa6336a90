"""Token buckets per broker, account and category of call.

A documented cap becomes one bucket per window: Fyers' "10/s and 200/min" is a bucket of 8
refilled at 8/s and a bucket of 160 refilled at 160 per minute (80 % of each), and a call
takes a token from both or waits for the later of the two. A burst of reads therefore goes
out at once while the minute's budget holds; a bare per-second number is one bucket.

In-process without Redis; with REDIS_URL the buckets live in Redis (one atomic script), so
every web and worker process shares the same budget for an account.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from functools import cache

from django.conf import settings

from brokers.types import RateLimit, Window


@dataclass(frozen=True)
class Bucket:
    key: str
    rate: float  # tokens per second
    capacity: float  # the burst it holds
    window: Window  # the documented cap it keeps us under


def buckets_for(key: str, limit: RateLimit, *, headroom: float) -> list[Bucket]:
    """The buckets that keep calls under ``limit`` with ``headroom`` (0.8 = 80 % of each)."""
    windows = limit if isinstance(limit, tuple) else (Window(float(limit)),)
    return [
        Bucket(
            key if window.seconds == 1 else f"{key}:{window.seconds:g}s",
            rate=window.count * headroom / window.seconds,
            capacity=max(1.0, window.count * headroom),
            window=window,
        )
        for window in windows
    ]


class LocalLimiter:
    def __init__(self):
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def acquire(self, buckets: list[Bucket], *, max_wait: float) -> float | None:
        """Take a token from every bucket, sleeping until they allow it; None (nothing taken)
        when that would mean waiting longer than ``max_wait``."""
        now = time.monotonic()
        with self._lock:
            left = [self._tokens(b, now) - 1 for b in buckets]
            wait = max([0.0, *(-t / b.rate for t, b in zip(left, buckets, strict=True) if t < 0)])
            if wait > max_wait:
                return None
            for tokens, bucket in zip(left, buckets, strict=True):
                self._buckets[bucket.key] = (tokens, now)
        if wait:
            time.sleep(wait)
        return wait

    def available(self, bucket: Bucket) -> float:
        with self._lock:
            return max(0.0, self._tokens(bucket, time.monotonic()))

    def _tokens(self, bucket: Bucket, now: float) -> float:
        tokens, stamp = self._buckets.get(bucket.key, (bucket.capacity, now))
        return min(bucket.capacity, tokens + (now - stamp) * bucket.rate)


# KEYS: the buckets; ARGV: max_wait (s), then rate and capacity per bucket. Returns the wait in
# microseconds, or -1 when it would exceed max_wait (nothing is taken then). The clock is
# Redis' own, so every process agrees on it and a call costs one round trip.
_RESERVE = """
local max_wait = tonumber(ARGV[1])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local wait, left = 0, {}
for i, key in ipairs(KEYS) do
  local rate, capacity = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local state = redis.call('HMGET', key, 'tokens', 'stamp')
  local tokens = tonumber(state[1]) or capacity
  local stamp = tonumber(state[2]) or now
  tokens = math.min(capacity, tokens + math.max(0, now - stamp) * rate) - 1
  left[i] = tokens
  if tokens < 0 then wait = math.max(wait, -tokens / rate) end
end
if wait > max_wait then return -1 end
for i, key in ipairs(KEYS) do
  local rate, capacity = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  redis.call('HSET', key, 'tokens', left[i], 'stamp', now)
  redis.call('EXPIRE', key, math.ceil(capacity / rate) + 60)
end
return math.floor(wait * 1000000)
"""


class RedisLimiter:
    def __init__(self, url: str):
        import redis

        self.client = redis.Redis.from_url(url)
        self.script = self.client.register_script(_RESERVE)

    def acquire(self, buckets: list[Bucket], *, max_wait: float) -> float | None:
        args: list[float] = [max_wait]
        for bucket in buckets:
            args += [bucket.rate, bucket.capacity]
        micros = self.script(keys=[f"ratelimit:{b.key}" for b in buckets], args=args)
        if micros < 0:
            return None
        wait = micros / 1e6
        if wait:
            time.sleep(wait)
        return wait

    def available(self, bucket: Bucket) -> float:
        raw = self.client.hmget(f"ratelimit:{bucket.key}", "tokens", "stamp")
        if raw[0] is None:
            return bucket.capacity
        seconds, micros = self.client.time()
        now = seconds + micros / 1e6
        tokens = float(raw[0]) + max(0.0, now - float(raw[1])) * bucket.rate  # type: ignore[arg-type]
        return max(0.0, min(bucket.capacity, tokens))


@cache
def limiter() -> LocalLimiter | RedisLimiter:
    return RedisLimiter(settings.REDIS_URL) if settings.REDIS_URL else LocalLimiter()
