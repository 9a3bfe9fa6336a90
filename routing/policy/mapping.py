"""Brokers of another profile mapped onto this trader's connections (import, templates, revert).

A document names brokers by policy key and says which broker each is (``brokers.<key>.broker``).
Each is mapped onto a connection of the same broker: the connection that had it (a revert
knows the connection ids), else the one with the same key, else the first of that broker not
taken yet. Every reference to a key (priority, rules, failover targets, allocation, default
brokers, pauses, weights, plans) is renamed with it. What cannot be mapped is left as it is,
so validation names it at its own field path.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from routing.policy.accounts import Account


def plan(
    document: dict, accounts: Mapping[str, Account], *, connections: Mapping[str, str] = ()
) -> dict[str, str]:
    """{key in the document: key of one of ``accounts``}. ``connections``: {document key:
    connection id} when known."""
    brokers = document.get("brokers") if isinstance(document, dict) else None
    if not isinstance(brokers, dict):
        return {}
    connections = dict(connections or {})
    by_connection = {a.connection_id: key for key, a in accounts.items()}
    mapping: dict[str, str] = {}
    taken: set[str] = set()

    def broker_of(key: str) -> str:
        entry = brokers.get(key)
        return entry.get("broker", "") if isinstance(entry, dict) else ""

    for key in brokers:  # the same connection
        target = by_connection.get(connections.get(key, ""))
        if target and target not in taken and accounts[target].broker == broker_of(key):
            mapping[key] = target
            taken.add(target)
    for key in brokers:  # the same key
        same = key in accounts and accounts[key].broker == broker_of(key)
        if key not in mapping and same and key not in taken:
            mapping[key] = key
            taken.add(key)
    for key in brokers:  # the first free one of the same broker
        if key in mapping:
            continue
        for target, account in accounts.items():
            if target not in taken and account.broker == broker_of(key):
                mapping[key] = target
                taken.add(target)
                break
    return mapping


def rename(document: Any, mapping: Mapping[str, str]) -> Any:
    """A copy of ``document`` with broker keys renamed everywhere they appear."""
    if not isinstance(document, dict) or not mapping:
        return copy.deepcopy(document)
    out = copy.deepcopy(document)

    def swap(value):
        return mapping.get(value, value) if isinstance(value, str) else value

    def swap_keys(value):
        if isinstance(value, dict):
            return {swap(k): v for k, v in value.items()}
        return value

    if isinstance(out.get("brokers"), dict):
        out["brokers"] = swap_keys(out["brokers"])
    policy = out.get("global")
    if not isinstance(policy, dict):
        return out
    routing = _group(policy, "routing")
    if isinstance(routing.get("priority"), list):
        routing["priority"] = [swap(k) for k in routing["priority"]]
    for rule in _items(routing, "rules"):
        rule["broker"] = swap(rule.get("broker"))
    balancing = _group(routing, "load_balancing")
    if "weights" in balancing:
        balancing["weights"] = swap_keys(balancing["weights"])
    for rule in _items(_group(policy, "failover"), "rules"):
        rule["target"] = swap(rule.get("target"))
    for allocation in policy.get("allocation") or []:
        if isinstance(allocation, dict):
            allocation["preferred_broker"] = swap(allocation.get("preferred_broker"))
    if isinstance(policy.get("default_brokers"), dict):
        policy["default_brokers"] = {k: swap(v) for k, v in policy["default_brokers"].items()}
    emergency = _group(policy, "emergency")
    if isinstance(emergency.get("paused"), list):
        emergency["paused"] = [swap(k) for k in emergency["paused"]]
    cost = _group(policy, "cost")
    if "plans" in cost:
        cost["plans"] = swap_keys(cost["plans"])
    return out


def _group(parent: dict, name: str) -> dict:
    value = parent.get(name)
    return value if isinstance(value, dict) else {}


def _items(parent: dict, name: str) -> list[dict]:
    value = parent.get(name)
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def unmapped(document: Any, mapping: Mapping[str, str]) -> list[str]:
    brokers = document.get("brokers") if isinstance(document, dict) else None
    return [key for key in brokers if key not in mapping] if isinstance(brokers, dict) else []


def without(document: Any, keys) -> Any:
    """A copy of ``document`` with brokers ``keys`` left out, and every mention of them: their
    settings, list entries, weights, plans and default-broker entries go; rules and failover
    targets that name them go too; an allocation keeps its limits without a preferred broker."""
    keys = set(keys)
    out = copy.deepcopy(document)
    if not keys or not isinstance(out, dict):
        return out
    if isinstance(out.get("brokers"), dict):
        out["brokers"] = {k: v for k, v in out["brokers"].items() if k not in keys}
    policy = out.get("global")
    if not isinstance(policy, dict):
        return out

    def keep(items):
        return [k for k in items if not _is_key(k, keys)] if isinstance(items, list) else items

    def drop_keys(group):
        if not isinstance(group, dict):
            return group
        return {k: v for k, v in group.items() if k not in keys}

    routing = _group(policy, "routing")
    if "priority" in routing:
        routing["priority"] = keep(routing["priority"])
    if isinstance(routing.get("rules"), list):
        routing["rules"] = [r for r in routing["rules"] if not _names(r, "broker", keys)]
    balancing = _group(routing, "load_balancing")
    if "weights" in balancing:
        balancing["weights"] = drop_keys(balancing["weights"])
    failover = _group(policy, "failover")
    if isinstance(failover.get("rules"), list):
        failover["rules"] = [r for r in failover["rules"] if not _names(r, "target", keys)]
    for allocation in policy.get("allocation") or []:
        if _names(allocation, "preferred_broker", keys):
            allocation["preferred_broker"] = None
    if isinstance(policy.get("default_brokers"), dict):
        policy["default_brokers"] = {
            k: v for k, v in policy["default_brokers"].items() if not _is_key(v, keys)
        }
    emergency = _group(policy, "emergency")
    if "paused" in emergency:
        emergency["paused"] = keep(emergency["paused"])
    cost = _group(policy, "cost")
    if "plans" in cost:
        cost["plans"] = drop_keys(cost["plans"])
    return out


def _names(item, field: str, keys: set) -> bool:
    return isinstance(item, dict) and _is_key(item.get(field), keys)


def _is_key(value, keys: set) -> bool:
    """``value`` names one of ``keys`` (a document not validated yet may hold anything)."""
    return isinstance(value, str) and value in keys
