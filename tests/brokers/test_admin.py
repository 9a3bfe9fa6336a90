"""Support staff see every model in admin; no secret ever reaches a page."""

import pytest
from django.urls import reverse

from brokers.models import BrokerHealthLog, OAuthState
from tests.factories import BrokerConnectionFactory, UserFactory

SECRET_TOKEN = "admin-visible-access-token-777"


@pytest.fixture
def support(client, db):
    user = UserFactory(username="support", is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


def test_every_model_has_an_admin_page(support, connection):
    for name in [
        "brokers_brokerconnection",
        "brokers_brokerapp",
        "brokers_oauthstate",
        "brokers_brokerhealthlog",
        "portfolio_consolidatedposition",
        "portfolio_brokerpositionbreakdown",
    ]:
        assert support.get(reverse(f"admin:{name}_changelist")).status_code == 200, name


def test_model_names_read_as_written(support):
    index = support.get(reverse("admin:index")).content.decode()
    assert "OAuth states" in index and "O auth" not in index


def test_connection_pages_show_set_or_not_set_never_the_token(support, trader):
    conn = BrokerConnectionFactory(user=trader, access_token=SECRET_TOKEN, refresh_token="")

    listing = support.get(reverse("admin:brokers_brokerconnection_changelist")).content.decode()
    page = support.get(
        reverse("admin:brokers_brokerconnection_change", args=[conn.pk])
    ).content.decode()

    for html in (listing, page):
        assert SECRET_TOKEN not in html
        assert "enc1$" not in html
    assert "not set" in page  # the refresh token
    assert ">set<" in page.replace("\n", "").replace(" ", "")


def test_app_pages_never_show_the_api_secret(support, connection):
    secret = connection.app.api_secret
    page = support.get(reverse("admin:brokers_brokerapp_change", args=[connection.app.pk]))
    assert secret not in page.content.decode()
    assert "enc1$" not in page.content.decode()


def test_connection_list_filters_by_broker_and_status(support, trader):
    BrokerConnectionFactory(user=trader, broker="zerodha", account_id="ZZ1")
    BrokerConnectionFactory(user=trader, broker="upstox", account_id="UU1")

    page = support.get(
        reverse("admin:brokers_brokerconnection_changelist") + "?broker__exact=upstox"
    ).content.decode()

    assert "UU1" in page
    assert "ZZ1" not in page


def test_saving_a_connection_in_admin_keeps_its_token(support, trader):
    conn = BrokerConnectionFactory(user=trader, access_token=SECRET_TOKEN)
    url = reverse("admin:brokers_brokerconnection_change", args=[conn.pk])

    response = support.post(
        url,
        {
            "user": trader.pk,
            "broker": "zerodha",
            "account_id": conn.account_id,
            "display_name": "Renamed by support",
            "app": conn.app.pk,
            "status": "MAINTENANCE",
            "connection_config": "{}",
        },
    )

    assert response.status_code == 302
    conn.refresh_from_db()
    assert conn.display_name == "Renamed by support"
    assert conn.access_token == SECRET_TOKEN


def test_oauth_states_are_read_only_and_hide_the_state_value(support, trader):
    from datetime import timedelta

    from django.utils import timezone

    state = OAuthState.objects.create(
        state="login-state-value-123456",
        user=trader,
        broker="zerodha",
        redirect_uri="http://127.0.0.1:8000/cb",
        expires_at=timezone.now() + timedelta(minutes=10),
    )
    page = support.get(reverse("admin:brokers_oauthstate_change", args=[state.pk]))
    assert "login-state-value-123456" not in page.content.decode()


def test_support_marks_a_connection_in_maintenance(support, trader):
    conn = BrokerConnectionFactory(user=trader)
    response = support.post(
        reverse("admin:brokers_brokerconnection_changelist"),
        {"action": "mark_maintenance", "_selected_action": [str(conn.pk)]},
        follow=True,
    )
    conn.refresh_from_db()
    assert conn.status == "MAINTENANCE"
    assert "1 connection(s) marked" in response.content.decode()
    assert conn.health_logs.filter(to_status="MAINTENANCE").exists()


def test_support_disconnects_and_the_tokens_are_wiped(support, trader):
    conn = BrokerConnectionFactory(user=trader, access_token=SECRET_TOKEN, broker="groww")
    support.post(
        reverse("admin:brokers_brokerconnection_changelist"),
        {"action": "disconnect_connections", "_selected_action": [str(conn.pk)]},
    )
    conn.refresh_from_db()
    assert conn.status == "DISCONNECTED"
    assert not conn.has_access_token


def test_refresh_now_explains_a_broker_without_refresh(support, trader):
    conn = BrokerConnectionFactory(user=trader, broker="zerodha")
    response = support.post(
        reverse("admin:brokers_brokerconnection_changelist"),
        {"action": "refresh_now", "_selected_action": [str(conn.pk)]},
        follow=True,
    )
    assert "the trader must log in again" in response.content.decode()
    conn.refresh_from_db()
    assert conn.status == "CONNECTED"


def test_the_list_shows_a_health_summary(support, trader):
    BrokerConnectionFactory(user=trader, status="ERROR", last_error="Broker not answering")
    page = support.get(reverse("admin:brokers_brokerconnection_changelist")).content.decode()
    assert "Broker not answering" in page
    assert "last response (ms)" in page.lower()


@pytest.mark.parametrize(
    "model",
    [
        "brokers_oauthstate",
        "brokers_brokerhealthlog",
        "brokers_instrumentmasterload",
        "portfolio_consolidatedposition",
        "portfolio_brokerpositionbreakdown",
        "portfolio_brokersnapshot",
    ],
)
def test_rows_the_platform_writes_cannot_be_added_in_admin(support, model):
    listing = support.get(reverse(f"admin:{model}_changelist"))

    assert listing.status_code == 200
    assert reverse(f"admin:{model}_add") not in listing.content.decode()  # no "Add" button
    assert support.get(reverse(f"admin:{model}_add")).status_code == 403


def test_a_health_log_is_shown_but_cannot_be_edited(support, connection):
    log = BrokerHealthLog.objects.create(
        connection=connection, kind=BrokerHealthLog.Kind.PROBE, success=False, message="timed out"
    )
    url = reverse("admin:brokers_brokerhealthlog_change", args=[log.pk])

    page = support.get(url).content.decode()
    response = support.post(url, {"message": "all fine", "success": "on", "kind": "probe"})

    assert "timed out" in page
    assert 'name="_save"' not in page
    assert response.status_code == 403
    log.refresh_from_db()
    assert (log.message, log.success) == ("timed out", False)
