from django.apps import AppConfig

from brokers import demo_apps
from brokers.sandbox.demo import DEMO_APPS


class SandboxConfig(AppConfig):
    """The simulated brokers, installed only with SANDBOX_ENABLED (config/settings.py)."""

    name = "brokers.sandbox"
    label = "sandbox"

    def ready(self):
        # The connect wizard offers each demo app; the dependency points from here to brokers.
        for broker, values in DEMO_APPS.items():
            demo_apps.register(broker, values)
