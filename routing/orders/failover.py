"""What happens to an order when its attempt at a broker failed: a pure decision, table-tested.

``decide()`` reads the failed attempt (how it failed, what reconciliation proved), the
trader's failover rules, the backups in the order of the fallback hierarchy (each already
checked for capability, instrument mapping by ISIN, holdings and risk: ``Backup.refusal``) and
returns one ``Verdict``. The services act on it (routing.orders.services, queue).

The order of the questions is the safety argument:

1. An attempt whose fate is UNKNOWN (the order book could not be read in time) is never
   followed by anything: WAIT, visibly, until reconciliation answers. No retry, no other
   broker, no queue — the order may already be at the broker.
2. The trader's rules, in their order; the first whose condition holds acts:
   - TIMEOUT (threshold: milliseconds): the attempt got no answer for at least that long.
   - ERROR_RATE (threshold: %): the broker's failed calls over the health window are at least
     that share (an open breaker counts as 100 %).
   - MANUAL: the trader took the broker out (paused it, or asked for the switch).
   A RETRY needs an attempt proven absent (never proven rejected) and retries left at that
   broker; a SWITCH needs a backup that passes every check (the rule's target, else the next in
   the hierarchy); when a rule cannot act, the next matching rule is asked.
3. No rule acts: the order path's own rule — one more attempt at the same broker for an attempt
   proven absent, then the order is given up (nothing was placed, the trader is told why).

Backoff of a RETRY: exponential from ``BACKOFF_BASE`` seconds, capped, with full jitter (a
random share of the step, from the caller's ``jitter`` in 0..1), so many traders' retries at a
recovering broker do not arrive together.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING

from brokers.clock import IST
from brokers.types import OrderType, Product, Side
from routing.intent import Candidate, Decision, Intent, Ranked

if TYPE_CHECKING:
    from collections.abc import Sequence

    from routing.policy.schema import FailoverRule

# Verdicts
WAIT = "WAIT"
RETRY = "RETRY"
SWITCH = "SWITCH"
QUEUE = "QUEUE"
GIVE_UP = "GIVE_UP"

# How the failed attempt ended, as reconciliation proved it.
ABSENT = "ABSENT"  # not in the broker's order book (or refused before it left)
REJECTED = "REJECTED"  # the broker has it as rejected
UNKNOWN = "UNKNOWN"  # the order book could not be read: it may be there

MAX_RETRIES = 3  # attempts at one broker a RETRY rule may add after the first
DEFAULT_ATTEMPTS = 2  # without a rule: the first and, proven absent, one more
MAX_ATTEMPTS = 6  # every attempt of one order at every broker, whatever the rules say
BACKOFF_BASE = 0.2  # seconds
BACKOFF_CAP = 2.0


@dataclass(frozen=True)
class Failure:
    """The failed attempt and what is known of its broker now."""

    broker_key: str
    proven: str  # ABSENT, REJECTED or UNKNOWN
    elapsed_ms: float | None = None  # how long the attempt waited for an answer
    answered: bool = False  # the broker answered (an error), as opposed to no answer at all
    error_rate_pct: float | None = None  # the broker's failed calls over the health window
    breaker_open: bool = False
    manual: bool = False  # paused by the trader, or a manual failover
    attempts_here: int = 1  # place attempts of this order at this broker so far
    attempts_total: int = 1  # place attempts of this order anywhere so far


@dataclass(frozen=True)
class Backup:
    """One broker of the fallback hierarchy as a failover target, already checked."""

    key: str
    refusal: str = ""  # why it cannot take the order now ("" = it can)
    changes: tuple[str, ...] = ()  # how the similar order differs from the original


@dataclass(frozen=True)
class Verdict:
    action: str  # WAIT, RETRY, SWITCH, QUEUE, GIVE_UP
    reason: str  # the decision and why, as the order's timeline shows it
    target: str = ""  # SWITCH: the backup; QUEUE: the broker waited for ("" = any)
    delay_seconds: float = 0.0  # RETRY: the backoff before the new attempt
    rule: int | None = None  # the index of the rule that decided (None: the default)


def backoff(retry: int, jitter: float) -> float:
    """Seconds before retry number ``retry`` (1 = the first): full jitter on an exponential
    step, capped."""
    step = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, retry - 1))
    return round(step * min(1.0, max(0.0, jitter)), 3)


def condition_holds(rule: FailoverRule, failure: Failure) -> tuple[bool, str]:
    """Whether ``rule``'s condition holds for ``failure``, and the fact that made it hold."""
    condition = rule.condition.value
    threshold = float(rule.threshold) if rule.threshold is not None else None
    if condition == "MANUAL":
        return failure.manual, "taken out by you"
    if condition == "TIMEOUT":
        if failure.answered or failure.elapsed_ms is None:
            return False, ""
        limit = threshold if threshold is not None else 0.0
        return (
            failure.elapsed_ms >= limit,
            f"no answer for {failure.elapsed_ms:,.0f} ms (rule: {limit:,.0f} ms)",
        )
    if condition == "ERROR_RATE":
        rate = 100.0 if failure.breaker_open else failure.error_rate_pct
        if rate is None:
            return False, ""
        limit = threshold if threshold is not None else 0.0
        what = "its circuit breaker is open" if failure.breaker_open else f"{rate:.0f} % failed"
        return rate >= limit, f"{what} (rule: {limit:g} %)"
    return False, ""


def decide(
    failure: Failure,
    rules: Sequence[FailoverRule],
    backups: Sequence[Backup],
    *,
    jitter: float = 1.0,
) -> Verdict:
    """The one thing to do next with an order whose attempt at ``failure.broker_key`` failed."""
    where = failure.broker_key
    if failure.proven == UNKNOWN:
        return Verdict(
            WAIT,
            f"the attempt at {where} is not reconciled yet (its order book did not answer): "
            "the order waits for it, and goes nowhere else until it is proven absent",
        )
    if failure.attempts_total >= MAX_ATTEMPTS:
        return Verdict(
            GIVE_UP,
            f"{failure.attempts_total} attempts, none placed: the order is given up "
            "(nothing was placed anywhere)",
        )
    tried = []
    for index, rule in enumerate(rules):
        holds, fact = condition_holds(rule, failure)
        if not holds:
            continue
        name = f"rule {index + 1} ({rule.condition.value} → {rule.action.value})"
        action = rule.action.value
        if action == RETRY:
            if failure.proven != ABSENT:
                tried.append(f"{name}: a proven rejection is never sent again")
                continue
            if failure.manual:
                tried.append(f"{name}: {where} is taken out, not retried")
                continue
            if failure.attempts_here > MAX_RETRIES:
                tried.append(f"{name}: {MAX_RETRIES} retries at {where} already")
                continue
            delay = backoff(failure.attempts_here, jitter)
            return Verdict(
                RETRY,
                f"{name}: {fact}; the attempt was proven absent, retried at {where} after "
                f"{delay:.2f} s",
                target=where,
                delay_seconds=delay,
                rule=index,
            )
        if action == SWITCH:
            usable = [b for b in backups if b.key != where]
            if rule.target is not None:
                usable = [b for b in usable if b.key == rule.target]
                if not usable:
                    tried.append(f"{name}: {rule.target} is not one of your connected brokers")
                    continue
            chosen = next((b for b in usable if not b.refusal), None)
            if chosen is None:
                refused = "; ".join(f"{b.key}: {b.refusal}" for b in usable) or "no backup"
                tried.append(f"{name}: no backup can take it ({refused})")
                continue
            changed = f" — similar order: {', '.join(chosen.changes)}" if chosen.changes else ""
            skipped = [f"{b.key}: {b.refusal}" for b in usable[: usable.index(chosen)]]
            passed = f" (passed over {'; '.join(skipped)})" if skipped else ""
            return Verdict(
                SWITCH,
                f"{name}: {fact}; the attempt at {where} was proven "
                f"{'absent' if failure.proven == ABSENT else 'rejected'}: switched to "
                f"{chosen.key}{passed}{changed}",
                target=chosen.key,
                rule=index,
            )
        if action == QUEUE:
            target = rule.target or ""
            waits = f"until {target} can take it" if target else "until a broker can take it"
            return Verdict(QUEUE, f"{name}: {fact}; queued {waits}", target=target, rule=index)
    note = f" ({'; '.join(tried)})" if tried else ""
    if failure.proven == ABSENT and not failure.manual and failure.attempts_here < DEFAULT_ATTEMPTS:
        return Verdict(
            RETRY,
            f"no failover rule acted{note}: the attempt was proven absent from {where}'s "
            "order book, sent once more",
            target=where,
        )
    return Verdict(
        GIVE_UP,
        f"no failover rule acted{note}: {where} never received it after "
        f"{failure.attempts_here} attempt{'s' if failure.attempts_here > 1 else ''} (each "
        "proven absent from its order book): nothing was placed",
    )


# --- The similar order a backup gets -----------------------------------------------------------
# What stands in for an order type or product a backup lacks, in the order tried. A LIMIT order
# has no stand-in (any other type could fill at a price the trader did not accept), nor do
# MIS / CNC / NRML (each means something else to the exchange and the margin).
ORDER_TYPE_STAND_INS: dict[OrderType, tuple[OrderType, ...]] = {
    OrderType.MARKET: (OrderType.LIMIT,),
    OrderType.SL_M: (OrderType.SL,),
    OrderType.SL: (OrderType.SL_M,),
}
PRODUCT_STAND_INS: dict[Product, tuple[Product, ...]] = {Product.MTF: (Product.CNC,)}


def _to_tick(price: Decimal, tick: Decimal, up: bool) -> Decimal:
    steps = (price / tick).to_integral_value(rounding=ROUND_CEILING if up else ROUND_FLOOR)
    return (steps * tick).quantize(tick)


def similar_order(
    intent: Intent,
    candidate: Candidate,
    *,
    last_price: Decimal | None,
    band_pct: Decimal,
) -> tuple[Intent | None, tuple[str, ...], str]:
    """The order ``candidate`` can take in place of ``intent``: the same instrument, side and
    quantity, its order type and product mapped where the backup lacks the exact one. A MARKET
    order becomes a LIMIT at most ``band_pct`` % beyond the last price (the order's market
    protection where it gives one); an SL-M becomes an SL with its limit the same distance
    beyond the trigger; an SL becomes an SL-M. Returns (the intent, what changed, "") or
    (None, (), why not)."""
    changes: list[str] = []
    mapped = intent
    if intent.order_type not in candidate.order_types:
        stand_in = next(
            (
                t
                for t in ORDER_TYPE_STAND_INS.get(intent.order_type, ())
                if t in candidate.order_types
            ),
            None,
        )
        if stand_in is None:
            return None, (), f"it does not take {intent.order_type.value} orders"
        band = Decimal(intent.market_protection) if intent.market_protection > 0 else band_pct
        buy = intent.side is Side.BUY
        tick = intent.instrument.tick_size
        factor = 1 + band / 100 if buy else 1 - band / 100
        if stand_in is OrderType.LIMIT:
            if not last_price:
                return None, (), "a MARKET order needs a last price to become a LIMIT there"
            price = _to_tick(last_price * factor, tick, up=not buy)
            mapped = replace(mapped, order_type=OrderType.LIMIT, price=price, market_protection=-1)
            changes.append(f"MARKET as LIMIT {price} ({band:g} % from the last price {last_price})")
        elif stand_in is OrderType.SL:
            trigger = intent.trigger_price
            if trigger is None:
                return None, (), "an SL-M order without a trigger cannot become an SL"
            price = _to_tick(trigger * factor, tick, up=not buy)
            mapped = replace(mapped, order_type=OrderType.SL, price=price, market_protection=-1)
            changes.append(f"SL-M as SL, limit {price} ({band:g} % beyond the trigger)")
        else:
            mapped = replace(mapped, order_type=OrderType.SL_M, price=None)
            changes.append("SL as SL-M (same trigger, no limit price)")
    if intent.product not in candidate.products:
        stand_in_product = next(
            (p for p in PRODUCT_STAND_INS.get(intent.product, ()) if p in candidate.products), None
        )
        if stand_in_product is None:
            return None, (), f"it does not offer the product {intent.product.value}"
        mapped = replace(mapped, product=stand_in_product)
        changes.append(f"{intent.product.value} as {stand_in_product.value}")
    return mapped, tuple(changes), ""


# --- Recovery: when new orders return to a broker that was down -------------------------------
def held_back(
    recovered_at: Mapping[str, datetime],
    *,
    healthy_minutes: int,
    return_to_primary: bool,
    now: datetime,
) -> dict[str, str]:
    """The brokers new orders do not go to first yet, each with why: one that turned green
    again less than ``healthy_minutes`` ago (or, when the trader keeps orders on the backup,
    one that was down earlier today). They stay fallbacks: an order is never refused for it."""
    held = {}
    for key, at in recovered_at.items():
        healthy = (now - at).total_seconds() / 60
        if not return_to_primary:
            if at.astimezone(IST).date() == now.astimezone(IST).date():
                held[key] = (
                    f"{key} was down today (healthy again since {at.astimezone(IST):%H:%M} IST); "
                    "your policy keeps new orders on the backups"
                )
        elif healthy < healthy_minutes:
            back = (at + timedelta(minutes=healthy_minutes)).astimezone(IST)
            held[key] = (
                f"{key} is healthy again for {healthy:.0f} of the {healthy_minutes} min your "
                f"policy asks: new orders return to it at {back:%H:%M} IST"
            )
    return held


def apply_recovery(decision: Decision, held: Mapping[str, str]) -> Decision:
    """``decision`` with the held-back brokers ranked after every other one."""
    if not held or not decision.ranked:
        return decision
    first = decision.ranked[0]
    reasons = [r for r in first.reasons if not r.startswith("chosen: ")]
    plain = (Ranked(first.candidate, first.charges, tuple(reasons)), *decision.ranked[1:])
    order = sorted(plain, key=lambda r: r.candidate.key in held)
    ranked = tuple(
        Ranked(r.candidate, r.charges, (*r.reasons, f"held back: {held[r.candidate.key]}"))
        if r.candidate.key in held
        else r
        for r in order
    )
    chosen = ranked[0]
    if chosen.candidate.key in held:
        why = "chosen: every broker that can take it is still recovering"
    elif chosen.candidate.key == first.candidate.key:
        why = next((r for r in first.reasons if r.startswith("chosen: ")), "chosen")
    else:
        why = f"chosen: {held[first.candidate.key]}"
    chosen = Ranked(chosen.candidate, chosen.charges, (*chosen.reasons, why))
    notes = [f"held back: {text}" for text in held.values()]
    return replace(
        decision,
        chosen=chosen,
        ranked=(chosen, *ranked[1:]),
        explanation=" ".join([decision.explanation, *notes]).strip(),
    )
