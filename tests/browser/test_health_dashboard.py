"""With the health dashboard open, a fault injected into the sandbox turns the card red live.

Websockets need an ASGI server: Daphne in a thread of this process (tests/browser/conftest.py).
"""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from brokers.models import BrokerConnection
from brokers.models import ConnectionStatus as S
from brokers.sandbox.management.commands.sandbox_faults import remote_faults
from health import probes, state
from tests.browser.conftest import ARTIFACTS, WS_OPEN, open_page, wait_for_websocket
from tests.factories import TraderFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(browser, server):
    from health.store import LocalStore, store

    if isinstance(store(), LocalStore):
        store().clear()  # health state starts empty (Redis is flushed by the cache fixture)
    with open_page(browser, server, height=900, timeout=15_000) as page:
        # htmx fires htmx:wsOpen when the page's socket is up; remember it for the test.
        page.add_init_script(WS_OPEN)
        yield page


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
    wait_for_websocket(page)
    page.evaluate("window.notReloaded = true")
    page.screenshot(path=str(ARTIFACTS / "test_health_dashboard-before.png"), full_page=True)

    # The fault, through the sandbox's own API as the sandbox_faults command sends it: the
    # broker answers 503 to everything.
    faults = remote_faults(server, "zerodha", connection.account_id, {"outage": True})
    assert faults["outage"] is True

    # Beat's sweeps as time passes: the failure is confirmed, the breaker opens.
    with time_machine.travel(timezone.now(), tick=True) as clock:
        for seconds in (30, 10, 10):
            clock.shift(timedelta(seconds=seconds))
            in_a_thread(probes.sweep)
    assert BrokerConnection.objects.get(pk=connection.pk).status == S.ERROR

    page.wait_for_selector(f'#health-{connection.pk}.colour-red[data-status="ERROR"]')
    assert page.evaluate("window.notReloaded") is True
    # Each sweep pushes what it changed: the red card may arrive before the open breaker.
    expect(row).to_contain_text("OPEN")
    assert "CRITICAL" in row.inner_text()
    assert row.locator(".status-word").inner_text() == "Down"
    page.screenshot(path=str(ARTIFACTS / "test_health_dashboard-red.png"), full_page=True)

    remote_faults(server, "zerodha", connection.account_id, clear=True)


def sign_in(page, username: str) -> None:
    page.goto("/accounts/sign-in/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("correct-horse-battery-staple")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")


def test_recovery_shows_recovering_then_green_live(page, server):
    from tests.brokers.test_connections import connect

    trader = TraderFactory(username="ravi")
    connection = in_a_thread(lambda: connect(trader, "zerodha", server).connection)
    in_a_thread(probes.sweep)
    sign_in(page, "ravi")
    page.goto("/health/")
    wait_for_websocket(page)
    row = f"#health-{connection.pk}"

    try:
        remote_faults(server, "zerodha", connection.account_id, {"outage": True})
        with time_machine.travel(timezone.now(), tick=True) as clock:
            for seconds in (30, 10, 10):
                clock.shift(timedelta(seconds=seconds))
                in_a_thread(probes.sweep)
            page.wait_for_selector(f'{row}[data-state="Down"].colour-red')

            # The broker is back; the trader retries: Recovering (yellow) at once, live.
            remote_faults(server, "zerodha", connection.account_id, clear=True)
            clock.shift(timedelta(seconds=1))
            page.locator(row).get_by_role("button", name="Retry now").click()
            page.wait_for_selector(f'{row}[data-state="Recovering"].colour-yellow')
            page.screenshot(path=str(ARTIFACTS / "test_health_recovering.png"), full_page=True)

            # Probes every 5 s while recovering; green once the good calls span 20 s.
            for _ in range(state.RECOVERY_SECONDS // probes.HALF_OPEN_SECONDS):
                clock.shift(timedelta(seconds=probes.HALF_OPEN_SECONDS))
                in_a_thread(probes.sweep)
            page.wait_for_selector(f'{row}[data-state="Connected"].colour-green')
        assert page.locator(f"{row} .badge").inner_text() in ("EXCELLENT", "GOOD")
        page.screenshot(path=str(ARTIFACTS / "test_health_recovered.png"), full_page=True)
    finally:
        remote_faults(server, "zerodha", connection.account_id, clear=True)


# Counts the socket's messages a page has swapped (htmx fires this after each one).
WS_MESSAGES = (
    "document.addEventListener('htmx:wsAfterMessage', "
    "() => window.wsMessages = (window.wsMessages || 0) + 1)"
)


def test_every_page_keeps_a_clean_console_while_pushes_arrive(browser, server):
    """htmx logs oobErrorNoTarget (a console error) for a pushed fragment whose target is not
    on the page: no page may show one, nor any other console error or warning."""
    from brokers import states
    from health.store import LocalStore, store
    from tests.brokers.test_connections import connect

    if isinstance(store(), LocalStore):
        store().clear()
    trader = TraderFactory(username="meera")
    connection = in_a_thread(lambda: connect(trader, "zerodha", server).connection)
    other = in_a_thread(lambda: connect(trader, "upstox", server).connection)
    pages = [
        "/",
        "/health/",
        f"/health/connections/{connection.pk}/",
        "/portfolio/",
        "/health/notifications/",
    ]
    with open_page(browser, server, height=900, timeout=15_000) as page:
        console: list[str] = []
        page.on(
            "console",
            lambda m: (
                console.append(f"{m.type}: {m.text} ({m.location.get('url', '')})")
                if m.type in ("error", "warning")
                else None
            ),
        )
        page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
        page.add_init_script(WS_OPEN)
        page.add_init_script(WS_MESSAGES)
        sign_in(page, "meera")
        for path in pages:
            page.goto(path)
            has_socket = page.locator("[ws-connect]").count() > 0
            if has_socket:
                wait_for_websocket(page)
            # A change of each connection: pushed to every open page of the trader.
            for target in (connection, other):
                fresh = BrokerConnection.objects.get(pk=target.pk)
                to = S.ERROR if fresh.status == S.CONNECTED else S.CONNECTED
                in_a_thread(lambda c=fresh, to=to: states.transition(c, to, reason="test"))
            if has_socket:
                deadline = 50
                while not page.evaluate("(window.wsMessages || 0) >= 1") and deadline:
                    page.wait_for_timeout(100)
                    deadline -= 1
                assert deadline, f"no push reached {path}"
            page.wait_for_timeout(300)
            assert not console, f"{path}: " + "\n".join(console)
