"""The wire rules every adapter shares (brokers/adapters/wire.py)."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import requests

from brokers.adapters import wire
from brokers.clock import IST
from brokers.errors import BadResponse, BrokerUnavailable


def answer(headers: dict[str, str]) -> requests.Response:
    response = requests.Response()
    response.status_code = 429
    response.headers.update(headers)
    return response


# --- Amounts and quantities -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2950.50", Decimal("2950.50")),
        (2950.5, Decimal("2950.5")),
        (0.1, Decimal("0.1")),  # the float's repr, not 0.1000000000000000055511151231257827
        (10, Decimal(10)),
        (Decimal("-12.25"), Decimal("-12.25")),
        (" 7.5 ", Decimal("7.5")),
    ],
)
def test_money_reads_the_amount_as_written(value, expected):
    assert wire.money(value) == expected
    assert str(wire.money(value)) == str(expected)


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-inf", float("nan"), float("inf")])
def test_money_refuses_amounts_that_would_poison_totals(value):
    with pytest.raises(ValueError):
        wire.money(value)


def test_money_refuses_text_that_is_no_number():
    with pytest.raises(ArithmeticError):  # decimal.InvalidOperation, which the door also reads
        wire.money("12,5O")


def test_unsigned_money_refuses_a_negative_amount():
    assert wire.money("-3") == Decimal(-3)
    assert wire.money("0", signed=False) == 0
    with pytest.raises(ValueError):
        wire.money("-3", signed=False)


@pytest.mark.parametrize("value", [None, "", "  ", 0, "0", "0.00", 0.0])
def test_an_optional_price_of_nothing_or_zero_is_none(value):
    assert wire.optional_price(value) is None


def test_an_optional_price_keeps_a_real_price_and_its_sign_rules():
    assert wire.optional_price("101.35") == Decimal("101.35")
    assert wire.optional_price(-2) == Decimal(-2)
    with pytest.raises(ValueError):
        wire.optional_price(-2, signed=False)
    with pytest.raises(ValueError):
        wire.optional_price("NaN")


@pytest.mark.parametrize(("value", "expected"), [("10", 10), (10.0, 10), ("-5", -5), (7, 7)])
def test_quantity_reads_whole_numbers_in_any_spelling(value, expected):
    assert wire.quantity(value) == expected
    assert isinstance(wire.quantity(value), int)


@pytest.mark.parametrize("value", ["1.5", 2.25, "NaN", "inf"])
def test_quantity_refuses_fractions_instead_of_truncating(value):
    with pytest.raises(ValueError):
        wire.quantity(value)


def test_unsigned_quantity_refuses_a_negative_count():
    with pytest.raises(ValueError):
        wire.quantity("-1", signed=False)


# --- Prices going out -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("amount", "expected"),
    [(None, "0"), (Decimal(0), "0"), (Decimal("2500"), "2500"), (Decimal("1542.35"), "1542.35")],
)
def test_json_number_writes_the_exact_digits(amount, expected):
    assert json.dumps(wire.json_number(amount)) == expected


def test_json_number_can_always_send_a_float_like_the_sdks_do():
    assert json.dumps(wire.json_number(Decimal("2500"), always_float=True)) == "2500.0"
    assert json.dumps(wire.json_number(Decimal("0.05"), always_float=True)) == "0.05"
    assert wire.json_number(None, always_float=True) == 0


# --- Times and symbols ------------------------------------------------------------------------
def test_a_naive_broker_time_is_ist():
    moment = wire.when("2025-01-17 09:20:11", "%Y-%m-%d %H:%M:%S")

    assert moment == datetime(2025, 1, 17, 9, 20, 11, tzinfo=IST)
    assert moment.utcoffset() == timedelta(hours=5, minutes=30)


def test_when_tries_each_layout_and_reads_iso_without_one():
    layouts = ("%Y-%m-%d %H:%M:%S", "%d-%b-%Y %H:%M:%S")

    assert wire.when("17-Jan-2025 09:20:11", *layouts) == datetime(
        2025, 1, 17, 9, 20, 11, tzinfo=IST
    )
    assert wire.when("2020-12-21T14:59:41") == datetime(2020, 12, 21, 14, 59, 41, tzinfo=IST)


def test_when_keeps_an_explicit_offset():
    utc = wire.when("2025-01-17T03:50:11+00:00")

    assert utc.tzinfo == UTC
    assert utc == datetime(2025, 1, 17, 9, 20, 11, tzinfo=IST)


@pytest.mark.parametrize("value", [None, "", 0])
def test_an_empty_time_is_not_yet(value):
    assert wire.when(value, "%Y-%m-%d %H:%M:%S") is None


def test_an_unreadable_time_is_an_error_unless_lenient():
    with pytest.raises(ValueError):
        wire.when("yesterday", "%Y-%m-%d %H:%M:%S")
    assert wire.when("yesterday", "%Y-%m-%d %H:%M:%S", lenient=True) is None
    assert wire.when("yesterday", lenient=True) is None


@pytest.mark.parametrize(
    ("symbol", "expected"),
    [
        ("SBIN-EQ", "SBIN"),
        ("CENTRALBK-BE", "CENTRALBK"),
        ("BAJAJ-AUTO", "BAJAJ-AUTO"),  # a dash that is part of the symbol
        ("MCDOWELL-N", "MCDOWELL-N"),
        ("M&M-EQ", "M&M"),
        ("RELIANCE", "RELIANCE"),
    ],
)
def test_strip_series_removes_only_known_series(symbol, expected):
    assert wire.strip_series(symbol, {"EQ", "BE"}) == expected


# --- Transport details ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "3"}, 3.0),
        ({"Retry-After": "1.5"}, 1.5),
        ({"Retry-After": "0"}, 0.0),
        ({}, 1.0),
        ({"Retry-After": ""}, 1.0),
        ({"Retry-After": "soon"}, 1.0),
        ({"Retry-After": "-4"}, 1.0),
        ({"Retry-After": "inf"}, 1.0),
        ({"Retry-After": "nan"}, 1.0),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 1.0),
    ],
)
def test_retry_after_reads_delta_seconds_or_falls_back_to_one(headers, expected):
    assert wire.retry_after(answer(headers)) == expected


def test_retry_after_can_read_another_header_and_say_nothing():
    throttled = answer({"X-Retry-After-Ms": "2500"})

    assert wire.retry_after(throttled, header="X-Retry-After-Ms", default=None) == 2500.0
    assert wire.retry_after(throttled, default=None) is None


def test_gunzipped_inflates_only_what_is_still_compressed():
    assert wire.gunzipped(gzip.compress(b"a,b\n1,2\n")) == b"a,b\n1,2\n"
    assert wire.gunzipped(b"a,b\n1,2\n") == b"a,b\n1,2\n"


def test_a_cut_off_gzip_download_is_a_value_error():
    with pytest.raises(ValueError):
        wire.gunzipped(gzip.compress(b"x" * 1000)[:20])


@pytest.mark.parametrize(
    ("status", "error"), [(502, BrokerUnavailable), (503, BrokerUnavailable), (404, BadResponse)]
)
def test_a_failed_download_is_an_outage_or_a_bad_response(status, error):
    response = requests.Response()
    response.status_code = status

    with pytest.raises(error) as caught:
        wire.raise_for_download(response, broker="dhan", endpoint="instruments")
    assert caught.value.broker == "dhan" and caught.value.endpoint == "instruments"


def test_a_served_download_passes():
    response = requests.Response()
    response.status_code = 200

    wire.raise_for_download(response, broker="dhan", endpoint="instruments")
