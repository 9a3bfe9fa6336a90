"""100 concurrent GETs of a 7 brokers x 1,000 lines portfolio: the prepared document against
today's way (the serializer's output rendered per request), on Daphne (the embedded default's
server) and on the production command (config/web.py: gunicorn + uvicorn workers), in one run.

Goal: all answered, p99 under 1 s with the production command. The data is seeded directly:
one trader, seven connections, each broker's snapshot 900 holdings and 100 intraday positions
(4,000 instruments, each broker holding 1,000 of them, so lines join across brokers by ISIN).
The document is built once, as a sync landing builds it (``services.rebuild_portfolio``).
Then, per server: the first request of each way, and bursts of 100 requests at once from 100
threads with the trader's API token, each answer read as sent (gzip undecoded, as a client's
network stack would hand it over), in this order:

- document: the API, gzipped document bytes as stored;
- document, revalidated: the API with If-None-Match, 304s;
- today: ``bench.today``'s URL, the serializer's output cached as a dict and rendered to
  JSON on every request (what the API did before the document);
- serializer per request: ``bench.today`` with nothing cached (shown once, on the production
  command: it costs every request the whole serialization);
- on the production command with Redis, the document's read path as an async view
  (``bench.today``: redis.asyncio awaited) against the API's sync view, three rounds each,
  alternated.

Also: where the document is read from (the cache, against its PostgreSQL/SQLite row), the
build's cost and the document's size. The servers run with API_THROTTLE_USER raised: the
bursts are one trader's and would otherwise meet the per-trader throttle.
"""

from __future__ import annotations

import gzip
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import requests
from django.conf import settings
from django.contrib.auth import get_user_model

from accounts.roles import make_trader
from accounts.services import issue_api_token
from bench.server import daphne, web

BROKERS = ["zerodha", "upstox", "fyers", "angelone", "groww", "dhan", "iifl"]
CONCURRENT = 100
PATH = "/api/v1/brokers/portfolio/consolidated"
TODAY = "/bench/today/portfolio"
ASYNC = "/bench/async/portfolio"
ROUNDS = 3
TIMEOUT = 120  # seconds a client waits for its answer
LINES, POSITIONS, INSTRUMENTS = 1000, 100, 4000
SERVER_ENV = {
    "DJANGO_SETTINGS_MODULE": "bench.today_settings",
    "API_THROTTLE_USER": "100000/min",
}
WORKERS = int(os.environ.get("WEB_CONCURRENCY", "2"))


def get(url: str, token: str, headers: dict | None = None) -> tuple[int, float, int]:
    """Status (0: no answer within the timeout), milliseconds, bytes as sent."""
    started = time.perf_counter()
    try:
        answer = requests.get(
            url,
            headers={"Authorization": f"Token {token}", **(headers or {})},
            timeout=TIMEOUT,
            stream=True,
        )
        body = answer.raw.read()  # as sent: a gzipped body is not unzipped here
    except requests.RequestException:
        return 0, (time.perf_counter() - started) * 1000, 0
    return answer.status_code, (time.perf_counter() - started) * 1000, len(body)


def burst(url: str, token: str, headers: dict | None = None) -> tuple[list, float]:
    with ThreadPoolExecutor(max_workers=CONCURRENT) as pool:
        started = time.perf_counter()
        answers = list(pool.map(lambda _: get(url, token, headers), range(CONCURRENT)))
        return answers, (time.perf_counter() - started) * 1000


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, round(share * len(ordered)) - 1)]


def seed():
    """One trader with seven connections and their snapshots: the portfolio's lines."""
    from brokers.types import Funds, Holding, Position
    from tests.factories import BrokerConnectionFactory
    from tests.portfolio.conftest import store_snapshot

    user = get_user_model().objects.create(username=f"bench-doc-{time.time_ns()}")
    make_trader(user)
    token = issue_api_token(user=user, name="bench")[1]
    for k, broker in enumerate(BROKERS):
        connection = BrokerConnectionFactory(user=user, broker=broker, account_id=f"AC{k}")
        holdings, positions = [], []
        for i in range(LINES):
            n = (k * 550 + i) % INSTRUMENTS  # neighbours overlap: lines join by ISIN
            isin, symbol = f"INE{n:06d}01{n % 10}", f"SYM{n:04d}"
            last = Decimal(100 + n) + Decimal("0.05") * (n % 20)
            close, avg = last - Decimal("1.25"), last - Decimal("7.5") + k
            if i < LINES - POSITIONS:
                holdings.append(Holding("NSE", symbol, 1 + k + i % 9, avg, isin, last, close))
            else:
                qty = 25 * (1 + i % 4) * (1 if i % 2 else -1)
                positions.append(Position("NSE", symbol, "MIS", qty, avg, last, close, isin=isin))
        store_snapshot(
            connection, holdings=holdings, positions=positions, funds=Funds(Decimal("100000"))
        )
    return user, token


def _line(label: str, answers: list, wall: float) -> str:
    latencies = [ms for _, ms, _ in answers]
    codes = sorted({code for code, _, _ in answers})
    answered = sum(1 for code, _, _ in answers if code in (200, 304))
    return (
        f"   {label:<40} {answered}/{len(answers)} answered {codes}, all in {wall:6.0f} ms, "
        f"p50 {statistics.median(latencies):6.0f} ms, p99 {percentile(latencies, 0.99):6.0f} ms"
    )


def _ways(url: str, token: str, *, fresh: bool) -> None:
    status, cold_today, today_size = get(url + TODAY, token)
    assert status == 200, status
    status, cold_doc, doc_size = get(url + PATH, token)
    assert status == 200, status
    etag = requests.get(url + PATH, headers={"Authorization": f"Token {token}"}).headers["ETag"]
    print(
        f"   first request: today {cold_today:.0f} ms ({today_size:,} bytes), "
        f"document {cold_doc:.0f} ms ({doc_size:,} bytes gzipped)"
    )
    # The document first: today's 100 answers of 4.5 MB each take the server a while to
    # drain after the burst, which would be counted against whatever comes next.
    print(_line("document (gzip as stored)", *burst(url + PATH, token)))
    revalidated = burst(url + PATH, token, {"If-None-Match": etag})
    print(_line("document, If-None-Match (304)", *revalidated))
    if fresh and settings.REDIS_URL:  # async against sync, alternated: the host is shared
        for _ in range(ROUNDS):
            print(_line("document, async read path", *burst(url + ASYNC, token)))
            print(_line("document (again, sync view)", *burst(url + PATH, token)))
    print(_line("today (dict cached, JSON per request)", *burst(url + TODAY, token)))
    if fresh:
        every = burst(url + TODAY + "?fresh=1", token)
        print(_line("serializer per request (nothing cached)", *every))


def _reads(user) -> None:
    """Reading the document: as the API does (its version from the cache, the body this
    process kept), its body from the cache, and from its row."""
    from django.core.cache import cache

    from portfolio import documents, services
    from portfolio.models import PortfolioDocument

    generation = services._generation(user.pk)
    version = documents.load(user_id=user.pk, generation=generation).version
    reads = {
        "as the API reads it": lambda: documents.load(user_id=user.pk, generation=generation),
        "body from the cache": lambda: cache.get(documents._body_key(user.pk, version)),
        "body from its row": lambda: bytes(
            PortfolioDocument.objects.values_list("body", flat=True).get(user=user)
        ),
    }
    figures = []
    for where, read in reads.items():
        timings = []
        for _ in range(50):
            started = time.perf_counter()
            read()
            timings.append((time.perf_counter() - started) * 1000)
        figures.append(
            f"{where} p50 {statistics.median(timings):.2f} ms (p99 {percentile(timings, 0.99):.2f})"
        )
    print("   reading the document in this process: " + ", ".join(figures))


def run() -> None:
    from portfolio import documents, services

    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    cache = "Redis" if settings.REDIS_URL else "local memory (one per process)"
    print(f"   database {engine}, cache {cache}; load average {os.getloadavg()[0]:.1f}")
    user, token = seed()
    started = time.perf_counter()
    view = services.rebuild_portfolio(user=user)
    built = (time.perf_counter() - started) * 1000
    document = services.get_document(user=user)
    started = time.perf_counter()
    documents.render(view, version=documents.new_version())
    rendered = (time.perf_counter() - started) * 1000
    print(
        f"   {len(view.portfolio.lines):,} lines from {len(view.covered)} brokers; document "
        f"{len(document.json()):,} bytes of JSON, {len(document.body):,} gzipped; a rebuild "
        f"from the snapshots (lines consolidated, rows rewritten, document made and stored) "
        f"{built:.0f} ms; serializing and gzipping alone {rendered:.0f} ms"
    )
    plain = document.json()
    started = time.process_time()
    for _ in range(10):
        gzip.compress(plain, compresslevel=documents.GZIP_LEVEL)
    per_answer = (time.process_time() - started) * 100
    print(f"   gzipping it again (GZipMiddleware, per answer): {per_answer:.0f} ms CPU")
    _reads(user)
    with daphne(extra_env=SERVER_ENV) as (url, _):
        print("   Daphne, one process (the embedded default's server):")
        _ways(url, token, fresh=False)
    with web(workers=WORKERS, extra_env=SERVER_ENV) as (url, _):
        print(f"   production command, {WORKERS} uvicorn workers:")
        _ways(url, token, fresh=True)
