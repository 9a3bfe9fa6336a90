"""The one validation engine: pages, the API and import all call ``validate``.

Every problem is a field path (``brokers.zerodha.risk.max_daily_loss``,
``global.routing.priority[1]``) and a sentence a trader can act on. The shape is checked by
the models of ``routing.policy.schema`` (types, ranges, unknown keys); the rules that look
across objects are checked here: brokers named must be the trader's connected ones, once each;
allocation per asset type adds up to at most 100 %; order types, products and exchanges are
ones the broker supports; a broker's limits stay within the global ones; rate ceilings stay
under the broker's documented caps; trading hours sit inside the exchanges' sessions; every
instrument is one the instrument masters hold.
"""

from __future__ import annotations

import difflib
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import time as clock_time
from decimal import Decimal
from functools import cache
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from brokers import instruments
from brokers.models import Broker
from routing.policy import calendar, defaults
from routing.policy.accounts import Account
from routing.policy.schema import (
    MAX_BROKERS,
    SCHEMA_VERSION,
    BrokerSettings,
    Condition,
    GlobalPolicy,
    Profile,
    Strategy,
    ValueType,
)

MAX_DEPTH = 12  # the deepest a policy document goes is 7; anything far deeper is refused

BROKER_NAMES = dict(Broker.choices)
SECRET_WORDS = re.compile(r"(token|secret|password|passwd|pin|totp|api_?key|otp)", re.I)


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def as_dict(self) -> dict:
        return {"path": self.path, "message": self.message}


class Invalid(Exception):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(f"{p.path}: {p.message}" for p in problems[:5]))


@dataclass
class Context:
    """What a document is checked against: the trader's connections (by policy key) and the
    instrument masters."""

    accounts: Mapping[str, Account]
    resolve: Callable[[Iterable[str]], dict[str, str]] = instruments.resolve
    resolved: dict[str, str] = field(default_factory=dict)  # ref → ISIN, filled by validate


# --- Entry point ----------------------------------------------------------------------------
def validate(document: Any, context: Context) -> Profile:
    """The profile, or Invalid with every problem found."""
    problems: list[Problem] = []
    if not isinstance(document, dict):
        raise Invalid([Problem("", "A policy must be a JSON object (settings in { }).")])
    for key in document:
        if key not in ("schema_version", "global", "brokers"):
            problems.append(_unknown((key,), ("schema_version", "global", "brokers")))
    version = document.get("schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        problems.append(
            Problem("schema_version", f"This is schema version {SCHEMA_VERSION}; got {version!r}.")
        )

    policy = _model(GlobalPolicy, document.get("global", {}), ("global",), problems)
    brokers: dict[str, BrokerSettings] = {}  # the brokers without a mistake
    checked: dict[str, BrokerSettings] = {}  # and those with, their right sections checked too
    raw_brokers = document.get("brokers", {})
    if not isinstance(raw_brokers, dict):
        problems.append(Problem("brokers", "Brokers must be a group of settings, one per broker."))
    elif len(raw_brokers) > MAX_BROKERS:
        problems.append(Problem("brokers", f"At most {MAX_BROKERS} brokers fit in a policy."))
    else:
        for key, raw in raw_brokers.items():
            if _connected(key, ("brokers", key), context, problems):
                settings, whole = _broker(key, raw, context, problems)
                if settings is not None:
                    checked[key] = settings
                    if whole:
                        brokers[key] = settings

    if policy is not None:
        _check_global(policy, brokers, context, problems)
    for key, settings in checked.items():
        _check_broker(key, settings, policy, problems)
    _check_instruments(checked, context, problems)

    if problems:
        raise Invalid(problems)
    return Profile.model_validate(
        {"schema_version": SCHEMA_VERSION, "global": policy, "brokers": brokers}
    )


SECTIONS = tuple(BrokerSettings.model_fields)


def _broker(key: str, raw: Any, context: Context, problems: list[Problem]):
    """One broker's settings, section by section, so a mistake in one section does not hide
    the problems of the others: (the settings, with defaults for sections in error; whether
    every section was right)."""
    at = ("brokers", key)
    if not isinstance(raw, dict):
        problems.append(Problem(path_of(at), "A broker's settings must be a group (JSON object)."))
        return None, False
    account = context.accounts[key]
    whole = True
    for name in raw:
        if name not in SECTIONS:
            problems.append(_unknown((*at, name), SECTIONS))
            whole = False
    broker = raw.get("broker", account.broker)
    if broker != account.broker:
        problems.append(
            Problem(
                path_of((*at, "broker")),
                f"“{_short(key)}” is your {account.label}, not a "
                f"{BROKER_NAMES.get(str(broker), _short(broker))} account.",
            )
        )
        return None, False
    sections = {"broker": broker}
    for name in SECTIONS[1:]:
        if name not in raw:
            continue
        kind = BrokerSettings.model_fields[name].annotation
        try:
            sections[name] = _adapter(kind).validate_python(raw[name])
        except ValidationError as error:
            whole = False
            model = _inner_model(kind) or BrokerSettings
            for item in error.errors(include_url=False):
                problems.append(_translate(model, (*at, name), item))
    return BrokerSettings.model_validate(sections), whole


def check_value(kind, value, path: str):
    """One value of type ``kind`` (a template's name...), or Invalid naming ``path``."""
    try:
        return _adapter(kind).validate_python(value)
    except ValidationError as error:
        item = error.errors(include_url=False)[0]
        raise Invalid([_translate(BaseModel, (path,), {**item, "loc": ()})]) from None


@cache
def _adapter(kind) -> TypeAdapter:
    return TypeAdapter(kind)


def problems_of(document: Any, context: Context) -> list[Problem]:
    try:
        validate(document, context)
    except Invalid as invalid:
        return invalid.problems
    return []


# --- Shape (pydantic) → problems --------------------------------------------------------------
def _model(cls: type[BaseModel], raw: Any, prefix: tuple, problems: list[Problem]):
    try:
        return cls.model_validate(raw)
    except ValidationError as error:
        for item in error.errors(include_url=False):
            problems.append(_translate(cls, prefix, item))
        return None


def path_of(parts: Iterable) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


# pydantic marks which branch of a union or which part of a mapping failed; a trader needs
# neither.
_BRANCHES = {"str", "bool", "int", "decimal", "constrained-str", "function-after", "[key]"}


def _translate(cls: type[BaseModel], prefix: tuple, item: dict) -> Problem:
    loc = [p for p in item["loc"] if not (isinstance(p, str) and _is_branch(p))]
    parts = (*prefix, *loc)
    path = path_of(parts)
    kind, ctx, value = item["type"], item.get("ctx") or {}, item.get("input")
    label = _label(parts)
    if "[key]" in item["loc"]:
        return Problem(path, f"“{_short(loc[-1])}” is not a name allowed here.")
    if kind == "extra_forbidden":
        return _unknown(parts, _fields_at(cls, loc[:-1]))
    message = _MESSAGES.get(kind)
    if kind == "string_pattern_mismatch":
        message = _pattern_message(ctx.get("pattern", ""), value)
    elif kind == "value_error" and "not_a_number" in item.get("msg", ""):
        message = "{label} must be a number, not true or false."
    elif kind in ("enum", "literal_error"):
        message = "{label} must be one of " + _choices(ctx.get("expected", "")) + "."
    if message is None:
        message = "{label}: " + item.get("msg", "is not valid") + "."
    return Problem(path, message.format(label=label, value=_short(value), **_numbers(ctx)))


def _is_branch(part: str) -> bool:
    return part in _BRANCHES or part.startswith(("function-", "constrained-", "nullable"))


_MESSAGES = {
    "missing": "{label} is required.",
    "int_type": "{label} must be a whole number.",
    "int_parsing": "{label} must be a whole number.",
    "int_from_float": "{label} must be a whole number.",
    "decimal_type": "{label} must be a number.",
    "decimal_parsing": "{label} must be a number.",
    "decimal_max_places": "{label} can have at most {decimal_places} decimal places.",
    "decimal_max_digits": "{label} has too many digits.",
    "decimal_whole_digits": "{label} has too many digits.",
    "less_than_equal": "{label} must be at most {le}.",
    "less_than": "{label} must be less than {lt}.",
    "greater_than_equal": "{label} must be at least {ge}.",
    "greater_than": "{label} must be more than {gt}.",
    "finite_number": "{label} must be a finite number.",
    "bool_type": "{label} must be true or false.",
    "bool_parsing": "{label} must be true or false.",
    "string_type": "{label} must be text.",
    "string_too_long": "{label} must be at most {max_length} characters.",
    "string_too_short": "{label} cannot be empty.",
    "too_long": "{label} can hold at most {max_length} entries.",
    "tuple_type": "{label} must be a list.",
    "list_type": "{label} must be a list.",
    "model_type": "{label} must be a group of settings (a JSON object).",
    "model_attributes_type": "{label} must be a group of settings (a JSON object).",
    "dict_type": "{label} must be a group of settings (a JSON object).",
    "mapping_type": "{label} must be a group of settings (a JSON object).",
    "frozen_instance": "{label} cannot be changed.",
    "recursion_loop": "{label} is nested too deeply.",
    "union_tag_invalid": "{label} is not one of the accepted kinds.",
}


def _num(value) -> str:
    """A number as a trader writes it: 20,000 · 10 · 2.5."""
    text = f"{Decimal(str(value)).normalize():,f}"
    return text


def _numbers(ctx: dict) -> dict:
    out = {}
    for key, value in ctx.items():
        if isinstance(value, str) and value.startswith("Decimal('"):
            value = Decimal(value[9:-2])  # pydantic hands Decimal bounds over as their repr
        if isinstance(value, Decimal | int | float) and not isinstance(value, bool):
            out[key] = _num(value)
        else:
            out[key] = value
    return out


def _pattern_message(pattern: str, value) -> str:
    if "[01]" in pattern:
        return "{label} must be a time like 09:15 (24-hour clock, IST)."
    if "[a-z0-9-]" in pattern:
        return "“{value}” is not a broker name: use the key shown on your broker panel."
    if "[A-Z]{2}" in pattern:
        return (
            "“{value}” is neither an ISIN (like INE002A01018) nor EXCHANGE:SYMBOL "
            "(like NSE:RELIANCE)."
        )
    if "[a-z0-9_]" in pattern:
        return "{label} may use lowercase letters, digits and _ only, starting with a letter."
    if r"\w" in pattern:
        return "{label} may use letters, digits, spaces and - _ . ( ) / only (no markup)."
    return "{label} is not in the expected form."


def _choices(expected: str) -> str:
    return expected.replace("'", "")


def _short(value, limit: int = 40) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _label(parts: tuple) -> str:
    names = [p for p in parts if isinstance(p, str)]
    if not names:
        return "The policy"
    last = parts[-1]
    name = names[-1].removesuffix("_pct").replace("_", " ")
    name = name[:1].upper() + name[1:]
    if parts[-1] == names[-1] and len(names) >= 2 and names[-2] in ("rate_ceilings", "weights"):
        return f"{names[-2].replace('_', ' ').capitalize()} for {last}"
    if isinstance(last, int):
        return f"{name} entry {last + 1}"
    return name


def _fields_at(cls: type[BaseModel], loc: list) -> list[str]:
    """The settings known at ``loc`` inside ``cls``, to suggest one for a misspelt key."""
    model: Any = cls
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        info = getattr(model, "model_fields", {}).get(part)
        if info is None:
            return []
        model = _inner_model(info.annotation)
    return list(getattr(model, "model_fields", {}) or [])


def _inner_model(annotation):
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _unknown(parts: tuple, known: Iterable[str]) -> Problem:
    key = str(parts[-1])
    close = difflib.get_close_matches(key, list(known), n=1)
    hint = f" Did you mean “{close[0]}”?" if close else ""
    return Problem(path_of(parts), f"“{_short(key)}” is not a setting here.{hint}")


def depth(value, limit: int = MAX_DEPTH + 1) -> int:
    """How deep ``value`` nests (without recursion, stopping past ``limit``)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if level > limit:
            return level
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list | tuple):
            stack.extend((v, level + 1) for v in item)
    return deepest


# --- Across objects -------------------------------------------------------------------------
def _connected(key, parts: tuple, context: Context, problems: list[Problem]) -> bool:
    if key in context.accounts:
        return True
    path = path_of(parts)
    name = BROKER_NAMES.get(str(key).partition("-")[0])
    if name:
        message = f"You have no connected {name} account called “{key}”: connect it first."
    else:
        message = f"“{_short(key)}” is not one of your connected brokers."
    problems.append(Problem(path, message))
    return False


def _name(key: str, context: Context) -> str:
    account = context.accounts.get(key)
    return account.label if account else key


def _check_broker_list(keys, parts: tuple, context: Context, problems: list[Problem]) -> None:
    """A list of brokers: each connected, each once."""
    seen: set[str] = set()
    for i, key in enumerate(keys):
        if not _connected(key, (*parts, i), context, problems):
            continue
        if key in seen:
            problems.append(
                Problem(
                    path_of((*parts, i)),
                    f"{_name(key, context)} is listed twice; list each broker once.",
                )
            )
        seen.add(key)


def _check_global(
    policy: GlobalPolicy,
    brokers: Mapping[str, BrokerSettings],
    context: Context,
    problems: list[Problem],
) -> None:
    routing = policy.routing
    _check_broker_list(routing.priority, ("global", "routing", "priority"), context, problems)
    if routing.strategy is Strategy.CUSTOM and not routing.rules:
        problems.append(Problem("global.routing.rules", "Custom routing needs at least one rule."))
    names = Counter(rule.name.lower() for rule in routing.rules)
    for i, rule in enumerate(routing.rules):
        at = ("global", "routing", "rules", i)
        if (rule.broker is None) == (rule.strategy is None):
            problems.append(
                Problem(path_of(at), "A rule sends orders to a broker or by a strategy: pick one.")
            )
        if rule.broker is not None:
            _connected(rule.broker, (*at, "broker"), context, problems)
        if rule.strategy is Strategy.CUSTOM:
            problems.append(
                Problem(path_of((*at, "strategy")), "A rule cannot route by the custom rules.")
            )
        if names[rule.name.lower()] > 1:
            problems.append(
                Problem(path_of((*at, "name")), f"Another rule is also called “{rule.name}”.")
            )
        match = rule.match
        if (
            match.min_order_value is not None
            and match.max_order_value is not None
            and match.min_order_value > match.max_order_value
        ):
            problems.append(
                Problem(
                    path_of((*at, "match", "min_order_value")),
                    "The smallest order value is above the largest.",
                )
            )
        if (match.from_time is None) != (match.to_time is None):
            problems.append(
                Problem(path_of((*at, "match")), "Give both ends of the time window, or neither.")
            )
        elif match.from_time is not None and match.from_time >= match.to_time:
            problems.append(
                Problem(
                    path_of((*at, "match", "to_time")), "The time window must end after it starts."
                )
            )

    balancing = routing.load_balancing
    for key in balancing.weights:
        _connected(key, ("global", "routing", "load_balancing", "weights", key), context, problems)
    if balancing.enabled and not any(balancing.weights.values()):
        problems.append(
            Problem(
                "global.routing.load_balancing.weights",
                "Load balancing needs a weight above 0 for at least one broker.",
            )
        )

    for i, rule in enumerate(policy.failover.rules):
        at = ("global", "failover", "rules", i)
        if rule.condition is Condition.MANUAL:
            if rule.threshold is not None:
                problems.append(
                    Problem(path_of((*at, "threshold")), "A manual failover has no threshold.")
                )
        elif rule.threshold is None:
            unit = "milliseconds" if rule.condition is Condition.TIMEOUT else "a percentage"
            problems.append(Problem(path_of((*at, "threshold")), f"Give the threshold ({unit})."))
        elif rule.condition is Condition.ERROR_RATE and rule.threshold > 100:
            problems.append(Problem(path_of((*at, "threshold")), "An error rate is at most 100 %."))
        elif rule.condition is Condition.TIMEOUT and rule.threshold < 100:
            problems.append(
                Problem(
                    path_of((*at, "threshold")),
                    "A timeout below 100 ms would fail over on every order.",
                )
            )
        if rule.target is not None:
            _connected(rule.target, (*at, "target"), context, problems)
        elif rule.action.value == "SWITCH" and len(context.accounts) < 2:
            problems.append(
                Problem(
                    path_of((*at, "action")),
                    "Switching needs a second connected broker to switch to.",
                )
            )

    totals: dict[str, Decimal] = defaultdict(Decimal)
    for i, allocation in enumerate(policy.allocation):
        at = ("global", "allocation", i)
        if allocation.preferred_broker is not None:
            _connected(allocation.preferred_broker, (*at, "preferred_broker"), context, problems)
        totals[allocation.asset_type] += allocation.max_allocation_pct
        if totals[allocation.asset_type] > 100:
            problems.append(
                Problem(
                    path_of((*at, "max_allocation_pct")),
                    f"Allocation for {allocation.asset_type.value.replace('_', ' ').lower()} "
                    f"adds up to {_num(totals[allocation.asset_type])} %; at most 100 %.",
                )
            )
    pairs = Counter((a.asset_type, a.preferred_broker) for a in policy.allocation)
    for i, allocation in enumerate(policy.allocation):
        if pairs[(allocation.asset_type, allocation.preferred_broker)] > 1:
            problems.append(
                Problem(
                    path_of(("global", "allocation", i)),
                    "This asset type and broker already have an allocation rule.",
                )
            )
            pairs[(allocation.asset_type, allocation.preferred_broker)] = 0

    for asset, key in policy.default_brokers.items():
        _connected(key, ("global", "default_brokers", asset.value), context, problems)
    paused = ("global", "emergency", "paused")
    _check_broker_list(policy.emergency.paused, paused, context, problems)
    for key in policy.cost.plans:
        _connected(key, ("global", "cost", "plans", key), context, problems)
    for key, plan in policy.cost.plans.items():
        for segment in ("equity_delivery", "equity_intraday", "futures", "options"):
            at = ("global", "cost", "plans", key, segment)
            _check_charge(getattr(plan, segment), at, problems)

    risk = policy.risk
    if (
        risk.max_order_value is not None
        and risk.max_gross_exposure is not None
        and risk.max_order_value > risk.max_gross_exposure
    ):
        problems.append(
            Problem(
                "global.risk.max_order_value",
                "One order cannot be worth more than the whole gross exposure allowed.",
            )
        )


def _check_charge(charge, parts: tuple, problems: list[Problem]) -> None:
    kind = charge.kind.value
    need = {"ZERO": (), "FLAT": ("flat",), "PERCENT_WITH_CAP": ("percent", "cap")}[kind]
    for name in ("flat", "percent", "cap", "minimum"):
        given = getattr(charge, name) is not None
        if name in need and not given:
            message = f"A {_kind(kind)} plan needs a {name}."
            problems.append(Problem(path_of((*parts, name)), message))
        elif given and name not in need and not (name == "minimum" and kind == "PERCENT_WITH_CAP"):
            problems.append(
                Problem(path_of((*parts, name)), f"A {_kind(kind)} plan has no {name}.")
            )
    if charge.minimum is not None and charge.cap is not None and charge.minimum > charge.cap:
        problems.append(Problem(path_of((*parts, "minimum")), "The minimum is above the cap."))


def _kind(kind: str) -> str:
    return {"ZERO": "zero-brokerage", "FLAT": "flat-fee", "PERCENT_WITH_CAP": "percentage"}[kind]


def _check_broker(
    key: str, settings: BrokerSettings, policy: GlobalPolicy | None, problems: list[Problem]
) -> None:
    caps = defaults.capabilities(settings.broker)
    name = BROKER_NAMES[settings.broker]
    trading = settings.trading
    for field_name, supported, noun in (
        ("order_types", caps.order_types, "order type"),
        ("exchanges", caps.exchanges, "exchange"),
        ("products", caps.products, "product"),
    ):
        values = getattr(trading, field_name)
        seen: set = set()
        for i, value in enumerate(values):
            at = f"brokers.{key}.trading.{field_name}[{i}]"
            if value not in supported:
                problems.append(Problem(at, f"{name} does not offer the {noun} {value}."))
            elif value in seen:
                problems.append(Problem(at, f"{value} is listed twice."))
            seen.add(value)
        if not values:
            problems.append(
                Problem(f"brokers.{key}.trading.{field_name}", f"Choose at least one {noun}.")
            )

    opens, closes = calendar.session_bounds(trading.exchanges)
    hours = trading.trading_hours
    start, end = _clock(hours.start), _clock(hours.end)
    session = f"{opens:%H:%M} to {closes:%H:%M} IST"
    if start < opens:
        problems.append(
            Problem(
                f"brokers.{key}.trading.trading_hours.start",
                f"Trading cannot start before the session opens ({session}).",
            )
        )
    if end > closes:
        problems.append(
            Problem(
                f"brokers.{key}.trading.trading_hours.end",
                f"Trading cannot go on after the session closes ({session}).",
            )
        )
    if start >= end:
        problems.append(
            Problem(
                f"brokers.{key}.trading.trading_hours.end",
                "Trading hours must end after they start.",
            )
        )
    square_off = _clock(trading.square_off_time)
    if not start < square_off <= end:
        problems.append(
            Problem(
                f"brokers.{key}.trading.square_off_time",
                f"Intraday square-off must fall within your trading hours "
                f"({hours.start} to {hours.end}).",
            )
        )

    caps_per_second = defaults.documented_caps(settings.broker)
    for category, ceiling in settings.api.rate_ceilings.items():
        at = f"brokers.{key}.api.rate_ceilings.{category}"
        cap = caps_per_second.get(category)
        if cap is None:
            known = ", ".join(caps_per_second)
            problems.append(
                Problem(at, f"{name} documents no “{category}” calls; its categories: {known}.")
            )
        elif ceiling > cap:
            problems.append(
                Problem(
                    at,
                    f"{name} allows at most {_num(cap)} {category} requests per second; "
                    f"a ceiling above that only earns refusals.",
                )
            )

    risk = settings.risk
    for field_name in ("stop_loss_pct", "take_profit_pct"):
        value = getattr(risk, field_name)
        if value is not None and value == 0:
            problems.append(
                Problem(
                    f"brokers.{key}.risk.{field_name}",
                    "Leave it empty for none; 0 % would trigger at once.",
                )
            )
    overlap = set(risk.allowed_instruments) & set(risk.restricted_instruments)
    for i, ref in enumerate(risk.restricted_instruments):
        if ref in overlap:
            problems.append(
                Problem(
                    f"brokers.{key}.risk.restricted_instruments[{i}]",
                    f"{ref} is both allowed and restricted.",
                )
            )

    quiet = settings.notifications.quiet_hours
    if quiet is not None and quiet.start == quiet.end:
        problems.append(
            Problem(
                f"brokers.{key}.notifications.quiet_hours.end",
                "Quiet hours must end at another time than they start.",
            )
        )

    keys = Counter(item.key for item in settings.custom)
    for i, item in enumerate(settings.custom):
        at = f"brokers.{key}.custom[{i}]"
        if SECRET_WORDS.search(item.key):
            problems.append(
                Problem(
                    f"{at}.key",
                    "Custom settings are exported and shown: never keep a token, key, secret "
                    "or PIN in one.",
                )
            )
        if keys[item.key] > 1:
            problems.append(Problem(f"{at}.key", f"“{item.key}” is set twice."))
        if not _typed(item.type, item.value):
            problems.append(Problem(f"{at}.value", f"The value must be {_article(item.type)}."))

    if policy is not None:
        _within_global(key, settings, policy, problems)


def _within_global(key, settings: BrokerSettings, policy: GlobalPolicy, problems) -> None:
    risk = policy.risk
    for local, value, limit, what in (
        ("risk.max_daily_loss", settings.risk.max_daily_loss, risk.max_daily_loss, "daily loss"),
        (
            "trading.max_order_value",
            settings.trading.max_order_value,
            risk.max_order_value,
            "order value",
        ),
        (
            "risk.max_position_value",
            settings.risk.max_position_value,
            risk.max_gross_exposure,
            "gross exposure",
        ),
    ):
        if value is not None and limit is not None and value > limit:
            problems.append(
                Problem(
                    f"brokers.{key}.{local}",
                    f"Above your global maximum {what} ({_num(limit)}); a broker's limit can only "
                    f"be tighter.",
                )
            )


def _typed(kind: ValueType, value) -> bool:
    if kind is ValueType.BOOLEAN:
        return isinstance(value, bool)
    if kind is ValueType.INTEGER:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is ValueType.DECIMAL:
        return isinstance(value, Decimal | int) and not isinstance(value, bool)
    return isinstance(value, str)


def _article(kind: ValueType) -> str:
    return {
        ValueType.BOOLEAN: "true or false",
        ValueType.INTEGER: "a whole number",
        ValueType.DECIMAL: "a number",
        ValueType.STRING: "text",
    }[kind]


def _clock(text: str) -> clock_time:
    hours, minutes = text.split(":")
    return clock_time(int(hours), int(minutes))


# Instruments the masters hold, remembered for a while: live validation checks the same lists
# at every keystroke, and the masters change once a day. Unknown ones are always asked again.
KNOWN_TTL = 600.0
_known: dict[str, tuple[float, str]] = {}


def _resolve(context: Context, refs: set[str]) -> dict[str, str]:
    now = time.monotonic()
    found = {ref: hit[1] for ref in refs if (hit := _known.get(ref)) and hit[0] > now}
    missing = refs - found.keys()
    if missing:
        fresh = context.resolve(missing)
        if len(_known) > 50_000:
            _known.clear()
        _known.update({ref: (now + KNOWN_TTL, isin) for ref, isin in fresh.items()})
        found.update(fresh)
    return found


def forget_known() -> None:
    _known.clear()


def _check_instruments(
    brokers: Mapping[str, BrokerSettings], context: Context, problems: list[Problem]
) -> None:
    refs = {
        ref
        for settings in brokers.values()
        for ref in (*settings.risk.allowed_instruments, *settings.risk.restricted_instruments)
    }
    if not refs:
        return
    found = _resolve(context, refs)
    context.resolved.update(found)
    for key, settings in brokers.items():
        for field_name in ("allowed_instruments", "restricted_instruments"):
            for i, ref in enumerate(getattr(settings.risk, field_name)):
                if ref not in found:
                    problems.append(
                        Problem(
                            f"brokers.{key}.risk.{field_name}[{i}]",
                            f"{ref} is not in any instrument master we hold: check the "
                            f"symbol, or use its ISIN.",
                        )
                    )
