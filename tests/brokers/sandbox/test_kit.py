"""What every simulated broker shares: the order book under concurrent writers."""

import time
from concurrent.futures import ThreadPoolExecutor

import requests
import time_machine

from brokers.sandbox import kit


def test_orders_placed_at_once_on_one_account_are_all_booked(live_server):
    """Ten clients placing ten orders each on the same demo account, at the same time (the
    live server answers each call on its own thread): every order is in the book, once."""
    token = kit.issue_token("zerodha", "ZD1234")
    headers = {"X-Kite-Version": "3", "Authorization": f"token kitedemo01:{token}"}
    url = f"{live_server.url}/sandbox/zerodha/orders/regular"

    def place(n: int) -> str:
        form = {"exchange": "NSE", "tradingsymbol": "INFY", "transaction_type": "BUY",
                "quantity": "1", "product": "MIS", "order_type": "LIMIT", "price": "1000",
                "tag": f"burst{n}"}  # fmt: skip
        with requests.Session() as session:
            answer = session.post(url, data=form, headers=headers, timeout=30)
        assert answer.status_code == 200, answer.text
        return answer.json()["data"]["order_id"]

    with ThreadPoolExecutor(max_workers=10) as pool:
        placed = list(pool.map(place, range(100)))

    book = kit.orders("zerodha", "ZD1234")
    assert sorted(o.order_id for o in book) == sorted(placed)
    assert sorted(o.tag for o in book) == sorted(f"burst{n}" for n in range(100))


def test_a_change_that_arrives_after_the_fill_does_not_undo_it(db):
    order = kit.save_order(
        "upstox",
        kit.SandboxOrder(
            order_id="1",
            account="UP4321",
            symbol="INFY",
            exchange="NSE",
            side="BUY",
            quantity=1,
            order_type="MARKET",
            product="I",
        ),
    )
    stale = kit.find_order("upstox", "UP4321", order.order_id)  # read while it is open
    with time_machine.travel(time.time() + 2, tick=False):
        assert kit.find_order("upstox", "UP4321", "1").status == "COMPLETE"  # the market filled it
        stale.status = "CANCELLED"  # a cancel decided on the stale copy
        kept = kit.save_order("upstox", stale)
        (booked,) = kit.orders("upstox", "UP4321")
    assert kept.status == booked.status == "COMPLETE"
    assert (booked.filled_quantity, booked.average_price) == (1, "1542.30")


def test_two_groww_orders_with_one_reference_at_once_book_one(live_server):
    """Groww refuses a reused order_reference_id (GA007): two clients sending the same one at
    the same time get one order and one GA007, never two orders."""
    token = kit.issue_token("groww", "GW5500")
    headers = {"Authorization": f"Bearer {token}", "X-API-VERSION": "1.0"}
    body = {"trading_symbol": "ITC", "quantity": 1, "price": 400, "trigger_price": 0,
            "validity": "DAY", "exchange": "NSE", "segment": "CASH", "product": "CNC",
            "order_type": "LIMIT", "transaction_type": "BUY"}  # fmt: skip

    def create(n: int) -> int:
        with requests.Session() as session:
            answer = session.post(
                f"{live_server.url}/sandbox/groww/v1/order/create",
                json={**body, "order_reference_id": f"same-ref-{n // 2:02d}"},
                headers=headers,
                timeout=30,
            )
        return answer.status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(create, range(40)))

    assert sorted(statuses) == [200] * 20 + [400] * 20
    tags = [o.tag for o in kit.orders("groww", "GW5500")]
    assert sorted(tags) == sorted(f"same-ref-{n:02d}" for n in range(20))
