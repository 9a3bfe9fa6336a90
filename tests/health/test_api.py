"""The health API: camelCase JSON, the trader's own connections only, no secret."""

import json

import pytest
from django.urls import reverse

from brokers import states
from brokers.models import ConnectionStatus as S
from health import probes
from health.models import Notification
from tests.factories import BrokerConnectionFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def api(client, trader, clock):
    client.force_login(trader)
    return client


def test_the_list_is_worst_first_and_only_mine(api, trader, other_trader):
    fine = BrokerConnectionFactory(user=trader, account_id="FINE01")
    broken = BrokerConnectionFactory(user=trader, account_id="DOWN01")
    BrokerConnectionFactory(user=other_trader, account_id="THEIRS1")
    states.transition(broken, S.ERROR, reason="down")

    body = api.get(reverse("health:api_list")).json()

    assert [c["accountId"] for c in body] == ["DOWN01", "FINE01"]
    assert body[0]["quality"] == "CRITICAL" and body[0]["colour"] == "red"
    assert set(body[1]["metrics"]) >= {"averageMs", "p95Ms", "successRate", "uptime"}
    assert fine.access_token not in json.dumps(body)


def test_the_detail_has_breaker_recent_calls_and_advice(api, kite):
    probes.sweep()
    body = api.get(reverse("health:api_detail", args=[kite.pk])).json()

    assert body["breaker"]["state"] == "CLOSED"
    assert body["recentCalls"][0]["endpoint"] == "user/profile"
    assert body["recentCalls"][0]["probe"] is True
    assert kite.access_token not in json.dumps(body)


def test_retry_refused_is_a_409_with_the_reason(api, trader):
    connection = BrokerConnectionFactory(user=trader, status=S.TOKEN_EXPIRED)
    answer = api.post(reverse("health:api_retry", args=[connection.pk]))
    assert answer.status_code == 409
    assert "log in again" in answer.json()["error"]["message"]


def test_retry_probes_now(api, kite):
    answer = api.post(reverse("health:api_retry", args=[kite.pk]))
    assert answer.status_code == 200
    assert answer.json()["status"] == "CONNECTED"
    assert answer.json()["metrics"]["callsLastHour"] == 1


def test_notifications_with_unread_count(api, trader, other_trader):
    Notification.objects.create(user=trader, kind="connection_down", title="mine", dedupe_key="a")
    Notification.objects.create(
        user=other_trader, kind="connection_down", title="x", dedupe_key="b"
    )

    body = api.get(reverse("health:api_notifications")).json()
    assert body["unread"] == 1 and [n["title"] for n in body["results"]] == ["mine"]

    assert api.post(reverse("health:api_read")).status_code == 204
    assert api.get(reverse("health:api_notifications")).json()["unread"] == 0
