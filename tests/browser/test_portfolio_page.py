"""A trader with five sandbox brokers opens the portfolio page, digs in, sorts, and syncs."""

import re
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from brokers.sandbox import kit
from portfolio import services
from tests.factories import TraderFactory
from tests.portfolio.conftest import connect_demo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BROKERS = ["zerodha", "upstox", "fyers", "angelone", "dhan"]


def sign_in(page, username="asha"):
    page.goto("/accounts/sign-in/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("correct-horse-battery-staple")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")


def off_the_loop(call, *args, **kwargs):
    """Playwright keeps an event loop in this thread; server-side work (which pushes through
    async_to_sync, as a worker would) runs in a thread of its own."""
    with ThreadPoolExecutor(max_workers=1) as worker:
        return worker.submit(call, *args, **kwargs).result()


@pytest.fixture
def asha(sandbox_hosts):
    def setup():
        trader = TraderFactory(username="asha")
        for broker in BROKERS:
            connect_demo(trader, broker, sandbox_hosts)
        services.sync_portfolio(user=trader)
        return trader

    return off_the_loop(setup)


def test_the_portfolio_page_joins_reliance_across_brokers_and_sorts(page, screenshot, asha):
    sign_in(page)
    page.get_by_role("link", name="Portfolio").click()
    page.wait_for_url("**/portfolio/")

    assert page.get_by_role("heading", name="Consolidated portfolio").is_visible()
    # RELIANCE: Kite 10, Upstox 5, Fyers 4 (BSE), Angel One 3 = 22 x 2950.50 = ₹64,911.00
    reliance = page.locator("tbody.position[data-key='INE002A01018']")
    assert "22" in reliance.locator("tr.line td").nth(2).inner_text()
    assert "₹64,911.00" in reliance.locator("tr.line").inner_text()
    assert not reliance.locator("tr.broker-line").first.is_visible()
    screenshot("page")

    reliance.get_by_role("button").click()
    broker_lines = reliance.locator("tr.broker-line")
    assert broker_lines.count() == 4 and broker_lines.first.is_visible()
    assert "BSE:RELIANCE-A" in reliance.inner_text()
    assert reliance.get_by_role("button").get_attribute("aria-expanded") == "true"
    screenshot("expanded")

    page.get_by_role("link", name="Instrument").click()
    page.wait_for_url("**sort=symbol**")
    held = "#holdings tbody.position td.instrument strong"
    symbols = page.locator(held).all_inner_texts()
    assert symbols == sorted(symbols)
    page.get_by_role("link", name="Instrument ▲").click()
    page.wait_for_url("**dir=desc**")
    assert page.locator(held).all_inner_texts() == sorted(symbols, reverse=True)


def test_holdings_and_open_positions_are_shown_apart_with_a_net_worth(page, screenshot, asha):
    sign_in(page)
    page.goto("/portfolio/")

    # Kite's SBIN MIS (bought 50 at 808, sold 20 at 811: 30 open at 808, now 812.60) is an
    # open position, not part of the SBIN held at Angel One (20 shares).
    held = page.locator("#holdings tbody.position[data-key='INE062A01020'] tr.line")
    assert held.locator("td").nth(2).inner_text() == "20"
    traded = page.locator("#open-positions tbody.position[data-key='INE062A01020'] tr.line")
    cells = traded.locator("td").all_inner_texts()
    # net qty 30; MTM 30 x (812.60 - 808) = +138; opened today, so the day's P&L is also
    # measured from 808 (+138), and the 20 sold 3 above the buy realized +60
    assert (cells[2], cells[5], cells[6], cells[7]) == ("30", "+₹138.00", "+₹138.00", "+₹60.00")
    assert page.locator("#positions-mtm").inner_text() == "+₹138.00"
    assert page.locator("#positions-day").inner_text() == "+₹198.00"  # 138 + 60 realized

    # holdings value + MTM + cash: whatever the prices, the three add up on the page
    def rupees(selector):
        text = page.locator(selector).inner_text()
        return Decimal(text.replace("₹", "").replace(",", "").replace("+", ""))

    assert rupees("#net-worth") == rupees("#total-value") + rupees("#positions-mtm") + rupees(
        "#cash"
    )
    # Upstox's line is written as Upstox writes it
    page.locator("#holdings tbody.position[data-key='INE002A01018'] button.expand").click()
    assert "NSE_EQ|INE002A01018" in page.locator("#holdings").inner_text()
    screenshot("holdings-and-positions")


def test_sync_now_with_a_broker_down_shows_progress_and_a_banner(page, screenshot, asha, worker):
    sign_in(page)
    page.goto("/portfolio/")
    assert page.locator(".banner-failed").count() == 0
    kit.set_faults("dhan", outage=True)

    page.get_by_role("button", name="Sync now").click()

    page.locator("#sync-progress").get_by_text("Synced 4 of 5 brokers").wait_for()
    assert "Dhan failed" in page.locator("#sync-progress").inner_text()
    banner = page.locator(".banner-failed")
    banner.wait_for()
    assert "Dhan (1100456789) is left out of these totals" in banner.inner_text()
    assert "Last good snapshot" in banner.inner_text()
    # INFY is held at Kite, Angel One and Dhan: its line says Dhan's 3 are missing
    infy = page.locator("#holdings tbody.position[data-key='INE009A01021'] tr.line")
    flag = infy.locator(".flag-partial")
    assert flag.is_visible()
    assert re.fullmatch(
        r"partial: Dhan's share \(3\) missing, last seen \d\d:\d\d IST", flag.inner_text()
    )
    screenshot("dhan-down")


def test_a_portfolio_update_push_refreshes_the_numbers(page, asha):
    sign_in(page)
    page.goto("/portfolio/")
    before = page.locator("#total-value").inner_text()
    kit.set_faults("upstox", outage=True)
    off_the_loop(services.sync_portfolio, user=asha)  # as the beat would

    # The live server has no websocket: deliver the push as the htmx extension would.
    page.evaluate(
        "htmx.trigger(document.body, 'htmx:wsAfterMessage',"
        " {message: JSON.stringify({type: 'PORTFOLIO_UPDATE'})})"
    )

    page.locator(".banner-failed[data-broker=upstox]").wait_for()
    assert page.locator("#total-value").inner_text() != before


def test_another_trader_sees_their_own_empty_portfolio(page, asha):
    TraderFactory(username="charlie")
    sign_in(page, "charlie")
    page.goto("/portfolio/")

    assert page.get_by_text("No broker connected yet").is_visible()
    assert page.locator("tbody.position").count() == 0
