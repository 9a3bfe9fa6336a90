"""Logging in to a broker's sandbox the way a trader does, for the tests that need a session.

A browser login opens the broker's page, keeps its hidden fields and the account it offers,
approves (or denies) and comes back on the redirect; the others send what the demo user types
(``demo_login_fields`` of the broker's sandbox). The ``logged_in`` fixture (conftest.py) is
``log_in`` for one broker.
"""

from __future__ import annotations

import importlib
import secrets
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urljoin, urlsplit

import requests

from brokers.adapters import registry
from brokers.adapters.base import BrokerAdapter
from brokers.models import Broker
from brokers.sandbox import demo
from brokers.types import AppCredentials, LoginKind

BROWSER_LOGINS = {LoginKind.REDIRECT_CHECKSUM, LoginKind.OAUTH2, LoginKind.CONSENT}


class LoginPage(HTMLParser):
    """A sandbox login page's form: its action, its hidden inputs and the preselected option
    of each select (the account), as a browser would post them."""

    def __init__(self):
        super().__init__()
        self.action, self.fields, self.options = None, {}, []
        self._select = ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = attrs.get("action") or ""
        elif tag == "input" and attrs.get("type") == "hidden" and attrs.get("name"):
            self.fields[attrs["name"]] = attrs.get("value") or ""
        elif tag == "select":
            self._select = attrs.get("name", "")
        elif tag == "option" and self._select:
            self.options.append(attrs["value"])
            if "selected" in attrs or self._select not in self.fields:
                self.fields[self._select] = attrs["value"]

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = ""


def demo_app(broker: str, base_url: str) -> AppCredentials:
    """The sandbox demo app of ``broker``, registered with this server's callback URL."""
    app = demo.DEMO_APPS[broker]
    return AppCredentials(
        api_key=app["api_key"],
        api_secret=app["api_secret"],
        redirect_uri=f"{base_url}/brokers/callback/{broker}/",
        client_id=app.get("client_id", ""),
        pin=app.get("pin", ""),
        extra={k: v for k, v in app.items() if k.startswith("marketdata_")},
    )


def anonymous(broker: str, base_url: str) -> BrokerAdapter:
    """The demo app's adapter before any login."""
    return registry.build(broker, app=demo_app(broker, base_url))


def approve_at_broker(
    url: str, *, decision: str = "approve", account_id: str = ""
) -> tuple[requests.Response, LoginPage, requests.Response]:
    """The trader on the broker's login page: (the page, its form, the answer to the post)."""
    page = requests.get(url, timeout=10)
    assert page.status_code == 200, page.text[:300]
    form = LoginPage()
    form.feed(page.text)
    chosen = {"account_id": account_id} if account_id else {}
    answer = requests.post(
        urljoin(page.url, form.action or page.url),
        data={**form.fields, **chosen, "decision": decision},
        allow_redirects=False,
        timeout=10,
    )
    return page, form, answer


def browser_login(
    adapter: BrokerAdapter,
    redirect_uri: str,
    *,
    state: str = "",
    decision: str = "approve",
    account_id: str = "",
) -> dict[str, str]:
    """Open the broker's page, approve (or deny), and return the redirect's parameters."""
    state = state or secrets.token_urlsafe(16)
    url = adapter.authorization_url(state=state, redirect_uri=redirect_uri)
    page, _, answer = approve_at_broker(url, decision=decision, account_id=account_id)
    assert f"{Broker(adapter.key).label} sandbox login" in page.text
    assert answer.status_code in (301, 302, 303), answer.text[:300]
    location = answer.headers["Location"]
    assert location.startswith(redirect_uri)
    params = dict(parse_qsl(urlsplit(location).query))
    if "state" in params:  # Dhan's consent redirect carries none
        assert params["state"] == state
    return params


def log_in(broker: str, base_url: str, *, account_id: str = "") -> BrokerAdapter:
    """An adapter of ``broker``'s demo app with a fresh session of its demo account."""
    app = demo_app(broker, base_url)
    adapter = registry.build(broker, app=app)
    if adapter.capabilities.login_kind in BROWSER_LOGINS:
        params = browser_login(adapter, app.redirect_uri, account_id=account_id)
    else:
        params = importlib.import_module(f"brokers.sandbox.{broker}").demo_login_fields()
    tokens = adapter.complete_login(params, redirect_uri=app.redirect_uri)
    assert tokens.access_token
    assert tokens.expires_at.tzinfo is not None
    return registry.build(broker, app=app, tokens=tokens, account=tokens.account_id)
