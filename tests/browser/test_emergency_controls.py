"""The manual controls in Chromium: switching the primary broker and pausing one ask first and
show at once; the kill switch that cancels open orders shows each cancel; every broker down
puts the "trading paused" banner on every page."""

import time
from decimal import Decimal

import pytest
import time_machine
from playwright.sync_api import expect

from brokers.models import ConnectionStatus, InstrumentRecord
from brokers.sandbox import kit
from brokers.services import load_master_if_stale
from brokers.types import OrderType, Product, Side
from routing.orders import services as order_services
from routing.orders.inputs import OrderInput
from routing.orders.models import OrderState
from tests.browser.test_policy_pages import off_the_loop, sign_in, snapshot
from tests.factories import BrokerConnectionFactory, TraderFactory
from tests.portfolio.conftest import connect_demo
from tests.routing.orders.conftest import MARKET_HOURS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def asha():
    """Asha with Zerodha (primary) and Upstox connected and their instrument lists loaded."""

    def setup():
        trader = TraderFactory(username="asha")
        connections = {
            broker: BrokerConnectionFactory(
                user=trader, broker=broker, account_id=f"{broker[:2].upper()}1"
            )
            for broker in ("zerodha", "upstox")
        }
        InstrumentRecord.objects.bulk_create(
            [
                InstrumentRecord(
                    broker="zerodha",
                    instrument_id="408065",
                    exchange="NSE",
                    symbol="INFY",
                    isin="INE009A01021",
                ),
                InstrumentRecord(
                    broker="upstox",
                    instrument_id="NSE_EQ|INE009A01021",
                    exchange="NSE",
                    symbol="INFY",
                    isin="INE009A01021",
                ),
            ]
        )
        from routing.policy import services

        state = services.editing(trader)
        state.document["global"]["routing"]["priority"] = ["zerodha", "upstox"]
        services.save_profile(user=trader, document=state.document, version=state.version)
        return trader, connections

    return off_the_loop(setup)


def test_switching_the_primary_asks_first_and_shows_at_once(page, screenshot, asha):
    trader, _ = asha
    sign_in(page)
    page.goto("/policy/emergency/")
    upstox_row = page.locator("#control-upstox")
    expect(page.locator("#control-zerodha .role")).to_contain_text("primary")
    screenshot("before")

    upstox_row.get_by_role("link", name="Make primary…").click()
    page.get_by_role("heading", name="Make Upstox UP1 your primary broker?").wait_for()
    assert snapshot(trader).priority[0] == "zerodha"  # asking changes nothing
    confirm = page.get_by_role("button", name="Yes, switch now")
    page.get_by_label("Why (kept in the audit trail)").fill("Kite answers slowly today")
    screenshot("confirm")
    confirm.click()

    page.get_by_text("Upstox UP1 is your primary broker now.").wait_for()
    expect(page.locator("#control-upstox .role")).to_contain_text("primary")
    expect(page.locator("#control-zerodha .role")).not_to_contain_text("primary")
    expect(page.locator("#control-history")).to_contain_text(
        "asha: Primary switched to Upstox UP1 (was Zerodha ZE1). Why: Kite answers slowly today"
    )
    assert snapshot(trader).priority[0] == "upstox"
    screenshot("switched")


def test_pausing_a_broker_asks_first_and_resuming_undoes_it(page, screenshot, asha):
    trader, _ = asha
    sign_in(page)
    page.goto("/policy/emergency/")
    page.locator("#control-zerodha").get_by_role("link", name="Pause…").click()
    page.get_by_role("heading", name="Pause Zerodha ZE1?").wait_for()
    page.get_by_label("Why (kept in the audit trail)").fill("odd fills")
    page.get_by_role("button", name="Yes, pause it").click()

    expect(page.locator("#control-zerodha .role")).to_contain_text("paused")
    assert not snapshot(trader).accepts_orders("zerodha")
    screenshot("paused")

    page.locator("#control-zerodha").get_by_role("link", name="Resume…").click()
    page.get_by_label("Why (kept in the audit trail)").fill("fills look right again")
    page.get_by_role("button", name="Yes, resume it").click()
    expect(page.locator("#control-zerodha .role")).not_to_contain_text("paused")
    assert snapshot(trader).accepts_orders("zerodha")


def test_a_switch_to_a_broker_that_is_down_is_refused_on_the_page(page, screenshot, asha):
    trader, connections = asha
    off_the_loop(
        lambda: (
            type(connections["upstox"])
            .objects.filter(pk=connections["upstox"].pk)
            .update(status=ConnectionStatus.MAINTENANCE)
        )
    )
    sign_in(page)
    page.goto(f"/policy/emergency/primary/{connections['upstox'].pk}/")
    expect(page.locator("#control-refusal")).to_contain_text("Upstox UP1")
    expect(page.get_by_role("button", name="Yes, switch now")).to_have_count(0)
    screenshot("refused")
    assert snapshot(trader).priority[0] == "zerodha"


def test_every_broker_down_puts_the_banner_on_every_page(page, screenshot, asha):
    trader, connections = asha
    off_the_loop(
        lambda: (
            type(connections["upstox"])
            .objects.filter(user=trader)
            .update(status=ConnectionStatus.ERROR)
        )
    )
    sign_in(page)
    for path in ("/", "/portfolio/", "/health/", "/policy/emergency/"):
        page.goto(path)
        banner = page.locator("#trading-paused")
        expect(banner).to_contain_text("Trading paused — 0 orders queued.")
        expect(banner).to_contain_text("Zerodha ZE1 (error)")
    screenshot("banner")

    off_the_loop(
        lambda: (
            type(connections["upstox"])
            .objects.filter(pk=connections["upstox"].pk)
            .update(status=ConnectionStatus.CONNECTED)
        )
    )
    page.goto("/policy/")
    expect(page.locator("#trading-paused")).not_to_contain_text("Trading paused")


@pytest.fixture
def market():
    """In market hours (the sandbox takes orders then), the clock moving."""
    with time_machine.travel(MARKET_HOURS, tick=True) as traveller:
        yield traveller


def test_the_kill_switch_cancels_open_orders_and_shows_each(
    page, screenshot, sandbox_hosts, worker, market
):
    def setup():
        trader = TraderFactory(username="asha")
        upstox = connect_demo(trader, "upstox", sandbox_hosts)
        load_master_if_stale(upstox)
        order = OrderInput(
            instrument="NSE:INFY",
            side=Side.BUY,
            quantity=2,
            order_type=OrderType.LIMIT,
            product=Product.CNC,
            price=Decimal("1530.00"),
        )
        placed = order_services.place_order(user=trader, order=order).order
        assert placed.status in (OrderState.PLACED, OrderState.OPEN), placed.status_reason
        return trader, upstox, placed

    _, upstox, placed = off_the_loop(setup)
    sign_in(page)
    page.goto("/policy/emergency/")
    page.get_by_label("Why").fill("Something is wrong")
    page.get_by_label("Also cancel open orders").check()
    page.get_by_label("Type STOP to confirm").fill("STOP")
    page.get_by_role("button", name="Stop all trading now").click()
    page.get_by_role("heading", name="Kill switch ON").wait_for()

    deadline = time.monotonic() + 30
    while "1 cancelled, 0 not cancelled" not in page.locator("#kill-switch").inner_text():
        assert time.monotonic() < deadline, page.locator("#kill-switch").inner_text()
        page.wait_for_timeout(300)
        page.reload()
    expect(page.locator("#kill-switch")).to_contain_text("BUY 2 NSE:INFY at upstox")
    screenshot("cancelled")
    at_broker = off_the_loop(
        lambda: next(
            o
            for o in kit.orders("upstox", upstox.account_id)
            if o.order_id == placed.broker_order_id
        )
    )
    assert at_broker.status == "CANCELLED"
