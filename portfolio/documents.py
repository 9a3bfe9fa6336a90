"""The consolidated portfolio as one prepared document per trader and snapshot version.

At 7 brokers x 1,000 lines, serializing the portfolio costs a request hundreds of
milliseconds of one core; a burst of reads then queues behind it. So the JSON of
``ConsolidatedSerializer`` is made once per version of the numbers, when a sync lands or on the
first read after they moved, gzipped once, and sent as it is: with ``Content-Encoding: gzip``
to a client that accepts it (every browser, requests, curl --compressed), unzipped for one that
does not. Its ETag is made from its version, so a client that has it gets a 304.

Where it lives: a PostgreSQL row per trader (``PortfolioDocument``), which every web process
reads and which survives a cache flush, and a copy in the cache (Redis with ``REDIS_URL``) for
the hot path: its version under a small key, its body under a key of that version
(bench/bench_portfolio_api.py measures both reads). Cache keys carry the portfolio's
generation (``services``), moved on after every write, so a reader that read an older row
before a write committed can never leave it in the cache past that write.

Compression and BREACH: the body holds no secret (no token, no CSRF token) and nothing taken
from the request, so compressing it reveals nothing an attacker could not read in it anyway.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from django.core.cache import cache
from django.db import connection
from rest_framework.renderers import JSONRenderer

from portfolio.models import PortfolioDocument
from portfolio.serializers import ConsolidatedSerializer

# The bodies this process served last, by trader and version: a version's body never changes,
# so a copy here is never wrong (which version is current is always asked of the cache), and
# it spares each answer fetching ~300 KB from Redis. Measured in one process on PostgreSQL and
# Redis (7 x 1,000 lines, 200 API requests, three rounds each, alternated): 4.2 to 5.6 ms a
# request (1.5 to 2.0 ms of CPU) with it, 6.6 to 7.8 ms (2.6 to 2.9 ms of CPU) without.
KEPT_HERE = 64
_here: OrderedDict[tuple[int, int], bytes] = OrderedDict()
_here_lock = threading.Lock()
CACHE_SECONDS = 24 * 3600  # a document is replaced by the next sync, not by age
GZIP_LEVEL = 6  # zlib's default: level 9 is slower for a few percent less
# One statement, whoever wins: PostgreSQL and SQLite both read this upsert.
STORE = (
    "INSERT INTO portfolio_documents (user_id, version, body, pending, built_at) "
    "VALUES (%s, %s, %s, %s, CURRENT_TIMESTAMP) "
    "ON CONFLICT (user_id) DO UPDATE SET version = excluded.version, body = excluded.body, "
    "pending = excluded.pending, built_at = excluded.built_at "
    "WHERE portfolio_documents.version < excluded.version"
)


@dataclass(frozen=True, slots=True)
class Document:
    user_id: int
    version: int
    pending: bool  # some connection was not synced yet when it was built
    body: bytes  # the gzipped JSON

    @property
    def etag(self) -> str:
        # Weak: the same document is sent gzipped or not, and If-None-Match compares weakly.
        return f'W/"pf-{self.user_id}-{self.version}"'

    def json(self) -> bytes:
        return gzip.decompress(self.body)

    def data(self) -> dict:
        return json.loads(self.json())


def new_version() -> int:
    """Taken when a build starts reading: a build from older numbers has a smaller one."""
    return time.time_ns()


def render(view, *, version: int) -> Document:
    """``view``: a ``services.PortfolioView``."""
    data = ConsolidatedSerializer(view).data
    body = gzip.compress(JSONRenderer().render(data), compresslevel=GZIP_LEVEL, mtime=0)
    return Document(view.user_id, version, bool(view.pending), body)


def store(document: Document) -> bool:
    """Write ``document`` unless a newer version (or a newer mark) is stored; True if written."""
    with connection.cursor() as cursor:
        cursor.execute(STORE, [document.user_id, document.version, document.body, document.pending])
        return cursor.rowcount == 1


def mark_outdated(user_id: int) -> None:
    """The stored document no longer says what the numbers are: the next read builds one,
    and no build that started before now can be stored over the mark."""
    version = new_version()
    PortfolioDocument.objects.filter(user_id=user_id, version__lt=version).update(
        version=version, body=b"", pending=False
    )


def load(*, user_id: int, generation) -> Document | None:
    """The current document: from the cache, else from its row (then cached)."""
    head = cache.get(_head_key(user_id, generation))
    if head is not None:
        body = _kept_here(user_id, head[0]) or cache.get(_body_key(user_id, head[0]))
        if body is not None:
            _keep_here(user_id, head[0], body)
            return Document(user_id, head[0], head[1], body)
    row = (
        PortfolioDocument.objects.filter(user_id=user_id)
        .values_list("version", "pending", "body")
        .first()
    )
    if row is None or not row[2]:
        return None
    document = Document(user_id, row[0], row[1], bytes(row[2]))
    keep(document, generation=generation)
    return document


def keep(document: Document, *, generation) -> None:
    """Cache ``document`` as the current one of ``generation``."""
    cache.set(_body_key(document.user_id, document.version), document.body, CACHE_SECONDS)
    cache.set(
        _head_key(document.user_id, generation),
        (document.version, document.pending),
        CACHE_SECONDS,
    )


def _kept_here(user_id: int, version: int) -> bytes | None:
    with _here_lock:
        body = _here.get((user_id, version))
        if body is not None:
            _here.move_to_end((user_id, version))
        return body


def _keep_here(user_id: int, version: int, body: bytes) -> None:
    with _here_lock:
        _here[(user_id, version)] = body
        while len(_here) > KEPT_HERE:
            _here.popitem(last=False)


def _head_key(user_id: int, generation) -> str:
    return f"portfolio:document:{user_id}:{generation}"


def _body_key(user_id: int, version: int) -> str:
    return f"portfolio:document-body:{user_id}:{version}"
