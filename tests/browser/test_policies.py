"""Every page under the Content-Security-Policy and the Permissions-Policy: the browser
refuses nothing anywhere (tests/browser/conftest.py collects what it would refuse).

The pages come from the URL configuration itself (tests/urlwalk.py), so a page added later is
visited too; the flows that need more than a GET (every broker's wizard through its sandbox
login, the htmx buttons, a failed login, the websocket on Daphne, admin as support staff and
the interactive API docs) are driven as a person would.
"""

from urllib.parse import urlsplit

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import Resolver404, resolve

from brokers.models import Broker, BrokerConnection
from brokers.sandbox import kit
from brokers.sandbox.demo import DEMO_APPS
from tests.browser.conftest import ARTIFACTS, WS_OPEN, open_page, wait_for_websocket
from tests.factories import TraderFactory
from tests.urlwalk import routes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery-staple"
SHOTS = ARTIFACTS / "every-page"


def _walked_pages(connection: BrokerConnection) -> list[str]:
    """Every page of the URL configuration but the API (JSON, the fuzzer's), the sandbox's
    broker endpoints (their login pages come through the wizard) and admin (walked from its
    registry below); sign-out is a button, pressed at the end. A page that takes a broker is
    walked for the connection's broker: the wizard has shown every broker's pages already."""
    paths = []
    for route in routes({"pk": str(connection.pk), "broker": connection.broker}):
        parts = route.path.strip("/").split("/")
        if route.path.startswith(("/api/", "/admin/")) or route.name == "accounts:sign_out":
            continue
        if parts[0] == "sandbox" and len(parts) > 1 and parts[1] in Broker.values:
            continue
        paths.append(route.path)
    return paths


class Visit:
    """Loads pages, keeps a screenshot of each, and records every path the browser reached."""

    def __init__(self, page):
        self.page = page
        self.reached: set[str] = set()
        self.failed: list[str] = []
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.on("framenavigated", lambda frame: self.reached.add(urlsplit(frame.url).path))
        page.on(
            "response",
            lambda r: self.failed.append(f"{r.status} {r.url}") if r.status >= 500 else None,
        )

    def shot(self, name: str):
        safe = name.strip("/").replace("/", "_") or "root"
        self.page.screenshot(path=str(SHOTS / f"{safe}.png"))

    def go(self, path: str):
        fetched = self.page.request.get(path)
        if "attachment" in fetched.headers.get("content-disposition", ""):
            # A download (the policy export): no page to render, the headers still apply.
            headers = fetched.headers
            assert "script-src 'self'" in headers.get("content-security-policy", ""), path
            self.reached.add(path)
            return
        answer = self.page.goto(path)  # until "load": deferred scripts (htmx, ours) have run
        headers = answer.all_headers()
        assert "script-src 'self'" in headers.get("content-security-policy", ""), path
        assert "camera=()" in headers.get("permissions-policy", ""), path
        self.shot(path)


def _sign_in(page, path: str, username: str, button: str):
    page.goto(path)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name=button).click()


def _connect_every_broker(visit: Visit):
    page = visit.page
    for broker in Broker:
        page.goto("/brokers/connect/")
        page.get_by_role("link", name=broker.label).first.click()
        page.get_by_role("button", name="Fill in the sandbox demo app").click()  # static/js
        visit.shot(f"wizard-app-{broker.value}")
        page.get_by_role("button", name=f"Save and log in to {broker.label}").click()
        page.wait_for_load_state("networkidle")
        visit.shot(f"wizard-login-{broker.value}")
        authorize = page.get_by_role("button", name="Log in and authorize")
        if authorize.count():  # the broker's own (sandbox) login page
            authorize.click()
        else:  # typed at our page, never stored
            values = DEMO_APPS[broker.value]
            for name, value in (
                ("clientcode", values.get("client_id", "")),
                ("pin", values.get("pin", "")),
                (
                    "totp",
                    kit.totp(values.get("totp_secret", "")) if "totp_secret" in values else "",
                ),
            ):
                field = page.locator(f"[name={name}]")
                if field.count():
                    field.fill(value)
            page.get_by_role("button", name=f"Connect {broker.label}").click()
        page.wait_for_url("**/connected/")
        visit.shot(f"wizard-connected-{broker.value}")


def test_every_page_loads_without_a_policy_violation(
    browser, live_server, asgi_server, sandbox_hosts, worker
):
    TraderFactory(username="asha")
    get_user_model().objects.create_superuser("support", "support@example.com", PASSWORD)

    with open_page(browser, live_server.url, timeout=20_000) as page:
        page.add_init_script(WS_OPEN)
        visit = Visit(page)

        # Signed out: the sign-in and sign-up pages, admin's sign-in, the interactive API docs.
        for path in ("/accounts/sign-in/", "/accounts/sign-up/", "/admin/login/"):
            visit.go(path)
        page.goto("/api/docs/")
        page.wait_for_selector(".opblock", state="attached")  # Swagger UI ran and drew
        visit.shot("api-docs")

        _sign_in(page, "/accounts/sign-in/", "asha", "Sign in")
        page.wait_for_url("**/")

        _connect_every_broker(visit)
        connection = BrokerConnection.objects.order_by("broker").first()
        assert BrokerConnection.objects.count() == len(Broker)

        # htmx at work: a sync, a line opened (static/js), a retry, a diagnosis.
        page.goto("/portfolio/")
        page.get_by_role("button", name="Sync now").click()
        page.wait_for_load_state("networkidle")
        page.goto("/portfolio/")
        opener = page.locator("button.expand").first
        opener.click()
        assert opener.get_attribute("aria-expanded") == "true"
        visit.shot("portfolio-opened")
        page.goto(f"/health/connections/{connection.pk}/")
        page.get_by_role("button", name="Run diagnosis").click()
        page.wait_for_selector("#diagnosis table, #diagnosis li", state="attached")
        visit.shot("diagnosis")
        page.goto("/")
        page.get_by_role("button", name="Retry now").first.click()
        page.wait_for_load_state("networkidle")

        # A login that cannot complete: the failure page.
        visit.go("/brokers/callback/upstox/?code=not-ours&state=not-ours")

        # Every page of the URL configuration, for every broker where a page takes one.
        for path in _walked_pages(connection):
            if page.request.get(path, max_redirects=0).status == 405:
                continue  # a button's endpoint (POST only), pressed above where it matters
            visit.go(path)

        # The websocket, on Daphne (the live server speaks no websocket): same origin, allowed.
        # Same host name as the live server's, so the session cookie goes along.
        daphne = f"http://{urlsplit(live_server.url).hostname}:{urlsplit(asgi_server).port}"
        page.goto(f"{daphne}/")
        assert page.get_by_role("heading", name="Your broker connections").is_visible()
        wait_for_websocket(page)
        visit.shot("dashboard-live")

        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url("**/accounts/sign-in/")

        # Support staff in admin: every registered model's list, add and change pages.
        _sign_in(page, "/admin/login/", "support", "Log in")
        page.wait_for_url("**/admin/")
        visit.shot("admin")
        for model in admin.site._registry:
            meta = model._meta
            base = f"/admin/{meta.app_label}/{meta.model_name}/"
            visit.go(base)
            visit.go(base + "add/")
            first = model._default_manager.first()
            if first is not None:
                visit.go(f"{base}{first.pk}/change/")

    assert not visit.failed, visit.failed
    names = set()
    for path in visit.reached:
        try:
            match = resolve(path)
        except Resolver404:
            continue
        names.add(f"{match.namespace}:{match.url_name}" if match.namespace else match.url_name)
    # The wizard's every step and the brokers' own login pages were reached, not only walked.
    assert {
        "brokers:connect",
        "brokers:connect_app",
        "brokers:connect_login",
        "brokers:connected",
        "brokers:callback",
    } <= names
