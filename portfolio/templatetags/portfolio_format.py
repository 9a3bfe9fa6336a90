"""Presenting money the Indian way: ₹12,34,567.89, rounded half up to paise, only here."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template

from brokers.models import Broker

register = template.Library()
PAISA = Decimal("0.01")
PRICE_STEP = Decimal("0.0001")


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _grouped(amount: Decimal) -> str:
    """Lakh and crore grouping: the last three digits, then pairs (12,34,567.89)."""
    text = f"{abs(amount.quantize(PAISA, ROUND_HALF_UP)):f}"
    whole, _, paise = text.partition(".")
    head, tail = whole[:-3], whole[-3:]
    pairs = []
    while len(head) > 2:
        head, pairs = head[:-2], [head[-2:], *pairs]
    groups = [g for g in (head, *pairs, tail) if g]
    return ",".join(groups) + "." + (paise or "00")


@register.filter
def inr(value, signed: bool = False) -> str:
    amount = _decimal(value)
    if amount is None:
        return "\u2013"
    sign = "\u2212" if amount.quantize(PAISA, ROUND_HALF_UP) < 0 else ("+" if signed else "")
    if signed and not amount.quantize(PAISA, ROUND_HALF_UP):
        sign = ""
    return f"{sign}₹{_grouped(amount)}"


@register.filter
def signed_inr(value) -> str:
    return inr(value, signed=True)


@register.filter
def pct(value) -> str:
    amount = _decimal(value)
    if amount is None:
        return "\u2013"
    rounded = amount.quantize(PAISA, ROUND_HALF_UP)
    sign = "+" if rounded > 0 else ("\u2212" if rounded < 0 else "")
    return f"{sign}{abs(rounded)}%"


@register.filter
def share(value) -> str:
    """A part of a whole: no sign."""
    amount = _decimal(value)
    return "\u2013" if amount is None else f"{amount.quantize(PAISA, ROUND_HALF_UP)}%"


@register.filter
def price(value) -> str:
    """A price per unit: to four places, half up, as the API gives it, with the zeros past
    the paise dropped (2,950.50, but 2,486.3636)."""
    amount = _decimal(value)
    if amount is None:
        return "\u2013"
    exact = amount.quantize(PRICE_STEP, ROUND_HALF_UP)
    whole, _, fraction = f"{abs(exact):f}".partition(".")
    grouped = _grouped(Decimal(whole)).partition(".")[0]
    sign = "\u2212" if exact < 0 else ""
    return f"{sign}{grouped}.{fraction.rstrip('0').ljust(2, '0')}"


@register.filter
def nonzero(value) -> bool:
    """An amount of the document ("0.00" is a string, and true) that is not zero."""
    amount = _decimal(value)
    return bool(amount)


@register.filter
def tone(value) -> str:
    """A CSS class for a gain, a loss, or nothing."""
    amount = _decimal(value)
    if amount is None:
        return ""
    return "gain" if amount > 0 else "loss" if amount < 0 else ""


@register.filter
def lots(line: dict) -> str:
    """Derivatives read in lots: "3 lots (225)". ``line``: a line of the portfolio document."""
    quantity, lot_size = line["totalQuantity"], line["lotSize"]
    if lot_size > 1:
        count = quantity / lot_size
        shown = f"{count:g}" if count % 1 else str(int(count))
        return f"{shown} lot{'s' if count != 1 else ''} ({quantity})"
    return str(quantity)


FLAG_LABELS = {
    "no_price": "no price",
    "no_close": "no previous close",
    "left_out": "left out",
    "zero_quantity": "zero quantity",
    "negative_quantity": "negative quantity",
    "bad_quantity": "bad quantity",
    "quantity_text": "quantity as text",
    "bad_price": "unreadable price",
    "price_text": "price as text",
    "no_average": "no average price",
    "no_isin": "no ISIN",
    "unknown_instrument": "unknown instrument",
    "odd_lot": "odd lot",
    "lot_size_mismatch": "lot sizes differ",
    "duplicate": "sent twice",
}


@register.filter
def flag_label(code: str) -> str:
    return FLAG_LABELS.get(code, code.replace("_", " "))


@register.filter
def broker_label(key: str) -> str:
    try:
        return Broker(key).label
    except ValueError:
        return key
