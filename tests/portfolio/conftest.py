"""Connecting the sandbox's demo accounts, and stored snapshots for tests that need no broker."""

import importlib
import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from brokers import connections, http
from brokers.sandbox import demo
from portfolio import fetch, snapshots
from portfolio.models import BrokerSnapshot
from tests.brokers.test_connections import connect, demo_app

BROWSER = {"zerodha", "upstox", "fyers", "dhan"}
ALL_BROKERS = ["zerodha", "upstox", "fyers", "angelone", "groww", "dhan", "iifl"]


def connect_demo(user, broker: str, base_url: str):
    """Log in to a broker's sandbox demo account the way a trader would; the connection."""
    if broker in BROWSER:
        return connect(user, broker, base_url).connection
    app = demo_app(user, broker, base_url)
    extra = {k: v for k, v in demo.DEMO_APPS[broker].items() if k.startswith("marketdata_")}
    if extra:  # IIFL: the market-data app's key and secret travel sealed with the app
        app.extra_secrets = json.dumps(extra)
        app.save()
    started = connections.initiate_connection(user=user, app=app, redirect_uri=app.redirect_url)
    fields = importlib.import_module(f"brokers.sandbox.{broker}").demo_login_fields()
    verified = connections.complete_connection(
        user=user, broker=broker, state=started.state, params=fields
    )
    return verified.connection


@pytest.fixture
def connect_brokers(sandbox_hosts):
    def run(user, brokers=ALL_BROKERS):
        return {broker: connect_demo(user, broker, sandbox_hosts) for broker in brokers}

    return run


def store_snapshot(
    connection,
    *,
    holdings=(),
    positions=(),
    funds=None,
    quotes=None,
    taken_minutes_ago: float = 1,
    error: str = "",
):
    """What a sync would have stored for ``connection``, written directly (no broker)."""
    outcome = fetch.Outcome(connection)
    outcome.holdings, outcome.positions, outcome.funds = list(holdings), list(positions), funds
    outcome.quotes = dict(quotes or {})
    taken = timezone.now() - timedelta(minutes=taken_minutes_ago)
    snapshot = BrokerSnapshot(
        connection=connection,
        payload=snapshots.encode(outcome, []),
        taken_at=taken,
        attempted_at=taken,
    )
    if error:
        snapshot.error, snapshot.error_kind = error, "BrokerUnavailable"
        snapshot.attempted_at = timezone.now()
    snapshot.save()
    return snapshot


def eventually(check, timeout: float = 20.0):
    """``check()``'s first truthy answer: at once in-process, within seconds with a worker."""
    deadline = time.monotonic() + timeout
    while True:
        answer = check()
        if answer or time.monotonic() > deadline:
            return answer
        time.sleep(0.1)


@pytest.fixture(autouse=True)
def _close_broker_sessions():
    """Pooled keep-alive sessions to the live server would outlive it: close them after each
    test (otherwise its request threads close the shared test database connection late)."""
    yield
    http.close_sessions()
