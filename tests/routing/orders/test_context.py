"""The last price the order path decides on: the primary's quote, else another connected
broker's quote of the same ISIN, and the decision says whose."""

import pytest

from brokers.sandbox import kit
from brokers.types import OrderType, Product, Side
from routing.orders import services
from routing.orders.inputs import OrderInput
from routing.policy import services as policy_services

pytestmark = pytest.mark.django_db(transaction=True)

MARKET_BUY = OrderInput(
    instrument="NSE:INFY",
    side=Side.BUY,
    quantity=1,
    order_type=OrderType.MARKET,
    product=Product.CNC,
)


def primary_first(trader, *keys):
    state = policy_services.editing(trader)
    state.document["global"]["routing"]["priority"] = list(keys)
    policy_services.save_profile(user=trader, document=state.document, version=state.version)


def test_the_primarys_quote_is_used_and_nothing_is_noted(trader, connected):
    connected("zerodha", "upstox")
    primary_first(trader, "zerodha", "upstox")

    preview = services.preview_order(user=trader, order=MARKET_BUY)

    assert preview.last_price is not None
    assert (preview.last_price.source, preview.last_price.failed) == ("zerodha", ())
    assert "quote" not in preview.decision.explanation


def test_when_the_primarys_quote_fails_another_brokers_is_used_and_said(trader, connected):
    linked = connected("zerodha", "upstox")
    primary_first(trader, "zerodha", "upstox")
    kit.set_faults("zerodha", linked["zerodha"].account_id, error_rate=100, paths="quote/ohlc")

    placed = services.place_order(user=trader, order=MARKET_BUY).order

    assert placed.last_price is not None and placed.last_price > 0
    assert (
        "last price from upstox's quote (zerodha could not quote it)"
        in placed.decision["explanation"]
    )
    # the quote failing is not the broker failing: the order still goes to the primary
    assert placed.decision["chosen"] == "zerodha"


def test_with_every_quote_failing_no_price_is_made_up(trader, connected):
    linked = connected("zerodha", "upstox")
    primary_first(trader, "upstox", "zerodha")
    kit.set_faults("zerodha", linked["zerodha"].account_id, error_rate=100, paths="quote/ohlc")
    kit.set_faults("upstox", linked["upstox"].account_id, error_rate=100, paths="market-quote/ltp")

    preview = services.preview_order(user=trader, order=MARKET_BUY)

    assert preview.last_price is None  # no quote, and no synced line of INFY to fall back on
