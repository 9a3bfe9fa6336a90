"""The order pages against the sandbox: the ticket (search, live preview, confirmation,
placing once), the order book with its filters, one order's page, modify and cancel; bad input
is said on the form and nothing is stored or sent; another trader's order is a 404."""

import html
import re
from decimal import Decimal

import pytest

from brokers.models import InstrumentRecord
from brokers.sandbox import kit
from brokers.types import OrderType, Product, Side
from portfolio import services as portfolio
from routing.orders import services
from routing.orders.inputs import OrderInput
from routing.orders.models import Order, OrderState
from routing.policy import services as policy_services

pytestmark = pytest.mark.django_db(transaction=True)

TICKET = "/orders/new/"
PREVIEW = "/orders/new/preview/"
PLACE = "/orders/new/place/"


@pytest.fixture
def signed_in(client, trader):
    client.force_login(trader)
    return client


@pytest.fixture
def zerodha(connected):
    return connected("zerodha")["zerodha"]


def ticket(**fields) -> dict:
    data = {
        "instrument": "NSE:INFY",
        "side": "BUY",
        "quantity": "2",
        "order_type": "MARKET",
        "product": "CNC",
        "validity": "DAY",
        "price": "",
        "trigger_price": "",
        "broker": "",
        "idempotency_key": "ticket-1",
    }
    data.update(fields)
    return data


def text(response) -> str:
    """The page's words, without its tags."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode())))


def error_of(response, field: str) -> str:
    found = re.search(rf'id="err-{field}"[^>]*>([^<]*)<', response.content.decode())
    return html.unescape(found.group(1).strip()) if found else ""


def sent(connection) -> list:
    return kit.orders(connection.broker, connection.account_id)


def resting_buy(trader, broker="zerodha") -> Order:
    order = OrderInput(
        instrument="NSE:INFY",
        side=Side.BUY,
        quantity=3,
        order_type=OrderType.LIMIT,
        product=Product.CNC,
        price=Decimal("1530.00"),
        broker=broker,
    )
    return services.place_order(user=trader, order=order).order


# --- The ticket ---------------------------------------------------------------------------------
def test_the_ticket_shows_the_kill_switch_off_the_egress_ip_and_a_fresh_key(
    signed_in, zerodha, settings
):
    settings.STATIC_EGRESS_IP = "203.0.113.7"

    first, second = signed_in.get(TICKET), signed_in.get(TICKET)

    assert first.status_code == 200
    words = text(first)
    assert "Kill switch off: orders may go out." in words
    assert "Orders leave this site from 203.0.113.7" in words
    assert 'href="/orders/"' in first.content.decode()  # the nav link
    keys = [
        re.search(r'name="idempotency_key" value="([^"]+)"', r.content.decode()).group(1)
        for r in (first, second)
    ]
    assert all(keys) and keys[0] != keys[1]


def test_with_the_kill_switch_on_the_ticket_says_so_and_placing_stores_and_sends_nothing(
    signed_in, trader, zerodha
):
    policy_services.arm_kill_switch(user=trader, actor=trader, reason="desk closed")

    page = signed_in.get(TICKET)
    assert "Kill switch ON: placing is blocked." in text(page)
    assert "desk closed" in text(page)

    preview = signed_in.post(PREVIEW, ticket(confirm="1"), HTTP_HX_REQUEST="true")
    assert "Placing is blocked: the kill switch is on." in text(preview)
    assert "KILL_SWITCH" in text(preview) and 'id="place-button"' not in preview.content.decode()

    placed = signed_in.post(PLACE, ticket())
    assert placed.status_code == 422
    assert "Not placed: the order breaks the rules listed below" in text(placed)
    assert Order.objects.count() == 0 and sent(zerodha) == []


def test_the_search_finds_listings_by_isin_listing_and_name(signed_in, trader, connected):
    connected("zerodha")
    # Kite's master has no ISINs: an ISIN finds its listing once a sync has named it.
    assert "No broker's instrument master lists" in text(
        signed_in.get("/orders/new/instruments/", {"q": "INE009A01021"})
    )
    portfolio.sync_portfolio(user=trader)
    by_isin = text(signed_in.get("/orders/new/instruments/", {"q": "INE009A01021"}))
    assert "NSE:INFY" in by_isin and "INE009A01021" in by_isin

    by_listing = signed_in.get("/orders/new/instruments/", {"q": "NSE:INF"}).content.decode()
    assert 'data-ref="NSE:INFY"' in by_listing

    by_name = signed_in.get("/orders/new/instruments/", {"q": "infosys"}).content.decode()
    assert 'data-ref="NSE:INFY"' in by_name

    nothing = text(signed_in.get("/orders/new/instruments/", {"q": "NOSUCHTHING"}))
    assert "No broker's instrument master lists “NOSUCHTHING”" in nothing
    assert "Type at least 2" in text(signed_in.get("/orders/new/instruments/", {"q": "I"}))


def test_the_search_caps_its_results(signed_in, zerodha):
    InstrumentRecord.objects.bulk_create(
        InstrumentRecord(
            broker="zerodha", instrument_id=f"x{i}", exchange="NSE", symbol=f"ZZTEST{i:02d}"
        )
        for i in range(40)
    )
    page = signed_in.get("/orders/new/instruments/", {"q": "ZZTEST"}).content.decode()
    assert page.count('class="link instrument-choice"') == 15


def test_the_live_preview_explains_the_routing_and_the_charges_then_confirms(signed_in, connected):
    connected("zerodha", "upstox")

    live = signed_in.post(PREVIEW, ticket(), HTTP_HX_REQUEST="true")

    words = text(live)
    assert live.status_code == 200
    assert "Passes every rule of your risk policy." in words
    assert "chosen" in words and "Zerodha" in words and "Upstox" in words
    assert re.search(r"₹\d+\.\d\d brokerage", words)  # estimated charges per candidate
    assert 'id="review-button"' in live.content.decode()
    assert 'id="place-button"' not in live.content.decode()
    assert Order.objects.count() == 0

    confirm = signed_in.post(PREVIEW, ticket(confirm="1"), HTTP_HX_REQUEST="true")
    assert 'id="place-button"' in confirm.content.decode()
    assert re.search(r"BUY 2 \u00d7 NSE:INFY MARKET · CNC · DAY → (Zerodha|Upstox)", text(confirm))
    assert "Estimated charges ₹" in text(confirm)


@pytest.mark.parametrize(
    "fields, field, message",
    [
        ({"quantity": "0"}, "quantity", "Quantity must be at least 1."),
        ({"quantity": "-3"}, "quantity", "Quantity must be at least 1."),
        ({"quantity": "1.5"}, "quantity", "Quantity 1.5 is not a whole number."),
        ({"quantity": ""}, "quantity", "Give a quantity: a whole number, like 1 or 50."),
        (
            {"order_type": "LIMIT", "price": "1500.03"},
            "price",
            "Price 1500.03 is not a multiple of the tick size",
        ),
        ({"price": "1500"}, "price", "A MARKET order takes no price"),
        ({"order_type": "LIMIT"}, "price", "A LIMIT order needs a price."),
        ({"instrument": "NSE:NOSUCH"}, "instrument", "No broker's instrument master lists"),
        ({"instrument": "reliance"}, "instrument", "is neither an ISIN nor EXCHANGE:SYMBOL"),
    ],
)
def test_bad_input_is_said_on_the_form_and_nothing_is_stored_or_sent(
    signed_in, zerodha, fields, field, message
):
    live = signed_in.post(PREVIEW, ticket(**fields), HTTP_HX_REQUEST="true")
    assert message in error_of(live, field), text(live)

    placed = signed_in.post(PLACE, ticket(**fields))

    assert placed.status_code in (400, 422)
    assert message in error_of(placed, field)
    assert Order.objects.count() == 0 and sent(zerodha) == []


def test_a_quantity_off_the_lot_is_said_on_the_form(signed_in, zerodha):
    # INFY traded in lots of 25 (a contract's lot, on the same listing for the test).
    InstrumentRecord.objects.filter(symbol="INFY").update(lot_size=25)

    placed = signed_in.post(PLACE, ticket(quantity="30"))

    assert placed.status_code == 422
    assert "Quantity 30 is not a multiple of the lot size 25 of INFY (try 25)." in error_of(
        placed, "quantity"
    )
    assert Order.objects.count() == 0 and sent(zerodha) == []


def test_placing_twice_with_the_ticket_key_gives_one_order(signed_in, zerodha):
    first = signed_in.post(PLACE, ticket(idempotency_key="double-click"))
    second = signed_in.post(PLACE, ticket(idempotency_key="double-click"))

    order = Order.objects.get()
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == f"/orders/{order.pk}/"
    assert len(sent(zerodha)) == 1
    page = signed_in.get(second["Location"])
    assert "This ticket was placed already: here is its order, not sent again." in text(page)


def test_the_ticket_key_with_another_order_is_refused_with_a_fresh_key(signed_in, zerodha):
    signed_in.post(PLACE, ticket(idempotency_key="used"))

    again = signed_in.post(PLACE, ticket(idempotency_key="used", quantity="5"))

    assert again.status_code == 409
    assert "already used for a different order. Nothing was sent" in text(again)
    fresh = re.search(r'name="idempotency_key" value="([^"]+)"', again.content.decode()).group(1)
    assert fresh != "used"
    assert Order.objects.count() == 1 and len(sent(zerodha)) == 1


# --- The order book and one order -----------------------------------------------------------------
def test_the_book_lists_the_traders_own_orders_with_filters(
    signed_in, trader, other_trader, connected, market
):
    connected("zerodha", "upstox")
    connected("zerodha", user=other_trader)
    mine = resting_buy(trader, "upstox")
    filled = services.place_order(
        user=trader,
        order=OrderInput(
            instrument="NSE:INFY",
            side=Side.BUY,
            quantity=1,
            order_type=OrderType.MARKET,
            product=Product.CNC,
            broker="zerodha",
        ),
    ).order
    market.shift(1)
    services.track_order(order_id=filled.pk)
    theirs = resting_buy(other_trader, "zerodha")

    page = signed_in.get("/orders/")
    listed = page.content.decode()
    assert f'id="order-{mine.pk}"' in listed and f'id="order-{filled.pk}"' in listed
    assert f'id="order-{theirs.pk}"' not in listed

    only_filled = signed_in.get("/orders/", {"status": "FILLED"}).content.decode()
    assert f'id="order-{filled.pk}"' in only_filled and f'id="order-{mine.pk}"' not in only_filled
    at_upstox = signed_in.get("/orders/", {"broker": "upstox"}).content.decode()
    assert f'id="order-{mine.pk}"' in at_upstox and f'id="order-{filled.pk}"' not in at_upstox
    today = signed_in.get("/orders/", {"date": "2026-06-03"}).content.decode()
    assert today.count('class="order-row"') == 2
    other_day = signed_in.get("/orders/", {"date": "2026-06-02"})
    assert "No order matches these filters." in text(other_day)

    bad = signed_in.get("/orders/", {"date": "03/06/2026"})
    assert bad.status_code == 400
    assert "Give the date as YYYY-MM-DD" in text(bad)

    fragment = signed_in.get("/orders/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="order-book")
    assert fragment.content.decode().lstrip().startswith('<section id="order-book"')


def test_the_order_page_shows_the_timeline_the_attempt_and_the_decision(signed_in, trader, zerodha):
    order = resting_buy(trader)
    attempt = order.attempts.get()

    page = signed_in.get(f"/orders/{order.pk}/")

    words = text(page)
    assert page.status_code == 200
    assert attempt.tag in words and order.broker_order_id in words
    assert "New → Routed" in words and "Routed → Sending" in words
    assert order.decision["explanation"] in words
    assert "Modify" in words and "Cancel" in words
    assert "asked as" not in words  # asked as NSE:INFY, which is what it is

    # What a push re-renders: the live part of the same page.
    live = signed_in.get(
        f"/orders/{order.pk}/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="order-live"
    )
    assert live.content.decode().lstrip().startswith('<div id="order-live"')
    assert attempt.tag in text(live)


def test_another_traders_order_is_a_404_everywhere(signed_in, other_trader, connected):
    connected("zerodha", user=other_trader)
    theirs = resting_buy(other_trader)

    for url in ("", "cancel/", "modify/"):
        assert signed_in.get(f"/orders/{theirs.pk}/{url}").status_code == 404
    assert signed_in.post(f"/orders/{theirs.pk}/cancel/", {"confirm": "1"}).status_code == 404
    assert (
        signed_in.post(
            f"/orders/{theirs.pk}/modify/", {"price": "1529", "confirm": "1"}
        ).status_code
        == 404
    )
    theirs.refresh_from_db()
    assert theirs.status in (OrderState.PLACED, OrderState.OPEN)


def test_cancel_asks_first_then_reaches_the_broker(signed_in, trader, zerodha):
    order = resting_buy(trader)

    ask = signed_in.get(f"/orders/{order.pk}/cancel/")
    assert "Cancel this order?" in text(ask)
    not_yet = signed_in.post(f"/orders/{order.pk}/cancel/")
    assert "Cancel this order?" in text(not_yet)
    assert [o.status for o in sent(zerodha)] != ["CANCELLED"]

    done = signed_in.post(f"/orders/{order.pk}/cancel/", {"confirm": "1"})

    assert done.status_code == 200 and "Cancellation accepted by Zerodha." in text(done)
    assert done["HX-Trigger"] == "order-updated"
    assert [o.status for o in sent(zerodha)] == ["CANCELLED"]


def test_a_filled_order_cannot_be_cancelled_and_says_why(signed_in, trader, zerodha, market):
    placed = services.place_order(
        user=trader,
        order=OrderInput(
            instrument="NSE:INFY",
            side=Side.BUY,
            quantity=1,
            order_type=OrderType.MARKET,
            product=Product.CNC,
        ),
    ).order
    market.shift(1)
    services.track_order(order_id=placed.pk)

    refused = signed_in.post(f"/orders/{placed.pk}/cancel/", {"confirm": "1"})

    assert refused.status_code == 422
    assert "This order is filled: it cannot be cancelled." in text(refused)


def test_modify_reviews_then_sends_and_bad_input_is_said(signed_in, trader, zerodha):
    order = resting_buy(trader)

    bad = signed_in.post(f"/orders/{order.pk}/modify/", {"quantity": "1.5"})
    assert bad.status_code == 400 and "Quantity must be a whole number" in text(bad)
    empty = signed_in.post(f"/orders/{order.pk}/modify/", {})
    assert "Give a new quantity, price or trigger price to change." in text(empty)
    off_tick = signed_in.post(f"/orders/{order.pk}/modify/", {"price": "1528.03", "confirm": "1"})
    assert off_tick.status_code == 422 and "tick size" in text(off_tick)
    assert Decimal(sent(zerodha)[0].price) == Decimal("1530")

    review = signed_in.post(f"/orders/{order.pk}/modify/", {"price": "1528"})
    assert "Send this change?" in text(review) and "₹1,528.00" in text(review)
    assert Decimal(sent(zerodha)[0].price) == Decimal("1530")

    done = signed_in.post(f"/orders/{order.pk}/modify/", {"price": "1528", "confirm": "1"})
    assert done.status_code == 200 and "Change accepted by Zerodha." in text(done)
    assert Decimal(sent(zerodha)[0].price) == Decimal("1528")


def test_a_lost_reply_shows_on_the_order_page_as_reconciled_by_tag(signed_in, trader, zerodha):
    kit.set_faults("zerodha", zerodha.account_id, lose_order_reply=True)
    placed = signed_in.post(PLACE, ticket())
    order = Order.objects.get()
    attempt = order.attempts.get()
    assert placed["Location"] == f"/orders/{order.pk}/" and len(sent(zerodha)) == 1

    page = signed_in.get(placed["Location"])

    words = text(page)
    row = re.search(
        rf'<tr class="attempt" data-tag="{attempt.tag}".*?</tr>', page.content.decode(), re.S
    )
    assert row and "(reconciled by tag)" in html.unescape(row.group(0))
    assert f"“{attempt.error}”" in words  # what went wrong, in the door's words
    assert "Sending → Outcome unknown (reconciling)" in words
    assert f"Outcome unknown (reconciling) → Placed (attempt 1, tag {attempt.tag})" in words
