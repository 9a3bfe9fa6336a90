"""A trader makes an API token in the browser, copies it once, uses it, and revokes it; a
locked sign-in tells them how to get back in."""

import re

import pytest
import requests

from tests.factories import TraderFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, password="correct-horse-battery-staple"):
    page.goto("/accounts/sign-in/")
    page.get_by_label("Username").fill("asha")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_a_token_is_made_shown_once_used_and_revoked(page, screenshot, live_server):
    TraderFactory(username="asha")
    sign_in(page)
    page.wait_for_url("**/")
    page.get_by_role("link", name="API tokens").click()
    page.get_by_label("Name").fill("nightly export")
    page.get_by_label("Valid for").select_option("30")
    page.get_by_role("button", name="Make the token").click()

    token = page.get_by_label("Your new token").input_value()
    assert re.fullmatch(r"mbt_[0-9a-f]{64}", token)
    screenshot("made")
    answer = requests.get(
        f"{live_server.url}/api/v1/brokers/connections",
        headers={"Authorization": f"Token {token}"},
        timeout=10,
    )
    assert answer.status_code == 200

    page.goto("/accounts/tokens/")  # the page again: the token is not shown a second time
    assert token not in page.content()
    row = page.locator("#tokens tbody tr")
    assert "nightly export" in row.inner_text()
    assert token[:12] in row.inner_text()
    screenshot("listed")

    row.get_by_role("button", name="Revoke").click()
    assert "is revoked" in page.get_by_role("listitem").first.inner_text()
    assert page.get_by_text("No tokens yet").is_visible()
    again = requests.get(
        f"{live_server.url}/api/v1/brokers/connections",
        headers={"Authorization": f"Token {token}"},
        timeout=10,
    )
    assert again.status_code == 403


def test_a_locked_sign_in_says_how_to_get_back_in(page, screenshot, settings):
    settings.SIGN_IN_MAX_FAILURES = 2
    TraderFactory(username="asha")
    for _ in range(2):
        sign_in(page, "wrong")
    sign_in(page)

    alert = page.get_by_role("alert").inner_text()
    assert "Too many failed sign-ins" in alert
    screenshot("locked")
    page.get_by_role("link", name="reset your password by e-mail").click()
    assert page.get_by_role("heading", name="Reset your password").is_visible()
