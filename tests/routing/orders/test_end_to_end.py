"""Every broker on its sandbox: preview → place → fill → the positions and the consolidated
portfolio show it → ORDER_UPDATE reached the trader's socket group."""

import asyncio
import json

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from brokers.push import user_group
from brokers.types import OrderType, Product, Side
from portfolio import services as portfolio
from portfolio.models import ConsolidatedPosition, LineKind
from routing.orders import services
from routing.orders.inputs import OrderInput
from routing.orders.models import OrderState
from tests.portfolio.conftest import ALL_BROKERS, eventually

pytestmark = pytest.mark.django_db(transaction=True)


def held(user, isin="INE009A01021") -> int:
    """Today's position in the instrument: a delivery buy shows there until it settles into
    the holdings (T+1), which the fill leaves as they were."""
    line = ConsolidatedPosition.objects.filter(user=user, isin=isin, kind=LineKind.POSITION).first()
    return int(line.total_quantity) if line else 0


def pushes(channel) -> list[dict]:
    layer = get_channel_layer()
    found = []

    async def drain():
        while True:
            try:
                message = await asyncio.wait_for(layer.receive(channel), 0.3)
            except TimeoutError:
                return
            found.append(json.loads(message["text"]))

    async_to_sync(drain)()
    return found


@pytest.mark.parametrize("broker", ALL_BROKERS)
def test_an_order_goes_through_every_broker_end_to_end(trader, connected, market, worker, broker):
    connection = connected(broker)[broker]
    portfolio.sync_portfolio(user=trader)
    before = held(trader)
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(user_group(trader.pk), channel)
    order = OrderInput(
        instrument="INE009A01021",
        side=Side.BUY,
        quantity=2,
        order_type=OrderType.MARKET,
        product=Product.CNC,
        broker=broker,
    )

    preview = services.preview_order(user=trader, order=order)
    assert preview.accepted, [b.message for b in preview.breaches]
    assert preview.chosen == broker and preview.decision.chosen.charges.total > 0

    placed = services.place_order(user=trader, order=order, idempotency_key=f"e2e-{broker}").order
    assert placed.status in (OrderState.PLACED, OrderState.OPEN), placed.status_reason
    assert placed.connection_id == connection.pk and placed.broker_order_id

    market.shift(1)  # the sandbox fills a market order half a second after taking it
    assert services.track_order(order_id=placed.pk) == OrderState.FILLED
    placed.refresh_from_db()
    assert placed.filled_quantity == 2 and placed.average_price

    # The fill queued a portfolio sync: the position shows the two shares bought.
    assert eventually(lambda: held(trader) == before + 2), (before, held(trader))
    updates = [p for p in pushes(channel) if p["type"] == "ORDER_UPDATE"]
    assert updates and updates[-1]["data"]["orderId"] == str(placed.pk)
    assert updates[-1]["data"]["status"] == "FILLED"
    assert updates[-1]["data"]["filledQuantity"] == 2
