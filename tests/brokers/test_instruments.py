from decimal import Decimal

import pytest

from brokers import instruments
from brokers.adapters.base import BadResponse, Instrument
from brokers.models import InstrumentRecord


def master(n: int, *, prefix: str = "") -> list[Instrument]:
    return [
        Instrument(
            instrument_id=f"{prefix}{i}",
            exchange="NSE",
            symbol=f"SYM{i}",
            segment="NSE",
            isin=f"INE{i:09d}",
            tick_size=Decimal("0.05"),
        )
        for i in range(n)
    ]


def test_a_valid_download_replaces_the_stored_master(db):
    instruments.replace_master("zerodha", master(10))
    count = instruments.replace_master("zerodha", master(12, prefix="x"))

    assert count == 12
    assert InstrumentRecord.objects.filter(broker="zerodha").count() == 12
    assert instruments.lookup("zerodha", "x3").symbol == "SYM3"
    assert instruments.lookup("zerodha", "3") is None
    assert instruments.isin_for("zerodha", "NSE", "SYM5") == "INE000000005"


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ([], "empty"),
        (master(3), "looks truncated"),
        ([*master(9), Instrument("", "NSE", "X", "NSE")], "lack an identifier"),
    ],
)
def test_a_bad_download_leaves_the_previous_master_in_place(db, bad, reason):
    instruments.replace_master("upstox", master(10))

    with pytest.raises(BadResponse, match=reason) as error:
        instruments.replace_master("upstox", bad)

    assert error.value.broker == "upstox"
    assert InstrumentRecord.objects.filter(broker="upstox").count() == 10
    assert instruments.lookup("upstox", "7").symbol == "SYM7"


def test_each_broker_keeps_its_own_master(db):
    instruments.replace_master("dhan", master(5))
    instruments.replace_master("fyers", master(2))

    assert instruments.lookup("dhan", "4") is not None
    assert instruments.lookup("fyers", "4") is None
