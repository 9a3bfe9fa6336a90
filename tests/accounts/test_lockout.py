"""Failed sign-ins lock one username from one address for a while, at the trader sign-in and
at the admin's alike; nobody else is locked out, and the owner gets back in by a reset."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from tests.factories import UserFactory

PASSWORD = "correct-horse-battery-staple"
SIGN_IN = reverse("accounts:sign_in")
ADMIN = "/admin/login/"

pytestmark = pytest.mark.django_db


def sign_in(client, username, password, *, address="198.51.100.10", url=SIGN_IN, **headers):
    return client.post(
        url, {"username": username, "password": password}, REMOTE_ADDR=address, **headers
    )


def fail(client, username, times, **kwargs):
    for _ in range(times):
        answer = sign_in(client, username, "wrong-guess", **kwargs)
        assert answer.status_code in (200, 400, 429)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


@pytest.fixture
def staff(db):
    return UserFactory(username="support", is_staff=True, is_superuser=True)


def test_the_admin_sign_in_locks_after_repeated_failures(client, staff):
    fail(client, "support", 30, url=ADMIN)

    answer = sign_in(client, "support", PASSWORD, url=ADMIN)

    assert answer.status_code == 429
    assert not signed_in(client)
    assert "Too many failed sign-ins" in answer.content.decode()


def test_failures_at_the_admin_and_the_trader_sign_in_count_together(client, staff):
    fail(client, "support", 3, url=ADMIN)
    fail(client, "support", 2)
    assert sign_in(client, "support", PASSWORD, url=ADMIN).status_code == 429
    assert not signed_in(client)


def test_the_trader_sign_in_locks_even_with_the_right_password(client, trader, settings):
    settings.SIGN_IN_MAX_FAILURES = 3
    fail(client, "asha", 3)

    answer = sign_in(client, "asha", PASSWORD)

    assert answer.status_code == 429
    html = answer.content.decode()
    assert "Too many failed sign-ins" in html
    assert "15 minutes" in html
    assert reverse("accounts:password_reset") in html
    assert not signed_in(client)


def test_one_address_never_locks_the_owner_at_another(client, trader):
    fail(client, "asha", 5, address="203.0.113.66")
    assert sign_in(client, "asha", PASSWORD, address="203.0.113.66").status_code == 429

    answer = sign_in(client, "asha", PASSWORD, address="198.51.100.10")

    assert answer.status_code == 302
    assert signed_in(client)


def test_one_username_never_locks_another_from_the_same_address(client, trader, other_trader):
    fail(client, "asha", 5, address="203.0.113.66")

    answer = sign_in(client, "charlie", PASSWORD, address="203.0.113.66")

    assert answer.status_code == 302
    assert signed_in(client)


def test_the_lock_ends_after_the_cool_off(client, trader, settings):
    settings.SIGN_IN_LOCKOUT_MINUTES = 15
    fail(client, "asha", 5)
    assert sign_in(client, "asha", PASSWORD).status_code == 429

    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        answer = sign_in(client, "asha", PASSWORD)

    assert answer.status_code == 302


def test_a_success_forgets_earlier_failures(client, trader):
    fail(client, "asha", 4)
    assert sign_in(client, "asha", PASSWORD).status_code == 302
    client.post(reverse("accounts:sign_out"))
    fail(client, "asha", 4)
    assert sign_in(client, "asha", PASSWORD).status_code == 302


def test_forwarded_addresses_are_ignored_unless_a_proxy_is_trusted(client, trader):
    # Without TRUSTED_PROXY_COUNT a client cannot pick its address: every forged
    # X-Forwarded-For still counts against the socket's address.
    for n in range(5):
        sign_in(client, "asha", "wrong", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    answer = sign_in(client, "asha", PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.99")
    assert answer.status_code == 429


def test_behind_a_trusted_proxy_each_trader_has_their_own_address(client, trader, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.2"  # every request arrives from the proxy
    fail(client, "asha", 5, address=proxy, HTTP_X_FORWARDED_FOR="203.0.113.66")
    locked = sign_in(client, "asha", PASSWORD, address=proxy, HTTP_X_FORWARDED_FOR="203.0.113.66")
    assert locked.status_code == 429

    # The owner elsewhere, behind the same proxy; a client's own forged entry is not trusted:
    # only the one the proxy appended (the right-most) names the client.
    answer = sign_in(
        client,
        "asha",
        PASSWORD,
        address=proxy,
        HTTP_X_FORWARDED_FOR="203.0.113.66, 198.51.100.7",
    )
    assert answer.status_code == 302


def test_a_password_reset_unlocks_the_owner(client, trader):
    fail(client, "asha", 5)
    assert sign_in(client, "asha", PASSWORD).status_code == 429

    sent = client.post(reverse("accounts:password_reset"), {"email": "asha@example.com"})
    assert sent.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    new = "a-fresh-password-for-asha-2026"
    done = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": new, "new_password2": new}
    )
    assert done.status_code == 302

    assert sign_in(client, "asha", new).status_code == 302
    assert signed_in(client)


def test_a_reset_request_for_an_unknown_address_says_the_same_and_sends_nothing(client, trader):
    answer = client.post(reverse("accounts:password_reset"), {"email": "nobody@example.com"})
    assert answer.status_code == 302
    assert answer["Location"] == reverse("accounts:password_reset_done")
    assert not mail.outbox


def test_the_lock_is_recorded_without_the_password(client, trader):
    from axes.models import AccessAttempt

    fail(client, "asha", 2)
    attempt = AccessAttempt.objects.get(username="asha")
    assert "wrong-guess" not in attempt.post_data
    assert attempt.failures_since_start == 2
