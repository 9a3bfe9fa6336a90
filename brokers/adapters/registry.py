"""Broker key → adapter class, and the one way to build an adapter for a connection."""

from __future__ import annotations

import json
from functools import cache

from django.utils.module_loading import import_string

from brokers.adapters.base import AppCredentials, BrokerAdapter, Capabilities, Tokens
from brokers.http import BrokerHttp

ADAPTERS = {
    "zerodha": "brokers.adapters.zerodha.ZerodhaAdapter",
    "upstox": "brokers.adapters.upstox.UpstoxAdapter",
    "fyers": "brokers.adapters.fyers.FyersAdapter",
    "angelone": "brokers.adapters.angelone.AngelOneAdapter",
    "groww": "brokers.adapters.groww.GrowwAdapter",
    "dhan": "brokers.adapters.dhan.DhanAdapter",
    "iifl": "brokers.adapters.iifl.IiflAdapter",
}


@cache
def adapter_class(broker: str) -> type[BrokerAdapter]:
    try:
        return import_string(ADAPTERS[broker])
    except KeyError:
        raise LookupError(f"unknown broker {broker!r}") from None


def capabilities(broker: str) -> Capabilities:
    return adapter_class(broker).capabilities


def build(
    broker: str,
    *,
    app: AppCredentials,
    tokens: Tokens | None = None,
    account: str = "",
    connection_id: str = "",
) -> BrokerAdapter:
    cls = adapter_class(broker)
    secrets = [app.api_secret, app.pin, *app.extra.values()]
    if tokens:
        secrets += [tokens.access_token, tokens.refresh_token, *tokens.extra.values()]
    http = BrokerHttp(
        broker=broker,
        account=account,
        connection_id=connection_id,
        rate_limits=cls.capabilities.rate_limits,
        secrets=tuple(s for s in secrets if s),
    )
    return cls(http=http, app=app, tokens=tokens)


def adapter_for(connection) -> BrokerAdapter:
    """The adapter of a stored connection, with its app credentials and tokens opened."""
    app = connection.app
    credentials = AppCredentials(
        api_key=app.api_key if app else "",
        api_secret=app.api_secret if app else "",
        redirect_uri=app.redirect_url if app else "",
        client_id=app.client_id if app else "",
        pin=app.pin if app else "",
        extra=json.loads(app.extra_secrets or "{}") if app else {},
    )
    tokens = None
    if connection.has_access_token:
        tokens = Tokens(
            access_token=connection.access_token,
            refresh_token=connection.refresh_token,
            expires_at=connection.token_expires_at,
            account_id=connection.account_id,
            extra=json.loads(connection.extra_tokens or "{}"),
        )
    return build(
        connection.broker,
        app=credentials,
        tokens=tokens,
        account=connection.account_id,
        connection_id=str(connection.pk),
    )
