"""A trader finds an instrument, sees the preview, confirms and places a market order, then
watches it turn FILLED on the order book without a reload (the ORDER_UPDATE push).

Websockets need an ASGI server: Daphne in a thread of this process (tests/browser/conftest.py).
The clock is moved to the next market morning (the risk checks refuse orders outside NSE's
session); forward, never back, so that the browser keeps the session cookie it is given.
"""

import threading
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
import time_machine

from brokers.clock import IST
from brokers.sandbox import kit
from brokers.services import load_master_if_stale
from brokers.types import OrderType, Product, Side
from routing.orders import services
from routing.orders.inputs import OrderInput
from routing.orders.models import Order, OrderState
from routing.policy import calendar
from routing.policy import services as policy_services
from tests.browser.conftest import ARTIFACTS, WS_OPEN, open_page, wait_for_websocket
from tests.factories import TraderFactory
from tests.portfolio.conftest import connect_demo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def next_market_morning() -> datetime:
    day = datetime.now(IST).date() + timedelta(days=1)
    while day.weekday() >= 5 or day in calendar.HOLIDAYS.get(day.year, {}):
        day += timedelta(days=1)
    return datetime.combine(day, time(10, 30), IST)


def in_a_thread(fn):
    """Server-side work (a worker's, pushing through async_to_sync) runs outside the event
    loop Playwright keeps in this thread."""
    outcome = {}
    worker = threading.Thread(target=lambda: outcome.setdefault("value", fn()))
    worker.start()
    worker.join(60)
    return outcome.get("value")


@pytest.fixture
def market():
    with time_machine.travel(next_market_morning(), tick=True) as clock:
        yield clock


@pytest.fixture
def page(browser, server, market):
    with open_page(browser, server, height=1000, timeout=15_000) as page:
        page.add_init_script(WS_OPEN)
        yield page


@pytest.fixture
def asha(server):
    def setup():
        trader = TraderFactory(username="asha")
        connection = connect_demo(trader, "zerodha", server)
        load_master_if_stale(connection)
        return trader

    return in_a_thread(setup)


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"test_order_pages-{name}.png"), full_page=True)


def sign_in(page) -> None:
    page.goto("/accounts/sign-in/")
    page.get_by_label("Username").fill("asha")
    page.get_by_label("Password").fill("correct-horse-battery-staple")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")


def test_ticket_preview_confirm_place_then_filled_live_on_the_book(page, asha, market):
    sign_in(page)
    page.get_by_role("link", name="Orders", exact=True).click()
    page.wait_for_url("**/orders/")
    assert "No orders yet" in page.locator("#order-book").inner_text()
    page.get_by_role("link", name="New order").click()
    page.wait_for_url("**/orders/new/")
    assert "Kill switch off" in page.locator("#kill-switch-state").inner_text()

    # The search over the instrument masters; choosing a result fills the ticket.
    page.get_by_label("Find an instrument").fill("infosys")
    page.locator("button.instrument-choice[data-ref='NSE:INFY']").click()
    assert page.get_by_label("Instrument", exact=True).input_value() == "NSE:INFY"
    page.locator("#breaches").wait_for()

    # Checked as it is typed: a fractional quantity, a price on a market order.
    page.get_by_label("Quantity").fill("1.5")
    assert page.locator("#err-quantity").inner_text() == "Quantity 1.5 is not a whole number."
    page.get_by_label("Price").first.fill("1500.03")
    assert "takes no price" in page.locator("#err-price").inner_text()
    page.locator("#blocked").wait_for()
    shot(page, "bad-input")
    assert Order.objects.count() == 0

    page.get_by_label("Price").first.fill("")
    page.get_by_label("Quantity").fill("2")
    page.locator("#breaches.gain").wait_for()
    assert page.locator("#err-quantity").inner_text() == ""
    chosen = page.locator("#decision tr.chosen")
    assert "Zerodha" in chosen.inner_text() and "₹" in chosen.inner_text()
    shot(page, "preview")

    page.get_by_role("button", name="Review order").click()
    confirm = page.locator("#confirm")
    confirm.wait_for()
    assert "BUY 2 \u00d7 NSE:INFY MARKET" in confirm.inner_text()
    assert "Zerodha" in confirm.inner_text() and "Estimated charges ₹" in confirm.inner_text()
    shot(page, "confirm")
    page.get_by_role("button", name="Place order").dblclick()  # one order, however many clicks

    page.wait_for_url("**/orders/*-*/")
    order = Order.objects.get()
    assert len(kit.orders("zerodha", order.connection.account_id)) == 1
    assert order.status in (OrderState.PLACED, OrderState.OPEN), order.status_reason
    assert "Order sent to Zerodha." in page.locator(".messages").inner_text()
    assert order.attempts.get().tag in page.locator("table.attempts").inner_text()
    shot(page, "detail")

    page.get_by_role("link", name="Order book").click()
    page.wait_for_url("**/orders/")
    row = page.locator(f"#order-{order.pk}")
    assert row.get_attribute("data-status") in ("PLACED", "OPEN")
    wait_for_websocket(page)
    page.evaluate("window.notReloaded = true")

    # The sandbox fills a market order half a second after taking it; the tracker reads the
    # broker's order book (as the worker would) and pushes ORDER_UPDATE.
    market.shift(1)
    assert in_a_thread(lambda: services.track_order(order_id=order.pk)) == OrderState.FILLED

    page.wait_for_selector(f'#order-{order.pk}[data-status="FILLED"]')
    assert page.evaluate("window.notReloaded") is True
    assert "Filled" in row.locator(".order-status").inner_text()
    assert "badge-green" in row.locator(".order-status").get_attribute("class")
    assert "2" in row.locator("td").nth(9).inner_text()
    shot(page, "filled-live")


def test_modify_and_cancel_from_the_book_ask_first_and_the_row_follows_live(page, asha):
    resting = OrderInput(
        instrument="NSE:INFY",
        side=Side.BUY,
        quantity=3,
        order_type=OrderType.LIMIT,
        product=Product.CNC,
        price=Decimal("1530.00"),
    )
    order = in_a_thread(lambda: services.place_order(user=asha, order=resting).order)
    sign_in(page)
    page.goto("/orders/")
    row = page.locator(f"#order-{order.pk}")
    assert row.get_attribute("data-status") in ("PLACED", "OPEN")
    wait_for_websocket(page)

    # A change off the tick size is refused in words, and nothing reaches the broker.
    row.get_by_role("button", name="Modify").click()
    page.get_by_label("New price").fill("1528.03")
    page.get_by_role("button", name="Review the change").click()
    page.get_by_role("button", name="Yes, send the change").click()
    error = page.locator("#action-error")
    error.wait_for()
    assert "not a multiple of the tick size" in error.inner_text()
    shot(page, "modify-refused")
    page.get_by_role("button", name="Leave it as it is").click()
    assert page.locator("#action-panel").count() == 0

    row.get_by_role("button", name="Cancel").click()
    panel = page.locator("#action-panel")
    panel.get_by_text("Cancel this order?").wait_for()
    assert "BUY 3 \u00d7 NSE:INFY" in panel.inner_text()
    shot(page, "cancel-confirm")
    panel.get_by_role("button", name="Yes, cancel it").click()
    page.locator("#action-done").wait_for()
    assert "Cancellation accepted by Zerodha." in page.locator("#action-done").inner_text()

    in_a_thread(lambda: services.track_order(order_id=order.pk))  # as the tracker would
    page.wait_for_selector(f'#order-{order.pk}[data-status="CANCELLED"]')
    assert "Cancelled" in row.locator(".order-status").inner_text()
    assert row.get_by_role("button", name="Cancel").count() == 0
    shot(page, "cancelled-live")


def test_with_the_kill_switch_on_the_ticket_says_why_and_offers_no_place(page, asha):
    in_a_thread(
        lambda: policy_services.arm_kill_switch(user=asha, actor=asha, reason="desk closed")
    )
    sign_in(page)
    page.goto("/orders/new/")

    banner = page.locator("#kill-switch-state")
    assert "Kill switch ON: placing is blocked." in banner.inner_text()
    assert "desk closed" in banner.inner_text()
    page.get_by_label("Instrument", exact=True).fill("NSE:INFY")
    page.get_by_label("Quantity").fill("1")
    page.locator("#blocked").wait_for()
    assert "KILL_SWITCH" in page.locator("#breaches").inner_text()
    assert "Placing is blocked: the kill switch is on." in page.locator("#blocked").inner_text()
    assert page.get_by_role("button", name="Review order").count() == 0
    shot(page, "kill-switch")


def test_the_order_page_follows_the_broker_live(page, asha):
    resting = OrderInput(
        instrument="NSE:INFY",
        side=Side.BUY,
        quantity=3,
        order_type=OrderType.LIMIT,
        product=Product.CNC,
        price=Decimal("1530.00"),
    )
    order = in_a_thread(lambda: services.place_order(user=asha, order=resting).order)
    sign_in(page)
    page.goto(f"/orders/{order.pk}/")
    assert page.locator("#order-status").inner_text() in ("Placed", "Open")
    wait_for_websocket(page)
    page.evaluate("window.notReloaded = true")

    # Cancelled from elsewhere (the API, another tab), then read from the broker's book.
    in_a_thread(lambda: services.cancel_order(user=asha, order_id=order.pk))
    in_a_thread(lambda: services.track_order(order_id=order.pk))

    page.locator("#timeline li[data-to='CANCELLED']").wait_for()
    assert page.evaluate("window.notReloaded") is True
    assert page.locator("#order-status").inner_text() == "Cancelled"
    assert page.locator("table.attempts tr.attempt").count() == 2  # the place, the cancel
    shot(page, "detail-cancelled-live")
