"""How the page writes prices and money: Indian grouping, half up, prices to four places."""

from decimal import Decimal

import pytest

from portfolio.templatetags.portfolio_format import inr, price


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("2950.5", "2,950.50"),  # paise always written
        ("2486.363636", "2,486.3636"),  # a weighted average keeps four places
        ("3890.00025", "3,890.0003"),  # half up, not half even
        ("1234567.00005", "12,34,567.0001"),  # lakh grouping
        (None, "\u2013"),
    ],
)
def test_prices_to_four_places_half_up(value, shown):
    assert price(None if value is None else Decimal(value)) == shown


def test_money_stays_at_paise():
    assert inr(Decimal("2453.8462")) == "₹2,453.85"
    assert inr(Decimal("-0.005")) == "\u2212₹0.01"
