"""API throttles: per trader, per anonymous address, and a scope for each expensive endpoint;
a 429 with Retry-After; logins in flight capped per trader."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import path
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.views import APIView

from brokers import connections
from brokers.models import OAuthState
from brokers.oauth import StateRefused, consume_state
from tests.factories import BrokerAppFactory, BrokerConnectionFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def _count(rate: str) -> int:
    return int(rate.split("/")[0])


@pytest.fixture
def api(trader):
    client = APIClient()
    client.force_authenticate(trader)
    return client


def _assert_throttled(response):
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    error = response.json()["error"]
    assert error["code"] == "throttled"
    assert "Expected available in" in error["message"]


def test_a_burst_of_reads_is_cut_at_the_traders_rate(api, trader, other_trader):
    allowed = _count(settings.API_THROTTLE_RATES["user"])
    answers = [api.get("/api/v1/brokers/connections").status_code for _ in range(allowed + 30)]

    assert answers[:allowed] == [200] * allowed
    assert set(answers[allowed:]) == {429}
    _assert_throttled(api.get("/api/v1/health/connections"))  # every endpoint, one budget
    other = APIClient()
    other.force_authenticate(other_trader)
    assert other.get("/api/v1/brokers/connections").status_code == 200  # per trader


def test_starting_logins_is_cut_at_the_initiate_rate_and_stores_nothing_more(api, trader):
    BrokerAppFactory(user=trader, broker="zerodha")
    allowed = _count(settings.API_THROTTLE_RATES["initiate"])
    body = {"brokerType": "zerodha", "redirectUri": "https://trade.example.com/cb/"}

    answers = [
        api.post("/api/v1/brokers/connect/initiate", body, format="json").status_code
        for _ in range(allowed + 5)
    ]

    assert answers == [200] * allowed + [429] * 5
    assert OAuthState.objects.filter(user=trader).count() == allowed
    _assert_throttled(api.post("/api/v1/brokers/connect/initiate", body, format="json"))
    assert api.get("/api/v1/brokers/connections").status_code == 200  # reads still go


def test_syncs_are_cut_at_the_sync_rate_while_progress_reads_are_not(api, trader):
    BrokerConnectionFactory(user=trader)
    allowed = _count(settings.API_THROTTLE_RATES["sync"])

    started = [api.post("/api/v1/brokers/portfolio/sync").status_code for _ in range(allowed)]
    refused = api.post("/api/v1/brokers/portfolio/sync")

    assert started == [202] * allowed
    _assert_throttled(refused)
    assert api.get("/api/v1/brokers/portfolio/sync").status_code == 200


def test_anonymous_clients_are_throttled_per_address_and_cannot_pick_their_own(client):
    allowed = _count(settings.API_THROTTLE_RATES["anon"])
    answers = [
        client.get("/api/schema/", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}").status_code
        for n in range(allowed + 5)
    ]

    assert answers == [200] * allowed + [429] * 5
    other_address = client.get("/api/schema/", REMOTE_ADDR="127.0.0.2")
    assert other_address.status_code == 200


def test_behind_a_trusted_proxy_each_client_address_has_its_own_budget(client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    allowed = _count(settings.API_THROTTLE_RATES["anon"])

    def ask(address):
        # The proxy appends the address it saw; what the client wrote stays on the left.
        return client.get("/api/schema/", HTTP_X_FORWARDED_FOR=f"6.6.6.6, {address}")

    first = [ask("203.0.113.7").status_code for _ in range(allowed + 1)]

    assert first == [200] * allowed + [429]
    assert ask("203.0.113.8").status_code == 200


class OrderWrite(APIView):
    throttle_scope = "orders"

    def post(self, request):
        return Response({"accepted": True})


urlpatterns = [path("orders", OrderWrite.as_view())]


@pytest.mark.urls("tests.config.test_throttles")
def test_the_orders_scope_is_ready_for_the_order_endpoints(api):
    allowed = _count(settings.API_THROTTLE_RATES["orders"])
    answers = [api.post("/orders").status_code for _ in range(allowed + 1)]

    assert answers == [200] * allowed + [429]


def test_logins_in_flight_are_capped_per_trader_dropping_the_oldest(trader, other_trader):
    app = BrokerAppFactory(user=trader, broker="upstox")
    cap = settings.OAUTH_PENDING_LOGINS_MAX
    theirs = connections.initiate_connection(
        user=other_trader,
        app=BrokerAppFactory(user=other_trader, broker="upstox"),
        redirect_uri="https://trade.example.com/cb/",
    )
    started = [
        connections.initiate_connection(
            user=trader, app=app, redirect_uri="https://trade.example.com/cb/"
        )
        for _ in range(cap + 5)
    ]

    assert OAuthState.objects.filter(user=trader).count() == cap
    with pytest.raises(StateRefused):
        consume_state(user=trader, broker="upstox", value=started[0].state)
    assert consume_state(user=trader, broker="upstox", value=started[-1].state)
    # Another trader's login is not theirs to drop.
    assert consume_state(user=other_trader, broker="upstox", value=theirs.state)


@pytest.mark.skipif(not settings.REDIS_URL, reason="one process shares nothing without Redis")
def test_the_throttle_holds_across_processes(api, trader):
    """The budget spent here is seen by another process, as by a second web process."""
    allowed = _count(settings.API_THROTTLE_RATES["user"])
    for _ in range(allowed):
        api.get("/api/v1/brokers/connections")

    script = (
        "import django, json; django.setup()\n"
        "from types import SimpleNamespace\n"
        "from rest_framework.throttling import UserRateThrottle\n"
        f"user = SimpleNamespace(pk={trader.pk}, is_authenticated=True)\n"
        "throttle = UserRateThrottle()\n"
        "allowed = throttle.allow_request(SimpleNamespace(user=user, META={}), None)\n"
        "print(json.dumps({'allowed': allowed, 'wait': throttle.wait()}))\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    seen = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, timeout=60
    )

    answer = json.loads(seen.stdout or "null")
    assert answer is not None, seen.stderr.decode()[-500:]
    assert answer["allowed"] is False
    assert 0 < answer["wait"] <= 60
