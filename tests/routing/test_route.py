"""The routing decision, table-tested: which candidates are excluded and why, how each
strategy ranks the rest, the tie-breakers, custom rules, load balancing and allocation caps,
and the explanation a trader reads.

Charges used below (routing.charges; 100 RELIANCE x ₹1,400 = ₹1,40,000 delivery buy on NSE):
Zerodha and Dhan charge no brokerage on delivery: STT 140 + exchange 4.30 + SEBI 0.14 + stamp
21.00 + GST 0.80 = ₹166.24; Upstox charges 2.5 % capped at ₹20: 20 + 140 + 4.30 + 0.14 + 21.00
+ GST 18 % x 24.44 = 4.40 → ₹189.84.
"""

import random
from collections import Counter
from dataclasses import replace
from decimal import Decimal

import pytest

from brokers.types import AssetType, OrderType, Product, Side
from routing.intent import Book
from routing.route import decide
from tests.routing.snapshots import NIFTY_FUT, candidate, ist, limit_buy, snapshot

D = Decimal
MONDAY_10AM = ist("2026-06-01 10:00")

BUY = limit_buy(quantity=100)


def three(**per_key):
    """Zerodha (p95 180 ms), Upstox (90 ms) and Dhan (not measured yet)."""
    base = {"zerodha": {"p95_ms": 180.0}, "upstox": {"p95_ms": 90.0}, "dhan": {}}
    return [candidate(key, **{**base[key], **per_key.get(key, {})}) for key in base]


def run(intent=BUY, candidates=None, *, policy=None, **kwargs):
    return decide(
        intent,
        candidates if candidates is not None else three(),
        policy=policy or snapshot(),
        now=kwargs.pop("now", MONDAY_10AM),
        **kwargs,
    )


def order_of(decision):
    return [r.candidate.key for r in decision.ranked]


def test_lowest_cost_ranks_by_estimated_charges_and_explains_itself():
    decision = run(
        policy=snapshot(global_={"routing": {"priority": ["dhan", "zerodha", "upstox"]}})
    )
    assert decision.strategy == "LOWEST_COST"
    assert order_of(decision) == ["dhan", "zerodha", "upstox"]
    assert [r.charges.total for r in decision.ranked] == [D("166.24"), D("166.24"), D("189.84")]
    assert decision.explanation == (
        "Dhan: ₹166.24 est. charges, no latency yet — chosen: lowest cost, tie broken by your "
        "priority list; Zerodha: ₹166.24 est. charges, p95 180 ms; Upstox: ₹189.84 est. "
        "charges, p95 90 ms"
    )
    assert [r.candidate.key for r in decision.fallbacks] == ["zerodha", "upstox"]


def test_the_default_broker_for_the_asset_type_breaks_a_tie_before_the_priority_list():
    policy = snapshot(
        global_={
            "routing": {"priority": ["dhan", "zerodha", "upstox"]},
            "default_brokers": {"EQUITY": "zerodha"},
        }
    )
    decision = run(policy=policy)
    assert order_of(decision) == ["zerodha", "dhan", "upstox"]
    assert decision.chosen.reasons[-1] == (
        "chosen: lowest cost, tie broken by your default broker for equity"
    )


def test_fastest_execution_puts_unmeasured_brokers_after_measured_ones():
    decision = run(policy=snapshot(global_={"routing": {"strategy": "FASTEST_EXECUTION"}}))
    assert order_of(decision) == ["upstox", "zerodha", "dhan"]
    assert decision.chosen.reasons[-1] == "chosen: fastest (lowest p95)"


@pytest.mark.parametrize(
    ("side", "product", "expected"),
    [
        (Side.BUY, Product.CNC, ["upstox", "zerodha", "dhan"]),  # lowest quote first
        (Side.SELL, Product.MIS, ["zerodha", "upstox", "dhan"]),  # highest quote first
    ],
)
def test_best_price_takes_the_best_quote_for_the_side(side, product, expected):
    quotes = {"zerodha": {"quote": D("1400.10")}, "upstox": {"quote": D("1399.90")}}
    decision = run(
        replace(BUY, side=side, product=product),
        three(**quotes),
        policy=snapshot(global_={"routing": {"strategy": "BEST_PRICE"}}),
    )
    assert order_of(decision) == expected
    assert decision.chosen.reasons[-1] == "chosen: best price"
    assert "quote ₹1,400.10" in decision.explanation


NOT_USABLE = "the connection is not usable now (not connected or its session expired)"

EXCLUSIONS = [
    ("not connected", {}, {"status_ok": False}, BUY, NOT_USABLE),
    (
        "breaker open",
        {},
        {"breaker_open": True},
        BUY,
        "its circuit breaker is open after repeated failures",
    ),
    ("paused", {"paused": ("upstox",)}, {}, BUY, "you paused it"),
    (
        "exchange not offered",
        {},
        {"exchanges": frozenset({"BSE"})},
        BUY,
        "it does not offer the exchange NSE",
    ),
    (
        "exchange not enabled by the trader",
        {"brokers": {"upstox": {"trading": {"exchanges": ["BSE"]}}}},
        {},
        BUY,
        "NSE is not enabled in your settings for it",
    ),
    (
        "order type not offered",
        {},
        {"order_types": frozenset({OrderType.MARKET})},
        BUY,
        "it does not offer the order type LIMIT",
    ),
    (
        "product not offered",
        {},
        {"products": frozenset({Product.MIS})},
        BUY,
        "it does not offer the product CNC",
    ),
    (
        "product not enabled by the trader",
        {"brokers": {"upstox": {"trading": {"products": ["MIS"]}}}},
        {},
        BUY,
        "CNC is not enabled in your settings for it",
    ),
    (
        "instrument not in its master",
        {},
        {"listing": None},
        BUY,
        "its instrument master does not list RELIANCE",
    ),
    (
        "delivery sell without the shares in its demat",
        {},
        {"demat_quantity": 40},
        replace(BUY, side=Side.SELL),
        "its demat holds 40 RELIANCE; a delivery sell of 100 must come from the account that "
        "holds them",
    ),
    (
        "restricted instrument",
        {"restricted": {"upstox": {"INE002A01018"}}},
        {},
        BUY,
        "RELIANCE is on Upstox's list of restricted instruments.",
    ),
    (
        "not on the allowed list",
        {"allowed": {"upstox": {"NSE:TCS"}}},
        {},
        BUY,
        "RELIANCE is not on Upstox's list of allowed instruments.",
    ),
]


@pytest.mark.parametrize(
    ("policy_changes", "upstox", "intent", "reason"),
    [e[1:] for e in EXCLUSIONS],
    ids=[e[0] for e in EXCLUSIONS],
)
def test_a_candidate_that_cannot_take_the_order_is_excluded_with_a_sentence(
    policy_changes, upstox, intent, reason
):
    held = {"demat_quantity": 100}
    candidates = three(zerodha=held, dhan=held, upstox={**held, **upstox})
    decision = run(intent, candidates, policy=snapshot(**policy_changes))
    assert [(e.candidate.key, e.reason) for e in decision.excluded] == [("upstox", reason)]
    assert "upstox" not in order_of(decision)
    assert f"Upstox: excluded — {reason}" in decision.explanation


def test_every_reason_is_given_and_no_broker_left_says_so():
    candidates = [
        candidate("zerodha", status_ok=False, breaker_open=True),
        candidate("fyers"),  # connected since the snapshot was taken
    ]
    decision = run(BUY, candidates, policy=snapshot(kill_switch=True))
    assert decision.chosen is None
    assert decision.ranked == ()
    assert decision.fallbacks == ()
    assert decision.explanation == (
        "No broker can take this order now. Zerodha: excluded — " + NOT_USABLE + "; its circuit "
        "breaker is open after repeated failures; the kill switch is on; Fyers: excluded — the "
        "kill switch is on; your policy has no settings for this connection"
    )


CUSTOM = {
    "strategy": "CUSTOM",
    "priority": ["zerodha", "dhan", "upstox"],
    "rules": [
        {"name": "Big orders", "match": {"min_order_value": "100000"}, "broker": "upstox"},
        {
            "name": "Morning equity",
            "match": {"asset_types": ["EQUITY"], "from_time": "09:15", "to_time": "11:00"},
            "strategy": "FASTEST_EXECUTION",
        },
    ],
}


@pytest.mark.parametrize(
    ("intent", "now", "paused", "expected", "why", "note"),
    [
        (BUY, MONDAY_10AM, (), ["upstox", "zerodha", "dhan"], "rule “Big orders”", ""),
        (
            replace(BUY, quantity=10),
            MONDAY_10AM,
            (),
            ["upstox", "zerodha", "dhan"],
            "rule “Morning equity”, fastest (lowest p95)",
            "",
        ),
        (
            replace(BUY, quantity=10),
            ist("2026-06-01 11:00"),
            (),
            ["zerodha", "dhan", "upstox"],
            "first in your priority list",
            " (no custom rule matched: your priority list decides)",
        ),
        (
            BUY,
            MONDAY_10AM,
            ("upstox",),
            ["zerodha", "dhan"],
            "rule “Big orders”, first in your priority list",
            " (rule “Big orders” names upstox, which cannot take it now)",
        ),
    ],
    ids=["a rule names a broker", "a rule names a strategy", "no rule matches", "named broker out"],
)
def test_custom_rules_first_match_wins(intent, now, paused, expected, why, note):
    policy = snapshot(global_={"routing": CUSTOM}, paused=paused)
    decision = run(intent, policy=policy, now=now)
    assert decision.strategy == "CUSTOM"
    assert order_of(decision) == expected
    assert decision.chosen.reasons[-1] == f"chosen: {why}"
    assert decision.explanation.endswith(note)


def test_custom_rules_match_exchange_product_and_value_bounds():
    rules = [
        {
            "name": "Derivatives",
            "match": {"exchanges": ["NFO"], "products": ["NRML"]},
            "broker": "dhan",
        },
        {"name": "Small", "match": {"max_order_value": "5000"}, "broker": "zerodha"},
    ]
    policy = snapshot(
        global_={"routing": {"strategy": "CUSTOM", "rules": rules}},
        brokers={
            key: {"trading": {"exchanges": ["NSE", "NFO"], "products": ["CNC", "MIS", "NRML"]}}
            for key in ("zerodha", "upstox", "dhan")
        },
    )
    future = replace(limit_buy(NIFTY_FUT, 75, "24500.00"), product=Product.NRML)
    assert run(future, policy=policy).chosen.candidate.key == "dhan"
    assert run(replace(BUY, quantity=3), policy=policy).chosen.candidate.key == "zerodha"
    assert run(policy=policy).chosen.reasons[-1] == "chosen: first by name (no priority set)"


def test_load_balancing_follows_the_weights_deterministically():
    policy = snapshot(
        global_={
            "routing": {"load_balancing": {"enabled": True, "weights": {"zerodha": 1, "upstox": 3}}}
        }
    )
    chosen = Counter(run(policy=policy, seed=n).chosen.candidate.key for n in range(800))
    assert set(chosen) == {"zerodha", "upstox"}  # weight 0 (Dhan): never first
    assert 520 <= chosen["upstox"] <= 680  # 3 of 4 is 600; 80 is over six standard deviations
    first = run(policy=policy, seed="order-42")
    again = run(policy=policy, seed="order-42")
    assert first == again
    weight = 3 if first.chosen.candidate.key == "upstox" else 1
    assert first.chosen.reasons[-1] == f"chosen: load balancing (weight {weight} of 4)"
    # The rest keep the strategy's order (lowest cost, then the tie-breakers).
    rest = [k for k in ["dhan", "zerodha", "upstox"] if k != first.chosen.candidate.key]
    assert order_of(first)[1:] == sorted(rest, key=["dhan", "zerodha", "upstox"].index)


ALLOCATION = [
    {"asset_type": "EQUITY", "preferred_broker": "zerodha", "max_allocation_pct": "50"},
    {"asset_type": "EQUITY", "preferred_broker": "upstox", "max_allocation_pct": "50"},
]
HOLDINGS = Book(
    broker_asset_values={
        "zerodha": {AssetType.EQUITY: D("200000")},
        "upstox": {AssetType.EQUITY: D("50000")},
    }
)


def test_a_buy_that_would_pass_a_brokers_allocation_cap_ranks_after_those_within_theirs():
    policy = snapshot(
        global_={"allocation": ALLOCATION, "routing": {"priority": ["zerodha", "dhan"]}}
    )
    # Nothing held yet: the buy would be 100 % of the equity at Zerodha or Upstox, over their
    # caps; Dhan has none.
    assert order_of(run(policy=policy, book=Book())) == ["dhan", "zerodha", "upstox"]
    decision = run(policy=policy, book=HOLDINGS)
    # Zerodha: (2,00,000 + 1,40,000) / (2,50,000 + 1,40,000) = 87.18 % > 50 %.
    # Upstox: (50,000 + 1,40,000) / 3,90,000 = 48.72 %, within; Dhan has no cap.
    assert order_of(decision) == ["dhan", "upstox", "zerodha"]
    assert (
        decision.ranked[-1].reasons[-1]
        == "would hold 87.18 % of your equity, over its 50 % allocation"
    )
    # A sell only lowers a broker's share: caps do not apply.
    sell = replace(BUY, side=Side.SELL, product=Product.MIS)
    assert order_of(run(sell, policy=policy, book=HOLDINGS)) == ["zerodha", "dhan", "upstox"]
    # Without the holdings the caps cannot be worked out, and the explanation says so.
    unknown = run(policy=policy)
    assert unknown.explanation.endswith("(allocation rules not checked: your holdings unknown)")


def test_a_rule_without_a_broker_caps_every_broker_without_its_own():
    allocation = [{"asset_type": "EQUITY", "max_allocation_pct": "40"}]
    policy = snapshot(
        global_={"allocation": allocation, "routing": {"priority": ["zerodha", "dhan"]}}
    )
    decision = run(policy=policy, book=HOLDINGS)
    # Zerodha 87.18 %, Upstox 48.72 %, Dhan 1,40,000 / 3,90,000 = 35.90 %: only Dhan within.
    assert order_of(decision) == ["dhan", "zerodha", "upstox"]


def test_without_a_price_no_charges_are_estimated_and_the_tie_breakers_decide():
    market = replace(BUY, order_type=OrderType.MARKET, price=None)
    decision = run(market, policy=snapshot(global_={"routing": {"priority": ["upstox"]}}))
    assert [r.charges for r in decision.ranked] == [None, None, None]
    assert order_of(decision) == ["upstox", "dhan", "zerodha"]
    assert decision.chosen.reasons[0] == "charges not estimated"
    assert decision.chosen.reasons[-1] == "chosen: first in your priority list"
    # With a last price (or quotes) they are.
    priced = run(market, policy=snapshot(), last_price=D("1400.00"))
    assert priced.chosen.charges.total == D("166.24")


def test_the_candidates_order_does_not_change_the_decision():
    policy = snapshot(global_={"routing": {"priority": ["upstox", "zerodha", "dhan"]}})
    candidates = three()
    first = run(candidates=candidates, policy=policy)
    shuffled = candidates[:]
    random.Random(7).shuffle(shuffled)
    assert run(candidates=shuffled, policy=policy) == first


@pytest.mark.parametrize("quantity", [0, -5, 1.5])
def test_a_quantity_risk_refuses_still_gets_a_decision_without_charges(quantity):
    """decide() never fails on what risk.check refuses: it estimates nothing instead."""
    decision = run(replace(BUY, quantity=quantity))
    assert [r.charges for r in decision.ranked] == [None, None, None]
    assert decision.chosen is not None
