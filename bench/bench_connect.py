"""Server-side work of a broker callback: login exchange, profile check, holdings and positions.

For each browser-login broker, the trader approves on the sandbox's login page (served by a
real Daphne process), then we time `complete_connection` — what the callback view does. Goal:
under 2 s. Each broker is timed over several logins.
"""

import statistics
import time

from django.conf import settings
from django.contrib.auth import get_user_model

from bench.server import daphne
from brokers import connections
from brokers.models import BrokerApp
from brokers.sandbox import demo

BROKERS = ["zerodha", "upstox", "fyers", "dhan"]
ROUNDS = 5


def run() -> None:
    from tests.brokers.test_connections import approve_at_broker

    with daphne() as (url, _):
        settings.BROKER_HOSTS = {
            broker: {host: f"{url}/sandbox/{broker}" for host in hosts}
            for broker, hosts in settings.BROKER_REAL_HOSTS.items()
        }
        user, _ = get_user_model().objects.get_or_create(username="bench-connect")
        for broker in BROKERS:
            values = demo.DEMO_APPS[broker]
            app = BrokerApp(
                user=user,
                broker=broker,
                label=f"bench {time.time_ns()}",
                api_key=values["api_key"],
                client_id=values.get("client_id", ""),
                redirect_url=f"{url}/brokers/callback/{broker}/",
            )
            app.api_secret, app.pin = values["api_secret"], values.get("pin", "")
            app.save()
            samples = []
            for _ in range(ROUNDS):
                started = connections.initiate_connection(
                    user=user, app=app, redirect_uri=app.redirect_url
                )
                params = approve_at_broker(started.authorization_url)
                state = params.pop("state", "") or started.state
                begin = time.perf_counter()
                connections.complete_connection(
                    user=user, broker=broker, state=state, params=params
                )
                samples.append((time.perf_counter() - begin) * 1000)
            print(
                f"   {broker:8s} callback work: median {statistics.median(samples):6.0f} ms, "
                f"max {max(samples):6.0f} ms over {ROUNDS} logins"
            )
