"""The pure aggregation: per-broker portfolios → one consolidated portfolio, checked by hand."""

import gc
import random
from decimal import Decimal

import pytest

from brokers.types import AssetType, Funds, Holding, InstrumentRef, Position, Quote
from portfolio.aggregate import BrokerPortfolio, combine, consolidate, read_portfolio
from portfolio.normalize import InstrumentBook, MasterEntry

D = Decimal
RELIANCE = "INE002A01018"
SBIN = "INE062A01020"
INFY = "INE009A01021"


def book_for_reliance() -> InstrumentBook:
    """What the stored masters say: Angel One's token 2885 and Fyers' BSE listing."""
    book = InstrumentBook()
    book.by_id[("angelone", "2885")] = MasterEntry("NSE", "RELIANCE", RELIANCE, "RELIANCE IND", 1)
    book.by_symbol[("fyers", "BSE", "RELIANCE")] = MasterEntry("BSE", "RELIANCE", RELIANCE)
    return book


def four_brokers() -> list[BrokerPortfolio]:
    """RELIANCE at four brokers, in four spellings, one of them its BSE listing."""
    zerodha = BrokerPortfolio(
        "c-zerodha",
        "zerodha",
        "ZD1234",
        holdings=[
            # Kite: the plain NSE symbol, with the ISIN and both prices.
            Holding("NSE", "RELIANCE", 10, D("2400.00"), RELIANCE, D("2950.50"), D("2925.00"))
        ],
        funds=Funds(available=D("1000.00")),
    )
    upstox = BrokerPortfolio(
        "c-upstox",
        "upstox",
        "UP4321",
        holdings=[
            # Upstox: only its instrument key NSE_EQ|<ISIN>.
            Holding(
                "NSE", "", 5, D("2500.00"), "", D("2950.50"), D("2925.00"), "", f"NSE_EQ|{RELIANCE}"
            )
        ],
        funds=Funds(available=D("500.00")),
    )
    fyers = BrokerPortfolio(
        "c-fyers",
        "fyers",
        "FY0001",
        holdings=[
            # Fyers: BSE:RELIANCE-A, the BSE listing, no ISIN, no close.
            Holding("BSE", "BSE:RELIANCE-A", 4, D("2450.00"), "", D("2949.00"), None)
        ],
    )
    angel_ref = InstrumentRef("NSE", "RELIANCE-EQ", "2885")
    angelone = BrokerPortfolio(
        "c-angelone",
        "angelone",
        "AO7788",
        holdings=[
            # Angel One: RELIANCE-EQ with token 2885, no ISIN and no prices in the answer...
            Holding("NSE", "RELIANCE-EQ", 3, D("2800.00"), "", None, None, "", "2885")
        ],
        # ...so this sync quoted it: a quote on the NSE listing.
        quotes={angel_ref: Quote("NSE", "RELIANCE", D("2951.00"), D("2925.00"))},
    )
    return [zerodha, upstox, fyers, angelone]


def test_one_isin_at_four_brokers_in_four_formats_is_one_line_with_hand_computed_totals():
    result = consolidate(four_brokers(), book=book_for_reliance())

    assert len(result.lines) == 1
    line = result.lines[0]
    assert (line.key, line.isin, line.symbol, line.exchange) == (
        RELIANCE,
        RELIANCE,
        "RELIANCE",
        "NSE",
    )
    assert line.name == "RELIANCE IND"
    # quantity: 10 + 5 + 4 + 3 = 22
    assert line.quantity == 22
    # cost: 10x2400 + 5x2500 + 4x2450 + 3x2800 = 24000 + 12500 + 9800 + 8400 = 54700
    assert line.cost == D("54700.00")
    # weighted average: 54700 / 22 = 2486.3636… (kept exact; rounded only when shown)
    assert line.average_price == D("54700") / 22
    # current price: the NSE listing wins over Fyers' BSE 2949.00, and on NSE Angel One's
    # quote fetched in this sync (2951.00) wins over the 2950.50 inside Kite's and Upstox's
    # holdings answers.
    assert (line.current_price, line.price_from) == (D("2951.00"), "angelone")
    # previous close: the NSE close, from the same quote.
    assert line.previous_close == D("2925.00")
    # value: 22 x 2951.00 = 64922.00
    assert line.value == D("64922.00")
    # P&L: 64922 - 54700 = 10222.00, i.e. 10222 / 54700 x 100 = 18.6874 %
    assert line.pnl == D("10222.00")
    assert round(line.pnl_percent, 4) == D("18.6874")
    # day change: (2951 - 2925) x 22 = 26 x 22 = 572.00; 26 / 2925 x 100 = 0.8889 %
    assert line.day_change == D("572.00")
    assert round(line.day_change_percent, 4) == D("0.8889")
    # per-broker lines, each valued at the one price: 29510 + 14755 + 11804 + 8853 = 64922
    values = {b.broker: (b.quantity, b.exchange, b.value) for b in line.broker_lines}
    assert values == {
        "zerodha": (10, "NSE", D("29510.00")),
        "upstox": (5, "NSE", D("14755.00")),
        "fyers": (4, "BSE", D("11804.00")),
        "angelone": (3, "NSE", D("8853.00")),
    }
    assert {b.broker_symbol for b in line.broker_lines} == {
        "RELIANCE",
        f"NSE_EQ|{RELIANCE}",
        "BSE:RELIANCE-A",
        "RELIANCE-EQ",
    }
    # portfolio totals: the one line, and cash 1000 + 500 = 1500
    assert (result.total_value, result.total_cost) == (D("64922.00"), D("54700.00"))
    assert (result.unrealized_pnl, result.day_change) == (D("10222.00"), D("572.00"))
    assert result.cash == D("1500.00")
    # allocation: equity 64922 of 64922 + 1500 = 66422 → 97.7417 %; cash 2.2583 %
    allocation = {s.asset_class: (s.value, round(s.share, 4)) for s in result.asset_allocation}
    assert allocation["EQUITY"] == (D("64922.00"), D("97.7417"))
    assert allocation["CASH"] == (D("1500.00"), D("2.2583"))
    assert allocation["ETF"] == (D(0), D(0))
    # broker breakdown: Kite 29510 / 64922 = 45.4545 % of the value, with its cash
    kite = next(b for b in result.broker_breakdown if b.broker == "zerodha")
    assert (kite.value, round(kite.share, 4), kite.cash, kite.lines) == (
        D("29510.00"),
        D("45.4545"),
        D("1000.00"),
        1,
    )
    assert sum(b.value for b in result.broker_breakdown) == result.total_value
    assert result.notes == []


def test_the_answer_does_not_depend_on_which_broker_answered_first():
    expected = consolidate(four_brokers(), book=book_for_reliance())
    for seed in range(5):
        shuffled = four_brokers()
        random.Random(seed).shuffle(shuffled)
        again = consolidate(shuffled, book=book_for_reliance())
        assert again.lines[0].current_price == expected.lines[0].current_price
        assert again.lines[0].price_from == expected.lines[0].price_from
        assert again.total_value == expected.total_value


def numbers(result) -> tuple:
    """Everything a trader reads off a consolidated portfolio."""
    lines = [
        (
            ln.key,
            ln.symbol,
            ln.exchange,
            ln.quantity,
            ln.cost,
            ln.current_price,
            ln.previous_close,
            ln.value,
            ln.day_change,
            ln.price_from,
            sorted(codes(ln.flags)),
            sorted((b.broker, b.quantity, b.value, b.included) for b in ln.broker_lines),
        )
        for ln in result.lines
    ]
    shares = [(b.broker, b.value, b.cash, b.share) for b in result.broker_breakdown]
    totals = (result.total_value, result.total_cost, result.day_change, result.cash)
    return lines, shares, totals, result.realized_pnl, sorted(codes(result.notes))


def test_reading_each_broker_as_it_lands_then_combining_equals_consolidating_at_once():
    # A sync reads every broker's answer as it lands and combines them at the end; a rebuild
    # from the snapshots does both at once. The trader must see the same numbers either way,
    # with the BSE listing, a quote, a position that joins by listing and an odd line in it.
    kite = BrokerPortfolio(
        "k",
        "zerodha",
        positions=[
            Position("NSE", "RELIANCE", "MIS", 2, D("2940"), D("2950.50"), realized_pnl=D("12")),
            Position("NSE", "INFY", "MIS", 0, D("0"), D("1542.30"), realized_pnl=D("-3.50")),
        ],
        holdings=[Holding("NSE", "ZZUNLISTED", 7, "10", "", D("12.00"), None)],
    )
    brokers = [*four_brokers(), kite]

    apart = combine([read_portfolio(p, book_for_reliance()) for p in brokers])
    at_once = consolidate(brokers, book=book_for_reliance())

    assert numbers(apart) == numbers(at_once)
    reliance = next(ln for ln in apart.lines if ln.key == RELIANCE and ln.kind == "HOLDING")
    assert (reliance.quantity, len(reliance.broker_lines)) == (22, 4)
    # Kite's MIS joined the instrument by its listing, as a positions line of its own.
    traded = next(ln for ln in apart.lines if ln.key == RELIANCE and ln.kind == "POSITION")
    assert (traded.quantity, traded.current_price) == (2, reliance.current_price)
    unlisted = next(ln for ln in apart.lines if ln.symbol == "ZZUNLISTED")
    assert {"unknown_instrument", "price_text"} <= codes(unlisted.flags)


def test_price_rule_nse_before_bse_then_quote_then_the_largest_line():
    bse_quoted = BrokerPortfolio(
        "a",
        "fyers",
        holdings=[Holding("BSE", "RELIANCE", 50, D("1"), RELIANCE)],
        quotes={
            InstrumentRef("BSE", "RELIANCE", ""): Quote("BSE", "RELIANCE", D("3000"), D("2990"))
        },
    )
    small = BrokerPortfolio(
        "b",
        "groww",
        holdings=[Holding("NSE", "RELIANCE", 1, D("1"), RELIANCE, D("2950"), D("2925"))],
    )
    large = BrokerPortfolio(
        "c",
        "zerodha",
        holdings=[Holding("NSE", "RELIANCE", 9, D("1"), RELIANCE, D("2951"), D("2926"))],
    )

    line = consolidate([bse_quoted, small, large]).lines[0]

    # NSE beats the BSE quote; among NSE answers the larger line (9 shares) gives the price.
    assert (line.current_price, line.previous_close, line.price_from) == (
        D("2951"),
        D("2926"),
        "zerodha",
    )
    # The line is shown as its primary listing, though the BSE line came first and was quoted.
    assert (line.exchange, line.symbol) == ("NSE", "RELIANCE")


def test_an_intraday_position_without_isin_joins_its_stock_as_a_positions_line():
    angel = BrokerPortfolio(
        "a",
        "angelone",
        holdings=[Holding("NSE", "SBIN", 20, D("700"), SBIN, D("812.60"), D("805.35"))],
    )
    kite = BrokerPortfolio(
        "k",
        "zerodha",
        positions=[
            Position(
                "NSE", "SBIN", "MIS", 30, D("808"), D("812.60"), D("805.35"), realized_pnl=D("60")
            ),
            # Closed during the day: no line, but its realized P&L counts.
            Position("NSE", "INFY", "MIS", 0, D("0"), D("1542.30"), realized_pnl=D("-15.50")),
        ],
    )

    result = consolidate([angel, kite])

    held, traded = result.lines
    # The holding: 20 shares, cost 20x700 = 14000; the MIS position keyed by the same ISIN:
    # 30 shares, cost 30x808 = 24240. Not one 50-share line.
    assert (held.kind, held.key, held.quantity, held.cost) == ("HOLDING", SBIN, 20, D("14000"))
    assert (traded.kind, traded.key, traded.quantity, traded.cost) == (
        "POSITION",
        SBIN,
        30,
        D("24240"),
    )
    assert [(b.broker, b.product) for b in held.broker_lines] == [("angelone", "")]
    assert [(b.broker, b.product) for b in traded.broker_lines] == [("zerodha", "MIS")]
    # realized today: 60 - 15.50 = 44.50
    assert result.realized_pnl == D("44.50")


def test_derivatives_are_keyed_by_exchange_and_contract_with_their_lot_size():
    nifty = Position(
        "NFO",
        "NIFTY26JAN24000CE",
        "NRML",
        150,
        D("120.50"),
        D("131.00"),
        D("118.00"),
        lot_size=75,
        asset_type=AssetType.DERIVATIVE,
    )
    gold = Position("MCX", "GOLDM26FEBFUT", "NRML", 1, D("72000"), D("72500"), D("71900"))
    result = consolidate([BrokerPortfolio("k", "zerodha", positions=[nifty, gold])])

    lines = {line.key: line for line in result.lines}
    option = lines["NFO:NIFTY26JAN24000CE"]
    assert (option.isin, option.lot_size, option.asset_class) == ("", 75, "DERIVATIVE")
    # 150 units x 131.00 = 19650.00; (131 - 118) x 150 = 1950.00
    assert (option.value, option.day_change) == (D("19650.00"), D("1950.00"))
    assert lines["MCX:GOLDM26FEBFUT"].asset_class == "COMMODITY"


def test_asset_allocation_knows_etfs_by_their_inf_isin_and_adds_cash():
    kite = BrokerPortfolio(
        "k",
        "zerodha",
        holdings=[
            Holding("NSE", "NIFTYBEES", 100, D("240.50"), "INF204KB14I2", D("268.42"), D("267.10"))
        ],
        funds=Funds(available=D("3158.00")),
    )
    result = consolidate([kite])
    allocation = {s.asset_class: s for s in result.asset_allocation}
    # 100 x 268.42 = 26842.00 of 26842 + 3158 = 30000 → 89.4733 %
    assert allocation["ETF"].value == D("26842.00")
    assert round(allocation["ETF"].share, 4) == D("89.4733")
    assert allocation["CASH"].value == D("3158.00")
    assert [s.asset_class for s in result.asset_allocation] == [
        "EQUITY",
        "ETF",
        "MUTUAL_FUND",
        "DERIVATIVE",
        "COMMODITY",
        "CURRENCY",
        "CASH",
    ]


# --- Bad input: flagged, never a crash, never a silently wrong total ------------------------
def codes(flags) -> set[str]:
    return {flag["code"] for flag in flags}


def good_line(quantity=10) -> Holding:
    return Holding("NSE", "RELIANCE", quantity, D("2400"), RELIANCE, D("2950.50"), D("2925.00"))


def test_no_isin_and_an_unknown_symbol_stays_a_flagged_line_of_its_own():
    odd = Holding("NSE", "ZZUNLISTED", 7, D("10"), "", D("12.00"), D("11.00"))
    result = consolidate([BrokerPortfolio("k", "zerodha", holdings=[good_line(), odd])])

    line = next(line for line in result.lines if line.symbol == "ZZUNLISTED")
    assert line.key == "NSE:ZZUNLISTED"
    assert "unknown_instrument" in codes(line.flags)
    # It has a price, so it is counted, and counted once: 10x2950.50 + 7x12 = 29505 + 84
    assert result.total_value == D("29589.00")


def test_zero_and_negative_holdings_are_shown_flagged_and_left_out_of_the_line():
    zero = Holding("NSE", "RELIANCE", 0, D("2500"), RELIANCE, D("2950.50"), D("2925"))
    negative = Holding("NSE", "RELIANCE", -4, D("2500"), RELIANCE, D("2950.50"), D("2925"))
    result = consolidate(
        [
            BrokerPortfolio("k", "zerodha", holdings=[good_line()]),
            BrokerPortfolio("g", "groww", holdings=[zero]),
            BrokerPortfolio("u", "upstox", holdings=[negative]),
        ]
    )

    line = result.lines[0]
    assert len(line.broker_lines) == 3  # every broker line is still there to see
    assert {b.broker: b.included for b in line.broker_lines} == {
        "zerodha": True,
        "groww": False,
        "upstox": False,
    }
    assert {"zero_quantity", "negative_quantity"} <= codes(line.flags)
    # only the 10 good shares count: 10 x 2950.50 = 29505.00, cost 24000
    assert (line.quantity, line.value, line.cost) == (10, D("29505.00"), D("24000"))
    assert result.total_value == D("29505.00")


def test_prices_sent_as_text_are_read_and_flagged():
    text = Holding("NSE", "RELIANCE", 10, "2,400.00", RELIANCE, "2950.50", " 2925 ")
    result = consolidate([BrokerPortfolio("k", "zerodha", holdings=[text])])

    line = result.lines[0]
    assert "price_text" in codes(line.flags)
    # the same numbers as Decimal input would give: 10 x 2950.50 = 29505.00, P&L 5505.00
    assert (line.value, line.pnl, line.day_change) == (D("29505.00"), D("5505.00"), D("255.00"))
    assert isinstance(line.average_price, Decimal)


def test_an_unreadable_price_is_missing_and_a_line_without_any_price_leaves_the_totals():
    garbage = Holding("NSE", "INFY", 5, D("1500"), "INE009A01021", "n/a", None)
    result = consolidate([BrokerPortfolio("k", "zerodha", holdings=[good_line(), garbage])])

    infy = next(line for line in result.lines if line.symbol == "INFY")
    assert {"bad_price", "no_price"} <= codes(infy.flags)
    assert infy.value is None and not infy.in_totals
    # the total is RELIANCE alone, and the portfolio says what it left out
    assert result.total_value == D("29505.00")
    assert result.total_cost == D("24000")
    assert any(n["code"] == "left_out" and "INFY" in n["message"] for n in result.notes)


def test_a_missing_close_price_leaves_the_line_out_of_the_day_change_only():
    no_close = Holding("NSE", "INFY", 5, D("1500"), "INE009A01021", D("1542.30"), None)
    result = consolidate([BrokerPortfolio("k", "zerodha", holdings=[good_line(), no_close])])

    infy = next(line for line in result.lines if line.symbol == "INFY")
    assert "no_close" in codes(infy.flags)
    assert infy.day_change is None
    # value counts both: 29505 + 5 x 1542.30 = 29505 + 7711.50 = 37216.50
    assert result.total_value == D("37216.50")
    # day change only RELIANCE: (2950.50 - 2925) x 10 = 255.00, over 2925 x 10 = 29250
    assert result.day_change == D("255.00")
    assert round(result.day_change_percent, 4) == D("0.8718")
    assert any(n["code"] == "day_change_partial" for n in result.notes)


@pytest.mark.parametrize(
    "quantity, price",
    [
        ("10", D("1")),
        ("ten", D("1")),
        (10.5, D("1")),
        (None, D("1")),
        (True, D("1")),
        (10, None),
        (10, "NaN"),
        (10, "Infinity"),
        (10, D("-5")),
        (10, ""),
        (10, []),
        (10, object()),
        (10, 2400.5),
    ],
)
def test_whatever_arrives_never_crashes_and_totals_add_up(quantity, price):
    weird = Holding("NSE", "ODD", quantity, price, "", price, price)
    result = consolidate(
        [BrokerPortfolio("k", "zerodha", holdings=[good_line(), weird], funds=Funds(D("5")))]
    )

    assert any(line.symbol == "ODD" for line in result.lines)
    counted = [line for line in result.lines if line.in_totals]
    assert result.total_value == sum(line.value for line in counted)
    assert result.total_value - result.total_cost == result.unrealized_pnl
    assert result.total_value >= D("29505.00")


def test_the_garbage_collector_is_left_as_it_was_found():
    # consolidate() pauses the cyclic collector while it builds; the process must get it back
    # exactly as it was: on stays on, off stays off, and frozen objects stay frozen.
    assert gc.isenabled()
    consolidate(four_brokers(), book=book_for_reliance())
    assert gc.isenabled()

    gc.disable()
    try:
        consolidate(four_brokers(), book=book_for_reliance())
        assert not gc.isenabled()
    finally:
        gc.enable()

    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        consolidate(four_brokers(), book=book_for_reliance())
        # Thawed, the count would be 0; frozen again, higher. It may fall a little: a frozen
        # object still dies when its last reference goes (a cache entry replaced, say).
        assert 0 < gc.get_freeze_count() <= frozen
    finally:
        gc.unfreeze()


def cross_broker_day() -> list[BrokerPortfolio]:
    """Two brokers, each with holdings and open positions, one intraday and one carried."""
    kite = BrokerPortfolio(
        "c-kite",
        "zerodha",
        "ZD1234",
        holdings=[Holding("NSE", "INFY", 10, D("1500"), INFY, D("1560"), D("1550"))],
        positions=[
            # Bought 50 SBIN at 800 this morning (MIS), now 805; yesterday's close was 798.
            Position(
                "NSE",
                "SBIN",
                "MIS",
                50,
                D("800"),
                D("805"),
                D("798"),
                isin=SBIN,
                buy_quantity=50,
                overnight_quantity=0,
            ),
        ],
        funds=Funds(available=D("10000")),
    )
    upstox = BrokerPortfolio(
        "c-upstox",
        "upstox",
        "UP4321",
        holdings=[Holding("NSE", "SBIN", 20, D("700"), SBIN, D("805"), D("798"))],
        positions=[
            # One lot of NIFTY futures bought on an earlier day at 24000 and carried in.
            Position(
                "NFO",
                "NIFTY26JANFUT",
                "NRML",
                75,
                D("24000"),
                D("24100"),
                D("24050"),
                lot_size=75,
                asset_type=AssetType.DERIVATIVE,
                overnight_quantity=75,
            ),
            # INFY bought and sold within the day: closed, only its realized P&L remains.
            Position("NSE", "INFY", "MIS", 0, D("0"), D("1560"), realized_pnl=D("120"), isin=INFY),
        ],
        funds=Funds(available=D("5000")),
    )
    return [kite, upstox]


def test_holdings_and_positions_are_totalled_apart_across_brokers():
    result = consolidate(cross_broker_day())

    # Holdings (what each broker's holdings page shows):
    #   INFY at Kite:   10 x 1560 = 15600, cost 10 x 1500 = 15000, day (1560-1550) x 10 = 100
    #   SBIN at Upstox: 20 x 805  = 16100, cost 20 x 700  = 14000, day (805-798)   x 20 = 140
    #   value 31700, invested 29000, P&L 2700, day 240 of 10x1550 + 20x798 = 31460 → 0.76 %
    assert (result.total_value, result.total_cost) == (D("31700"), D("29000"))
    assert (result.unrealized_pnl, result.day_change) == (D("2700"), D("240"))
    assert round(result.day_change_percent, 4) == D("0.7629")
    # Open positions:
    #   SBIN MIS at Kite, opened today: MTM 50 x (805-800) = 250; day also from the buy price,
    #     50 x (805-800) = 250 (not 50 x (805-798) = 350: it did not exist at the close)
    #   NIFTY fut at Upstox, carried: MTM 75 x (24100-24000) = 7500; day 75 x (24100-24050) = 3750
    #   MTM 7750, day 4000, realized 120 (INFY, closed), day's P&L 4000 + 120 = 4120
    assert result.positions_mtm == D("7750")
    assert result.positions_day_change == D("4000")
    assert result.realized_pnl == D("120")
    assert result.positions_day_pnl == D("4120")
    assert result.positions_count == 2
    # Net worth: holdings 31700 + positions MTM 7750 + cash 10000 + 5000 = 54450
    assert result.cash == D("15000")
    assert result.net_worth == D("54450")

    sbin_held = next(ln for ln in result.holding_lines if ln.symbol == "SBIN")
    sbin_traded = next(ln for ln in result.position_lines if ln.symbol == "SBIN")
    assert (sbin_held.quantity, sbin_held.value, sbin_held.day_change) == (20, D("16100"), D("140"))
    assert (sbin_traded.quantity, sbin_traded.pnl, sbin_traded.day_change) == (
        50,
        D("250"),
        D("250"),
    )
    # both at the instrument's one price (Kite's: the larger NSE line), with one close
    assert sbin_held.current_price == sbin_traded.current_price == D("805")
    nifty = next(ln for ln in result.position_lines if ln.symbol == "NIFTY26JANFUT")
    assert (nifty.pnl, nifty.day_change, nifty.lot_size) == (D("7500"), D("3750"), 75)
    # the asset allocation adds up to the net worth (positions by their MTM)
    assert sum(s.value for s in result.asset_allocation) == result.net_worth


def test_a_position_partly_carried_splits_its_day_change():
    # 75 carried in (close 24050) and 75 more bought today at 24080; the broker's average of
    # the 150 is 24040. Now 24100:
    #   carried 75 x (24100 - 24050) = 3750; today's 75 x (24100 - 24040) = 4500 → 8250
    # An intraday product without the broker saying: all of it is today's (MIS cannot carry).
    # A delivery position without the broker saying: all of it from the previous close.
    nifty = Position(
        "NFO",
        "NIFTY26JANFUT",
        "NRML",
        150,
        D("24040"),
        D("24100"),
        D("24050"),
        lot_size=75,
        asset_type=AssetType.DERIVATIVE,
        overnight_quantity=75,
    )
    mis = Position("NSE", "INFY", "MIS", 10, D("1555"), D("1560"), D("1550"), isin=INFY)
    cnc = Position("NSE", "SBIN", "CNC", 10, D("790"), D("805"), D("798"), isin=SBIN)
    result = consolidate([BrokerPortfolio("k", "zerodha", positions=[nifty, mis, cnc])])

    day = {ln.symbol: ln.day_change for ln in result.position_lines}
    # INFY MIS: 10 x (1560 - 1555) = 50; SBIN CNC: 10 x (805 - 798) = 70
    assert day == {"NIFTY26JANFUT": D("8250"), "INFY": D("50"), "SBIN": D("70")}


def test_the_broker_breakdown_carries_each_brokers_money():
    shares = {s.broker: s for s in consolidate(cross_broker_day()).broker_breakdown}

    kite, upstox = shares["zerodha"], shares["upstox"]
    # Kite: INFY held 15600 / 15000 / +600 / day +100; SBIN MIS MTM 250, day's P&L 250
    assert (kite.value, kite.invested, kite.pnl, kite.day_change) == (
        D("15600"),
        D("15000"),
        D("600"),
        D("100"),
    )
    assert (kite.positions_mtm, kite.positions_day_pnl, kite.cash) == (
        D("250"),
        D("250"),
        D("10000"),
    )
    # Upstox: SBIN held 16100 / 14000 / +2100 / day +140; NIFTY MTM 7500, day 3750 + 120 realized
    assert (upstox.value, upstox.invested, upstox.pnl, upstox.day_change) == (
        D("16100"),
        D("14000"),
        D("2100"),
        D("140"),
    )
    assert (upstox.positions_mtm, upstox.positions_day_pnl, upstox.realized) == (
        D("7500"),
        D("3870"),
        D("120"),
    )
    # shares of the holdings value: 15600 / 31700 = 49.21 %, 16100 / 31700 = 50.79 %
    assert round(kite.share, 2) == D("49.21") and round(upstox.share, 2) == D("50.79")


def test_a_failed_brokers_last_lines_flag_their_line_and_count_nowhere():
    kite, upstox = cross_broker_day()
    # Upstox failed now; its last good answer (seen at 09:42) is passed as missing.
    result = consolidate([kite], missing=[(upstox, "Upstox", "09:42 IST")])

    # SBIN: Kite's MIS line is all that counts; Upstox's 20 held are shown, not counted
    held = next(ln for ln in result.holding_lines if ln.symbol == "SBIN")
    assert (held.quantity, held.value, held.in_totals) == (0, None, False)
    assert [f["message"] for f in held.flags if f["code"] == "partial"] == [
        "partial: Upstox's share (20) missing, last seen 09:42 IST"
    ]
    # the totals are Kite's alone: INFY 15600 held, SBIN MIS MTM 250, cash 10000
    assert (result.total_value, result.positions_mtm, result.cash) == (
        D("15600"),
        D("250"),
        D("10000"),
    )
    assert result.realized_pnl == 0 and result.net_worth == D("25850")
    # a line only the failed broker holds is said once, on the line, not again in the notes
    assert not [n for n in result.notes if n["code"] == "left_out"]
    assert {s.broker for s in result.broker_breakdown} == {"zerodha"}
