"""A broker's callback completes only the login it belongs to: its state, echoed by the broker,
or — for Dhan alone, whose consent redirect carries none — the one pending login of this
session, once. A crafted link with someone else's one-time token attaches nothing."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from brokers import connections
from brokers.models import BrokerConnection, OAuthState
from tests.brokers.test_connections import approve_at_broker, demo_app

pytestmark = pytest.mark.django_db(transaction=True)

# The one-time token each broker puts on its redirect, and the account it belongs to.
STATE_ECHOED = [("zerodha", "ZD5678"), ("upstox", ""), ("fyers", "")]


def start_in_the_wizard(client, user, broker, base_url) -> str:
    """The trader picks their app in the wizard; returns the broker login page it sends to."""
    app = demo_app(user, broker, base_url)
    answer = client.post(reverse("brokers:connect_app", args=[broker]), {"app": str(app.pk)})
    assert answer.status_code == 302
    return answer["Location"]


def callback(client, broker, params):
    return client.get(reverse("brokers:callback", args=[broker]), params)


def someone_elses_token(user, broker, base_url, account_id=""):
    """Another trader's approved login at the broker, not yet completed: the callback's
    parameters (with their state) as the broker sent them."""
    app = demo_app(user, broker, base_url)
    started = connections.initiate_connection(user=user, app=app, redirect_uri=app.redirect_url)
    return approve_at_broker(started.authorization_url, account_id=account_id)


@pytest.mark.parametrize(("broker", "account"), STATE_ECHOED)
def test_a_crafted_callback_without_state_attaches_nothing(
    broker, account, client, trader, other_trader, sandbox_hosts
):
    theirs = someone_elses_token(other_trader, broker, sandbox_hosts, account)
    client.force_login(trader)
    login_page = start_in_the_wizard(client, trader, broker, sandbox_hosts)  # pending for asha

    crafted = {k: v for k, v in theirs.items() if k != "state"}
    answer = callback(client, broker, crafted)

    assert answer.status_code == 400
    html = answer.content.decode()
    assert "carries no security state" in html
    assert "Nothing was saved" in html
    assert not BrokerConnection.objects.exists()
    assert not OAuthState.objects.filter(used_at__isnull=False).exists()  # nothing consumed
    for value in crafted.values():  # the one-time token is never echoed on the page
        assert len(value) < 12 or value not in html

    # The other trader's one-time token was never spent: their own login still completes...
    state = theirs.pop("state")
    mine_now = connections.complete_connection(
        user=other_trader, broker=broker, state=state, params=theirs
    )
    assert mine_now.connection.user == other_trader
    # ...and asha's pending login is intact: her own answer from the broker connects her.
    own = approve_at_broker(login_page)
    assert callback(client, broker, own).status_code == 302
    assert BrokerConnection.objects.filter(user=trader, broker=broker).count() == 1


def test_a_state_echoing_broker_never_falls_back_to_the_session(client, trader, sandbox_hosts):
    client.force_login(trader)
    login_page = start_in_the_wizard(client, trader, "zerodha", sandbox_hosts)
    own = approve_at_broker(login_page)
    own.pop("state")  # the trader's own token, the state stripped on the way

    answer = callback(client, "zerodha", own)

    assert answer.status_code == 400
    assert not BrokerConnection.objects.exists()


def dhan_answer(client, trader, base_url) -> dict:
    """Asha starts Dhan in the wizard and approves at Dhan: its redirect's parameters."""
    consent_page = start_in_the_wizard(client, trader, "dhan", base_url)
    answer = approve_at_broker(consent_page)
    assert set(answer) == {"tokenId"}  # Dhan's consent redirect carries no state
    return answer


def test_dhan_connects_from_the_pending_login_of_this_session(client, trader, sandbox_hosts):
    client.force_login(trader)
    answer = callback(client, "dhan", dhan_answer(client, trader, sandbox_hosts))

    assert answer.status_code == 302
    connection = BrokerConnection.objects.get(user=trader, broker="dhan")
    assert answer["Location"] == reverse("brokers:connected", args=[connection.pk])


def test_dhan_pending_login_is_used_once(client, trader, other_trader, sandbox_hosts):
    client.force_login(trader)
    assert callback(client, "dhan", dhan_answer(client, trader, sandbox_hosts)).status_code == 302
    theirs = someone_elses_token(other_trader, "dhan", sandbox_hosts)

    again = callback(client, "dhan", theirs)

    assert again.status_code == 400
    assert "No Dhan login of yours is waiting" in again.content.decode()
    assert BrokerConnection.objects.filter(user=trader).count() == 1
    assert not BrokerConnection.objects.filter(user=other_trader).exists()


def test_dhan_without_a_pending_dhan_login_is_refused(client, trader, other_trader, sandbox_hosts):
    theirs = someone_elses_token(other_trader, "dhan", sandbox_hosts)
    client.force_login(trader)
    start_in_the_wizard(client, trader, "zerodha", sandbox_hosts)  # pending, but at Zerodha

    answer = callback(client, "dhan", theirs)

    assert answer.status_code == 400
    assert "No Dhan login of yours is waiting" in answer.content.decode()
    assert not BrokerConnection.objects.exists()
    assert not OAuthState.objects.filter(used_at__isnull=False).exists()


def test_dhan_pending_login_expires(client, trader, sandbox_hosts):
    client.force_login(trader)
    answer = dhan_answer(client, trader, sandbox_hosts)
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        late = callback(client, "dhan", answer)
    assert late.status_code == 400
    assert "expired" in late.content.decode()
    assert not BrokerConnection.objects.exists()
