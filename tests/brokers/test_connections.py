"""Connecting through each broker's real login on the sandbox, and the token lifecycle."""

from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
import time_machine
from django.utils import timezone

from brokers import connections
from brokers.clock import IST
from brokers.connections import ConnectFailed
from brokers.models import BrokerConnection, BrokerHealthLog, ConnectionStatus
from brokers.sandbox import demo, kit
from tests.brokers import logins
from tests.factories import BrokerAppFactory

pytestmark = pytest.mark.django_db(transaction=True)


def demo_app(user, broker, base_url):
    values = demo.DEMO_APPS[broker]
    app = BrokerAppFactory.build(
        user=user,
        broker=broker,
        label="demo",
        api_key=values["api_key"],
        client_id=values.get("client_id", ""),
        redirect_url=f"{base_url}/brokers/callback/{broker}/",
    )
    app.api_secret = values["api_secret"]
    app.pin = values.get("pin", "")
    app.save()
    return app


def approve_at_broker(url: str, decision: str = "approve", account_id: str = "") -> dict:
    """The trader at the broker's (sandbox) login page; the redirect's parameters."""
    _, _, answer = logins.approve_at_broker(url, decision=decision, account_id=account_id)
    return dict(parse_qsl(urlsplit(answer.headers["Location"]).query))


def connect(
    user, broker, base_url, *, connection=None, decision="approve", account_id="", app=None
):
    app = app or (demo_app(user, broker, base_url) if connection is None else connection.app)
    started = connections.initiate_connection(
        user=user, app=app, redirect_uri=app.redirect_url, connection=connection
    )
    params = approve_at_broker(started.authorization_url, decision, account_id)
    state = params.pop("state", "") or started.state
    return connections.complete_connection(user=user, broker=broker, state=state, params=params)


@pytest.mark.parametrize("broker", ["zerodha", "upstox", "fyers", "dhan"])
def test_a_browser_login_connects_and_verifies(broker, trader, sandbox_hosts):
    verified = connect(trader, broker, sandbox_hosts)

    connection = verified.connection
    assert connection.status == ConnectionStatus.CONNECTED
    assert verified.created
    assert verified.holdings > 0
    assert connection.has_access_token
    assert connection.token_expires_at > timezone.now()
    assert connection.capabilities["tokenExpiryRule"]
    assert BrokerHealthLog.objects.filter(connection=connection, to_status="CONNECTED").exists()


def test_logging_in_again_updates_the_same_connection(trader, sandbox_hosts):
    first = connect(trader, "zerodha", sandbox_hosts).connection
    old_token = first.access_token

    again = connect(trader, "zerodha", sandbox_hosts, connection=first)

    assert not again.created
    assert again.connection.pk == first.pk
    assert BrokerConnection.objects.filter(user=trader, broker="zerodha").count() == 1
    assert BrokerConnection.objects.get(pk=first.pk).access_token != old_token


def test_two_accounts_at_one_broker_are_two_connections(trader, sandbox_hosts):
    first = connect(trader, "zerodha", sandbox_hosts, account_id="ZD1234")
    second = connect(
        trader, "zerodha", sandbox_hosts, account_id="ZD5678", app=first.connection.app
    )

    assert {first.connection.account_id, second.connection.account_id} == {"ZD1234", "ZD5678"}
    assert BrokerConnection.objects.filter(user=trader, broker="zerodha").count() == 2


def test_consent_denied_leaves_nothing_behind(trader, sandbox_hosts):
    with pytest.raises(ConnectFailed, match="refused the login|not accept"):
        connect(trader, "upstox", sandbox_hosts, decision="deny")
    assert not BrokerConnection.objects.exists()


def test_a_wrong_api_secret_is_explained_and_leaves_nothing(trader, sandbox_hosts):
    app = demo_app(trader, "zerodha", sandbox_hosts)
    app.api_secret = "not-the-secret"
    app.save()
    started = connections.initiate_connection(user=trader, app=app, redirect_uri=app.redirect_url)
    params = approve_at_broker(started.authorization_url)

    with pytest.raises(ConnectFailed, match="Zerodha refused the login") as failure:
        connections.complete_connection(
            user=trader, broker="zerodha", state=params.pop("state"), params=params
        )

    assert "not-the-secret" not in str(failure.value)
    assert not BrokerConnection.objects.exists()


def test_the_broker_down_during_the_callback_leaves_nothing(trader, sandbox_hosts):
    app = demo_app(trader, "zerodha", sandbox_hosts)
    started = connections.initiate_connection(user=trader, app=app, redirect_uri=app.redirect_url)
    params = approve_at_broker(started.authorization_url)
    kit.set_faults("zerodha", outage=True)

    with pytest.raises(ConnectFailed, match="not answering"):
        connections.complete_connection(
            user=trader, broker="zerodha", state=params.pop("state"), params=params
        )
    assert not BrokerConnection.objects.exists()


def test_a_callback_submitted_twice_is_refused_the_second_time(trader, sandbox_hosts):
    app = demo_app(trader, "zerodha", sandbox_hosts)
    started = connections.initiate_connection(user=trader, app=app, redirect_uri=app.redirect_url)
    params = approve_at_broker(started.authorization_url)
    state = params.pop("state")
    connections.complete_connection(user=trader, broker="zerodha", state=state, params=params)

    with pytest.raises(ConnectFailed, match="already used"):
        connections.complete_connection(user=trader, broker="zerodha", state=state, params=params)
    assert BrokerConnection.objects.count() == 1


def test_a_callback_for_a_connection_removed_meanwhile_is_refused(trader, sandbox_hosts):
    connection = connect(trader, "zerodha", sandbox_hosts).connection
    started = connections.initiate_connection(
        user=trader,
        app=connection.app,
        redirect_uri=connection.app.redirect_url,
        connection=connection,
    )
    params = approve_at_broker(started.authorization_url)
    connections.disconnect(connection=BrokerConnection.objects.get(pk=connection.pk))

    with pytest.raises(ConnectFailed, match="removed meanwhile"):
        connections.complete_connection(
            user=trader, broker="zerodha", state=params.pop("state"), params=params
        )
    assert BrokerConnection.objects.get(pk=connection.pk).status == ConnectionStatus.DISCONNECTED


def test_credentials_login_never_stores_the_totp(trader, sandbox_hosts):
    from brokers.sandbox import angelone

    app = demo_app(trader, "angelone", sandbox_hosts)
    started = connections.initiate_connection(user=trader, app=app, redirect_uri=app.redirect_url)
    fields = angelone.demo_login_fields()

    verified = connections.complete_connection(
        user=trader, broker="angelone", state=started.state, params=dict(fields)
    )

    row = BrokerConnection.objects.filter(pk=verified.connection.pk).values().get()
    assert not any(fields["totp"] in str(value) for value in row.values())
    assert verified.connection.status == ConnectionStatus.CONNECTED


def test_disconnect_revokes_wipes_and_keeps_history(trader, sandbox_hosts):
    connection = connect(trader, "zerodha", sandbox_hosts).connection
    token = connection.access_token

    outcome = connections.disconnect(connection=connection)

    connection.refresh_from_db()
    assert outcome == "revoked"
    assert connection.status == ConnectionStatus.DISCONNECTED
    assert not connection.has_access_token
    assert kit.account_for_token("zerodha", token) is None  # dead at the broker too
    assert connection.health_logs.filter(to_status="DISCONNECTED").exists()


# --- The nightly expiry ---------------------------------------------------------------------
def test_a_no_refresh_broker_turns_token_expired_at_06_00_ist_without_a_storm(
    trader, sandbox_hosts
):
    connection = connect(trader, "zerodha", sandbox_hosts).connection
    expiry = connection.token_expires_at.astimezone(IST)
    assert (expiry.hour, expiry.minute) == (6, 0)

    with time_machine.travel(expiry - timedelta(minutes=1)):
        assert connections.expire_due_tokens(now=timezone.now()) == 0
        assert connections.connections_to_refresh(now=timezone.now()) == []
    with time_machine.travel(expiry + timedelta(seconds=1)):
        assert connections.expire_due_tokens(now=timezone.now()) == 1
        assert connections.expire_due_tokens(now=timezone.now()) == 0  # once, not a loop

    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.TOKEN_EXPIRED
    assert "Log in again" in connection.last_error
    assert connection.health_logs.filter(to_status="TOKEN_EXPIRED").count() == 1


def test_a_refreshable_broker_is_renewed_before_expiry(trader, sandbox_hosts):
    connection = connect(trader, "fyers", sandbox_hosts).connection
    expiry = connection.token_expires_at
    old_token = connection.access_token

    with time_machine.travel(expiry - timedelta(hours=1)):
        assert connections.connections_to_refresh(now=timezone.now()) == []
    with time_machine.travel(expiry - timedelta(minutes=20), tick=False):
        due = connections.connections_to_refresh(now=timezone.now())
        assert [c.pk for c in due] == [connection.pk]
        assert connections.connections_to_refresh(now=timezone.now()) == []  # claimed once
        assert connections.refresh_tokens(connection=due[0])

    connection.refresh_from_db()
    assert connection.access_token != old_token
    assert connection.status == ConnectionStatus.CONNECTED


def test_a_refused_refresh_goes_to_token_expired_with_the_reason(trader, sandbox_hosts):
    connection = connect(trader, "fyers", sandbox_hosts).connection
    kit.set_faults("fyers", connection.account_id, token_expired=True)
    connection.refresh_token = "not-a-refresh-token"
    connection.save()

    assert connections.refresh_tokens(connection=connection) is False

    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.TOKEN_EXPIRED
    assert connection.last_error.startswith("Refresh refused")
    assert "not-a-refresh-token" not in connection.last_error


def test_expiry_rule_around_06_00_ist(trader, sandbox_hosts):
    before_six = datetime(2026, 11, 23, 5, 59, tzinfo=IST)
    with time_machine.travel(before_six, tick=False):
        connection = connect(trader, "zerodha", sandbox_hosts).connection
    assert connection.token_expires_at == datetime(2026, 11, 23, 6, 0, tzinfo=IST)
