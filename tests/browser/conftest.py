"""Playwright driving Debian's Chromium (no browser download) against Django's live server, or
against Daphne in a thread where a page needs its websocket.

Every page opened here runs under the Content-Security-Policy and the Permissions-Policy, and
its test fails if the browser refused anything on it.
"""

import os
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connections

from bench.server import daphne_in_thread

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

# The browser reports what a policy refused as a `securitypolicyviolation` event and on the
# console; both are collected.
_REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => window.reportViolation(
  `${e.effectiveDirective} refused ${e.blockedURI || "inline"} on ${document.location.pathname}`
  + (e.sample ? ` (${e.sample})` : "")
));
"""
_POLICY_WORDS = ("Content Security Policy", "Content-Security-Policy", "Permissions-Policy")
# htmx fires htmx:wsOpen when the page's socket is up: a test can wait for it.
WS_OPEN = "document.addEventListener('htmx:wsOpen', () => window.wsOpen = true)"


def wait_for_websocket(page, timeout: float = 15) -> None:
    """Until the page's socket is up (WS_OPEN). Polled from here: Playwright's own
    wait_for_function evaluates its predicate inside the page, where the policy forbids eval."""
    deadline = time.monotonic() + timeout
    while not page.evaluate("window.wsOpen === true"):
        assert time.monotonic() < deadline, "the page's websocket did not open"
        page.wait_for_timeout(50)


@pytest.fixture(scope="module")
def browser(chromium_path):
    # Playwright's sync API runs an event loop in this thread while it is open (so: per
    # module, never leaking into async tests elsewhere); the ORM calls the tests make around
    # it are ordinary synchronous ones.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def watch_policies(context) -> list[str]:
    """Every policy violation any page of ``context`` meets, as text."""
    violations: list[str] = []
    context.expose_binding("reportViolation", lambda _source, text: violations.append(text))
    context.add_init_script(_REPORT_VIOLATIONS)

    def on_console(message):
        if any(word in message.text for word in _POLICY_WORDS):
            violations.append(f"console: {message.text}")

    context.on("console", on_console)
    return violations


@contextmanager
def open_page(browser, base_url: str, *, height: int = 800, timeout: int = 10_000):
    """A page on ``base_url``; fails on leaving if a policy refused anything on it."""
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": height})
    violations = watch_policies(context)
    page = context.new_page()
    page.set_default_timeout(timeout)
    try:
        yield page
    finally:
        context.close()
    assert not violations, "policy violations:\n" + "\n".join(violations)


@pytest.fixture
def page(browser, live_server):
    with open_page(browser, live_server.url) as page:
        yield page


_server: dict = {}


@pytest.fixture(scope="session")
def asgi_server():
    """One Daphne for the session (Twisted's reactor runs once per process), in a thread of
    this process: the test database and the in-memory channel layer are shared."""
    if not _server:
        from channels.routing import ProtocolTypeRouter
        from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

        from config.asgi import application, django_asgi_app

        # As runserver does: static files from the finders, then the project's ASGI routing.
        routed = ProtocolTypeRouter(
            {
                "http": ASGIStaticFilesHandler(django_asgi_app),
                "websocket": application.application_mapping["websocket"],
            }
        )
        _server["url"] = daphne_in_thread(routed)
    return _server["url"]


@pytest.fixture
def server(asgi_server, settings):
    """The ASGI server, with every broker host pointed at its sandbox."""
    settings.BROKER_HOSTS = {
        broker: {host: f"{asgi_server}/sandbox/{broker}" for host in hosts}
        for broker, hosts in settings.BROKER_REAL_HOSTS.items()
    }
    # The server's threads close their database connections after each request, so nothing
    # holds the test database open when it is flushed or dropped.
    connections.settings["default"]["CONN_MAX_AGE"] = 0
    return asgi_server


@pytest.fixture
def screenshot(page, request):
    """Save a screenshot under test-artifacts/ (named after the test) and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)

    def take(name: str = "") -> Path:
        path = ARTIFACTS / f"{request.node.name}{'-' + name if name else ''}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
