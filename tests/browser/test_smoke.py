import pytest

from tests.factories import TraderFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_trader_signs_in_and_reaches_the_dashboard(page, screenshot):
    TraderFactory(username="asha")

    page.goto("/")
    page.get_by_label("Username").fill("asha")
    page.get_by_label("Password").fill("correct-horse-battery-staple")
    screenshot("sign-in")
    page.get_by_role("button", name="Sign in").click()

    page.wait_for_url("**/")
    assert page.get_by_role("heading", name="Your broker connections").is_visible()
    assert page.get_by_text("No broker connected yet").is_visible()
    screenshot("dashboard")


def test_a_wrong_password_keeps_the_trader_on_the_sign_in_page(page):
    TraderFactory(username="asha")

    page.goto("/accounts/sign-in/")
    page.get_by_label("Username").fill("asha")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()

    assert page.get_by_role("alert").inner_text().startswith("Please enter a correct username")
