"""Pre-trade risk rules, one table row per rule: the code, the sentence and the scope a trader
gets, and every rule listed when several are broken at once."""

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from brokers.types import OrderType, Product, Side
from routing.intent import Book
from routing.risk import check
from tests.routing.snapshots import NIFTY_FUT, RELIANCE, ist, limit_buy, snapshot

D = Decimal
MONDAY_10AM = ist("2026-06-01 10:00")
LAST = D("1400.00")

BUY = limit_buy()


def run(
    intent=BUY,
    *,
    policy=None,
    book=None,
    last_price=LAST,
    now=MONDAY_10AM,
    broker_key=None,
):
    found = check(
        intent,
        policy=policy or snapshot(),
        book=book or Book(),
        last_price=last_price,
        now=now,
        broker_key=broker_key,
    )
    return [(b.code, b.message, b.scope) for b in found]


def test_a_sound_order_breaks_nothing_globally_or_at_a_broker():
    assert run() == []
    assert run(broker_key="zerodha") == []


FUT = replace(limit_buy(NIFTY_FUT, 75, "24500.00"), product=Product.NRML)
GLOBAL = "global"

CASES = [
    (
        "kill switch",
        {"policy": snapshot(kill_switch=True)},
        [("KILL_SWITCH", "The kill switch is on (panic): no new orders are sent.", GLOBAL)],
    ),
    (
        "broker paused",
        {"policy": snapshot(paused=("zerodha",)), "broker_key": "zerodha"},
        [("BROKER_PAUSED", "You paused Zerodha: no new orders go there.", "zerodha")],
    ),
    (
        "broker not connected",
        {"broker_key": "fyers"},
        [("BROKER_UNKNOWN", "fyers is not a connected broker.", "fyers")],
    ),
    (
        "zero quantity",
        {"intent": replace(BUY, quantity=0)},
        [("QUANTITY_NOT_POSITIVE", "Quantity must be at least 1.", GLOBAL)],
    ),
    (
        "negative quantity",
        {"intent": replace(BUY, quantity=-5)},
        [("QUANTITY_NOT_POSITIVE", "Quantity must be at least 1.", GLOBAL)],
    ),
    (
        "fractional quantity",
        {"intent": replace(BUY, quantity=1.5)},
        [("QUANTITY_NOT_WHOLE", "Quantity 1.5 is not a whole number.", GLOBAL)],
    ),
    (
        "not a multiple of the lot",
        {"intent": replace(FUT, quantity=100), "last_price": D("24500.00")},
        [
            (
                "LOT_SIZE",
                "Quantity 100 is not a multiple of the lot size 75 of NIFTY26JUNFUT (try 75).",
                GLOBAL,
            )
        ],
    ),
    (
        "limit without a price",
        {"intent": replace(BUY, price=None)},
        [("PRICE_REQUIRED", "A LIMIT order needs a price.", GLOBAL)],
    ),
    (
        "market order with a price",
        {"intent": replace(BUY, order_type=OrderType.MARKET)},
        [
            (
                "PRICE_NOT_ALLOWED",
                "A MARKET order takes no price: leave it empty, or make it a LIMIT order.",
                GLOBAL,
            )
        ],
    ),
    (
        "SL-M with a price",
        {"intent": replace(BUY, order_type=OrderType.SL_M, trigger_price=D("1410.00"))},
        [
            (
                "PRICE_NOT_ALLOWED",
                "A SL-M order takes no price: leave it empty, or make it a SL order.",
                GLOBAL,
            )
        ],
    ),
    (
        "SL without a trigger",
        {"intent": replace(BUY, order_type=OrderType.SL)},
        [("TRIGGER_REQUIRED", "A SL order needs a trigger price.", GLOBAL)],
    ),
    (
        "limit with a trigger",
        {"intent": replace(BUY, trigger_price=D("1390.00"))},
        [
            (
                "TRIGGER_NOT_ALLOWED",
                "A LIMIT order takes no trigger price: only SL and SL-M orders do.",
                GLOBAL,
            )
        ],
    ),
    (
        "price of zero",
        {"intent": replace(BUY, price=D("0"))},
        [("PRICE_NOT_POSITIVE", "Price must be more than zero.", GLOBAL)],
    ),
    (
        "price off the tick",
        {"intent": replace(BUY, price=D("1400.05"))},
        [
            (
                "TICK_SIZE",
                "Price 1400.05 is not a multiple of the tick size 0.10 of RELIANCE "
                "(try 1400.00 or 1400.10).",
                GLOBAL,
            )
        ],
    ),
    (
        "price off a tick written as masters pad it",
        {
            "intent": replace(
                BUY,
                instrument=replace(RELIANCE, tick_size=D("0.0500")),
                price=D("1400.0300"),
            )
        },
        [
            (
                "TICK_SIZE",
                "Price 1400.03 is not a multiple of the tick size 0.05 of RELIANCE "
                "(try 1400.00 or 1400.05).",
                GLOBAL,
            )
        ],
    ),
    (
        "price outside the band",
        {"intent": replace(BUY, price=D("1550.00"))},
        [
            (
                "PRICE_BAND",
                "Price ₹1,550.00 is outside today's price band of RELIANCE "
                "(₹1,260.00 to ₹1,540.00).",
                GLOBAL,
            )
        ],
    ),
    (
        "buy stop-loss triggering below the last price",
        {
            "intent": replace(
                BUY, order_type=OrderType.SL, price=D("1405.00"), trigger_price=D("1395.00")
            )
        },
        [
            (
                "TRIGGER_SIDE",
                "A buy stop-loss triggers above the last price ₹1,400.00; a trigger of "
                "₹1,395.00 would fire at once.",
                GLOBAL,
            )
        ],
    ),
    (
        "sell stop-loss priced above its trigger",
        {
            "intent": replace(
                BUY,
                side=Side.SELL,
                product=Product.MIS,
                order_type=OrderType.SL,
                price=D("1390.00"),
                trigger_price=D("1385.00"),
            )
        },
        [
            (
                "TRIGGER_SIDE",
                "For a sell stop-loss the price ₹1,390.00 must be at or below the trigger "
                "₹1,385.00.",
                GLOBAL,
            )
        ],
    ),
    (
        "market order without market protection",
        {"intent": replace(BUY, order_type=OrderType.MARKET, price=None, market_protection=0)},
        [
            (
                "MARKET_PROTECTION",
                "Under SEBI's rules for API orders a MARKET order needs market protection: "
                "-1 (the broker's automatic) or 1 to 100 %, not 0.",
                GLOBAL,
            )
        ],
    ),
    (
        "expired contract",
        {
            "intent": replace(FUT, instrument=replace(NIFTY_FUT, expiry=date(2026, 5, 28))),
            "last_price": D("24500.00"),
        },
        [("INSTRUMENT_EXPIRED", "NIFTY26JUNFUT expired on 28 May 2026.", GLOBAL)],
    ),
    (
        "exchange holiday",
        {"now": ist("2026-05-01 10:00")},
        [("EXCHANGE_HOLIDAY", "NSE is closed today, 01 May 2026 (Maharashtra Day).", GLOBAL)],
    ),
    (
        "weekend",
        {"now": ist("2026-06-06 10:00")},
        [("MARKET_CLOSED", "NSE is closed on Saturdays.", GLOBAL)],
    ),
    (
        "before the session opens",
        {"now": ist("2026-06-01 09:14")},
        [("MARKET_CLOSED", "NSE is open 09:15 to 15:30 IST; it is 09:14 now.", GLOBAL)],
    ),
    (
        "at the close",
        {"now": ist("2026-06-01 15:30")},
        [("MARKET_CLOSED", "NSE is open 09:15 to 15:30 IST; it is 15:30 now.", GLOBAL)],
    ),
    (
        "outside the trader's hours for the broker",
        {
            "policy": snapshot(
                brokers={"zerodha": {"trading": {"trading_hours": {"start": "10:00"}}}}
            ),
            "now": ist("2026-06-01 09:30"),
            "broker_key": "zerodha",
        },
        [
            (
                "OUTSIDE_TRADING_HOURS",
                "You trade through Zerodha from 10:00 to 15:30 IST; it is 09:30 now.",
                "zerodha",
            )
        ],
    ),
    (
        "not on the broker's allowed list",
        {"policy": snapshot(allowed={"zerodha": {"INE467B01029"}}), "broker_key": "zerodha"},
        [
            (
                "INSTRUMENT_NOT_ALLOWED",
                "RELIANCE is not on Zerodha's list of allowed instruments.",
                "zerodha",
            )
        ],
    ),
    (
        "restricted by EXCHANGE:SYMBOL",
        {"policy": snapshot(restricted={"zerodha": {"NSE:RELIANCE"}}), "broker_key": "zerodha"},
        [
            (
                "INSTRUMENT_RESTRICTED",
                "RELIANCE is on Zerodha's list of restricted instruments.",
                "zerodha",
            )
        ],
    ),
    (
        "no last price for a market order's value",
        {
            "intent": replace(BUY, order_type=OrderType.MARKET, price=None),
            "policy": snapshot(global_={"risk": {"max_order_value": "100000"}}),
            "last_price": None,
        },
        [
            (
                "PRICE_UNKNOWN",
                "No last price for RELIANCE: the order's value cannot be checked.",
                GLOBAL,
            )
        ],
    ),
    (
        "limit price beyond the broker's tolerance",
        {"intent": replace(BUY, price=D("1420.00")), "broker_key": "zerodha"},
        [
            (
                "PRICE_TOLERANCE",
                "Limit price ₹1,420.00 is 1.43 % away from the last price ₹1,400.00; "
                "Zerodha allows 1 %.",
                "zerodha",
            )
        ],
    ),
    (
        "over the global single-order value",
        {"policy": snapshot(global_={"risk": {"max_order_value": "10000"}})},
        [
            (
                "MAX_ORDER_VALUE",
                "Order value ₹14,000.00 is over the ₹10,000.00 limit for one order.",
                GLOBAL,
            )
        ],
    ),
    (
        "over the broker's order value",
        {
            "policy": snapshot(brokers={"zerodha": {"trading": {"max_order_value": "5000"}}}),
            "broker_key": "zerodha",
        },
        [
            (
                "MAX_ORDER_VALUE",
                "Order value ₹14,000.00 is over Zerodha's ₹5,000.00 limit for one order.",
                "zerodha",
            )
        ],
    ),
    (
        "position quantity after the order",
        {
            "policy": snapshot(brokers={"zerodha": {"risk": {"max_position_quantity": 50}}}),
            "book": Book(broker_quantities={"zerodha": 45}),
            "broker_key": "zerodha",
        },
        [
            (
                "POSITION_QUANTITY",
                "The position at Zerodha would be 55 RELIANCE, over its limit of 50.",
                "zerodha",
            )
        ],
    ),
    (
        "position value after the order",
        {
            "policy": snapshot(brokers={"zerodha": {"risk": {"max_position_value": "60000"}}}),
            "book": Book(broker_quantities={"zerodha": 40}),
            "broker_key": "zerodha",
        },
        [
            (
                "POSITION_VALUE",
                "The position at Zerodha would be worth ₹70,000.00, over its limit of ₹60,000.00.",
                "zerodha",
            )
        ],
    ),
    (
        "delivery sell of shares not held",
        {"intent": replace(BUY, side=Side.SELL)},
        [
            (
                "SELL_NOT_HELD",
                "You hold 0 RELIANCE; a delivery sell of 10 needs them in your demat.",
                GLOBAL,
            )
        ],
    ),
    (
        "gross exposure after the order",
        {
            "policy": snapshot(global_={"risk": {"max_gross_exposure": "100000"}}),
            "book": Book(gross_exposure=D("95000")),
        },
        [
            (
                "GROSS_EXPOSURE",
                "Gross exposure would be ₹1,09,000.00, over the ₹1,00,000.00 limit.",
                GLOBAL,
            )
        ],
    ),
    (
        "concentration after the order",
        {
            "intent": replace(BUY, quantity=11),
            "policy": snapshot(global_={"risk": {"max_concentration_pct": "20"}}),
            "book": Book(portfolio_value=D("50000"), cash=D("20000")),
        },
        [
            (
                "CONCENTRATION",
                "RELIANCE would be 22 % of your capital (₹15,400.00 of ₹70,000.00), over the "
                "20 % limit.",
                GLOBAL,
            )
        ],
    ),
    (
        "daily loss reached",
        {
            "policy": snapshot(global_={"risk": {"max_daily_loss": "5000"}}),
            "book": Book(realized_pnl=D("-3000"), unrealized_pnl=D("-2500")),
        },
        [
            (
                "DAILY_LOSS",
                "Today's loss of ₹5,500.00 has reached the ₹5,000.00 limit: only orders that "
                "reduce a position are accepted.",
                GLOBAL,
            )
        ],
    ),
    (
        "the broker's daily loss reached",
        {
            "policy": snapshot(brokers={"zerodha": {"risk": {"max_daily_loss": "1000"}}}),
            "book": Book(broker_day_pnl={"zerodha": D("-1000")}),
            "broker_key": "zerodha",
        },
        [
            (
                "DAILY_LOSS",
                "Today's loss at Zerodha of ₹1,000.00 has reached the ₹1,000.00 limit: only "
                "orders that reduce a position are accepted.",
                "zerodha",
            )
        ],
    ),
    (
        "open orders at the limit",
        {
            "policy": snapshot(global_={"risk": {"max_open_orders": 5}}),
            "book": Book(open_orders=5),
        },
        [
            (
                "OPEN_ORDERS",
                "5 orders are open, the most you allow: wait for one to fill or cancel one.",
                GLOBAL,
            )
        ],
    ),
]


@pytest.mark.parametrize(("given", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_rule_has_its_code_and_sentence(given, expected):
    assert run(**given) == expected


def test_every_rule_broken_is_listed_not_just_the_first():
    policy = snapshot(
        kill_switch=True,
        restricted={"zerodha": {"INE002A01018"}},
        global_={"risk": {"max_open_orders": 1}},
    )
    intent = replace(BUY, price=None, trigger_price=D("1390.00"), quantity=0)
    got = run(
        intent,
        policy=policy,
        book=Book(open_orders=3),
        now=ist("2026-06-06 10:00"),
        broker_key="zerodha",
    )
    assert [code for code, _, _ in got] == [
        "KILL_SWITCH",
        "QUANTITY_NOT_POSITIVE",
        "PRICE_REQUIRED",
        "TRIGGER_NOT_ALLOWED",
        "MARKET_CLOSED",
        "INSTRUMENT_RESTRICTED",
    ]
    # With a usable quantity, the value rules are listed too.
    got = run(
        replace(intent, quantity=10, price=D("1400.00"), trigger_price=None),
        policy=policy,
        book=Book(open_orders=3),
        now=ist("2026-06-06 10:00"),
        broker_key="zerodha",
    )
    assert [code for code, _, _ in got] == [
        "KILL_SWITCH",
        "MARKET_CLOSED",
        "INSTRUMENT_RESTRICTED",
        "OPEN_ORDERS",
    ]


@pytest.mark.parametrize(
    ("side", "product", "held", "expected"),
    [
        (Side.SELL, Product.CNC, 10, []),  # closes the position
        (Side.SELL, Product.MIS, 0, ["POSITION_QUANTITY", "DAILY_LOSS"]),  # opens a short
        (Side.BUY, Product.CNC, -20, []),  # covers part of a short
    ],
)
def test_limits_stop_only_orders_that_grow_a_position(side, product, held, expected):
    """At the loss and position limits a trader can still reduce or close a position."""
    policy = snapshot(
        global_={"risk": {"max_daily_loss": "1000"}},
        brokers={"zerodha": {"risk": {"max_position_quantity": 5}}},
    )
    book = Book(
        quantities={RELIANCE.isin: held},
        broker_quantities={"zerodha": held},
        realized_pnl=D("-2000"),
    )
    intent = replace(BUY, side=side, product=product)
    got = run(intent, policy=policy, book=book, broker_key="zerodha")
    assert [code for code, _, _ in got] == expected


def test_hours_are_read_in_ist_whatever_the_clock_zone():
    """09:00 UTC is 14:30 IST: open, though 09:00 would be before NSE's session."""
    from datetime import UTC, datetime

    assert run(now=datetime(2026, 6, 1, 9, 0, tzinfo=UTC)) == []
    assert run(now=datetime(2026, 6, 1, 10, 30, tzinfo=UTC))[0][0] == "MARKET_CLOSED"
