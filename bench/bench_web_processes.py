"""100 concurrent GETs on one Daphne process (the embedded default's server) against the
production command (config/web.py: gunicorn and uvicorn workers) with 1, 2 and 4 workers.

Each server serves the same database (DATABASE_URL, or a fresh SQLite file) and, when
REDIS_URL is set, the same Redis. One trader with the seven sandbox demo accounts is synced
once; then, per server, 100 requests at once from 100 threads: GET /healthz (one query and a
cache round trip) and GET /api/v1/brokers/portfolio/consolidated with the trader's API token.
Figures: all answered?, wall time until the last answer, p50 and p99. Goal: all answered, p99
under 1 s.

What more processes buy: Django runs a synchronous view on one thread per process, so one
process answers one such request at a time whatever the server; N workers answer N at once,
up to the machine's cores.
"""

from __future__ import annotations

import os
import statistics
import time

from django.conf import settings
from django.contrib.auth import get_user_model

from accounts.roles import make_trader
from accounts.services import issue_api_token
from bench.bench_portfolio_api import BROKERS, PATH, burst, percentile
from bench.server import daphne, web

WORKERS = tuple(int(n) for n in os.environ.get("BENCH_WEB_WORKERS", "1,2,4").split(","))


def _figures(label: str, answers: list, wall: float) -> str:
    latencies = [ms for _, ms, _ in answers]
    answered = sum(1 for code, _, _ in answers if code == 200)
    return (
        f"{label}: {answered}/{len(answers)} answered, all in {wall:5.0f} ms, "
        f"p50 {statistics.median(latencies):5.0f} ms, p99 {percentile(latencies, 0.99):5.0f} ms"
    )


def _measure(name: str, url: str, token: str) -> None:
    burst(url + "/healthz", token)  # warm: every worker has loaded the application
    health, health_wall = burst(url + "/healthz", token)
    burst(url + PATH, token)
    portfolio, portfolio_wall = burst(url + PATH, token)
    print(f"   {name:<28} " + _figures("/healthz", health, health_wall))
    print(f"   {'':<28} " + _figures("portfolio", portfolio, portfolio_wall))


def run() -> None:
    from portfolio import services
    from tests.portfolio.conftest import connect_demo

    layers = "Redis" if settings.REDIS_URL else "embedded (SQLite or DATABASE_URL, in-memory)"
    print(f"   database {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}; {layers}")
    with daphne() as (url, _):
        settings.BROKER_HOSTS = {
            broker: {host: f"{url}/sandbox/{broker}" for host in hosts}
            for broker, hosts in settings.BROKER_REAL_HOSTS.items()
        }
        user = get_user_model().objects.create(username=f"bench-web-{time.time_ns()}")
        make_trader(user)
        token = issue_api_token(user=user, name="bench")[1]
        for broker in BROKERS:
            connect_demo(user, broker, url)
        view = services.sync_portfolio(user=user)
        print(f"   one trader, {len(view.covered)} brokers, {len(view.portfolio.lines)} lines")
        _measure("Daphne, one process", url, token)
    try:
        for workers in WORKERS:
            with web(workers=workers) as (url, _):
                _measure(f"gunicorn + {workers} uvicorn", url, token)
    finally:
        user.delete()
