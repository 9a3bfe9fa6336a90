from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import responses
from django.core.cache import cache

from brokers import instruments, services
from brokers.clock import IST
from brokers.errors import BadResponse
from brokers.models import InstrumentMasterLoad, InstrumentRecord
from brokers.types import Instrument
from tests.brokers.test_connections import connect
from tests.portfolio.conftest import eventually


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


def loaded_two_days_ago(broker: str) -> None:
    InstrumentMasterLoad.objects.filter(broker=broker).update(
        loaded_at=datetime.now(IST) - timedelta(days=2)
    )


@pytest.mark.parametrize(
    ("loaded", "now", "current"),
    [
        ("2026-12-03 08:01", "2026-12-03 10:00", True),
        ("2026-12-03 07:59", "2026-12-03 10:00", False),  # before this morning's refresh
        ("2026-12-02 09:00", "2026-12-03 07:00", True),  # today's refresh is still to come
        ("2026-12-01 09:00", "2026-12-03 07:00", False),
    ],
)
def test_a_master_is_current_from_the_morning_refresh_on(db, loaded, now, current):
    at = lambda text: datetime.fromisoformat(text).replace(tzinfo=IST)  # noqa: E731
    InstrumentMasterLoad.objects.create(broker="zerodha", loaded_at=at(loaded), count=1)
    assert instruments.is_current("zerodha", now=at(now)) is current
    assert not instruments.is_current("upstox", now=at(now))  # never loaded


@pytest.mark.django_db(transaction=True)
def test_the_first_login_after_the_morning_refresh_loads_a_stale_master_once(
    trader, other_trader, sandbox_hosts, worker
):
    instruments.replace_master("zerodha", master(1))
    loaded_two_days_ago("zerodha")

    connect(trader, "zerodha", sandbox_hosts)

    # In-process on the embedded default, done already; with Redis a worker takes it.
    assert eventually(lambda: instruments.is_current("zerodha"))
    assert InstrumentRecord.objects.filter(broker="zerodha", symbol="RELIANCE").exists()
    assert InstrumentRecord.objects.filter(broker="zerodha").count() > 1  # not the stale one
    loaded = InstrumentMasterLoad.objects.get(broker="zerodha").loaded_at

    again = connect(other_trader, "zerodha", sandbox_hosts).connection  # the same day
    assert services.load_master_if_stale(again) is None  # nothing due
    assert InstrumentMasterLoad.objects.get(broker="zerodha").loaded_at == loaded


@pytest.mark.django_db(transaction=True)
def test_a_master_that_cannot_be_downloaded_after_a_login_keeps_the_previous_one(
    trader, sandbox_hosts, worker
):
    connection = connect(trader, "zerodha", sandbox_hosts).connection
    assert eventually(lambda: instruments.is_current("zerodha"))
    stored = InstrumentRecord.objects.filter(broker="zerodha").count()
    loaded_two_days_ago("zerodha")

    with responses.RequestsMock():  # the broker answers nothing
        outcome = services.load_master_if_stale(connection)

    assert outcome.startswith("kept the previous master")
    assert InstrumentRecord.objects.filter(broker="zerodha").count() == stored > 0
    assert not instruments.is_current("zerodha")  # the next login tries again


@pytest.mark.django_db(transaction=True)
def test_a_login_while_the_master_is_being_downloaded_does_not_download_it_again(
    trader, sandbox_hosts, worker
):
    connection = connect(trader, "zerodha", sandbox_hosts).connection
    assert eventually(lambda: instruments.is_current("zerodha"))
    loaded_two_days_ago("zerodha")
    cache.add("instrument-master:loading:zerodha", 1, 60)  # the morning refresh, say

    with responses.RequestsMock() as broker:
        outcome = services.load_master_if_stale(connection)

    assert outcome == "another download of this master is under way"
    assert len(broker.calls) == 0
