"""The manual controls in Chromium: switching the primary broker and pausing one ask first and
show at once; the kill switch that cancels open orders shows each cancel; every broker down
puts the "trading paused" banner on every page; a queued order is sent to the broker chosen or
cancelled, each after asking, a refusal said in place."""

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
from routing.orders.models import Order, OrderState
from routing.policy import services as policy_services
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


@pytest.fixture
def queued(sandbox_hosts, market):
    """Asha with Zerodha (paused) and Upstox, and orders named for Zerodha: they wait."""

    def setup(*quantities):
        trader = TraderFactory(username="asha")
        linked = {b: connect_demo(trader, b, sandbox_hosts) for b in ("zerodha", "upstox")}
        for connection in linked.values():
            load_master_if_stale(connection)
        policy_services.set_paused(user=trader, key="zerodha", paused=True)
        orders = [
            order_services.place_order(
                user=trader,
                order=OrderInput(
                    instrument="NSE:INFY",
                    side=Side.BUY,
                    quantity=quantity,
                    order_type=OrderType.MARKET,
                    product=Product.CNC,
                    broker="zerodha",
                ),
            ).order
            for quantity in quantities
        ]
        assert {o.status for o in orders} == {OrderState.QUEUED}
        return linked, orders

    return lambda *quantities: off_the_loop(setup, *quantities)


def test_a_queued_order_is_sent_to_the_broker_chosen_or_cancelled_after_asking(
    page, screenshot, queued
):
    linked, (first, second) = queued(1, 2)
    sign_in(page)
    page.goto("/policy/emergency/")
    panel = page.locator("#queued-orders")
    expect(panel.locator("tr.queued-order")).to_have_count(2)
    expect(page.locator(f"#queued-{first.pk}")).to_contain_text("you paused it")
    screenshot("queued")

    # A broker that cannot take it: said in place, nothing sent.
    row = page.locator(f"#queued-{second.pk}")
    row.get_by_label("Broker to send it to").select_option("zerodha")
    row.get_by_role("button", name="Send now…").click()
    refusal = page.locator(f"#queue-action-{second.pk} #queue-refusal")
    expect(refusal).to_contain_text("zerodha cannot take this order now: you paused it.")
    screenshot("refused")
    page.locator(f"#queue-action-{second.pk}").get_by_role("button", name="Close").click()
    expect(refusal).to_have_count(0)

    # Sent to the broker chosen, after asking.
    row = page.locator(f"#queued-{first.pk}")
    row.get_by_label("Broker to send it to").select_option("upstox")
    row.get_by_role("button", name="Send now…").click()
    ask = page.locator(f"#queue-action-{first.pk}")
    expect(ask.get_by_role("heading")).to_contain_text("Send it to Upstox")
    ask.get_by_label("Why (kept in the audit trail)").fill("Kite paused; Upstox is fine")
    screenshot("confirm-send")
    assert off_the_loop(lambda: kit.orders("upstox", linked["upstox"].account_id)) == []
    ask.get_by_role("button", name="Yes, send it now").click()

    expect(page.locator("#queue-message")).to_contain_text("BUY 1 NSE:INFY sent to Upstox")
    expect(panel.locator("tr.queued-order")).to_have_count(1)
    expect(page.locator("#queue-history")).to_contain_text("asha: BUY 1 NSE:INFY — sent by you")
    expect(page.locator("#queue-history")).to_contain_text("Why: Kite paused; Upstox is fine")
    tags = off_the_loop(
        lambda: (
            [o.tag for o in kit.orders("upstox", linked["upstox"].account_id)],
            Order.objects.get(pk=first.pk).attempts.get().tag,
        )
    )
    assert tags[0] == [tags[1]]  # at Upstox, once
    screenshot("sent")

    # Cancelled, after asking.
    page.locator(f"#queued-{second.pk}").get_by_role("link", name="Cancel…").click()
    ask = page.locator(f"#queue-action-{second.pk}")
    expect(ask.get_by_role("heading")).to_have_text("Take it out of the queue?")
    ask.get_by_label("Why (kept in the audit trail)").fill("not needed any more")
    screenshot("confirm-cancel")
    ask.get_by_role("button", name="Yes, cancel it").click()

    expect(page.locator("#queue-message")).to_contain_text(
        "BUY 2 NSE:INFY taken out of the queue; nothing was sent."
    )
    expect(page.locator("#queue-empty")).to_be_visible()
    expect(page.locator("#queue-history")).to_contain_text("Why: not needed any more")
    screenshot("cancelled")
    cancelled = off_the_loop(lambda: Order.objects.get(pk=second.pk))
    assert cancelled.status == OrderState.CANCELLED
    assert off_the_loop(lambda: kit.orders("zerodha", linked["zerodha"].account_id)) == []


def test_a_queued_order_is_sent_from_its_own_page_and_the_page_follows(page, screenshot, queued):
    linked, (order,) = queued(3)
    sign_in(page)
    page.goto(f"/orders/{order.pk}/")
    expect(page.locator("#order-status")).to_have_text("Queued (waiting for a broker)")
    page.get_by_label("Broker to send it to").select_option("upstox")
    page.get_by_role("button", name="Send now…").click()
    ask = page.locator("#order-action")
    expect(ask.get_by_role("heading")).to_contain_text("Send it to Upstox")
    ask.get_by_label("Why (kept in the audit trail)").fill("Upstox is up")
    screenshot("confirm")
    ask.get_by_role("button", name="Yes, send it now").click()

    expect(page.locator("#action-done")).to_contain_text("BUY 3 NSE:INFY sent to Upstox")
    expect(page.locator("#timeline")).to_contain_text("by asha")
    expect(page.locator("#timeline")).to_contain_text("Why: Upstox is up")
    expect(page.get_by_role("button", name="Send now…")).to_have_count(0)
    screenshot("sent")
    at_upstox = off_the_loop(lambda: kit.orders("upstox", linked["upstox"].account_id))
    assert len(at_upstox) == 1
