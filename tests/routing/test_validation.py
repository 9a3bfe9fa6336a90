"""One validation engine: every rule gives its field path and a sentence a trader can act on."""

import copy

import pytest

from routing.policy import services
from routing.policy.validation import Invalid, validate


def problems(trader, document) -> dict[str, str]:
    try:
        validate(document, services.editing(trader).context())
    except Invalid as invalid:
        return {p.path: p.message for p in invalid.problems}
    return {}


def changed(document, path, value):
    """A copy of ``document`` with the value at a dotted path (``a.b[1].c``) set."""
    doc = copy.deepcopy(document)
    parts = path.replace("[", ".[").split(".")
    target = doc
    for part in parts[:-1]:
        target = target[int(part[1:-1])] if part.startswith("[") else target[part]
    last = parts[-1]
    if last.startswith("["):
        target[int(last[1:-1])] = value
    else:
        target[last] = value
    return doc


def test_the_defaults_are_valid(trader, document):
    assert problems(trader, document) == {}


# (where, value set, the path of the problem, words of its message)
CASES = [
    # types and ranges
    (
        "brokers.zerodha.risk.max_daily_loss",
        10**20,
        "brokers.zerodha.risk.max_daily_loss",
        "Max daily loss must be at most 10,000,000,000.",
    ),
    (
        "brokers.zerodha.risk.max_daily_loss",
        -5,
        "brokers.zerodha.risk.max_daily_loss",
        "Max daily loss must be at least 0.",
    ),
    (
        "brokers.zerodha.risk.max_daily_loss",
        "lots",
        "brokers.zerodha.risk.max_daily_loss",
        "Max daily loss must be a number.",
    ),
    (
        "brokers.zerodha.trading.default_quantity",
        2.5,
        "brokers.zerodha.trading.default_quantity",
        "Default quantity must be a whole number.",
    ),
    (
        "brokers.zerodha.trading.default_quantity",
        True,
        "brokers.zerodha.trading.default_quantity",
        "not true or false",
    ),
    (
        "brokers.zerodha.trading.price_tolerance_pct",
        "1.234",
        "brokers.zerodha.trading.price_tolerance_pct",
        "at most 2 decimal places",
    ),
    (
        "global.risk.max_open_orders",
        {"nested": 1},
        "global.risk.max_open_orders",
        "Max open orders must be a whole number.",
    ),
    (
        "global.routing.strategy",
        "CHEAPEST",
        "global.routing.strategy",
        "Strategy must be one of LOWEST_COST, FASTEST_EXECUTION, BEST_PRICE or CUSTOM.",
    ),
    (
        "brokers.zerodha.trading.square_off_time",
        "3pm",
        "brokers.zerodha.trading.square_off_time",
        "must be a time like 09:15",
    ),
    (
        "brokers.zerodha.api.retry_count",
        9,
        "brokers.zerodha.api.retry_count",
        "Retry count must be at most 5.",
    ),
    (
        "brokers.zerodha.api.health_check_seconds",
        1,
        "brokers.zerodha.api.health_check_seconds",
        "Health check seconds must be at least 10.",
    ),
    # unknown keys, with a suggestion
    (
        "brokers.zerodha.risk.max_dayly_loss",
        5,
        "brokers.zerodha.risk.max_dayly_loss",
        "“max_dayly_loss” is not a setting here. Did you mean “max_daily_loss”?",
    ),
    ("global.colour", "red", "global.colour", "“colour” is not a setting here."),
    # brokers named must be connected, once each
    (
        "global.routing.priority",
        ["zerodha", "upstox", "zerodha"],
        "global.routing.priority[2]",
        "is listed twice; list each broker once.",
    ),
    (
        "global.routing.priority",
        ["zerodha", "fyers"],
        "global.routing.priority[1]",
        "You have no connected Fyers account called “fyers”: connect it first.",
    ),
    (
        "global.default_brokers",
        {"EQUITY": "groww"},
        "global.default_brokers.EQUITY",
        "no connected Groww account",
    ),
    (
        "global.emergency.paused",
        ["iifl"],
        "global.emergency.paused[0]",
        "no connected IIFL account",
    ),
    (
        "global.failover.rules",
        [{"condition": "TIMEOUT", "threshold": 3000, "action": "SWITCH", "target": "angelone"}],
        "global.failover.rules[0].target",
        "no connected Angel One account",
    ),
    # allocation adds up to 100 % at most
    (
        "global.allocation",
        [
            {"asset_type": "EQUITY", "preferred_broker": "zerodha", "max_allocation_pct": 70},
            {"asset_type": "EQUITY", "preferred_broker": "upstox", "max_allocation_pct": 40},
        ],
        "global.allocation[1].max_allocation_pct",
        "Allocation for equity adds up to 110 %; at most 100 %.",
    ),
    # capabilities
    (
        "brokers.zerodha.trading.exchanges",
        ["NSE", "NCDEX"],
        "brokers.zerodha.trading.exchanges[1]",
        "Zerodha does not offer the exchange NCDEX.",
    ),
    (
        "brokers.upstox.trading.order_types",
        ["MARKET", "MARKET"],
        "brokers.upstox.trading.order_types[1]",
        "MARKET is listed twice.",
    ),
    # a broker's limits within the global ones
    (
        "brokers.zerodha.risk.max_daily_loss",
        50000,
        "brokers.zerodha.risk.max_daily_loss",
        "Above your global maximum daily loss (20,000)",
    ),
    # rate ceilings under the documented caps
    (
        "brokers.upstox.api.rate_ceilings.order",
        50,
        "brokers.upstox.api.rate_ceilings.order",
        "Upstox allows at most 10 order requests per second",
    ),
    (
        "brokers.dhan.api.rate_ceilings.websocket",
        5,
        "brokers.dhan.api.rate_ceilings.websocket",
        "Dhan documents no “websocket” calls",
    ),
    # trading hours inside the session
    (
        "brokers.zerodha.trading.trading_hours.end",
        "16:00",
        "brokers.zerodha.trading.trading_hours.end",
        "Trading cannot go on after the session closes (09:15 to 15:30 IST).",
    ),
    (
        "brokers.zerodha.trading.trading_hours.start",
        "08:00",
        "brokers.zerodha.trading.trading_hours.start",
        "Trading cannot start before the session opens",
    ),
    (
        "brokers.zerodha.trading.square_off_time",
        "15:45",
        "brokers.zerodha.trading.square_off_time",
        "Intraday square-off must fall within your trading hours (09:15 to 15:30).",
    ),
    # instruments resolve through the masters
    (
        "brokers.zerodha.risk.restricted_instruments",
        ["NSE:RELIANCE", "NSE:NOSUCHCO"],
        "brokers.zerodha.risk.restricted_instruments[1]",
        "NSE:NOSUCHCO is not in any instrument master we hold",
    ),
    (
        "brokers.zerodha.risk.allowed_instruments",
        ["INE000000000"],
        "brokers.zerodha.risk.allowed_instruments[0]",
        "INE000000000 is not in any instrument master we hold",
    ),
    (
        "brokers.zerodha.risk.allowed_instruments",
        ["<b>RELIANCE</b>"],
        "brokers.zerodha.risk.allowed_instruments[0]",
        "is neither an ISIN",
    ),
    # names refuse markup; custom settings keep no secrets and keep their type
    (
        "global.routing.rules",
        [{"name": "<script>alert(1)</script>", "broker": "zerodha"}],
        "global.routing.rules[0].name",
        "(no markup)",
    ),
    (
        "brokers.zerodha.custom",
        [{"key": "api_secret", "type": "string", "value": "s3cr3t"}],
        "brokers.zerodha.custom[0].key",
        "never keep a token, key, secret or PIN",
    ),
    (
        "brokers.zerodha.custom",
        [{"key": "lots", "type": "integer", "value": "many"}],
        "brokers.zerodha.custom[0].value",
        "The value must be a whole number.",
    ),
    # rules that need one another
    ("global.routing.strategy", "CUSTOM", "global.routing.rules", "at least one rule"),
    (
        "global.routing.rules",
        [{"name": "both", "broker": "zerodha", "strategy": "BEST_PRICE"}],
        "global.routing.rules[0]",
        "pick one",
    ),
    (
        "global.failover.rules",
        [{"condition": "ERROR_RATE", "action": "RETRY"}],
        "global.failover.rules[0].threshold",
        "Give the threshold (a percentage).",
    ),
    (
        "global.routing.load_balancing",
        {"enabled": True, "weights": {"zerodha": 0}},
        "global.routing.load_balancing.weights",
        "a weight above 0",
    ),
    (
        "brokers.zerodha.broker",
        "upstox",
        "brokers.zerodha.broker",
        "not a Upstox account",
    ),
    (
        "brokers.fyers",
        {"broker": "fyers"},
        "brokers.fyers",
        "no connected Fyers account",
    ),
]


@pytest.mark.parametrize(
    ("where", "value", "path", "message"), CASES, ids=[f"{c[2]}:{c[3][:30]}" for c in CASES]
)
def test_each_rule_names_its_field(trader, document, master, where, value, path, message):
    document["global"]["risk"]["max_daily_loss"] = "20000"
    found = problems(trader, changed(document, where, value))
    assert path in found, found
    assert message in found[path]


def test_every_problem_is_reported_at_once(trader, document, master):
    document["global"]["routing"]["priority"] = ["zerodha", "zerodha"]
    document["brokers"]["upstox"]["api"]["rate_ceilings"]["order"] = 99
    document["brokers"]["dhan"]["risk"]["max_daily_loss"] = "1e20"
    found = problems(trader, document)
    assert set(found) == {
        "global.routing.priority[1]",
        "brokers.upstox.api.rate_ceilings.order",
        "brokers.dhan.risk.max_daily_loss",
    }


def test_a_mistake_in_one_section_does_not_hide_another(trader, document):
    document["brokers"]["zerodha"]["trading"]["order_types"] = ["ICEBERG"]
    document["brokers"]["zerodha"]["api"]["rate_ceilings"]["quote"] = 5
    found = problems(trader, document)
    assert "brokers.zerodha.trading.order_types[0]" in found
    assert (
        "Zerodha allows at most 1 quote requests per second"
        in found["brokers.zerodha.api.rate_ceilings.quote"]
    )


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([1, 2], "A policy must be a JSON object"),
        ("policy", "A policy must be a JSON object"),
        ({"global": {"routing": {"priority": [[[[[[[[[[[[[["x"]]]]]]]]]]]]]]}}}, "must be text"),
        ({"schema_version": 1}, "This is schema version 2; got 1."),
        ({"brokers": []}, "Brokers must be a group of settings"),
    ],
)
def test_documents_of_the_wrong_shape(trader, brokers, document, message):
    found = problems(trader, document)
    assert any(message in text for text in found.values()), found


def test_another_traders_broker_is_not_yours(trader, other_trader, document):
    from tests.factories import BrokerConnectionFactory

    BrokerConnectionFactory(user=other_trader, broker="fyers")
    document["global"]["routing"]["priority"] = ["fyers"]
    assert "no connected Fyers account" in problems(trader, document)["global.routing.priority[0]"]
