"""Broker key → adapter class, and the one way to build an adapter for a connection."""

from __future__ import annotations

import json
from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from brokers.adapters.base import BrokerAdapter
from brokers.http import BrokerHttp
from brokers.types import AppCredentials, Capabilities, TagRule, Tokens

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


COMMON_TAG_ALPHABET = r"[A-Za-z0-9]"


def common_tag_rule() -> TagRule:
    """A tag every broker accepts: letters and digits only (Fyers takes nothing else), as long
    as the most demanding minimum (Groww's 8) and as short as the strictest maximum (Angel
    One's 19). One tag can then follow an order to whichever broker routing picks."""
    rules = [adapter_class(broker).capabilities.tag_rule for broker in ADAPTERS]
    low, high = max(r.min_length for r in rules), min(r.max_length for r in rules)
    return TagRule(
        max_length=high,
        min_length=low,
        pattern=f"{COMMON_TAG_ALPHABET}{{{low},{high}}}",
        says=f"must be {low}-{high} letters or digits",
    )


def build(
    broker: str,
    *,
    app: AppCredentials,
    tokens: Tokens | None = None,
    account: str = "",
    connection_id: str = "",
    config: dict | None = None,
) -> BrokerAdapter:
    """``config``: the connection's own settings (connection_config: requestTimeoutSeconds,
    retryCount, rateCeilings), written there by the trader's policy."""
    cls = adapter_class(broker)
    config = config if isinstance(config, dict) else {}
    secrets = [app.api_secret, app.pin, *app.extra.values()]
    if tokens:
        secrets += [tokens.access_token, tokens.refresh_token, *tokens.extra.values()]
    http = BrokerHttp(
        broker=broker,
        account=account,
        connection_id=connection_id,
        rate_limits=cls.capabilities.rate_limits,
        secrets=tuple(s for s in secrets if s),
        read_timeout=_number(config.get("requestTimeoutSeconds")),
        retries=int(_number(config.get("retryCount")) or 0),
        ceilings={
            str(k): n
            for k, v in (config.get("rateCeilings") or {}).items()
            if (n := _number(v)) is not None
        }
        if isinstance(config.get("rateCeilings"), dict)
        else {},
    )
    hosts = {name: str(url) for name, url in settings.BROKER_HOSTS[broker].items()}
    return cls(http=http, app=app, tokens=tokens, hosts=hosts)


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
        config=connection.connection_config,
    )


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    return float(value)
