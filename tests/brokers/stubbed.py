"""An adapter of any broker aimed at its real hosts, for tests that stub every answer with
``responses`` (an unmatched request fails)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from brokers.adapters import registry
from brokers.adapters.base import BrokerAdapter
from brokers.types import AppCredentials, Tokens


def adapter_for(broker: str, settings) -> BrokerAdapter:
    """A logged-in adapter (trading and market-data sessions) on the broker's real hosts."""
    settings.BROKER_HOSTS = {
        **settings.BROKER_HOSTS,
        broker: dict(settings.BROKER_REAL_HOSTS[broker]),
    }
    app = AppCredentials(
        api_key="key-0123456789",
        api_secret="secret-0123456789",
        client_id="C0123",
        pin="1234",
        extra={"marketdata_api_key": "md-key-0123", "marketdata_secret": "md-secret-0123"},
    )
    tokens = Tokens(
        access_token="acc-0123456789abcdef",
        expires_at=datetime.now(UTC) + timedelta(hours=6),
        account_id="C0123",
        extra={"marketdata_token": "md-0123456789abcdef"},
    )
    return registry.build(broker, app=app, tokens=tokens, account=f"stubbed-{broker}")
