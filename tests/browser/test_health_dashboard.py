"""With the health dashboard open, a fault injected into the sandbox turns the card red live.

Websockets need an ASGI server: Daphne runs in a thread of this process (the test database and
the in-memory channel layer are shared), serving the pages, /ws/brokers/ and the sandbox.
"""

import socket
import threading
import time
from datetime import timedelta

import pytest
import requests
import time_machine
from django.db import connections
from django.utils import timezone

from brokers.models import BrokerConnection
from brokers.models import ConnectionStatus as S
from health import probes
from tests.browser.conftest import ARTIFACTS
from tests.factories import TraderFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

_server: dict = {}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def asgi_server():
    """One Daphne for the session (Twisted's reactor runs once per process), in a thread."""
    if not _server:
        from channels.routing import ProtocolTypeRouter
        from daphne.server import Server
        from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

        from config.asgi import application, django_asgi_app

        # As runserver does: static files from the finders, then the project's ASGI routing.
        routed = ProtocolTypeRouter(
            {
                "http": ASGIStaticFilesHandler(django_asgi_app),
                "websocket": application.application_mapping["websocket"],
            }
        )
        port = _free_port()
        server = Server(
            routed,
            endpoints=[f"tcp:port={port}:interface=127.0.0.1"],
            signal_handlers=False,
            verbosity=0,
        )
        threading.Thread(target=server.run, name="daphne", daemon=True).start()
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                requests.get(f"{url}/healthz", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        _server["url"] = url
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
def page(browser, server):
    from health.store import LocalStore, store

    if isinstance(store(), LocalStore):
        store().clear()  # health state starts empty (Redis is flushed by the cache fixture)
    context = browser.new_context(base_url=server, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    # htmx fires htmx:wsOpen when the page's socket is up; remember it for the test.
    page.add_init_script("document.addEventListener('htmx:wsOpen', () => window.wsOpen = true)")
    yield page
    context.close()


def in_a_thread(fn):
    """Beat runs the sweep outside any event loop; Playwright's loop owns this thread."""
    outcome = {}
    worker = threading.Thread(target=lambda: outcome.setdefault("value", fn()))
    worker.start()
    worker.join(60)
    return outcome.get("value")


def test_a_sandbox_fault_turns_the_card_red_without_a_reload(page, server):
    from tests.brokers.test_connections import connect

    trader = TraderFactory(username="asha")
    connection = in_a_thread(lambda: connect(trader, "zerodha", server).connection)
    in_a_thread(probes.sweep)

    page.goto("/accounts/sign-in/")
    page.get_by_label("Username").fill("asha")
    page.get_by_label("Password").fill("correct-horse-battery-staple")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")
    page.get_by_role("link", name="Health", exact=True).click()
    page.wait_for_url("**/health/")
    row = page.locator(f"#health-{connection.pk}")
    assert "colour-green" in row.get_attribute("class")
    page.wait_for_function("window.wsOpen === true")
    page.evaluate("window.notReloaded = true")
    page.screenshot(path=str(ARTIFACTS / "test_health_dashboard-before.png"), full_page=True)

    # The fault, through the sandbox's own API: the broker answers 503 to everything.
    answer = requests.put(
        f"{server}/sandbox/api/faults/zerodha/?account={connection.account_id}",
        json={"outage": True},
        timeout=10,
    )
    assert answer.status_code == 200

    # Beat's sweeps as time passes: the failure is confirmed, the breaker opens.
    with time_machine.travel(timezone.now(), tick=True) as clock:
        for seconds in (30, 10, 10):
            clock.shift(timedelta(seconds=seconds))
            in_a_thread(probes.sweep)
    assert BrokerConnection.objects.get(pk=connection.pk).status == S.ERROR

    page.wait_for_selector(f'#health-{connection.pk}.colour-red[data-status="ERROR"]')
    assert page.evaluate("window.notReloaded") is True
    assert "CRITICAL" in row.inner_text() and "OPEN" in row.inner_text()
    page.screenshot(path=str(ARTIFACTS / "test_health_dashboard-red.png"), full_page=True)

    requests.delete(f"{server}/sandbox/api/faults/zerodha/?account={connection.account_id}")
