from django import forms

from brokers.sandbox import universe


class FaultForm(forms.Form):
    """The faults of one broker (and optionally one account), from the page, API or command."""

    broker = forms.ChoiceField(choices=[(b, b) for b in universe.ACCOUNTS])
    account = forms.CharField(required=False, max_length=40, help_text="Blank = every account.")
    latency_ms = forms.IntegerField(
        min_value=0,
        max_value=60_000,
        required=False,
        initial=0,
        help_text="Each answer leaves this long after its call came in, the work included.",
    )
    error_rate = forms.IntegerField(min_value=0, max_value=100, required=False, initial=0)
    outage = forms.BooleanField(required=False)
    rate_limited = forms.BooleanField(required=False)
    lose_order_reply = forms.BooleanField(required=False)
    drop_order_request = forms.BooleanField(required=False)
    throttle_orders = forms.IntegerField(
        min_value=0,
        max_value=1000,
        required=False,
        initial=0,
        help_text="The next this many order writes get the broker's rate-limit answer.",
    )
    token_expired = forms.BooleanField(required=False, label="Expire tokens now")
    error_in_ok = forms.BooleanField(required=False, label="Errors inside HTTP 200 answers")
    cut_off = forms.BooleanField(required=False, label="Answers cut off halfway")
    paths = forms.CharField(
        required=False,
        max_length=500,
        help_text="Only these paths (comma-separated endings, e.g. portfolio/holdings); "
        "blank = every path. Latency applies everywhere.",
    )

    def clean_account(self):
        account = self.cleaned_data["account"].strip()
        broker = self.cleaned_data.get("broker")
        if account and broker and not universe.account(broker, account):
            known = ", ".join(a.account_id for a in universe.ACCOUNTS[broker])
            raise forms.ValidationError(f"{broker} has no demo account {account!r} (has: {known}).")
        return account or "*"

    def fault_values(self) -> dict:
        data = self.cleaned_data
        return {
            "latency_ms": data.get("latency_ms") or 0,
            "error_rate": data.get("error_rate") or 0,
            "outage": data["outage"],
            "rate_limited": data["rate_limited"],
            "lose_order_reply": data["lose_order_reply"],
            "drop_order_request": data["drop_order_request"],
            "throttle_orders": data.get("throttle_orders") or 0,
            "token_expired": data["token_expired"],
            "error_in_ok": data["error_in_ok"],
            "cut_off": data["cut_off"],
            "paths": data.get("paths") or "",
        }
