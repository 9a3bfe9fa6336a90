"""Templates: built-in scenario presets and the trader's own saved profiles.

A preset is a function of the trader's connections that returns a patch: ``global`` settings
and ``each_broker`` settings laid over every connected broker. Applying one shows the changes
first (a preview against the current profile), then saves them as one revision. A trader's
own template is a whole profile document, applied like an import (brokers mapped by name).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from django.db import IntegrityError
from django.http import Http404
from django.shortcuts import get_object_or_404

from routing.models import PolicyRevision, PolicyTemplate
from routing.policy import transfer
from routing.policy.accounts import Account
from routing.policy.documents import merged
from routing.policy.plans import PUBLISHED_PLANS
from routing.policy.schema import Name
from routing.policy.services import editing, save_profile
from routing.policy.transfer import Preview
from routing.policy.validation import Invalid, Problem, check_value

Patch = dict


@dataclass(frozen=True)
class Preset:
    slug: str
    name: str
    description: str
    build: Callable[[Mapping[str, Account]], Patch]
    min_brokers: int = 1


def _all(accounts: Mapping[str, Account]) -> list[str]:
    return list(accounts)


def _delivery_cost(account: Account) -> tuple:
    rule = PUBLISHED_PLANS[account.broker]["equity_delivery"]
    kind = {"ZERO": 0, "PERCENT_WITH_CAP": 1, "FLAT": 2}[rule["kind"]]
    return kind, account.key


def active_intraday(accounts) -> Patch:
    return {
        "global": {
            "routing": {"strategy": "FASTEST_EXECUTION", "priority": _all(accounts)},
            "failover": {
                "rules": [
                    {"condition": "TIMEOUT", "threshold": "2000", "action": "SWITCH"},
                    {"condition": "ERROR_RATE", "threshold": "20", "action": "SWITCH"},
                ],
                "recovery": {"return_to_primary": True, "healthy_minutes": 10},
            },
            "risk": {"max_open_orders": 50},
        },
        "each_broker": {
            "trading": {
                "products": ["MIS", "CNC"],
                "default_quantity": 1,
                "price_tolerance_pct": "0.5",
                "square_off_time": "15:15",
            },
            "api": {"health_check_seconds": 15},
        },
    }


def long_term_investor(accounts) -> Patch:
    return {
        "global": {
            "routing": {"strategy": "LOWEST_COST", "priority": _all(accounts)},
            "failover": {
                "rules": [{"condition": "ERROR_RATE", "threshold": "50", "action": "QUEUE"}],
                "recovery": {"return_to_primary": True, "healthy_minutes": 60},
            },
        },
        "each_broker": {
            "trading": {"products": ["CNC"], "order_types": ["LIMIT", "MARKET"]},
            "api": {"health_check_seconds": 300},
            "notifications": {"quiet_hours": {"start": "16:00", "end": "09:00"}},
        },
    }


def cost_saver(accounts) -> Patch:
    cheapest = sorted(accounts.values(), key=_delivery_cost)
    return {
        "global": {
            "routing": {
                "strategy": "LOWEST_COST",
                "priority": [a.key for a in cheapest],
                "load_balancing": {"enabled": False, "weights": {}},
            },
        },
        "each_broker": {"trading": {"order_types": ["LIMIT", "MARKET"]}},
    }


def safety_first(accounts) -> Patch:
    keys = _all(accounts)
    primary, backup = keys[0], keys[1]
    return {
        "global": {
            "routing": {"strategy": "BEST_PRICE", "priority": keys},
            "failover": {
                "rules": [
                    {
                        "condition": "TIMEOUT",
                        "threshold": "1500",
                        "action": "SWITCH",
                        "target": backup,
                    },
                    {
                        "condition": "ERROR_RATE",
                        "threshold": "10",
                        "action": "SWITCH",
                        "target": backup,
                    },
                    {"condition": "MANUAL", "action": "SWITCH", "target": backup},
                ],
                "recovery": {"return_to_primary": True, "healthy_minutes": 30},
            },
            "risk": {
                "max_daily_loss": "10000",
                "max_order_value": "100000",
                "max_open_orders": 10,
                "max_concentration_pct": "20",
            },
            "default_brokers": {"EQUITY": primary},
            "emergency": {
                "cancel_open_orders_on_kill": True,
                "auto_trips": {"daily_loss_breached": True, "rejections_in_a_row": 5},
            },
        },
        "each_broker": {
            "risk": {"stop_loss_pct": "2", "take_profit_pct": "5"},
            "api": {"health_check_seconds": 15},
        },
    }


PRESETS = {
    preset.slug: preset
    for preset in (
        Preset(
            "active-intraday",
            "Active intraday trader",
            "Fastest execution, quick failover on timeouts and errors, intraday products, "
            "checks every 15 s.",
            active_intraday,
        ),
        Preset(
            "long-term-investor",
            "Long-term investor",
            "Lowest cost, delivery only, limit and market orders, quiet evenings, checks every "
            "5 minutes.",
            long_term_investor,
        ),
        Preset(
            "cost-saver",
            "Cost saver",
            "Lowest cost, brokers with free delivery first.",
            cost_saver,
        ),
        Preset(
            "safety-first",
            "Safety first with a hot backup",
            "Best price on your first broker, switch to the second at once on trouble, tight "
            "global limits, stop-loss defaults and automatic kill switch trips.",
            safety_first,
            min_brokers=2,
        ),
    )
}


def preview_preset(user, slug: str) -> Preview:
    state = editing(user)
    preset = PRESETS[slug]
    if len(state.accounts) < preset.min_brokers:
        return Preview(
            document=state.document,
            version=state.version,
            problems=[
                Problem(
                    "",
                    f"“{preset.name}” needs {preset.min_brokers} connected brokers; you have "
                    f"{len(state.accounts)}.",
                )
            ],
        )
    patch = preset.build(state.accounts)
    document = merged(state.document, {"global": patch.get("global", {})})
    for key in document["brokers"]:
        document["brokers"][key] = merged(document["brokers"][key], patch.get("each_broker", {}))
    return transfer.preview_document(state, document, [])


def apply_preset(user, slug: str, *, version: int, author=None) -> PolicyRevision:
    preview = preview_preset(user, slug)
    if preview.problems:
        raise Invalid(preview.problems)
    return save_profile(
        user=user,
        document=preview.document,
        version=version,
        author=author,
        source=PolicyRevision.Source.TEMPLATE,
        note=f"Template: {PRESETS[slug].name}",
    )


# --- The trader's own ---------------------------------------------------------------------------
def find(user, template_id: str) -> str | PolicyTemplate:
    """A built-in preset's slug, or the trader's own template; Http404 for anything else
    (another trader's template, a number that is not one: "¹" is a digit to str.isdigit
    but not to int; one past a bigint)."""
    if template_id in PRESETS:
        return template_id
    if not (template_id.isascii() and template_id.isdigit() and len(template_id) <= 18):
        raise Http404("No such template.")
    return get_object_or_404(PolicyTemplate, pk=int(template_id), user=user)


def clean_name(name) -> str:
    """A template name, or Invalid naming the field."""
    return check_value(Name, name, "name")


def save_template(user, *, name, description: str = "") -> PolicyTemplate:
    """The current profile kept as the trader's own template."""
    name = clean_name(name)
    if len(description) > 200:
        raise Invalid([Problem("description", "A description is at most 200 characters.")])
    try:
        return PolicyTemplate.objects.create(
            user=user, name=name, description=description, document=transfer.export(user)
        )
    except IntegrityError:
        raise Invalid([Problem("name", f"You already have a template called “{name}”.")]) from None


def preview_template(user, template: PolicyTemplate) -> Preview:
    return transfer.prepare(user, template.document, skip_unmapped=True)


def apply_template(user, template: PolicyTemplate, *, version: int, author=None):
    return transfer.apply(
        user,
        template.document,
        version=version,
        author=author,
        skip_unmapped=True,
        source=PolicyRevision.Source.TEMPLATE,
        note=f"Template: {template.name}",
    )
