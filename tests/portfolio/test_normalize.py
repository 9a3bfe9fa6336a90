"""Every broker's spelling of an instrument → one key."""

from decimal import Decimal

import pytest

from brokers.models import InstrumentRecord
from brokers.types import AssetType, Holding, Position
from portfolio.normalize import (
    InstrumentBook,
    MasterEntry,
    identify,
    is_isin,
    load_book,
    parse_symbol,
    plain_symbol,
)

RELIANCE = "INE002A01018"


@pytest.mark.parametrize(
    "text, exchange, expected",
    [
        ("RELIANCE", "NSE", ("NSE", "RELIANCE", "", "")),  # Kite, Groww
        (f"NSE_EQ|{RELIANCE}", "", ("NSE", "", RELIANCE, f"NSE_EQ|{RELIANCE}")),  # Upstox
        (f"BSE_EQ|{RELIANCE}", "", ("BSE", "", RELIANCE, f"BSE_EQ|{RELIANCE}")),
        ("NSE:RELIANCE-EQ", "", ("NSE", "RELIANCE", "", "")),  # Fyers
        ("BSE:RELIANCE-A", "", ("BSE", "RELIANCE", "", "")),  # Fyers, BSE group A
        ("RELIANCE-EQ", "NSE", ("NSE", "RELIANCE", "", "")),  # Angel One, IIFL
        ("2885", "NSE", ("NSE", "", "", "2885")),  # Dhan's security id
        ("NSE_FO|43521", "", ("NFO", "", "", "NSE_FO|43521")),  # an Upstox F&O key
        ("BAJAJ-AUTO", "NSE", ("NSE", "BAJAJ-AUTO", "", "")),  # a dash that is the symbol
    ],
)
def test_every_broker_spelling_is_read(text, exchange, expected):
    parsed = parse_symbol(text, exchange=exchange)
    assert (parsed.exchange, parsed.symbol, parsed.isin, parsed.instrument_id) == expected


def test_plain_symbols_and_isins():
    assert plain_symbol("nse:centralbk-be") == "CENTRALBK"
    assert plain_symbol("MCDOWELL-N") == "MCDOWELL-N"
    assert is_isin(RELIANCE) and is_isin("INF204KB14I2")
    assert not is_isin("INE002A0101") and not is_isin("ine002a01018") and not is_isin("2885")


def reliance_book() -> InstrumentBook:
    book = InstrumentBook()
    entry = MasterEntry("NSE", "RELIANCE", RELIANCE, "RELIANCE INDUSTRIES", 1)
    book.by_id[("angelone", "2885")] = entry
    book.by_id[("dhan", "2885")] = entry
    book.by_symbol[("fyers", "BSE", "RELIANCE")] = MasterEntry("BSE", "RELIANCE", RELIANCE)
    return book


@pytest.mark.parametrize(
    "broker, holding",
    [
        ("zerodha", Holding("NSE", "RELIANCE", 1, Decimal(1), RELIANCE)),
        ("upstox", Holding("NSE", "RELIANCE", 1, Decimal(1), instrument_id=f"NSE_EQ|{RELIANCE}")),
        ("fyers", Holding("BSE", "BSE:RELIANCE-A", 1, Decimal(1))),
        ("angelone", Holding("NSE", "RELIANCE-EQ", 1, Decimal(1), instrument_id="2885")),
        ("dhan", Holding("NSE", "", 1, Decimal(1), instrument_id="2885")),
        ("groww", Holding("NSE", "RELIANCE", 1, Decimal(1), " ine002a01018 ")),
    ],
)
def test_every_spelling_of_reliance_gets_its_isin_as_key(broker, holding):
    identity = identify(broker, holding, reliance_book())
    assert (identity.key, identity.isin, identity.symbol) == (RELIANCE, RELIANCE, "RELIANCE")


def test_the_master_names_a_security_id_only_line():
    identity = identify(
        "dhan", Holding("", "", 3, Decimal(1), instrument_id="2885"), reliance_book()
    )
    assert (identity.exchange, identity.symbol, identity.name) == (
        "NSE",
        "RELIANCE",
        "RELIANCE INDUSTRIES",
    )
    assert identity.in_master


def test_without_isin_or_master_the_key_is_exchange_and_symbol():
    identity = identify("zerodha", Holding("NSE", "SBIN", 1, Decimal(1)), InstrumentBook())
    assert (identity.key, identity.isin, identity.in_master) == ("NSE:SBIN", "", False)
    unknown = identify(
        "dhan", Holding("NSE", "", 1, Decimal(1), instrument_id="999"), InstrumentBook()
    )
    assert unknown.key == "NSE:#999"


def test_a_malformed_isin_is_not_used_as_a_key():
    identity = identify(
        "zerodha", Holding("NSE", "SBIN", 1, Decimal(1), "NOT-AN-ISIN"), InstrumentBook()
    )
    assert identity.key == "NSE:SBIN"


def test_derivatives_are_keyed_by_exchange_and_contract_with_the_larger_lot_size():
    book = InstrumentBook()
    book.by_id[("angelone", "43521")] = MasterEntry("NFO", "NIFTY26JAN24000CE", "", "NIFTY", 75)
    option = Position(
        "NFO", "NIFTY26JAN24000CE", "NRML", 150, Decimal(1), instrument_id="43521", lot_size=1
    )
    identity = identify("angelone", option, book)
    assert (identity.key, identity.contract, identity.lot_size) == (
        "NFO:NIFTY26JAN24000CE",
        True,
        75,
    )
    # a futures line on NSE's F&O segment that a broker calls "NSE" is still a contract
    future = Position(
        "NSE", "NIFTY26JANFUT", "NRML", 75, Decimal(1), asset_type=AssetType.DERIVATIVE
    )
    assert identify("fyers", future, InstrumentBook()).contract


def test_a_contract_never_joins_its_underlying_by_isin():
    upstox_future = Position(
        "NFO", "RELIANCE26JANFUT", "NRML", 250, Decimal(1), isin=RELIANCE, lot_size=250
    )
    identity = identify("upstox", upstox_future, InstrumentBook())
    assert identity.key == "NFO:RELIANCE26JANFUT" and identity.isin == ""


@pytest.mark.django_db
def test_load_book_reads_only_what_lines_without_isin_need():
    rows = [
        ("angelone", "2885", "NSE", "RELIANCE", RELIANCE),
        ("fyers", "10100000002885", "BSE", "RELIANCE", RELIANCE),
        ("angelone", "3045", "NSE", "SBIN", "INE062A01020"),
    ]
    for broker, instrument_id, exchange, symbol, isin in rows:
        InstrumentRecord.objects.create(
            broker=broker, instrument_id=instrument_id, exchange=exchange, symbol=symbol, isin=isin
        )
    lines = {
        "angelone": [Holding("NSE", "RELIANCE-EQ", 1, Decimal(1), instrument_id="2885")],
        "fyers": [Holding("BSE", "BSE:RELIANCE-A", 1, Decimal(1))],
        "zerodha": [Holding("NSE", "SBIN", 1, Decimal(1), "INE062A01020")],
    }

    book = load_book(lines)

    assert book.by_id[("angelone", "2885")].isin == RELIANCE
    assert book.by_symbol[("fyers", "BSE", "RELIANCE")].isin == RELIANCE
    assert ("angelone", "3045") not in book.by_id  # nobody asked for SBIN's token
    assert identify("fyers", lines["fyers"][0], book).key == RELIANCE


def test_a_book_travels_with_a_snapshot_as_json_rows():
    book = reliance_book()
    rows = book.for_broker("fyers")
    again = InstrumentBook()
    again.add_rows("fyers", rows)
    assert again.by_symbol == {
        ("fyers", "BSE", "RELIANCE"): book.by_symbol[("fyers", "BSE", "RELIANCE")]
    }
