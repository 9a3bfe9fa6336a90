"""Where rolling health state lives: Redis when REDIS_URL is set, else this process's cache.

Every broker call writes here (metric buckets, the breaker's window, the recent calls) and
reads the connection's last known status, so a call's whole update is one ``Batch``: one
pipelined round trip on Redis. Read-modify-write of one value (a breaker changing state) is an
optimistic WATCH transaction. Without Redis the embedded default is one process: Django's
local-memory cache under a process lock does the same.

On Redis, keys carry the cache's KEY_PREFIX, so clearing the cache (tests do) clears health
state too; the local store has ``clear()``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.conf import settings


@dataclass
class Batch:
    """Writes and reads that go together in one round trip."""

    counters: list[tuple[str, dict[str, int], int]] = field(default_factory=list)
    pushes: list[tuple[str, dict, int, int]] = field(default_factory=list)
    gets: list[str] = field(default_factory=list)
    claims: list[tuple[str, int]] = field(default_factory=list)
    reads: list[str] = field(default_factory=list)  # hashes to read
    lists: list[tuple[str, int]] = field(default_factory=list)  # lists to read, newest first
    items: list[list[dict]] = field(default_factory=list)  # the lists' answers
    values: list[Any] = field(default_factory=list)  # the gets' answers, after run
    hashes: list[dict[str, int]] = field(default_factory=list)  # the reads' answers
    claimed: list[bool] = field(default_factory=list)  # the claims' answers, after run

    def count(self, key: str, deltas: dict[str, int], ttl: int) -> None:
        """Add ``deltas`` to the hash ``key``."""
        self.counters.append((key, deltas, ttl))

    def push(self, key: str, item: dict, keep: int, ttl: int) -> None:
        """Prepend ``item`` to the list ``key``, keeping the newest ``keep``."""
        self.pushes.append((key, item, keep, ttl))

    def get(self, key: str) -> int:
        self.gets.append(key)
        return len(self.gets) - 1

    def read(self, keys: list[str]) -> slice:
        """Read the hashes ``keys``; their answers are ``hashes[returned slice]``."""
        start = len(self.reads)
        self.reads.extend(keys)
        return slice(start, len(self.reads))

    def read_list(self, key: str, limit: int) -> int:
        """Read the newest ``limit`` items of the list ``key``; the answer is ``items[i]``."""
        self.lists.append((key, limit))
        return len(self.lists) - 1

    def claim(self, key: str, ttl: int) -> int:
        """True for the first claim of ``key`` in ``ttl`` seconds."""
        self.claims.append((key, ttl))
        return len(self.claims) - 1


class LocalStore:
    """The embedded default: a dictionary of this process with expiry, under one lock.

    Not Django's local-memory cache: that one holds 300 entries by default and culls the rest,
    which would throw away breaker states, and the sandbox's sessions with them.
    """

    PURGE_EVERY = 10_000  # writes between two sweeps of expired keys

    def __init__(self):
        self._lock = threading.Lock()
        self._data: dict[str, tuple[float, Any]] = {}
        self._writes = 0

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def forget(self, ids: set[str]) -> int:
        """Drop every key that names one of ``ids`` (a benchmark cleaning up after itself)."""
        with self._lock:
            gone = [k for k in self._data if any(part in ids for part in k.split(":"))]
            for key in gone:
                del self._data[key]
            return len(gone)

    def _read(self, key: str, now: float) -> Any:
        entry = self._data.get(key)
        if entry is None:
            return None
        if entry[0] <= now:
            del self._data[key]
            return None
        return entry[1]

    def _write(self, key: str, value: Any, ttl: float, now: float) -> None:
        self._data[key] = (now + ttl, value)
        self._writes += 1
        if self._writes % self.PURGE_EVERY == 0:
            for stale in [k for k, (expires, _) in self._data.items() if expires <= now]:
                del self._data[stale]

    def run(self, batch: Batch) -> Batch:
        now = time.time()
        with self._lock:
            for key, deltas, ttl in batch.counters:
                values = dict(self._read(key, now) or {})
                for name, delta in deltas.items():
                    values[name] = values.get(name, 0) + delta
                self._write(key, values, ttl, now)
            for key, item, keep, ttl in batch.pushes:
                self._write(key, [item, *(self._read(key, now) or [])][:keep], ttl, now)
            batch.values = [_copy(self._read(key, now)) for key in batch.gets]
            batch.hashes = [dict(self._read(key, now) or {}) for key in batch.reads]
            batch.items = [list(self._read(key, now) or [])[:n] for key, n in batch.lists]
            batch.claimed = []
            for key, ttl in batch.claims:
                free = self._read(key, now) is None
                if free:
                    self._write(key, 1, ttl, now)
                batch.claimed.append(free)
        return batch

    def hashes(self, keys: list[str]) -> list[dict[str, int]]:
        now = time.time()
        with self._lock:
            return [dict(self._read(key, now) or {}) for key in keys]

    def items(self, key: str, limit: int) -> list[dict]:
        with self._lock:
            return list(self._read(key, time.time()) or [])[:limit]

    def get(self, key: str) -> Any:
        with self._lock:
            return _copy(self._read(key, time.time()))

    def set(self, key: str, value: Any, ttl: int) -> None:
        with self._lock:
            self._write(key, _copy(value), ttl, time.time())

    def update(self, key: str, change: Callable[[Any], tuple[Any, Any]], ttl: int) -> Any:
        """``change(old) -> (new, result)``, atomically; returns ``result``."""
        now = time.time()
        with self._lock:
            new, result = change(_copy(self._read(key, now)))
            self._write(key, new, ttl, now)
            return result


def _copy(value: Any) -> Any:
    return dict(value) if isinstance(value, dict) else value


class RedisStore:
    """Shared by every web and worker process through Redis."""

    def __init__(self, url: str, prefix: str):
        import redis

        self.client = redis.Redis.from_url(url)
        self.prefix = f"{prefix}:" if prefix else ""

    def _k(self, key: str) -> str:
        return self.prefix + key

    def forget(self, ids: set[str]) -> int:
        """Drop every key that names one of ``ids`` (a benchmark cleaning up after itself)."""
        gone = [
            key
            for key in self.client.scan_iter(match=f"{self.prefix}*", count=1000)
            if any(part in ids for part in key.decode().split(":"))
        ]
        for start in range(0, len(gone), 1000):
            self.client.delete(*gone[start : start + 1000])
        return len(gone)

    def run(self, batch: Batch) -> Batch:
        pipe = self.client.pipeline(transaction=False)
        for key, deltas, ttl in batch.counters:
            name = self._k(key)
            for name_field, delta in deltas.items():
                pipe.hincrby(name, name_field, delta)
            pipe.expire(name, ttl)
        for key, item, keep, ttl in batch.pushes:
            name = self._k(key)
            pipe.lpush(name, json.dumps(item))
            pipe.ltrim(name, 0, keep - 1)
            pipe.expire(name, ttl)
        for key in batch.gets:
            pipe.get(self._k(key))
        for key, ttl in batch.claims:
            pipe.set(self._k(key), 1, ex=ttl, nx=True)
        for key in batch.reads:
            pipe.hgetall(self._k(key))
        for key, limit in batch.lists:
            pipe.lrange(self._k(key), 0, limit - 1)
        answers = pipe.execute()
        gets, claims, reads = len(batch.gets), len(batch.claims), len(batch.reads)
        lists = len(batch.lists)
        tail = answers[len(answers) - gets - claims - reads - lists :]
        batch.values = [None if raw is None else json.loads(raw) for raw in tail[:gets]]
        batch.claimed = [bool(ok) for ok in tail[gets : gets + claims]]
        batch.hashes = [
            {k.decode(): int(v) for k, v in h.items()}
            for h in tail[gets + claims : gets + claims + reads]
        ]
        batch.items = [
            [json.loads(raw) for raw in found] for found in tail[gets + claims + reads :]
        ]
        return batch

    def hashes(self, keys: list[str]) -> list[dict[str, int]]:
        pipe = self.client.pipeline(transaction=False)
        for key in keys:
            pipe.hgetall(self._k(key))
        return [{k.decode(): int(v) for k, v in found.items()} for found in pipe.execute()]

    def items(self, key: str, limit: int) -> list[dict]:
        return [json.loads(raw) for raw in self.client.lrange(self._k(key), 0, limit - 1)]

    def get(self, key: str) -> Any:
        raw = self.client.get(self._k(key))
        return None if raw is None else json.loads(raw)

    def set(self, key: str, value: Any, ttl: int) -> None:
        self.client.set(self._k(key), json.dumps(value), ex=ttl)

    def update(self, key: str, change, ttl: int) -> Any:
        name = self._k(key)
        outcome = {}

        def attempt(pipe):
            raw = pipe.get(name)
            new, outcome["result"] = change(None if raw is None else json.loads(raw))
            pipe.multi()
            pipe.set(name, json.dumps(new), ex=ttl)

        self.client.transaction(attempt, name)
        return outcome["result"]


def once_per(key: str, seconds: float) -> bool:
    """True for the first caller in each ``seconds`` of the wall clock, across processes."""
    now = time.time()

    def change(last):
        if last is not None and 0 <= now - last < seconds:
            return last, False
        return now, True

    return store().update(f"once:{key}", change, int(seconds) + 60)


@cache
def store() -> LocalStore | RedisStore:
    if settings.REDIS_URL:
        prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
        return RedisStore(settings.REDIS_URL, f"{prefix}:health" if prefix else "health")
    return LocalStore()


def write(**kwargs) -> Batch:
    """Shorthand: run a one-off batch."""
    return store().run(Batch(**kwargs))
