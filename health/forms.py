from django import forms

from health.models import ConnectionHealth
from health.probes import DEFAULT_INTERVAL

INTERVALS = [(15, "every 15 s"), (30, "every 30 s"), (60, "every minute"), (300, "every 5 min")]


class PreferencesForm(forms.ModelForm):
    """Per-connection alerts, and how often the connection is probed."""

    interval = forms.TypedChoiceField(
        label="Health check",
        choices=INTERVALS,
        coerce=int,
        initial=DEFAULT_INTERVAL,
    )

    class Meta:
        model = ConnectionHealth
        fields = ["in_app_alerts", "email_alerts", "recovery_alerts"]
        labels = {
            "in_app_alerts": "Notify me here when it turns red",
            "email_alerts": "Also e-mail me",
            "recovery_alerts": "Tell me when it recovers",
        }
