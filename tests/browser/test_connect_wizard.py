"""A trader connects Zerodha and Upstox through the wizard and the brokers' (sandbox) logins."""

import pytest

from brokers.models import BrokerConnection, ConnectionStatus
from tests.factories import TraderFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page):
    TraderFactory(username="asha")
    page.goto("/accounts/sign-in/")
    page.get_by_label("Username").fill("asha")
    page.get_by_label("Password").fill("correct-horse-battery-staple")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")


@pytest.mark.parametrize(("broker", "label"), [("zerodha", "Zerodha"), ("upstox", "Upstox")])
def test_the_wizard_reaches_connected(broker, label, page, screenshot, sandbox_hosts):
    sign_in(page)
    page.get_by_role("link", name="Connect a broker").click()
    page.get_by_role("link", name=label).first.click()
    assert page.locator("[aria-current=step]").inner_text().strip().endswith("App")

    page.get_by_role("button", name="Fill in the sandbox demo app").click()
    screenshot("app")
    page.get_by_role("button", name=f"Save and log in to {label}").click()

    # The broker's own (sandbox) login page
    page.wait_for_selector("select[name=account_id]")
    screenshot("broker-login")
    page.get_by_role("button", name="Log in and authorize").click()

    page.wait_for_url("**/connected/")
    assert page.locator("#connection-status").inner_text() == "CONNECTED"
    assert int(page.locator("#holdings-count").inner_text()) > 0
    screenshot("connected")

    connection = BrokerConnection.objects.get(broker=broker)
    assert connection.status == ConnectionStatus.CONNECTED

    page.get_by_role("link", name="Go to the dashboard").click()
    card = page.locator(f"#connection-{connection.pk}")
    assert "Connected" in card.inner_text()
    screenshot("dashboard")
