"""Brokers' order postbacks: verified, then followed from the broker's own order book through
the tracker's path; forged ones change nothing, replays change nothing, another trader's
orders are out of reach."""

import json
from decimal import Decimal

import pytest
import requests

from brokers.sandbox import kit
from brokers.sandbox.upstox import render as upstox_wire
from brokers.sandbox.zerodha import render as kite_wire
from brokers.types import OrderType, Product, Side
from routing.orders import postbacks, services
from routing.orders.inputs import OrderInput
from routing.orders.models import Order, OrderState
from tests.portfolio.conftest import connect_demo, eventually

pytestmark = pytest.mark.django_db(transaction=True)


def order_input(broker, **kwargs) -> OrderInput:
    values = {
        "instrument": "NSE:INFY",
        "side": Side.BUY,
        "quantity": 2,
        "order_type": OrderType.MARKET,
        "product": Product.CNC,
        "broker": broker,
        **kwargs,
    }
    return OrderInput(**values)


def address(base_url, connection) -> str:
    return base_url + postbacks.postback_path(connection.app)


def post(url, body) -> requests.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return requests.post(url, data=data, headers={"Content-Type": "application/json"}, timeout=10)


def at_broker(connection, order: Order):
    return kit.find_order(connection.broker, connection.account_id, order.broker_order_id)


def state(order: Order):
    order.refresh_from_db()
    return order.status, order.filled_quantity, order.events.count()


@pytest.mark.parametrize("broker", ["zerodha", "upstox"])
def test_the_sandbox_posts_the_fill_and_the_order_follows_without_polling(
    trader, connected, sandbox_hosts, broker
):
    connection = connected(broker)[broker]
    kit.set_postback_url(broker, address(sandbox_hosts, connection), connection.account_id)

    placed = services.place_order(user=trader, order=order_input(broker)).order
    assert placed.status in (OrderState.PLACED, OrderState.OPEN), placed.status_reason

    # No worker runs here: only the broker's postback can bring the fill.
    assert eventually(lambda: state(placed)[0] == OrderState.FILLED, timeout=10)
    assert placed.filled_quantity == 2 and placed.average_price
    assert placed.events.filter(to_status=OrderState.FILLED).count() == 1


def test_forged_kite_postbacks_change_nothing_and_a_genuine_one_is_taken_once(
    trader, connected, sandbox_hosts, market
):
    zerodha = connected("zerodha")["zerodha"]
    placed = services.place_order(user=trader, order=order_input("zerodha")).order
    market.shift(1)  # filled at the broker; nothing here knows yet
    genuine = kite_wire.postback_body(at_broker(zerodha, placed))
    assert genuine["status"] == "COMPLETE"
    url = address(sandbox_hosts, zerodha)
    before = state(placed)

    forged = [
        (url[:-4] + "abcd", genuine, 403),  # an address we never gave out
        (url, {**genuine, "checksum": "0" * 64}, 403),  # signed with another secret
        (url, {k: v for k, v in genuine.items() if k != "checksum"}, 401),  # unsigned
        (url, {**genuine, "order_timestamp": "2026-06-03 10:29:00"}, 403),  # body altered
        (url, b"{not json", 400),
    ]
    for where, body, code in forged:
        answer = post(where, body)
        assert answer.status_code == code, (body, answer.text)
        assert answer.json()["error"]["message"]
        assert state(placed) == before

    answer = post(url, genuine)
    assert answer.status_code == 200 and answer.json() == {"status": "applied"}
    taken = state(placed)
    assert taken[:2] == (OrderState.FILLED, 2)

    replay = post(url, genuine)
    assert replay.status_code == 200 and replay.json() == {"status": "replayed"}
    assert state(placed) == taken


def test_another_traders_order_cannot_be_reached_through_my_address(
    trader, other_trader, connected, sandbox_hosts, market
):
    mine = connected("zerodha")["zerodha"]
    theirs = connect_demo(other_trader, "zerodha", sandbox_hosts)
    their_order = services.place_order(user=other_trader, order=order_input("zerodha")).order
    market.shift(1)
    # A body the broker really signed (both apps hold the demo app's secret), for their order.
    body = kite_wire.postback_body(at_broker(theirs, their_order))
    before = state(their_order)

    answer = post(address(sandbox_hosts, mine), body)

    assert answer.status_code == 404
    assert state(their_order) == before
    assert post(address(sandbox_hosts, theirs), body).json() == {"status": "applied"}
    assert state(their_order)[0] == OrderState.FILLED


def test_an_upstox_update_is_only_a_cue_to_read_the_order_book(trader, connected, sandbox_hosts):
    upstox = connected("upstox")["upstox"]
    resting = order_input(
        "upstox", order_type=OrderType.LIMIT, price=Decimal("1530.00"), quantity=3
    )
    placed = services.place_order(user=trader, order=resting).order
    row = at_broker(upstox, placed)
    # An update claiming a fill the broker's book does not show.
    claim = {**upstox_wire.postback_body(row), "status": "complete", "filled_quantity": 3}
    before = state(placed)

    answer = post(address(sandbox_hosts, upstox), claim)

    assert answer.status_code == 200
    status, filled, _ = state(placed)
    assert (status, filled) == (OrderState.OPEN, 0), before  # as the book says: open, unfilled
    assert post(address(sandbox_hosts, upstox)[:-1] + "0", claim).status_code == 403


def test_a_broker_without_postbacks_is_refused(trader, connected, sandbox_hosts):
    dhan = connected("dhan")["dhan"]
    url = sandbox_hosts + f"/api/v1/orders/postbacks/dhan/{dhan.app.pk}/{postbacks.sign(dhan.app)}"

    answer = post(url, {"orderId": "1"})

    assert answer.status_code == 404
    assert "no order postbacks" in answer.json()["error"]["message"]


def test_a_trader_sees_the_postback_address_of_each_own_app_only(
    trader, other_trader, connected, sandbox_hosts
):
    from rest_framework.test import APIClient

    linked = connected("zerodha", "upstox", "dhan")
    connect_demo(other_trader, "zerodha", sandbox_hosts)
    client = APIClient()
    client.force_authenticate(trader)

    found = client.get("/api/v1/orders/postbacks").json()["results"]

    assert sorted(a["broker"] for a in found) == ["upstox", "zerodha"]  # Dhan posts nothing
    mine = {str(linked[b].app.pk) for b in ("zerodha", "upstox")}
    assert {a["appId"] for a in found} == mine
    zerodha = next(a for a in found if a["broker"] == "zerodha")
    assert zerodha["url"].endswith(postbacks.postback_path(linked["zerodha"].app))
    assert APIClient().get("/api/v1/orders/postbacks").status_code in (401, 403)
