"""Forms of the connect wizard: the broker's API app, and what some brokers ask at login."""

import json
import re

from django import forms

from brokers.models import BrokerApp

# What each broker calls its credentials, and which extra ones it needs.
APP_FIELDS = {
    "zerodha": {"api_key": "API key", "api_secret": "API secret"},
    "upstox": {"api_key": "API key", "api_secret": "API secret"},
    "fyers": {
        "api_key": "App ID (ends in -100)",
        "api_secret": "Secret ID",
        "pin": "4-digit PIN (to renew the session)",
    },
    "angelone": {"api_key": "API key", "api_secret": "Secret key", "client_id": "Client code"},
    "groww": {"api_key": "API key", "api_secret": "API secret"},
    "dhan": {"api_key": "App ID", "api_secret": "App secret", "client_id": "Dhan client ID"},
    "iifl": {
        "api_key": "Interactive API key",
        "api_secret": "Interactive secret key",
        "marketdata_key": "Market data API key",
        "marketdata_secret": "Market data secret",
    },
}
SECRET_FIELDS = {"api_secret", "pin", "marketdata_secret"}
LOGIN_FIELD_LABELS = {
    "clientcode": "Client code",
    "pin": "PIN",
    "totp": "TOTP (6 digits)",
    "password": "Password",
}


class BrokerAppForm(forms.Form):
    """Register a broker API app. Secrets are write-only: never rendered back."""

    label = forms.CharField(max_length=100, initial="My app")

    def __init__(self, *args, broker: str, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.broker, self.user = broker, user
        for name, label in APP_FIELDS[broker].items():
            widget = forms.PasswordInput(render_value=False) if name in SECRET_FIELDS else None
            self.fields[name] = forms.CharField(
                label=label, max_length=200, strip=True, widget=widget
            )

    def clean_label(self):
        label = self.cleaned_data["label"].strip()
        if BrokerApp.objects.filter(user=self.user, broker=self.broker, label=label).exists():
            raise forms.ValidationError("You already have an app with this name; pick another.")
        return label

    def clean_api_key(self):
        key = self.cleaned_data["api_key"]
        if not re.fullmatch(r"[A-Za-z0-9._$@:\-]{4,200}", key):
            raise forms.ValidationError(
                "That does not look like an API key (letters, digits, -_.)."
            )
        if self.broker == "fyers" and not re.fullmatch(r"[A-Z0-9]+-\d{3}", key):
            raise forms.ValidationError("A Fyers App ID looks like ABCD1234-100.")
        return key

    def clean_pin(self):
        pin = self.cleaned_data["pin"]
        if not re.fullmatch(r"\d{4,6}", pin):
            raise forms.ValidationError("The PIN is 4 to 6 digits.")
        return pin

    def save(self, *, redirect_url: str) -> BrokerApp:
        data = self.cleaned_data
        app = BrokerApp(
            user=self.user,
            broker=self.broker,
            label=data["label"],
            api_key=data["api_key"],
            client_id=data.get("client_id", ""),
            redirect_url=redirect_url,
        )
        app.api_secret = data["api_secret"]
        app.pin = data.get("pin", "")
        extra = {k: data[k] for k in ("marketdata_key", "marketdata_secret") if data.get(k)}
        app.extra_secrets = json.dumps(extra) if extra else ""
        app.save()
        return app


class CredentialsLoginForm(forms.Form):
    """What a broker without a browser login asks each time (Angel One: code, PIN, TOTP).

    Nothing typed here is stored: it goes to the broker once and is forgotten.
    """

    def __init__(self, *args, fields: tuple[str, ...], **kwargs):
        super().__init__(*args, **kwargs)
        for name in fields:
            secret = name in ("pin", "totp", "password")
            self.fields[name] = forms.CharField(
                label=LOGIN_FIELD_LABELS.get(name, name),
                max_length=64,
                widget=forms.PasswordInput(attrs={"autocomplete": "off"}) if secret else None,
            )

    def clean_totp(self):
        totp = self.cleaned_data["totp"]
        if not re.fullmatch(r"\d{6}", totp):
            raise forms.ValidationError("The TOTP is the 6-digit code of your authenticator app.")
        return totp
