"""The charges model against contract notes worked out by hand.

Each case writes the arithmetic out so a reader can check it against the rates in
routing/charges.py (the sources are named there). Turnover = price x quantity (options: the
premium). Rates in force from 1 April 2026 unless the case says otherwise:

    STT       delivery 0.1 % buy and sell; intraday 0.025 % sell; futures 0.05 % sell
              (0.02 % before 1 Apr 2026); options 0.15 % of premium, sell (0.1 % before)
    exchange  NSE cash 0.00297 % + IPFT 0.0001 % = 0.00307 %; NSE futures 0.00173 % + 0.0001 %
              = 0.00183 %; NSE options 0.03503 % + 0.0005 % = 0.03553 %; BSE cash 0.00375 %;
              BSE futures 0; BSE SENSEX/BANKEX options 0.0325 %, other BSE options 0.005 %
    SEBI      0.0001 % (₹10 per crore)
    stamp     buy only: delivery 0.015 %, intraday 0.003 %, futures 0.002 %, options 0.003 %
    GST       18 % of (brokerage + exchange + SEBI)
    DP        delivery sell, per scrip: Zerodha ₹13 + 18 % = ₹15.34, Fyers ₹12.50 + 18 % = ₹14.75

STT rounds to the rupee, everything else to the paisa, half up.
"""

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from brokers.types import AssetType, OrderType, Product, Side
from routing import charges
from routing.charges import ChargesUnknown, estimate
from routing.intent import Charges, InstrumentInfo, Intent
from routing.policy.plans import PUBLISHED_PLANS
from routing.policy.schema import Plan
from tests.routing.snapshots import NIFTY_FUT, RELIANCE

D = Decimal
AFTER_BUDGET = date(2026, 6, 1)  # a Monday
BEFORE_BUDGET = date(2026, 3, 2)

RELIANCE_BSE = replace(RELIANCE, exchange="BSE")
NIFTYBEES = InstrumentInfo(
    isin="INF204KB14I2", exchange="NSE", symbol="NIFTYBEES", asset_type=AssetType.ETF
)
NIFTY_CE = InstrumentInfo(
    isin="",
    exchange="NFO",
    symbol="NIFTY26JUN25000CE",
    asset_type=AssetType.DERIVATIVE,
    instrument_type="CE",
    lot_size=75,
)
SENSEX_FUT = InstrumentInfo(
    isin="",
    exchange="BFO",
    symbol="SENSEX26JUNFUT",
    asset_type=AssetType.DERIVATIVE,
    instrument_type="FUT",
    lot_size=20,
)
SENSEX_PE = InstrumentInfo(
    isin="",
    exchange="BFO",
    symbol="SENSEX2661881000PE",
    asset_type=AssetType.DERIVATIVE,
    lot_size=20,  # no instrument type: told apart by its symbol
)
RELIANCE_BFO_CE = InstrumentInfo(
    isin="",
    exchange="BFO",
    symbol="RELIANCE26JUN1500CE",
    asset_type=AssetType.DERIVATIVE,
    instrument_type="CE",
    lot_size=500,
)


def plan(broker: str) -> Plan:
    return Plan.model_validate(PUBLISHED_PLANS[broker])


def order(instrument, side, quantity, product=Product.CNC) -> Intent:
    return Intent(
        instrument=instrument,
        side=side,
        quantity=quantity,
        order_type=OrderType.LIMIT,
        product=product,
    )


def note(brokerage, stt, exchange, sebi, stamp, gst, dp="0") -> Charges:
    return Charges(
        brokerage=D(brokerage),
        stt=D(stt),
        exchange_txn=D(exchange),
        sebi_fee=D(sebi),
        stamp_duty=D(stamp),
        gst=D(gst),
        dp_charge=D(dp),
    )


CASES = [
    pytest.param(
        # Zero-delivery plan (Zerodha). 100 x 1,400 = 1,40,000
        # brokerage 0; STT 0.1 % = 140.00 -> 140; exchange 0.00307 % = 4.298 -> 4.30;
        # SEBI 0.14; stamp 0.015 % = 21.00; GST 18 % x (0 + 4.30 + 0.14 = 4.44) = 0.7992 -> 0.80
        # total 140 + 4.30 + 0.14 + 21.00 + 0.80 = 166.24
        "zerodha",
        order(RELIANCE, Side.BUY, 100),
        "1400",
        AFTER_BUDGET,
        note("0", "140", "4.30", "0.14", "21.00", "0.80"),
        "166.24",
        id="delivery buy NSE, zero-delivery plan",
    ),
    pytest.param(
        # 100 x 1,450 = 1,45,000; brokerage 0; STT 145; exchange 4.4515 -> 4.45;
        # SEBI 0.145 -> 0.15; no stamp on a sell; GST 18 % x (4.45 + 0.15 = 4.60) = 0.828 -> 0.83;
        # DP ₹13 + GST = 15.34. Total 145 + 4.45 + 0.15 + 0.83 + 15.34 = 165.77
        "zerodha",
        order(RELIANCE, Side.SELL, 100),
        "1450",
        AFTER_BUDGET,
        note("0", "145", "4.45", "0.15", "0", "0.83", "15.34"),
        "165.77",
        id="delivery sell NSE, zero-delivery plan, DP charge",
    ),
    pytest.param(
        # Flat-fee plan (IIFL Z20, ₹20 an order). BSE, 50 x 2,000.50 = 1,00,025.00
        # brokerage 20.00; STT 100.025 -> 100; exchange BSE 0.00375 % = 3.7509375 -> 3.75;
        # SEBI 0.100025 -> 0.10; stamp 0.015 % = 15.00375 -> 15.00;
        # GST 18 % x (20 + 3.75 + 0.10 = 23.85) = 4.293 -> 4.29
        # total 20 + 100 + 3.75 + 0.10 + 15.00 + 4.29 = 143.14
        "iifl",
        order(RELIANCE_BSE, Side.BUY, 50),
        "2000.50",
        AFTER_BUDGET,
        note("20.00", "100", "3.75", "0.10", "15.00", "4.29"),
        "143.14",
        id="delivery buy BSE, flat-fee plan",
    ),
    pytest.param(
        # %-with-cap plan (Fyers delivery 0.3 %, cap ₹20). 10 x 500 = 5,000
        # brokerage 0.3 % = 15.00 (under the cap); STT 5; exchange 0.1535 -> 0.15;
        # SEBI 0.005 -> 0.01 (half up); GST 18 % x (15 + 0.15 + 0.01 = 15.16) = 2.7288 -> 2.73;
        # DP ₹12.50 + GST = 14.75. Total 15 + 5 + 0.15 + 0.01 + 2.73 + 14.75 = 37.64
        "fyers",
        order(RELIANCE, Side.SELL, 10),
        "500",
        AFTER_BUDGET,
        note("15.00", "5", "0.15", "0.01", "0", "2.73", "14.75"),
        "37.64",
        id="delivery sell NSE, %-with-cap plan under its cap",
    ),
    pytest.param(
        # Upstox delivery 2.5 % capped at ₹20: 2 x 100 = 200 -> brokerage 5.00; STT 0.20 -> 0;
        # exchange 0.00614 -> 0.01; SEBI 0.0002 -> 0.00; stamp 0.03;
        # GST 18 % x (5 + 0.01 = 5.01) = 0.9018 -> 0.90. Total 5 + 0.01 + 0.03 + 0.90 = 5.94
        "upstox",
        order(RELIANCE, Side.BUY, 2),
        "100",
        AFTER_BUDGET,
        note("5.00", "0", "0.01", "0.00", "0.03", "0.90"),
        "5.94",
        id="delivery buy, small order under a %-with-cap plan",
    ),
    pytest.param(
        # Angel One delivery 0.1 %, cap ₹20, minimum ₹2, on BSE: 1 x 150 = 150
        # 0.1 % = 0.15 -> the minimum, 2.00; STT 0.15 -> 0; exchange 0.005625 -> 0.01;
        # SEBI 0.00015 -> 0.00; stamp 0.0225 -> 0.02; GST 18 % x 2.01 = 0.3618 -> 0.36
        # total 2 + 0.01 + 0.02 + 0.36 = 2.39
        "angelone",
        order(RELIANCE_BSE, Side.BUY, 1),
        "150",
        AFTER_BUDGET,
        note("2.00", "0", "0.01", "0.00", "0.02", "0.36"),
        "2.39",
        id="delivery buy BSE, plan minimum",
    ),
    pytest.param(
        # Intraday, %-with-cap plan (Zerodha 0.03 %, cap ₹20). 500 x 1,000 = 5,00,000
        # brokerage 0.03 % = 150 -> cap 20.00; no STT on an intraday buy;
        # exchange 0.00307 % = 15.35; SEBI 0.50; stamp 0.003 % = 15.00;
        # GST 18 % x (20 + 15.35 + 0.50 = 35.85) = 6.453 -> 6.45
        # total 20 + 15.35 + 0.50 + 15.00 + 6.45 = 57.30
        "zerodha",
        order(RELIANCE, Side.BUY, 500, Product.MIS),
        "1000",
        AFTER_BUDGET,
        note("20.00", "0", "15.35", "0.50", "15.00", "6.45"),
        "57.30",
        id="intraday buy NSE, %-with-cap plan at its cap",
    ),
    pytest.param(
        # 500 x 1,004 = 5,02,000; brokerage 20; STT 0.025 % = 125.50 -> 126 (half up);
        # exchange 15.4114 -> 15.41; SEBI 0.502 -> 0.50; no stamp, no DP (intraday);
        # GST 18 % x (20 + 15.41 + 0.50 = 35.91) = 6.4638 -> 6.46
        # total 20 + 126 + 15.41 + 0.50 + 6.46 = 168.37
        "zerodha",
        order(RELIANCE, Side.SELL, 500, Product.MIS),
        "1004",
        AFTER_BUDGET,
        note("20.00", "126", "15.41", "0.50", "0", "6.46"),
        "168.37",
        id="intraday sell NSE, %-with-cap plan",
    ),
    pytest.param(
        # 10 x 250 = 2,500: 0.03 % = 0.75 (under the cap); exchange 0.07675 -> 0.08;
        # SEBI 0.0025 -> 0.00; stamp 0.075 -> 0.08; GST 18 % x (0.75 + 0.08) = 0.1494 -> 0.15
        # total 0.75 + 0.08 + 0.08 + 0.15 = 1.06
        "zerodha",
        order(RELIANCE, Side.BUY, 10, Product.MIS),
        "250",
        AFTER_BUDGET,
        note("0.75", "0", "0.08", "0.00", "0.08", "0.15"),
        "1.06",
        id="intraday buy, small order under the cap",
    ),
    pytest.param(
        # Intraday on BSE, flat plan (IIFL ₹20): sell 100 x 800 = 80,000
        # STT 0.025 % = 20; exchange 0.00375 % = 3.00; SEBI 0.08;
        # GST 18 % x (20 + 3 + 0.08 = 23.08) = 4.1544 -> 4.15. Total 20 + 20 + 3 + 0.08 + 4.15
        # = 47.23
        "iifl",
        order(RELIANCE_BSE, Side.SELL, 100, Product.MIS),
        "800",
        AFTER_BUDGET,
        note("20.00", "20", "3.00", "0.08", "0", "4.15"),
        "47.23",
        id="intraday sell BSE, flat-fee plan",
    ),
    pytest.param(
        # NSE futures, Zerodha 0.03 % cap ₹20. Sell 75 x 24,500 = 18,37,500
        # brokerage 551.25 -> cap 20.00; STT 0.05 % = 918.75 -> 919;
        # exchange 0.00183 % = 33.62625 -> 33.63; SEBI 1.8375 -> 1.84;
        # GST 18 % x (20 + 33.63 + 1.84 = 55.47) = 9.9846 -> 9.98
        # total 20 + 919 + 33.63 + 1.84 + 9.98 = 984.45
        "zerodha",
        order(NIFTY_FUT, Side.SELL, 75, Product.NRML),
        "24500",
        AFTER_BUDGET,
        note("20.00", "919", "33.63", "1.84", "0", "9.98"),
        "984.45",
        id="NSE futures sell after 1 Apr 2026 (STT 0.05 %)",
    ),
    pytest.param(
        # The same trade on 2 March 2026: STT 0.02 % = 367.50 -> 368; the rest unchanged.
        # total 20 + 368 + 33.63 + 1.84 + 9.98 = 433.45
        "zerodha",
        order(NIFTY_FUT, Side.SELL, 75, Product.NRML),
        "24500",
        BEFORE_BUDGET,
        note("20.00", "368", "33.63", "1.84", "0", "9.98"),
        "433.45",
        id="NSE futures sell before 1 Apr 2026 (STT 0.02 %)",
    ),
    pytest.param(
        # Buy 75 x 24,500: no STT; stamp 0.002 % = 36.75.
        # total 20 + 33.63 + 1.84 + 36.75 + 9.98 = 102.20
        "zerodha",
        order(NIFTY_FUT, Side.BUY, 75, Product.NRML),
        "24500",
        AFTER_BUDGET,
        note("20.00", "0", "33.63", "1.84", "36.75", "9.98"),
        "102.20",
        id="NSE futures buy",
    ),
    pytest.param(
        # NSE options, flat ₹20 (Zerodha options). Buy 75 x 120.50 premium = 9,037.50
        # no STT on a buy; exchange 0.03553 % = 3.21102375 -> 3.21; SEBI 0.0090375 -> 0.01;
        # stamp 0.003 % = 0.271125 -> 0.27; GST 18 % x (20 + 3.21 + 0.01 = 23.22) = 4.1796 -> 4.18
        # total 20 + 3.21 + 0.01 + 0.27 + 4.18 = 27.67
        "zerodha",
        order(NIFTY_CE, Side.BUY, 75, Product.NRML),
        "120.50",
        AFTER_BUDGET,
        note("20.00", "0", "3.21", "0.01", "0.27", "4.18"),
        "27.67",
        id="NSE options buy, flat plan",
    ),
    pytest.param(
        # Sell 75 x 130 = 9,750: STT 0.15 % = 14.625 -> 15; exchange 3.464175 -> 3.46;
        # SEBI 0.00975 -> 0.01; GST 18 % x (20 + 3.46 + 0.01 = 23.47) = 4.2246 -> 4.22
        # total 20 + 15 + 3.46 + 0.01 + 4.22 = 42.69
        "zerodha",
        order(NIFTY_CE, Side.SELL, 75, Product.NRML),
        "130",
        AFTER_BUDGET,
        note("20.00", "15", "3.46", "0.01", "0", "4.22"),
        "42.69",
        id="NSE options sell, STT on premium",
    ),
    pytest.param(
        # BSE futures, flat plan (Groww futures ₹20). Buy 20 x 81,000 = 16,20,000
        # no STT on a buy; BSE charges nothing on futures; SEBI 1.62; stamp 0.002 % = 32.40;
        # GST 18 % x (20 + 0 + 1.62 = 21.62) = 3.8916 -> 3.89
        # total 20 + 1.62 + 32.40 + 3.89 = 57.91
        "groww",
        order(SENSEX_FUT, Side.BUY, 20, Product.NRML),
        "81000",
        AFTER_BUDGET,
        note("20.00", "0", "0.00", "1.62", "32.40", "3.89"),
        "57.91",
        id="BSE futures buy, flat plan",
    ),
    pytest.param(
        # BSE SENSEX options, flat plan (Groww options ₹20). Sell 20 x 250 = 5,000
        # STT 0.15 % = 7.50 -> 8 (half up); exchange 0.0325 % = 1.625 -> 1.63;
        # SEBI 0.005 -> 0.01; GST 18 % x (20 + 1.63 + 0.01 = 21.64) = 3.8952 -> 3.90
        # total 20 + 8 + 1.63 + 0.01 + 3.90 = 33.54
        "groww",
        order(SENSEX_PE, Side.SELL, 20, Product.NRML),
        "250",
        AFTER_BUDGET,
        note("20.00", "8", "1.63", "0.01", "0", "3.90"),
        "33.54",
        id="BSE SENSEX options sell",
    ),
    pytest.param(
        # A BSE stock option (₹500 per crore of premium): buy 500 x 40 = 20,000, Upstox ₹20
        # exchange 0.005 % = 1.00; SEBI 0.02; stamp 0.003 % = 0.60;
        # GST 18 % x (20 + 1 + 0.02 = 21.02) = 3.7836 -> 3.78. Total 20 + 1 + 0.02 + 0.60 + 3.78
        # = 25.40
        "upstox",
        order(RELIANCE_BFO_CE, Side.BUY, 500, Product.NRML),
        "40",
        AFTER_BUDGET,
        note("20.00", "0", "1.00", "0.02", "0.60", "3.78"),
        "25.40",
        id="BSE stock options buy",
    ),
    pytest.param(
        # An equity ETF sold from the demat (Zerodha, zero delivery): 1,000 x 280 = 2,80,000
        # STT 0.001 % = 2.80 -> 3; exchange 0.00307 % = 8.596 -> 8.60; SEBI 0.28;
        # GST 18 % x (8.60 + 0.28 = 8.88) = 1.5984 -> 1.60; DP 15.34
        # total 3 + 8.60 + 0.28 + 1.60 + 15.34 = 28.82
        "zerodha",
        order(NIFTYBEES, Side.SELL, 1000),
        "280",
        AFTER_BUDGET,
        note("0", "3", "8.60", "0.28", "0", "1.60", "15.34"),
        "28.82",
        id="ETF delivery sell",
    ),
]


@pytest.mark.parametrize(("broker", "intent", "price", "on", "expected", "total"), CASES)
def test_estimate_matches_the_contract_note(broker, intent, price, on, expected, total):
    got = estimate(intent, plan(broker), on=on, price=D(price), broker=broker)
    assert got == expected
    assert got.total == D(total)


def test_without_a_broker_a_delivery_sell_counts_no_dp_charge():
    got = estimate(order(RELIANCE, Side.SELL, 100), plan("zerodha"), on=AFTER_BUDGET, price=D(1))
    assert got.dp_charge == 0


def test_a_rate_change_is_one_new_row(monkeypatch):
    """A new row with a later date changes estimates from that day on, not before."""
    row = charges._rate("STT", charges.ANY, charges.DELIVERY, "BUY", date(2026, 7, 1), "0.2")
    monkeypatch.setattr(charges, "RATES", (*charges.RATES, row))
    monkeypatch.setattr(charges, "_BY_KEY", charges._index())
    charges.fraction.cache_clear()
    try:
        buy = order(RELIANCE, Side.BUY, 100)
        before = estimate(buy, plan("zerodha"), on=date(2026, 6, 30), price=D(1000))
        after = estimate(buy, plan("zerodha"), on=date(2026, 7, 1), price=D(1000))
    finally:
        charges.fraction.cache_clear()
    assert (before.stt, after.stt) == (D(100), D(200))


@pytest.mark.parametrize(
    ("intent", "on", "message"),
    [
        (
            order(
                InstrumentInfo(isin="", exchange="MCX", symbol="CRUDEOIL26JUNFUT"),
                Side.BUY,
                100,
                Product.NRML,
            ),
            AFTER_BUDGET,
            "No charges model for MCX yet.",
        ),
        (order(RELIANCE, Side.BUY, 1), date(2024, 9, 30), "from 01 Oct 2024"),
        (order(RELIANCE, Side.BUY, 0), AFTER_BUDGET, "positive whole quantity"),
    ],
)
def test_orders_the_model_does_not_cover_say_so(intent, on, message):
    with pytest.raises(ChargesUnknown, match=message):
        estimate(intent, plan("zerodha"), on=on, price=D(100))


def test_every_published_plan_and_dp_fee_is_priced():
    """Each broker's published plan gives an estimate, with its own DP charge."""
    for broker in PUBLISHED_PLANS:
        sell = order(RELIANCE, Side.SELL, 10)
        got = estimate(sell, plan(broker), on=AFTER_BUDGET, price=D(100), broker=broker)
        assert got.dp_charge > 0
        assert got.total > got.dp_charge
