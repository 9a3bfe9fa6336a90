"""The routing decision: which connected broker takes an order, the others in the order
failover walks, and why — a pure function of the intent, the candidates and the policy.

``decide()`` first excludes the candidates that cannot take the order, each with a sentence:
the connection is not usable, its circuit breaker is open, the kill switch is on or the broker
is paused, it does not offer (or the trader has not enabled there) the exchange, order type
or product, its instrument master does not list the instrument, a delivery sell finds too few
shares in that account's demat (a CNC sell from another broker's demat fails in India), or the
broker's allowed/restricted instrument lists refuse it.

The rest are ranked by the strategy:

- LOWEST_COST: the estimated charges (``routing.charges``) at one price for all — the order's
  limit, else its trigger, else the last price, else the middle of the candidates' quotes;
  a candidate that cannot be estimated ranks after those that can.
- FASTEST_EXECUTION: the lowest measured p95 latency; unmeasured ones after measured ones.
- BEST_PRICE: the best quote for the side (lowest for a buy, highest for a sell); candidates
  without a quote after.
- CUSTOM: the policy's rules in order; the first whose every given criterion matches (asset
  type, exchange, product, order value, IST time of day) names a broker (it goes first when it
  can take the order), a strategy (for the ranking), or both. With no rule matching, the
  ranking is the priority list.

Ties, and the ranking when there is nothing to compare, go to the trader's default broker for
the asset type, then the priority list, then the policy key. Allocation rules (a BUY only):
a candidate whose share of the trader's holdings of the asset type would go over its
``max_allocation_pct`` ranks after every candidate that stays within its cap (a rule with no
broker caps each broker without a rule of its own); it stays a fallback, so an order is never
refused for it. Load balancing, when on, picks the first among the candidates with a positive
weight (those within their caps first), with probability proportional to the weight,
deterministically from ``seed`` (give it the intent's id: a retry picks the same broker); the
others keep the strategy's order. A broker named by a CUSTOM rule is not balanced away.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date, datetime, time
from decimal import Decimal
from statistics import median
from typing import TYPE_CHECKING

from brokers.types import AssetType, Side
from portfolio.templatetags.portfolio_format import inr
from routing import charges
from routing.intent import Candidate, Charges, Decision, Excluded, Intent, LastPrice, Ranked
from routing.risk import (
    DELIVERY,
    IST,
    clock_of,
    instrument_refusal,
    label,
    percent_text,
    trade_date,
)

if TYPE_CHECKING:
    from routing.intent import Book
    from routing.policy.effective import BrokerPolicy, EffectivePolicy
    from routing.policy.schema import Match, Rule

LOWEST_COST = "LOWEST_COST"
FASTEST_EXECUTION = "FASTEST_EXECUTION"
BEST_PRICE = "BEST_PRICE"
CUSTOM = "CUSTOM"
PRIORITY = "PRIORITY"  # no measure: the tie-breakers alone (CUSTOM without a matching rule)

WHY = {
    LOWEST_COST: "lowest cost",
    FASTEST_EXECUTION: "fastest (lowest p95)",
    BEST_PRICE: "best price",
}


def decide(
    intent: Intent,
    candidates: Sequence[Candidate],
    *,
    policy: EffectivePolicy,
    now: datetime,
    charges_on: date | None = None,
    last_price: Decimal | None = None,
    book: Book | None = None,
    seed: str | int = "",
) -> Decision:
    """Where ``intent`` goes: every candidate ranked (best first) or excluded, with reasons."""
    excluded: list[Excluded] = []
    eligible: list[tuple[Candidate, BrokerPolicy]] = []
    for candidate in candidates:
        broker = policy.brokers.get(candidate.key)
        reasons = _exclusions(intent, candidate, broker, policy)
        if reasons:
            excluded.append(Excluded(candidate, "; ".join(reasons)))
        else:
            eligible.append((candidate, broker))

    strategy = policy.policy.routing.strategy.value
    notes: list[str] = []
    if isinstance(last_price, LastPrice) and last_price.note:
        notes.append(last_price.note)  # the primary's quote failed: whose price was used
    pinned: str | None = None
    measure = strategy
    rule = None
    value = _order_value(intent, last_price, [c for c, _ in eligible])
    if strategy == CUSTOM:
        rule = _matching_rule(policy.policy.routing.rules, intent, value, now)
        if rule is None:
            measure = PRIORITY
            notes.append("no custom rule matched: your priority list decides")
        else:
            measure = rule.strategy.value if rule.strategy is not None else PRIORITY
            pinned = rule.broker
            if pinned is not None and not any(c.key == pinned for c, _ in eligible):
                notes.append(f"rule “{rule.name}” names {pinned}, which cannot take it now")

    on = charges_on or trade_date(now)
    price = intent.reference_price(last_price) or _middle_quote([c for c, _ in eligible])
    costs: dict[str, Charges | None] = {}
    for candidate, broker in eligible:
        costs[candidate.key] = _estimate(intent, broker, candidate, on, price)

    caps = _over_caps(intent, [c for c, _ in eligible], policy, book, value, notes)
    asset = intent.instrument.asset_type
    default = policy.policy.default_brokers.get(asset)
    priority = {key: n for n, key in enumerate(policy.priority)}

    def tie(candidate: Candidate) -> tuple:
        return (
            candidate.key != default,
            priority.get(candidate.key, len(priority)),
            candidate.key,
        )

    def metric(candidate: Candidate) -> tuple:
        if measure == LOWEST_COST:
            cost = costs[candidate.key]
            return (cost is None, cost.total if cost is not None else 0)
        if measure == FASTEST_EXECUTION:
            return (candidate.p95_ms is None, candidate.p95_ms or 0)
        if measure == BEST_PRICE:
            quote = candidate.quote
            if quote is None:
                return (True, 0)
            return (False, quote if intent.side is Side.BUY else -quote)
        return (False, 0)

    order = sorted(
        (c for c, _ in eligible),
        key=lambda c: (c.key != pinned, c.key in caps, metric(c), tie(c)),
    )
    why = _why_first(order, pinned, rule, measure, metric, tie, default, asset, priority)
    balanced = None
    if not (pinned is not None and order and order[0].key == pinned):
        balanced = _balance(order, policy, caps, seed)
    if balanced is not None:
        candidate, weight, total = balanced
        order.remove(candidate)
        order.insert(0, candidate)
        why = f"load balancing (weight {weight} of {total})"

    ranked = tuple(
        Ranked(
            candidate=c,
            charges=costs[c.key],
            reasons=_facts(c, costs[c.key], caps.get(c.key)),
        )
        for c in order
    )
    chosen = ranked[0] if ranked else None
    if chosen is not None:
        chosen = Ranked(chosen.candidate, chosen.charges, (*chosen.reasons, f"chosen: {why}"))
        ranked = (chosen, *ranked[1:])
    return Decision(
        strategy=strategy,
        chosen=chosen,
        ranked=ranked,
        excluded=tuple(excluded),
        explanation=_explain(ranked, excluded, notes),
    )


def _exclusions(
    intent: Intent, candidate: Candidate, broker: BrokerPolicy | None, policy: EffectivePolicy
) -> list[str]:
    reasons = []
    instrument = intent.instrument
    if not candidate.status_ok:
        reasons.append("the connection is not usable now (not connected or its session expired)")
    if candidate.breaker_open:
        reasons.append("its circuit breaker is open after repeated failures")
    if policy.kill_switch.on:
        reasons.append("the kill switch is on")
    if broker is None:
        reasons.append("your policy has no settings for this connection")
        return reasons
    if broker.paused:
        reasons.append("you paused it")
    trading = broker.trading
    for kind, wanted, offered, enabled in (
        ("exchange", instrument.exchange, candidate.exchanges, trading.exchanges),
        ("order type", intent.order_type, candidate.order_types, trading.order_types),
        ("product", intent.product, candidate.products, trading.products),
    ):
        shown = getattr(wanted, "value", wanted)
        if wanted not in offered:
            reasons.append(f"it does not offer the {kind} {shown}")
        elif wanted not in enabled:
            reasons.append(f"{shown} is not enabled in your settings for it")
    if candidate.listing is None:
        reasons.append(f"its instrument master does not list {instrument.symbol}")
    if (
        intent.side is Side.SELL
        and intent.product in DELIVERY
        and instrument.exchange in ("NSE", "BSE")
        and candidate.demat_quantity < intent.quantity
    ):
        reasons.append(
            f"its demat holds {candidate.demat_quantity} {instrument.symbol}; a delivery sell "
            f"of {intent.quantity} must come from the account that holds them"
        )
    refused = instrument_refusal(instrument, broker)
    if refused:
        reasons.append(refused[1])
    return reasons


def _order_value(
    intent: Intent, last_price: Decimal | None, candidates: list[Candidate]
) -> Decimal | None:
    price = intent.reference_price(last_price) or _middle_quote(candidates)
    quantity = intent.quantity
    if price is None or isinstance(quantity, bool) or not isinstance(quantity, int):
        return None
    return price * quantity


def _middle_quote(candidates: list[Candidate]) -> Decimal | None:
    quotes = [c.quote for c in candidates if c.quote is not None]
    return median(quotes) if quotes else None


def _estimate(
    intent: Intent,
    broker: BrokerPolicy,
    candidate: Candidate,
    on: date,
    price: Decimal | None,
) -> Charges | None:
    if price is None:
        return None
    try:
        return charges.estimate(intent, broker.plan, on=on, price=price, broker=candidate.broker)
    except charges.ChargesUnknown:
        return None


def _matching_rule(
    rules: Sequence[Rule], intent: Intent, value: Decimal | None, now: datetime
) -> Rule | None:
    clock = now.astimezone(IST).time()
    return next((r for r in rules if _matches(r.match, intent, value, clock)), None)


def _matches(match: Match, intent: Intent, value: Decimal | None, clock: time) -> bool:
    instrument = intent.instrument
    if match.asset_types and instrument.asset_type not in match.asset_types:
        return False
    if match.exchanges and instrument.exchange not in match.exchanges:
        return False
    if match.products and intent.product not in match.products:
        return False
    if match.min_order_value is not None and (value is None or value < match.min_order_value):
        return False
    if match.max_order_value is not None and (value is None or value > match.max_order_value):
        return False
    start = clock_of(match.from_time) if match.from_time else None
    end = clock_of(match.to_time) if match.to_time else None
    if start is not None and end is not None and start > end:  # across midnight
        return clock >= start or clock < end
    return (start is None or clock >= start) and (end is None or clock < end)


def _over_caps(
    intent: Intent,
    candidates: list[Candidate],
    policy: EffectivePolicy,
    book: Book | None,
    value: Decimal | None,
    notes: list[str],
) -> dict[str, str]:
    """{key: why} for candidates a BUY would take over their allocation cap."""
    asset = intent.instrument.asset_type
    rules = [r for r in policy.policy.allocation if r.asset_type is asset]
    if not rules or intent.side is not Side.BUY or not candidates:
        return {}
    if book is None or value is None:
        unknown = "your holdings" if book is None else "the order's value"
        notes.append(f"allocation rules not checked: {unknown} unknown")
        return {}
    own = {r.preferred_broker: r.max_allocation_pct for r in rules if r.preferred_broker}
    others = next((r.max_allocation_pct for r in rules if r.preferred_broker is None), None)
    total = sum(
        (values.get(asset, Decimal(0)) for values in book.broker_asset_values.values()),
        Decimal(0),
    )
    over = {}
    for candidate in candidates:
        cap = own.get(candidate.key, others)
        if cap is None:
            continue
        held = book.broker_asset_values.get(candidate.key, {}).get(asset, Decimal(0))
        share = (held + value) / (total + value) * 100
        if share > cap:
            over[candidate.key] = (
                f"would hold {percent_text(share)} % of your {_asset(asset)}, over its "
                f"{percent_text(cap)} % allocation"
            )
    return over


def _balance(
    order: list[Candidate], policy: EffectivePolicy, caps: dict[str, str], seed: str | int
) -> tuple[Candidate, int, int] | None:
    balancing = policy.policy.routing.load_balancing
    if not balancing.enabled:
        return None
    weighted = [c for c in order if balancing.weights.get(c.key, 0) > 0]
    within = [c for c in weighted if c.key not in caps]
    pool = sorted(within or weighted, key=lambda c: c.key)
    if not pool:
        return None
    total = sum(balancing.weights[c.key] for c in pool)
    digest = hashlib.blake2b(str(seed).encode(), digest_size=8).digest()
    point = int.from_bytes(digest, "big") % total
    for candidate in pool:
        weight = balancing.weights[candidate.key]
        if point < weight:
            return candidate, weight, total
        point -= weight
    return None  # unreachable: the weights add up to total


def _why_first(order, pinned, rule, measure, metric, tie, default, asset, priority) -> str:
    if not order:
        return ""
    first = order[0]
    if pinned is not None and first.key == pinned:
        return f"rule “{rule.name}”"
    prefix = f"rule “{rule.name}”, " if rule is not None else ""
    runner = order[1] if len(order) > 1 else None
    if measure in WHY and not metric(first)[0]:
        why = WHY[measure]
        if runner is not None and metric(runner) == metric(first):
            why += ", tie broken by " + _tie_word(first, runner, tie, default, asset)
        return prefix + why
    if first.key == default:
        return prefix + f"your default broker for {_asset(asset)}"
    if first.key in priority:
        return prefix + "first in your priority list"
    return prefix + "first by name (no priority set)"


def _tie_word(first, runner, tie, default, asset) -> str:
    a, b = tie(first), tie(runner)
    if a[0] != b[0]:
        return f"your default broker for {_asset(asset)}"
    if a[1] != b[1]:
        return "your priority list"
    return "name"


def _facts(candidate: Candidate, cost: Charges | None, over_cap: str | None) -> tuple[str, ...]:
    facts = [
        f"{inr(cost.total)} est. charges" if cost is not None else "charges not estimated",
        f"p95 {candidate.p95_ms:.0f} ms" if candidate.p95_ms is not None else "no latency yet",
    ]
    if candidate.quote is not None:
        facts.append(f"quote {inr(candidate.quote)}")
    if over_cap:
        facts.append(over_cap)
    return tuple(facts)


def _explain(ranked: tuple[Ranked, ...], excluded: list[Excluded], notes: list[str]) -> str:
    parts = []
    for r in ranked:
        facts = [f for f in r.reasons if not f.startswith("chosen: ")]
        chosen = [f for f in r.reasons if f.startswith("chosen: ")]
        text = f"{label(r.candidate.key, r.candidate.broker)}: {', '.join(facts)}"
        parts.append(text + (f" — {chosen[0]}" if chosen else ""))
    for e in excluded:
        parts.append(f"{label(e.candidate.key, e.candidate.broker)}: excluded — {e.reason}")
    head = "" if ranked else "No broker can take this order now. "
    tail = f" ({'; '.join(notes)})" if notes else ""
    return head + "; ".join(parts) + tail


def _asset(asset: AssetType) -> str:
    return asset.value.replace("_", " ").lower()
