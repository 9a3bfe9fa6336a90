"""Arming the kill switch with "cancel open orders": every open order at every broker is
cancelled once per arming, through the order path's cancel, with each result kept."""

import time
from decimal import Decimal

import pytest

from brokers.models import BrokerConnection, ConnectionStatus
from brokers.sandbox import kit
from brokers.types import OrderType, Product, Side
from portfolio import services as portfolio_services
from routing.models import KillSwitchCancel, KillSwitchEvent
from routing.orders import emergency, services
from routing.orders.inputs import OrderInput
from routing.orders.models import AttemptKind, Order, OrderState
from routing.policy import services as policy_services
from routing.policy import trips
from tests.factories import BrokerConnectionFactory

pytestmark = pytest.mark.django_db(transaction=True)
Outcome = KillSwitchCancel.Outcome


MARKET_BUY = OrderInput(
    instrument="NSE:INFY",
    side=Side.BUY,
    quantity=1,
    order_type=OrderType.MARKET,
    product=Product.CNC,
)


def resting_buy(trader, broker):
    """A limit buy below the market: it waits in the broker's book."""
    order = OrderInput(
        instrument="NSE:INFY",
        side=Side.BUY,
        quantity=2,
        order_type=OrderType.LIMIT,
        product=Product.CNC,
        price=Decimal("1530.00"),
        broker=broker,
    )
    placed = services.place_order(user=trader, order=order).order
    assert placed.status in (OrderState.PLACED, OrderState.OPEN), placed.status_reason
    return placed


def at_broker(connection, order):
    return next(
        o
        for o in kit.orders(connection.broker, connection.account_id)
        if o.order_id == order.broker_order_id
    )


def settled(event_id, seconds=30):
    """The arming once its cancels are all settled (a worker runs them when REDIS_URL is set)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        event = KillSwitchEvent.objects.get(pk=event_id)
        if event.cancels_finished_at is not None:
            return event
        time.sleep(0.1)
    raise AssertionError("the cancels of the arming did not finish")


def last_arming(trader):
    return KillSwitchEvent.objects.filter(
        policy__user=trader, action=KillSwitchEvent.Action.ARM
    ).latest("created_at")


def test_arming_with_cancel_cancels_every_open_order_at_every_broker(trader, connected, worker):
    linked = connected("zerodha", "upstox")
    at_zerodha = resting_buy(trader, "zerodha")
    at_upstox = resting_buy(trader, "upstox")

    assert policy_services.arm_kill_switch(
        user=trader, actor=trader, reason="market gone mad", cancel_open_orders=True
    )

    event = settled(last_arming(trader).pk)
    outcomes = {row.order_id: row.outcome for row in event.cancels.all()}
    assert outcomes == {at_zerodha.pk: Outcome.CANCELLED, at_upstox.pk: Outcome.CANCELLED}
    assert at_broker(linked["zerodha"], at_zerodha).status == "CANCELLED"
    assert at_broker(linked["upstox"], at_upstox).status == "CANCELLED"
    at_upstox.refresh_from_db()
    assert at_upstox.status == OrderState.CANCELLED


def test_a_second_run_of_the_same_arming_sends_no_second_cancel(trader, connected, worker):
    connected("upstox")
    placed = resting_buy(trader, "upstox")
    policy_services.arm_kill_switch(user=trader, reason="stop", cancel_open_orders=True)
    event = settled(last_arming(trader).pk)

    emergency.cancel_open_orders(event_id=event.pk)  # a redelivered task

    assert placed.attempts.filter(kind=AttemptKind.CANCEL).count() == 1
    assert event.cancels.count() == 1


def test_arming_without_cancel_leaves_open_orders_alone(trader, connected, worker):
    upstox = connected("upstox")["upstox"]
    placed = resting_buy(trader, "upstox")

    policy_services.arm_kill_switch(user=trader, reason="no more new orders")
    time.sleep(0.5)

    assert at_broker(upstox, placed).status == "OPEN"
    assert not KillSwitchCancel.objects.exists()
    assert last_arming(trader).cancels_finished_at is None


def test_an_automatic_trip_cancels_when_the_policy_says_so(trader, connected, worker):
    upstox = connected("upstox")["upstox"]
    placed = resting_buy(trader, "upstox")
    state = policy_services.editing(trader)
    state.document["global"]["risk"]["max_daily_loss"] = "100"
    state.document["global"]["emergency"]["cancel_open_orders_on_kill"] = True
    policy_services.save_profile(user=trader, document=state.document, version=state.version)

    assert trips.evaluate_trips(user=trader, realized=Decimal("-150")) is not None

    event = settled(last_arming(trader).pk)
    assert event.trip == trips.DAILY_LOSS
    assert event.cancels.get().outcome == Outcome.CANCELLED
    assert at_broker(upstox, placed).status == "CANCELLED"


def test_a_cancel_whose_reply_is_lost_is_settled_from_the_order_book(trader, connected, worker):
    upstox = connected("upstox")["upstox"]
    placed = resting_buy(trader, "upstox")
    kit.set_faults("upstox", upstox.account_id, lose_order_reply=True)

    policy_services.arm_kill_switch(user=trader, reason="stop", cancel_open_orders=True)

    row = settled(last_arming(trader).pk).cancels.get()
    assert row.outcome == Outcome.CANCELLED
    assert at_broker(upstox, placed).status == "CANCELLED"
    assert placed.attempts.filter(kind=AttemptKind.CANCEL).count() == 1


def test_a_cancel_the_broker_never_got_is_reported_failed_and_not_resent(trader, connected, worker):
    linked = connected("zerodha", "upstox")
    at_zerodha = resting_buy(trader, "zerodha")
    at_upstox = resting_buy(trader, "upstox")
    kit.set_faults("upstox", linked["upstox"].account_id, drop_order_request=True)

    policy_services.arm_kill_switch(user=trader, reason="stop", cancel_open_orders=True)

    event = settled(last_arming(trader).pk)
    failed = event.cancels.get(order=at_upstox)
    assert failed.outcome == Outcome.FAILED
    assert "was not sent again" in failed.reason
    assert at_broker(linked["upstox"], at_upstox).status == "OPEN"
    # one broker's trouble does not stop the others' cancels
    assert event.cancels.get(order=at_zerodha).outcome == Outcome.CANCELLED
    assert at_broker(linked["zerodha"], at_zerodha).status == "CANCELLED"


def test_the_emergency_page_shows_each_cancel_and_why(client, trader, connected, worker):
    upstox = connected("upstox")["upstox"]
    placed = resting_buy(trader, "upstox")
    kit.set_faults("upstox", upstox.account_id, drop_order_request=True)
    policy_services.arm_kill_switch(user=trader, reason="stop", cancel_open_orders=True)
    settled(last_arming(trader).pk)

    client.force_login(trader)
    page = client.get("/policy/emergency/").content.decode()

    assert "0 cancelled, 1 not cancelled" in page
    assert f"BUY 2 NSE:{placed.symbol}" in page
    assert "was not sent again" in page


# --- Every broker down ----------------------------------------------------------------------------
def test_no_banner_while_one_broker_can_take_orders(client, trader):
    BrokerConnectionFactory(user=trader, broker="zerodha", status=ConnectionStatus.ERROR)
    BrokerConnectionFactory(user=trader, broker="upstox")
    client.force_login(trader)
    page = client.get("/policy/").content.decode()
    assert 'id="trading-paused"' in page and "Trading paused" not in page
    assert emergency.trading_paused(trader) is None


def test_every_broker_down_shows_the_banner_on_every_page(client, trader, other_trader):
    BrokerConnectionFactory(user=trader, broker="zerodha", status=ConnectionStatus.ERROR)
    BrokerConnectionFactory(user=trader, broker="upstox", status=ConnectionStatus.TOKEN_EXPIRED)
    BrokerConnectionFactory(user=trader, broker="dhan", status=ConnectionStatus.DISCONNECTED)
    BrokerConnectionFactory(user=other_trader, broker="fyers")
    client.force_login(trader)

    for url in ("/", "/policy/", "/policy/emergency/", "/health/", "/portfolio/"):
        page = client.get(url).content.decode()
        assert "Trading paused — 0 orders queued." in page, url
        assert "Zerodha" in page and "(error)" in page and "(token expired)" in page, url
    polled = client.get("/policy/trading-state/").content.decode()
    assert "Trading paused — 0 orders queued." in polled
    assert "Dhan" not in polled  # disconnected by the trader: not a broker that is down

    paused = client.get("/api/v1/policy/controls").json()["tradingPaused"]
    assert paused["paused"] is True and paused["queued"] == 0
    named = {b["label"].split()[0]: b["status"] for b in paused["brokers"]}
    assert named == {"Zerodha": "Error", "Upstox": "Token expired"}


def test_every_broker_down_the_pages_and_api_answer_from_the_last_good_data(
    client, trader, connect_brokers
):
    linked = connect_brokers(trader, ["zerodha", "upstox"])
    good = portfolio_services.sync_portfolio(user=trader)
    lines = len(good.portfolio.lines)
    assert lines
    for broker in linked:
        kit.set_faults(broker, outage=True)
    statuses: dict = {}
    for _ in range(4):  # two failed calls in a row per endpoint make it Down
        portfolio_services.sync_portfolio(user=trader)
        statuses = {c.broker: c.status for c in BrokerConnection.objects.filter(user=trader)}
        if set(statuses.values()) == {ConnectionStatus.ERROR}:
            break
    assert set(statuses.values()) == {ConnectionStatus.ERROR}, statuses
    client.force_login(trader)
    page = client.get("/portfolio/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Trading paused — 0 orders queued." in text
    assert text.count("is left out of these totals") == 2 and "Last good snapshot" in text
    answer = client.get("/api/v1/brokers/portfolio/consolidated")
    assert answer.status_code == 200
    data = answer.json()
    assert {b["brokerType"] for b in data["failedBrokers"]} == {"zerodha", "upstox"}
    assert all(b["lastGoodSnapshotAt"] and b["reason"] for b in data["failedBrokers"])
    assert len(data["positions"]) == lines  # the last good lines, each flagged
    assert all(
        any("last seen" in str(flag) for flag in line["flags"]) for line in data["positions"]
    ), data["positions"][0]["flags"]
    assert client.get("/api/v1/orders").status_code == 200


def test_the_banner_counts_the_orders_waiting_in_the_queue(client, trader, other_trader):
    BrokerConnectionFactory(user=trader, broker="zerodha", status=ConnectionStatus.ERROR)
    for user in (trader, trader, other_trader):
        Order.objects.create(
            user=user,
            instrument="NSE:INFY",
            exchange="NSE",
            symbol="INFY",
            side=Side.BUY,
            quantity=1,
            order_type=OrderType.MARKET,
            product=Product.CNC,
            status=OrderState.QUEUED,
        )
    client.force_login(trader)
    assert "Trading paused — 2 orders queued." in client.get("/policy/").content.decode()


def test_arming_with_cancel_takes_queued_orders_out_of_the_queue(trader, connected, worker):
    zerodha = connected("zerodha")["zerodha"]
    policy_services.set_paused(user=trader, key="zerodha", paused=True)
    waiting = services.place_order(user=trader, order=MARKET_BUY).order
    assert waiting.status == OrderState.QUEUED, waiting.status_reason

    policy_services.arm_kill_switch(user=trader, reason="stop", cancel_open_orders=True)

    row = settled(last_arming(trader).pk).cancels.get()
    assert (row.order_id, row.outcome) == (waiting.pk, Outcome.CANCELLED)
    assert "never sent" in row.reason
    waiting.refresh_from_db()
    assert waiting.status == OrderState.CANCELLED
    policy_services.set_paused(user=trader, key="zerodha", paused=False)
    policy_services.release_kill_switch(user=trader, reason="done")
    assert kit.orders("zerodha", zerodha.account_id) == []  # it never went out
