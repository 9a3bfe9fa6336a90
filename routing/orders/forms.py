"""The order pages' input: the ticket, the modify form and the queue's hand actions, read into
what the services take.

The forms check shape only (a whole number, a price that is a number, a choice that exists);
every rule about the order itself (lot size, tick size, a market order with a price...) is the
risk checks' (routing.risk), shown next to the field it is about (``FIELD_OF``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import cast

from django import forms

from brokers.types import OrderType, Product, Side, Validity
from routing.orders.api import MAX_QUANTITY
from routing.orders.inputs import PREFERRED_EXCHANGES, OrderInput
from routing.policy import controls
from routing.policy.validation import Invalid

# Which field of the ticket a breach of the risk rules is about.
FIELD_OF = {
    "QUANTITY_NOT_WHOLE": "quantity",
    "QUANTITY_NOT_POSITIVE": "quantity",
    "LOT_SIZE": "quantity",
    "PRICE_REQUIRED": "price",
    "PRICE_NOT_ALLOWED": "price",
    "PRICE_NOT_POSITIVE": "price",
    "TICK_SIZE": "price",
    "PRICE_BAND": "price",
    "PRICE_TOLERANCE": "price",
    "TRIGGER_REQUIRED": "trigger_price",
    "TRIGGER_NOT_ALLOWED": "trigger_price",
    "TRIGGER_SIDE": "trigger_price",
    "INSTRUMENT_EXPIRED": "instrument",
    "INSTRUMENT_NOT_ALLOWED": "instrument",
    "INSTRUMENT_RESTRICTED": "instrument",
    "SELL_NOT_HELD": "quantity",
}
TICKET_FIELDS = ("instrument", "side", "quantity", "order_type", "price", "trigger_price")

WHOLE = "Give a quantity: a whole number, like 1 or 50."


def _choices(enum) -> list[tuple[str, str]]:
    return [(item.value, item.value) for item in enum]


def _price(label: str) -> forms.DecimalField:
    return forms.DecimalField(
        required=False,
        max_digits=12,
        decimal_places=4,
        label=label,
        error_messages={
            "invalid": f"{label} must be a number in rupees, like 2950.05.",
            "max_decimal_places": f"{label} has more than 4 decimal places.",
            "max_digits": f"{label} is too large.",
            "max_whole_digits": f"{label} is too large.",
        },
    )


class TicketForm(forms.Form):
    instrument = forms.CharField(
        max_length=40,
        error_messages={"required": "Choose an instrument: search above, or type NSE:SYMBOL."},
    )
    exchange = forms.ChoiceField(
        choices=[("", "Default"), *((e, e) for e in PREFERRED_EXCHANGES)], required=False
    )
    side = forms.ChoiceField(choices=_choices(Side), initial=Side.BUY.value)
    # Read as text: "1.5" and "-3" get their own sentence rather than the generic one.
    quantity = forms.CharField(max_length=12, error_messages={"required": WHOLE})
    order_type = forms.ChoiceField(
        choices=_choices(OrderType), initial=OrderType.MARKET.value, label="Type"
    )
    price = _price("Price")
    trigger_price = _price("Trigger price")
    product = forms.ChoiceField(choices=_choices(Product), initial=Product.CNC.value)
    validity = forms.ChoiceField(choices=_choices(Validity), initial=Validity.DAY.value)
    broker = forms.ChoiceField(choices=[("", "Let routing choose")], required=False)

    def __init__(self, *args, brokers: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        broker = cast(forms.ChoiceField, self.fields["broker"])
        broker.choices = [("", "Let routing choose"), *(brokers or {}).items()]

    def clean_quantity(self) -> int:
        text = self.cleaned_data["quantity"].strip().replace(",", "")
        try:
            number = Decimal(text)
        except ArithmeticError:
            raise forms.ValidationError(f"Quantity {text[:12]} is not a whole number.") from None
        if not number.is_finite() or number != number.to_integral_value():
            raise forms.ValidationError(f"Quantity {text[:12]} is not a whole number.")
        if number < 1:
            raise forms.ValidationError("Quantity must be at least 1.")
        if number > MAX_QUANTITY:
            raise forms.ValidationError(f"Quantity must be at most {MAX_QUANTITY:,}.")
        return int(number)

    def to_input(self) -> OrderInput:
        d = self.cleaned_data
        return OrderInput(
            instrument=d["instrument"].strip(),
            exchange=d.get("exchange") or "",
            side=Side(d["side"]),
            quantity=d["quantity"],
            order_type=OrderType(d["order_type"]),
            product=Product(d["product"]),
            validity=Validity(d["validity"]),
            price=d.get("price"),
            trigger_price=d.get("trigger_price"),
            broker=d.get("broker") or "",
        )


class ModifyForm(forms.Form):
    quantity = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_QUANTITY,
        error_messages={
            "invalid": "Quantity must be a whole number, like 1 or 50.",
            "min_value": "Quantity must be at least 1.",
        },
    )
    price = _price("Price")
    trigger_price = _price("Trigger price")

    def clean(self):
        data = super().clean()
        if not self.errors and all(data.get(n) is None for n in self.fields):
            raise forms.ValidationError("Give a new quantity, price or trigger price to change.")
        return data


class QueueActionForm(forms.Form):
    """Sending a queued order to a broker now, or cancelling it: why (kept in the order's
    timeline) and the confirmation, as the manual controls ask."""

    reason = forms.CharField(required=False, strip=True)
    confirm = forms.CharField(required=False)

    def clean_reason(self) -> str:
        try:
            return controls.check_reason(self.cleaned_data.get("reason", ""))
        except Invalid as invalid:
            raise forms.ValidationError(invalid.problems[0].message) from None

    def clean_confirm(self) -> str:
        if self.cleaned_data.get("confirm") != "1":
            raise forms.ValidationError("Confirm with the button below.")
        return "1"
