"""Round trip: the Groww adapter against the Groww sandbox on the live server."""

from decimal import Decimal

import pytest

from brokers.errors import NotSupported, OrderStateUnknown, TokenExpired
from brokers.sandbox import groww as sandbox
from brokers.sandbox import kit
from brokers.types import (
    InstrumentRef,
    OrderModification,
    OrderRequest,
    OrderStatus,
    OrderType,
    Product,
    Side,
)
from tests.brokers.logins import anonymous

BROKER = "groww"
pytestmark = pytest.mark.django_db(transaction=True)


def far_limit(tag: str) -> OrderRequest:
    return OrderRequest(
        exchange="NSE",
        symbol="RELIANCE",
        side=Side.BUY,
        quantity=1,
        order_type=OrderType.LIMIT,
        product=Product.CNC,
        price=Decimal("2000.05"),  # far below 2950.50: it stays open
        tag=tag,
    )


def test_round_trip(logged_in):
    adapter = logged_in  # no browser, nothing typed: the demo key's checksum login

    tokens = adapter.tokens
    assert tokens.account_id == "GW5500"
    assert tokens.expires_at.hour == 6

    assert adapter.profile().account_id == "GW5500"
    assert adapter.funds().available == Decimal("40000")
    holdings = {h.symbol: h for h in adapter.holdings()}
    assert holdings["RELIANCE"].isin == "INE002A01018"
    assert holdings["RELIANCE"].average_price == Decimal("2600")
    assert holdings["ITC"].quantity == 50
    assert adapter.positions() == []
    assert adapter.orders() == []
    assert adapter.trades() == []

    reliance, infy_bse = InstrumentRef("NSE", "RELIANCE"), InstrumentRef("BSE", "INFY")
    quotes = adapter.quotes([reliance, infy_bse])
    assert quotes[reliance].last_price == Decimal("2950.5")
    assert quotes[reliance].previous_close == Decimal("2925.00")
    assert quotes[infy_bse].previous_close == Decimal("1550.10")

    listings = {(i.exchange, i.symbol): i for i in adapter.instruments()}
    assert listings[("NSE", "RELIANCE")].isin == "INE002A01018"
    assert listings[("BSE", "RELIANCE")].instrument_id == "500325"

    ack = adapter.place_order(far_limit("live-groww-0001"))
    placed = adapter.find_order("live-groww-0001")
    assert placed.order_id == ack.order_id
    assert placed.status is OrderStatus.OPEN
    assert adapter.funds().used == Decimal("2000.05")

    adapter.modify_order(OrderModification(ack.order_id, price=Decimal("2100")))
    assert adapter.find_order("live-groww-0001").price == Decimal("2100")

    adapter.cancel_order(ack.order_id)
    assert adapter.find_order("live-groww-0001").status is OrderStatus.CANCELLED

    with pytest.raises(NotSupported):
        adapter.refresh()
    with pytest.raises(NotSupported):
        adapter.logout()


def test_totp_login(sandbox_hosts):
    adapter = anonymous("groww", sandbox_hosts)

    tokens = adapter.complete_login({"totp": kit.totp(sandbox.TOTP_SECRET)})

    assert tokens.account_id == "GW5500"


def test_lost_reply_is_reconciled_by_tag(logged_in):
    adapter = logged_in
    kit.set_faults("groww", "GW5500", lose_order_reply=True)

    with pytest.raises(OrderStateUnknown) as caught:
        adapter.place_order(far_limit("live-groww-0002"))

    assert caught.value.tag == "live-groww-0002"
    assert adapter.find_order(caught.value.tag).status is OrderStatus.OPEN


def test_a_resend_of_a_taken_order_is_settled_by_its_tag_not_refused(logged_in):
    """Groww answers a reused order_reference_id with GA007: the order is already there (an
    earlier send of the same attempt was taken), so it is found by its tag, never called
    rejected — a rejected order that is live at the broker would be lost to the trader."""
    adapter = logged_in
    first = adapter.place_order(far_limit("live-groww-0003")).order_id

    with pytest.raises(OrderStateUnknown) as caught:
        adapter.place_order(far_limit("live-groww-0003"))

    assert caught.value.tag == "live-groww-0003" and caught.value.code == "GA007"
    assert adapter.find_order(caught.value.tag).order_id == first
    assert len([o for o in adapter.orders() if o.tag == "live-groww-0003"]) == 1


def test_forced_expiry_asks_for_a_new_login(logged_in):
    adapter = logged_in
    kit.set_faults("groww", token_expired=True)

    with pytest.raises(TokenExpired):
        adapter.holdings()
