import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from accounts.roles import is_trader
from tests.factories import TraderFactory

PASSWORD = "correct-horse-battery-staple"


def sign_up(client, **overrides):
    data = {
        "username": "meera",
        "email": "meera@example.com",
        "password1": PASSWORD,
        "password2": PASSWORD,
        **overrides,
    }
    return client.post(reverse("accounts:sign_up"), data)


def test_sign_up_creates_a_signed_in_trader(client, db):
    response = sign_up(client)

    assert response.status_code == 302
    user = get_user_model().objects.get(username="meera")
    assert is_trader(user)
    assert client.get(reverse("dashboard")).status_code == 200


def test_sign_up_with_a_taken_name_shows_an_error_and_creates_nothing(client, trader):
    response = sign_up(client, username="ASHA")

    assert response.status_code == 400
    assert "That username is taken" in response.content.decode()
    assert get_user_model().objects.count() == 1


@pytest.mark.parametrize("password", ["123", "password", "qwertyuiop"])
def test_sign_up_with_a_weak_password_shows_an_error_and_creates_nothing(client, db, password):
    response = sign_up(client, password1=password, password2=password)

    assert response.status_code == 400
    assert "errorlist" in response.content.decode() or "field-error" in response.content.decode()
    assert not get_user_model().objects.exists()


def test_sign_in_reaches_the_dashboard(client, trader):
    response = client.post(
        reverse("accounts:sign_in"), {"username": "asha", "password": PASSWORD}, follow=True
    )

    assert response.redirect_chain[-1][0] == reverse("dashboard")
    assert "Your broker connections" in response.content.decode()


def test_a_wrong_password_is_refused_with_a_message(client, trader):
    response = client.post(reverse("accounts:sign_in"), {"username": "asha", "password": "nope"})

    assert response.status_code == 400
    assert "Please enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_sign_in_never_redirects_off_site(client, trader):
    response = client.post(
        reverse("accounts:sign_in") + "?next=https://evil.example.com/",
        {"username": "asha", "password": PASSWORD},
    )
    assert response["Location"] == reverse("dashboard")


def test_sign_out_needs_a_post(client, trader):
    client.force_login(trader)
    assert client.get(reverse("accounts:sign_out")).status_code == 405
    client.post(reverse("accounts:sign_out"))
    assert client.get(reverse("dashboard")).status_code == 302


def test_pages_need_a_signed_in_user(client, db):
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:sign_in"))


def test_sessions_expire_after_the_idle_time(client, trader, settings):
    client.force_login(trader)
    client.get(reverse("dashboard"))
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert int(cookie["max-age"]) == settings.SESSION_IDLE_HOURS * 3600


def test_forms_refuse_posts_without_a_csrf_token(db):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post(reverse("accounts:sign_in"), {"username": "x", "password": "y"})
    assert response.status_code == 403


def test_api_refuses_a_signed_in_user_without_the_trader_role(client, db):
    from tests.factories import UserFactory

    client.force_login(UserFactory(username="support"))
    assert client.get("/api/schema/").status_code == 200  # docs are public
    trader = TraderFactory(username="t2")
    assert is_trader(trader)
