"""The health dashboard, diagnostics (with the policy's alerts), retry now and notifications."""

import pytest
from django.urls import reverse

from brokers import states
from brokers.adapters import registry
from brokers.errors import BrokerUnavailable
from brokers.models import ConnectionStatus as S
from brokers.sandbox import kit
from health import probes, state
from health.models import ConnectionHealth, Notification
from routing.policy import services as policy_services
from tests.factories import BrokerConnectionFactory
from tests.health.conftest import fresh

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def signed_in(client, trader, clock):
    client.force_login(trader)
    return client


def test_the_health_dashboard_lists_the_worst_first_with_charts(signed_in, trader):
    fine = BrokerConnectionFactory(user=trader, account_id="FINE01")
    broken = BrokerConnectionFactory(user=trader, account_id="DOWN01")
    states.transition(broken, S.ERROR, reason="Zerodha is not answering.")

    page = signed_in.get(reverse("health:dashboard")).content.decode()

    assert page.index(f'id="health-{broken.pk}"') < page.index(f'id="health-{fine.pk}"')
    assert "colour-red" in page and "colour-green" in page
    assert page.count("<svg") >= 10  # response time and error rate, hour and day, uptime
    assert 'ws-connect="/ws/brokers/?format=html&amp;parts=row,unread"' in page
    assert "How the state and the grade are decided" in page and "≥ 99%" in page
    assert broken.access_token not in page


def test_the_dashboard_cards_carry_health_retry_and_diagnostics(signed_in, trader):
    connection = BrokerConnectionFactory(user=trader)
    page = signed_in.get(reverse("dashboard")).content.decode()

    assert f'hx-post="{reverse("health:retry", args=[connection.pk])}"' in page
    assert reverse("health:diagnostics", args=[connection.pk]) in page
    assert "quality-green" in page and 'id="health-summary"' in page
    assert 'hx-ext="ws"' in page and 'id="unread-count"' in page


def test_diagnostics_runs_a_live_diagnosis_step_by_step(signed_in, kite):
    url = reverse("health:diagnostics", args=[kite.pk])
    page = signed_in.get(url).content.decode()
    assert "Run diagnosis" in page and "Circuit breaker" in page and "Headroom now" in page

    steps = signed_in.post(
        reverse("health:diagnose", args=[kite.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()

    for name in ("DNS", "TCP", "TLS", "Auth", "Profile", "Holdings"):
        assert f"<td>{name}</td>" in steps
    assert "n/a (plain http)" in steps
    assert steps.count('class="step-ok"') == 5
    assert kite.access_token not in steps


def test_diagnostics_show_each_endpoint_so_good_probes_hide_no_failing_call(signed_in, kite, clock):
    kit.set_faults("zerodha", kite.account_id, error_in_ok=True, paths="portfolio/holdings")
    adapter = registry.adapter_for(kite)
    for _ in range(2):
        adapter.profile()
        with pytest.raises(BrokerUnavailable):
            adapter.holdings()
        clock.shift(5)

    page = signed_in.get(reverse("health:diagnostics", args=[kite.pk])).content.decode()
    section = page[page.index('id="endpoints"') :]
    rows = section[: section.index("</table>")]
    assert (
        '<tr class="outcome-fail"><td>portfolio/holdings</td><td>failed</td><td>2</td>'
        "<td>error inside an HTTP 200 answer</td><td>2 / 2</td></tr>"
    ) in rows
    assert '<tr class="outcome-ok"><td>user/profile</td><td>ok</td><td>0</td>' in rows
    assert "portfolio/holdings is failing: error inside an HTTP 200 answer" in page  # advice
    body = signed_in.get(reverse("health:api_detail", args=[kite.pk])).json()
    assert body["state"]["word"] == "Down" and body["colour"] == "red"
    assert body["endpoints"][0]["endpoint"] == "portfolio/holdings"
    assert body["metrics"]["consecutiveFailures"] == 2


def test_diagnosis_of_an_expired_session_says_log_in_again(signed_in, kite):
    kit.set_faults("zerodha", kite.account_id, token_expired=True)

    steps = signed_in.post(
        reverse("health:diagnose", args=[kite.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()

    assert "Token expired: log in again." in steps
    assert fresh(kite).status == S.TOKEN_EXPIRED
    page = signed_in.get(reverse("health:diagnostics", args=[kite.pk])).content.decode()
    assert "Token expired: log in again to Zerodha." in page
    assert "TokenExpired" in page  # errors by type and recent calls


def test_retry_now_runs_a_trial_probe_at_once(signed_in, kite, clock):
    probes.sweep()
    kit.set_faults("zerodha", kite.account_id, outage=True)
    for seconds in (30, 10, 10):
        clock.shift(seconds)
        probes.sweep()
    assert fresh(kite).status == S.ERROR
    kit.clear_faults("zerodha", kite.account_id)
    clock.shift(1)

    answer = signed_in.post(reverse("health:retry", args=[kite.pk]), HTTP_HX_REQUEST="true")
    assert answer.content.decode() == "Checked: Recovering."
    clock.shift(state.RECOVERY_SECONDS)
    answer = signed_in.post(reverse("health:retry", args=[kite.pk]), HTTP_HX_REQUEST="true")
    assert answer.content.decode() == "Checked: Connected."
    assert ConnectionHealth.objects.get(pk=kite.pk).reconnect_attempts == 0


def test_retry_now_on_an_expired_session_asks_to_log_in(signed_in, trader):
    connection = BrokerConnectionFactory(user=trader, status=S.TOKEN_EXPIRED)
    answer = signed_in.post(reverse("health:retry", args=[connection.pk]), follow=True)
    assert "log in again" in answer.content.decode()


def test_alerts_and_the_check_interval_are_the_policys(signed_in, trader):
    """The diagnostics page shows what the policy says and links to where it is changed;
    the old preferences address leads there too, and nothing is saved by it."""
    connection = BrokerConnectionFactory(user=trader)
    state = policy_services.editing(trader)
    document = state.document
    (key,) = state.accounts
    notifications = document["brokers"][key]["notifications"]
    notifications["events"]["connection_down"] = ["email"]
    notifications["quiet_hours"] = {"start": "23:00", "end": "06:30"}
    document["brokers"][key]["api"]["health_check_seconds"] = 120
    saved = policy_services.save_profile(user=trader, document=document, version=state.version)

    page = signed_in.get(reverse("health:diagnostics", args=[connection.pk])).content.decode()
    alerts = page[page.index('id="alerts"') :]
    assert "Checked every 120 s" in alerts
    assert "quiet hours 23:00 to 06:30 IST" in alerts
    assert "<tr><td>Connection down</td><td>no</td><td>yes</td></tr>" in alerts
    tab = reverse("routing:broker_tab", args=[connection.pk, "notifications"])
    assert f'href="{tab}"' in alerts
    assert probes.interval_for(fresh(connection)) == 120

    answer = signed_in.post(
        reverse("health:preferences", args=[connection.pk]), {"in_app_alerts": "on"}
    )
    assert answer.status_code == 302 and answer["Location"] == tab
    assert policy_services.editing(trader).version == saved.number


def test_notifications_list_and_mark_read(signed_in, trader):
    Notification.objects.create(
        user=trader, kind="connection_down", title="Zerodha is down", dedupe_key="k1"
    )
    page = signed_in.get(reverse("health:notifications")).content.decode()
    assert "Zerodha is down" in page
    assert '<span id="unread-count" class="count">1</span>' in page

    signed_in.post(reverse("health:notifications_read"))
    assert not Notification.objects.filter(read_at__isnull=True).exists()


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("health:diagnostics", "get"),
        ("health:diagnose", "post"),
        ("health:retry", "post"),
        ("health:preferences", "post"),
        ("health:api_detail", "get"),
        ("health:api_retry", "post"),
    ],
)
def test_another_users_connection_is_a_404(name, method, signed_in, other_trader):
    theirs = BrokerConnectionFactory(user=other_trader)
    response = getattr(signed_in, method)(reverse(name, args=[theirs.pk]))
    assert response.status_code == 404
    assert fresh(theirs).status == S.CONNECTED
