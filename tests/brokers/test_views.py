"""The connect wizard, callback, reconnect and disconnect pages."""

import re

import pytest
from django.urls import reverse

from brokers.adapters import registry
from brokers.help import card
from brokers.models import Broker, BrokerApp, BrokerConnection, ConnectionStatus
from brokers.oauth import issue_state
from tests.factories import BrokerAppFactory, BrokerConnectionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, trader):
    client.force_login(trader)
    return client


def test_the_wizard_lists_every_broker_with_what_it_supports(signed_in):
    page = signed_in.get(reverse("brokers:connect")).content.decode()
    for name in ["Zerodha", "Upstox", "Fyers", "Angel One", "Groww", "Dhan", "IIFL"]:
        assert name in page
    assert "06:00 IST next day" in page
    assert "Renewed automatically" in page  # Fyers
    assert 'aria-current="step"' in page


def card_of(page: str, label: str) -> str:
    return re.search(rf"<h2>{label}</h2>.*?</ul>", page, re.S).group(0)


def test_each_card_says_what_the_login_asks_and_no_open_question(signed_in):
    page = signed_in.get(reverse("brokers:connect")).content.decode()

    # IIFL's login asks for nothing: its card says so, and nothing about client codes
    iifl = card_of(page, "IIFL")
    assert "nothing to type" in iifl and "client code" not in iifl
    # Angel One asks for exactly its login fields, typed here
    angel = card_of(page, "Angel One")
    assert all(word in angel for word in ("client code", "PIN", "TOTP"))
    # what is not known lives in docs/brokers/, not on the page
    assert "UNCONFIRMED" not in page and "not confirmed" not in page.lower()
    for broker in Broker:
        help_page = signed_in.get(reverse("brokers:help", args=[broker.value])).content
        assert b"UNCONFIRMED" not in help_page and b"does not document" not in help_page


@pytest.mark.parametrize("broker", [b.value for b in Broker])
def test_a_card_names_typed_fields_only_where_the_login_asks_for_them(broker):
    caps = registry.capabilities(broker)
    login = card(broker)["login"]
    if caps.login_fields:  # typed on this site at each login
        assert login.startswith("here:")
    else:
        assert not login.startswith("here:")


def test_registering_an_app_seals_the_secret_and_goes_to_the_broker(signed_in, trader):
    response = signed_in.post(
        reverse("brokers:connect_app", args=["zerodha"]),
        {"label": "Main", "api_key": "kitedemo01", "api_secret": "kite-demo-secret"},
    )

    assert response.status_code == 302
    assert "/connect/login?" in response["Location"]
    app = BrokerApp.objects.get(user=trader)
    assert app.api_secret == "kite-demo-secret"
    assert app.redirect_url.endswith("/brokers/callback/zerodha/")


def test_the_app_form_never_renders_a_secret_back(signed_in, trader):
    response = signed_in.post(
        reverse("brokers:connect_app", args=["fyers"]),
        {"label": "x", "api_key": "bad key!", "api_secret": "fyers-secret-value", "pin": "12"},
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "fyers-secret-value" not in html
    assert "A Fyers App ID looks like" in html or "does not look like an API key" in html
    assert "The PIN is 4 to 6 digits" in html
    assert not BrokerApp.objects.exists()


def test_another_users_app_cannot_be_used(signed_in, other_trader):
    theirs = BrokerAppFactory(user=other_trader, broker="zerodha")
    response = signed_in.post(
        reverse("brokers:connect_app", args=["zerodha"]), {"app": str(theirs.pk)}
    )
    assert response.status_code == 404


def test_an_unknown_broker_is_a_404(signed_in):
    assert signed_in.get(reverse("brokers:connect_app", args=["robinhood"])).status_code == 404


@pytest.mark.parametrize("state", ["", "forged", None])
def test_a_callback_with_a_bad_state_shows_a_clear_page(signed_in, state):
    query = {"request_token": "abc", "status": "success"}
    if state is not None:
        query["state"] = state
    response = signed_in.get(reverse("brokers:callback", args=["zerodha"]), query)

    assert response.status_code == 400
    html = response.content.decode()
    assert "Zerodha is not connected" in html
    assert "Start again" in html
    assert not BrokerConnection.objects.exists()


def test_a_callback_with_another_users_state_is_refused(signed_in, other_trader):
    app = BrokerAppFactory(user=other_trader, broker="upstox")
    issued = issue_state(
        user=other_trader, broker="upstox", redirect_uri="http://testserver/cb", app=app
    )
    response = signed_in.get(
        reverse("brokers:callback", args=["upstox"]), {"code": "x", "state": issued.value}
    )
    assert response.status_code == 400
    assert "started by someone else" in response.content.decode()


def test_consent_denied_at_the_broker_is_explained(signed_in, trader):
    app = BrokerAppFactory(user=trader, broker="upstox")
    issued = issue_state(user=trader, broker="upstox", redirect_uri="http://testserver/cb", app=app)
    response = signed_in.get(
        reverse("brokers:callback", args=["upstox"]),
        {"error": "access_denied", "state": issued.value},
    )
    assert response.status_code == 400
    assert "Upstox" in response.content.decode()
    assert not BrokerConnection.objects.exists()


def test_dashboard_shows_a_card_per_connection(signed_in, trader, other_trader):
    mine = BrokerConnectionFactory(user=trader, account_id="MINE01", last_error="")
    BrokerConnectionFactory(user=other_trader, account_id="THEIRS1")

    html = signed_in.get(reverse("dashboard")).content.decode()

    assert f'id="connection-{mine.pk}"' in html
    assert "MINE01" in html
    assert "THEIRS1" not in html
    assert "Reconnect" in html and "Disconnect" in html


def test_disconnect_asks_first_then_wipes(signed_in, trader):
    connection = BrokerConnectionFactory(user=trader, access_token="wipe-me-please")
    url = reverse("brokers:disconnect", args=[connection.pk])

    assert "Disconnect Zerodha" in signed_in.get(url).content.decode()
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.CONNECTED

    signed_in.post(url)
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.DISCONNECTED
    assert not connection.has_access_token


@pytest.mark.parametrize("name", ["brokers:disconnect", "brokers:reconnect", "brokers:connected"])
def test_another_users_connection_pages_are_404(signed_in, other_trader, name):
    theirs = BrokerConnectionFactory(user=other_trader)
    assert signed_in.get(reverse(name, args=[theirs.pk])).status_code == 404
    assert signed_in.post(reverse(name, args=[theirs.pk])).status_code in (404, 405)
    theirs.refresh_from_db()
    assert theirs.status == ConnectionStatus.CONNECTED


def test_credentials_brokers_ask_for_the_login_fields(signed_in):
    html = signed_in.get(reverse("brokers:connect_login", args=["angelone"])).content.decode()
    assert "TOTP" in html and "never stored" in html

    bad = signed_in.post(
        reverse("brokers:connect_login", args=["angelone"]),
        {"clientcode": "AO7788", "pin": "4321", "totp": "12ab"},
    )
    assert bad.status_code == 400
    assert "6-digit code" in bad.content.decode()
    assert "4321" not in bad.content.decode()
