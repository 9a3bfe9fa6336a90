"""The Content-Security-Policy and the Permissions-Policy on every answer, and templates that
need nothing the policy forbids. The browser's own verdict: tests/browser/test_policies.py."""

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def _directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {
        name: values
        for name, *values in (part.split() for part in policy.split(";") if part.strip())
    }


@pytest.mark.parametrize("path", ["/accounts/sign-in/", "/api/docs/", "/healthz", "/admin/login/"])
def test_every_answer_carries_a_strict_policy(client, path):
    response = client.get(path)

    directives = _directives(response)
    assert directives["script-src"] == ["'self'"]  # no inline script, no eval, no CDN
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in response["Permissions-Policy"]


def test_the_websocket_and_the_brokers_login_pages_are_allowed(client, settings):
    directives = _directives(client.get("/accounts/sign-in/"))

    assert directives["connect-src"][0] == "'self'"  # /ws/brokers/ is same-origin
    assert directives["connect-src"][1].startswith(("ws://", "wss://"))
    # The app step answers its form with a redirect to the broker's own login page.
    zerodha_login = settings.BROKER_HOSTS["zerodha"]["LOGIN"]
    assert any(zerodha_login.startswith(origin) for origin in directives["form-action"])


def test_a_style_element_gets_the_requests_nonce(client):
    response = client.get("/api/docs/")

    nonce = re.search(r'<style nonce="([^"]+)"', response.content.decode())[1]
    assert f"'nonce-{nonce}'" in _directives(response)["style-src"]
    assert "<script>" not in response.content.decode()  # Swagger UI's start-up is a file
    start = client.get("/api/docs/?script=")
    assert start.status_code == 200
    assert start["Content-Type"].startswith("application/javascript")


def test_no_template_needs_what_the_policy_forbids():
    forbidden = re.compile(
        r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>"  # inline script
        r"|\son[a-z]+\s*="  # onclick= and friends
        r"|\bhx-on|javascript:"
        r"|<style\b(?![^>]*\bnonce=)"
    )
    offenders = [
        f"{path.relative_to(TEMPLATES)}: {match.group(0)}"
        for path in TEMPLATES.rglob("*.html")
        for match in forbidden.finditer(path.read_text())
    ]
    assert offenders == []
