"""Profile documents in their JSON form: completed with defaults, merged with a patch."""

from __future__ import annotations

import copy
from functools import cache

from routing.policy import defaults
from routing.policy.accounts import Account
from routing.policy.schema import SCHEMA_VERSION, BrokerSettings, GlobalPolicy


@cache
def _default_global() -> dict:
    return GlobalPolicy().model_dump(mode="json")


@cache
def _default_broker(broker: str) -> dict:
    return BrokerSettings.model_validate(defaults.broker_settings(broker)).model_dump(mode="json")


def default_broker(broker: str) -> dict:
    return copy.deepcopy(_default_broker(broker))


def complete(document: dict, accounts: dict[str, Account]) -> dict:
    """The stored document for the connections of now: each connected broker's saved settings,
    or its defaults; settings of brokers no longer connected are left out."""
    stored = document.get("brokers", {}) if isinstance(document, dict) else {}
    brokers = {}
    for key, account in accounts.items():
        saved = stored.get(key)
        if isinstance(saved, dict) and saved.get("broker") == account.broker:
            brokers[key] = copy.deepcopy(saved)
        else:
            brokers[key] = default_broker(account.broker)
    policy = document.get("global") if isinstance(document, dict) else None
    return {
        "schema_version": SCHEMA_VERSION,
        "global": copy.deepcopy(policy) if policy else copy.deepcopy(_default_global()),
        "brokers": brokers,
    }


def merged(base: dict, patch: dict) -> dict:
    """``patch`` laid over ``base``: groups merge key by key, lists and values replace."""
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out
