"""The connection API: camelCase, trader only, 404 for others' ids, never a secret."""

import json
import logging

import pytest
from rest_framework.test import APIClient

from brokers.models import BrokerConnection, ConnectionStatus
from tests.brokers.test_connections import approve_at_broker, demo_app
from tests.factories import BrokerConnectionFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def api(trader):
    client = APIClient()
    client.force_authenticate(trader)
    return client


def test_a_trader_connects_zerodha_through_the_api(api, trader, sandbox_hosts, caplog):
    caplog.set_level(logging.DEBUG)
    app = demo_app(trader, "zerodha", sandbox_hosts)

    started = api.post(
        "/api/v1/brokers/connect/initiate",
        {"brokerType": "zerodha", "redirectUri": app.redirect_url},
        format="json",
    )
    assert started.status_code == 200
    assert started.json()["brokerType"] == "zerodha"
    params = approve_at_broker(started.json()["authorizationUrl"])

    done = api.post(
        "/api/v1/brokers/connect/complete",
        {"brokerType": "zerodha", "code": params["request_token"], "state": params["state"]},
        format="json",
    )

    assert done.status_code == 201, done.content
    body = done.json()
    assert body["status"] == "CONNECTED"
    assert body["brokerType"] == "zerodha"
    assert body["verification"]["holdings"] > 0
    connection = BrokerConnection.objects.get(pk=body["id"])
    listed = api.get("/api/v1/brokers/connections").json()
    assert [c["accountId"] for c in listed] == [connection.account_id]
    everything = json.dumps([started.json(), body, listed]) + caplog.text
    for secret in (connection.access_token, app.api_secret, params["request_token"]):
        assert secret not in json.dumps([body, listed])
        assert secret not in caplog.text
    assert "enc1$" not in everything


def test_the_api_speaks_camel_case(api, trader):
    BrokerConnectionFactory(user=trader)
    keys = set(api.get("/api/v1/brokers/connections").json()[0])
    assert {"brokerType", "accountId", "tokenExpiresAt", "lastSuccessfulCall"} <= keys
    assert not [k for k in keys if "_" in k]
    assert not {"accessToken", "refreshToken", "access_token"} & keys


def test_delete_disconnects_and_keeps_the_row(api, trader):
    connection = BrokerConnectionFactory(user=trader, access_token="tok-to-wipe-123")

    response = api.delete(f"/api/v1/brokers/connections/{connection.pk}")

    assert response.status_code == 204
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.DISCONNECTED
    assert not connection.has_access_token


def test_another_users_connection_is_a_404_on_every_endpoint(api, other_trader):
    theirs = BrokerConnectionFactory(user=other_trader, access_token="theirs-123456")

    assert api.delete(f"/api/v1/brokers/connections/{theirs.pk}").status_code == 404
    assert api.get("/api/v1/brokers/connections").json() == []
    theirs.refresh_from_db()
    assert theirs.status == ConnectionStatus.CONNECTED
    assert theirs.access_token == "theirs-123456"


def test_another_users_app_and_state_are_not_reachable(api, other_trader, sandbox_hosts):
    other = APIClient()
    other.force_authenticate(other_trader)
    app = demo_app(other_trader, "zerodha", sandbox_hosts)
    started = other.post(
        "/api/v1/brokers/connect/initiate",
        {"brokerType": "zerodha", "redirectUri": app.redirect_url},
        format="json",
    ).json()

    mine = api.post(
        "/api/v1/brokers/connect/initiate",
        {"brokerType": "zerodha", "redirectUri": app.redirect_url, "appId": str(app.pk)},
        format="json",
    )
    stolen = api.post(
        "/api/v1/brokers/connect/complete",
        {"brokerType": "zerodha", "code": "x" * 10, "state": started["state"]},
        format="json",
    )

    assert mine.status_code == 404
    assert stolen.status_code == 400
    assert "someone else" in stolen.json()["error"]["message"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (
            "/api/v1/brokers/connect/initiate",
            {"brokerType": "robinhood", "redirectUri": "https://x.example/cb"},
            "brokerType",
        ),
        (
            "/api/v1/brokers/connect/initiate",
            {"brokerType": "zerodha", "redirectUri": "javascript:alert(1)"},
            "redirectUri",
        ),
        (
            "/api/v1/brokers/connect/initiate",
            {"brokerType": "zerodha", "redirectUri": "http://evil.example/cb"},
            "redirectUri",
        ),
        ("/api/v1/brokers/connect/complete", {"brokerType": "zerodha", "state": "abc"}, "code"),
    ],
)
def test_bad_input_gets_a_clear_error_and_changes_nothing(api, path, body, field):
    response = api.post(path, body, format="json")

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert response.json()["error"]["message"]
    assert not BrokerConnection.objects.exists()


def test_initiate_without_a_registered_app_says_so(api):
    response = api.post(
        "/api/v1/brokers/connect/initiate",
        {"brokerType": "upstox", "redirectUri": "https://trade.example.com/cb"},
        format="json",
    )
    assert response.status_code == 400
    assert "Register this broker's API app first" in response.json()["error"]["message"]


def test_a_tampered_state_is_refused_with_a_clear_message(api):
    response = api.post(
        "/api/v1/brokers/connect/complete",
        {"brokerType": "upstox", "code": "abc", "state": "forged-state"},
        format="json",
    )
    assert response.status_code == 400
    assert "not one we issued" in response.json()["error"]["message"]


def test_the_api_needs_the_trader_role_and_accepts_tokens(db):
    support = UserFactory(username="support-only")
    client = APIClient()
    client.force_authenticate(support)
    assert client.get("/api/v1/brokers/connections").status_code == 403

    anonymous = APIClient()
    assert anonymous.get("/api/v1/brokers/connections").status_code in (401, 403)

    from tests.factories import TraderFactory, api_token

    trader = TraderFactory(username="token-user")
    by_token = APIClient()
    by_token.credentials(HTTP_AUTHORIZATION=f"Token {api_token(trader)}")
    assert by_token.get("/api/v1/brokers/connections").status_code == 200


def test_the_schema_documents_the_connection_api(client):
    schema = client.get("/api/schema/?format=json").json()
    for path in [
        "/api/v1/brokers/connect/initiate",
        "/api/v1/brokers/connect/complete",
        "/api/v1/brokers/connections",
        "/api/v1/brokers/connections/{id}",
    ]:
        assert path in schema["paths"], path
    initiate = schema["paths"]["/api/v1/brokers/connect/initiate"]["post"]
    assert "examples" in json.dumps(initiate)
