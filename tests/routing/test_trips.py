"""Automatic kill-switch trips: the day's loss against the global limit (from hand-built
positions and from a real sync of the sandbox), rejections in a row, once a day."""

import dataclasses
from datetime import datetime, timedelta
from decimal import Decimal as D

import pytest
import time_machine
from django.core import mail

from brokers.clock import IST
from brokers.sandbox import universe
from brokers.types import Position
from health.models import Notification
from portfolio import services as portfolio_services
from routing.models import KillSwitchEvent
from routing.policy import services, trips
from routing.policy.effective import effective

pytestmark = pytest.mark.django_db(transaction=True)

AFTERNOON = datetime(2026, 11, 24, 13, 0, tzinfo=IST)


def limit(trader, amount, **auto_trips):
    state = services.editing(trader)
    state.document["global"]["risk"]["max_daily_loss"] = amount
    state.document["global"]["emergency"]["auto_trips"].update(auto_trips)
    services.save_profile(user=trader, document=state.document, version=state.version)


def mis(symbol, quantity, average, last, realized="0", unrealized=None):
    return Position(
        exchange="NSE",
        symbol=symbol,
        product="MIS",
        quantity=quantity,
        average_price=D(average),
        last_price=D(last),
        realized_pnl=D(realized),
        unrealized_pnl=None if unrealized is None else D(unrealized),
    )


def test_the_days_pnl_counts_closed_positions_and_marks_open_ones():
    positions = [
        mis("SBIN", 30, "808", "780", realized="60"),  # open: 30 x -28 = -840
        mis("INFY", 0, "0", "1500", realized="-1200"),  # closed today
        mis("TCS", -5, "3600", "3650", unrealized="-250"),  # the broker's own figure
        mis("ITC", 10, "420", "420"),
    ]
    assert trips.day_pnl(positions) == (D("-1140"), D("-1090"))


@time_machine.travel(AFTERNOON, tick=False)
def test_a_loss_past_the_limit_arms_the_kill_switch_once(trader, brokers):
    limit(trader, "2000")
    assert trips.evaluate_trips(user=trader, realized=D("-500"), unrealized=D("-1499")) is None
    assert not effective(trader).kill_switch.on

    trip = trips.evaluate_trips(user=trader, realized=D("-500"), unrealized=D("-1500"))

    snapshot = effective(trader)
    assert trip.code == "DAILY_LOSS" and snapshot.orders_blocked
    assert snapshot.kill_switch.reason == trip.reason
    assert "₹2,000.00" in trip.reason and "₹2,000.00 daily limit" in trip.reason
    (event,) = KillSwitchEvent.objects.all()
    assert (event.actor, event.trip, event.action) == (None, "DAILY_LOSS", "arm")
    notice = Notification.objects.get(kind="limit_breached")
    assert notice.title == "Kill switch on: no new orders go out"
    assert [m.subject for m in mail.outbox] == ["[Multi-broker] " + notice.title]

    # again while on, and again after the trader released it the same day: nothing
    assert trips.evaluate_trips(user=trader, realized=D("-3000")) is None
    services.release_kill_switch(user=trader, actor=trader)
    assert trips.evaluate_trips(user=trader, realized=D("-3000")) is None
    assert not effective(trader).kill_switch.on
    assert KillSwitchEvent.objects.filter(action="arm").count() == 1

    with time_machine.travel(AFTERNOON + timedelta(days=1), tick=False):  # a new day
        assert trips.evaluate_trips(user=trader, realized=D("-3000")).code == "DAILY_LOSS"
    assert effective(trader).kill_switch.on


def test_no_limit_or_the_trip_turned_off_never_arms(trader, brokers):
    assert trips.evaluate_trips(user=trader, realized=D("-99999999")) is None
    limit(trader, "1000", daily_loss_breached=False)
    assert trips.evaluate_trips(user=trader, realized=D("-99999999")) is None
    assert not effective(trader).kill_switch.on


def test_rejections_in_a_row_trip_when_the_policy_says(trader, brokers):
    assert trips.evaluate_trips(user=trader, rejections_in_a_row=50) is None  # not set
    limit(trader, None, rejections_in_a_row=3)
    assert trips.evaluate_trips(user=trader, rejections_in_a_row=2) is None
    trip = trips.evaluate_trips(user=trader, rejections_in_a_row=3)
    assert trip.code == "REJECTIONS"
    assert effective(trader).kill_switch.reason.startswith("Automatic: 3 orders in a row")


def test_the_cancel_open_orders_option_goes_with_the_trip(trader, brokers):
    limit(trader, "100")
    state = services.editing(trader)
    state.document["global"]["emergency"]["cancel_open_orders_on_kill"] = True
    services.save_profile(user=trader, document=state.document, version=state.version)
    trips.evaluate_trips(user=trader, realized=D("-100"))
    assert effective(trader).kill_switch.cancel_open_orders


def test_a_real_sync_that_lands_a_loss_trips_the_kill_switch(trader, connect_brokers, monkeypatch):
    """Zerodha's demo account holds SBIN MIS: bought 50 at 808, sold 20 at 811. The market
    falls to 780: realized +60, open 30 x -28 = -840, the day -780."""
    connect_brokers(trader, ["zerodha", "upstox"])
    limit(trader, "1000")
    portfolio_services.sync_portfolio(user=trader)
    assert not effective(trader).kill_switch.on  # SBIN at 812.60: a profit

    sbin = universe.SECURITIES["SBIN"]
    monkeypatch.setitem(universe.SECURITIES, "SBIN", dataclasses.replace(sbin, last_price=D(780)))
    limit(trader, "700")
    portfolio_services.sync_portfolio(user=trader)

    snapshot = effective(trader)
    assert snapshot.kill_switch.on
    assert "today's loss of ₹780.00" in snapshot.kill_switch.reason
