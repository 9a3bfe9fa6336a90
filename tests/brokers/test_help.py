import pytest
from django.urls import reverse

from brokers.help import HELP, redirect_url
from brokers.models import Broker

SITE = "https://trade.example.com"
NEEDS_REDIRECT = ["zerodha", "upstox", "fyers", "dhan"]
NO_REDIRECT = ["groww", "iifl"]


@pytest.fixture
def signed_in(client, trader, settings):
    settings.SITE_URL = SITE
    client.force_login(trader)
    return client


def page(client, broker):
    response = client.get(reverse("brokers:help", args=[broker]))
    assert response.status_code == 200
    return response.content.decode()


def test_every_broker_has_a_help_entry():
    assert set(HELP) == set(Broker.values)


@pytest.mark.parametrize("broker", Broker.values)
def test_each_page_renders_the_four_sections_and_the_sebi_date(signed_in, broker):
    html = page(signed_in, broker)

    assert "1 April 2026" in html
    for section in ("create-app", "redirect-url", "daily-login", "static-ip"):
        assert f'id="{section}"' in html
    for other in Broker.values:
        assert f'href="/brokers/help/{other}/"' in html


@pytest.mark.parametrize("broker", NEEDS_REDIRECT)
def test_redirect_brokers_show_the_exact_callback_url(signed_in, broker):
    html = page(signed_in, broker)

    assert f"{SITE}/brokers/callback/{broker}/" in html


@pytest.mark.parametrize("broker", NO_REDIRECT)
def test_brokers_without_a_browser_login_say_no_redirect_is_needed(signed_in, broker):
    html = page(signed_in, broker)

    assert "Not needed" in html
    assert "/brokers/callback/" not in html


def test_angel_one_needs_no_redirect_but_shows_it_for_publisher_login(signed_in):
    html = page(signed_in, "angelone")

    assert "Not needed" in html
    assert "publisher" in html
    assert f"{SITE}/brokers/callback/angelone/" in html


def test_zerodha_page_tells_the_daily_login_rule(signed_in):
    html = page(signed_in, "zerodha")

    assert "06:00 IST" in html


def test_redirect_url_follows_site_url_without_doubling_the_slash(settings):
    settings.SITE_URL = SITE + "/"

    assert redirect_url("upstox") == f"{SITE}/brokers/callback/upstox/"


def test_unknown_broker_is_404(signed_in):
    response = signed_in.get(reverse("brokers:help", args=["sharekhan"]))

    assert response.status_code == 404


def test_anonymous_user_is_sent_to_sign_in(client, db):
    url = reverse("brokers:help", args=["zerodha"])

    response = client.get(url)

    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:sign_in"))
    assert "next=" in response.url


@pytest.mark.parametrize("broker", Broker.values)
def test_each_page_shows_the_servers_registered_egress_ip(signed_in, settings, broker):
    settings.STATIC_EGRESS_IP = "203.0.113.7"
    assert "<code>203.0.113.7</code>" in page(signed_in, broker)
    settings.STATIC_EGRESS_IP = ""
    assert "203.0.113.7" not in page(signed_in, broker)
