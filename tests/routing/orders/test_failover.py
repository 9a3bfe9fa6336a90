"""The failover decision as a table: every rule and action, and the safety rules above them."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from brokers.clock import IST
from brokers.types import OrderType, Product, Side
from routing.intent import Candidate, Decision, InstrumentInfo, Intent, Ranked
from routing.orders import failover as f
from routing.policy.schema import FailoverRule

ABSENT, REJECTED, UNKNOWN = f.ABSENT, f.REJECTED, f.UNKNOWN


def rule(condition, action, threshold=None, target=None):
    return FailoverRule(condition=condition, action=action, threshold=threshold, target=target)


TIMEOUT_SWITCH = rule("TIMEOUT", "SWITCH", 1000)
TIMEOUT_RETRY = rule("TIMEOUT", "RETRY", 1000)
ERRORS_QUEUE = rule("ERROR_RATE", "QUEUE", 20)
ERRORS_SWITCH = rule("ERROR_RATE", "SWITCH", 20)
MANUAL_SWITCH = rule("MANUAL", "SWITCH")
MANUAL_QUEUE = rule("MANUAL", "QUEUE")
UPSTOX = f.Backup("upstox")
DHAN = f.Backup("dhan")
DHAN_NO_HOLDING = f.Backup("dhan", "its demat holds 0 INFY")


def failure(proven=ABSENT, **kw):
    return f.Failure(broker_key="zerodha", proven=proven, **kw)


SLOW = {"elapsed_ms": 2500.0}
FAST_5XX = {"elapsed_ms": 40.0, "error_rate_pct": 50.0}

CASES = [
    # (what, failure, rules, backups, action, target)
    (
        "unknown waits, whatever the rules",
        failure(UNKNOWN, **SLOW),
        [TIMEOUT_SWITCH],
        [UPSTOX],
        f.WAIT,
        "",
    ),
    (
        "unknown waits even for a manual switch",
        failure(UNKNOWN, manual=True),
        [MANUAL_SWITCH],
        [UPSTOX],
        f.WAIT,
        "",
    ),
    (
        "timeout over the threshold switches",
        failure(**SLOW),
        [TIMEOUT_SWITCH],
        [UPSTOX],
        f.SWITCH,
        "upstox",
    ),
    (
        "timeout under the threshold: no rule, one more attempt",
        failure(elapsed_ms=300.0),
        [TIMEOUT_SWITCH],
        [UPSTOX],
        f.RETRY,
        "zerodha",
    ),
    (
        "timeout retries a proven-absent attempt",
        failure(**SLOW),
        [TIMEOUT_RETRY],
        [UPSTOX],
        f.RETRY,
        "zerodha",
    ),
    (
        "retries run out: the next matching rule switches",
        failure(attempts_here=4, attempts_total=4, **SLOW),
        [TIMEOUT_RETRY, TIMEOUT_SWITCH],
        [UPSTOX],
        f.SWITCH,
        "upstox",
    ),
    (
        "a proven rejection is never retried, the next rule switches",
        failure(REJECTED, **SLOW),
        [TIMEOUT_RETRY, TIMEOUT_SWITCH],
        [UPSTOX],
        f.SWITCH,
        "upstox",
    ),
    (
        "a proven rejection with only a retry rule is given up",
        failure(REJECTED, **SLOW),
        [TIMEOUT_RETRY],
        [UPSTOX],
        f.GIVE_UP,
        "",
    ),
    (
        "error rate over the threshold queues",
        failure(**FAST_5XX),
        [ERRORS_QUEUE],
        [UPSTOX],
        f.QUEUE,
        "",
    ),
    (
        "error rate under the threshold: no rule",
        failure(elapsed_ms=40.0, error_rate_pct=5.0),
        [ERRORS_QUEUE],
        [UPSTOX],
        f.RETRY,
        "zerodha",
    ),
    (
        "an open breaker counts as every call failing",
        failure(breaker_open=True, answered=True),
        [ERRORS_SWITCH],
        [UPSTOX],
        f.SWITCH,
        "upstox",
    ),
    (
        "manual: a paused broker's order switches",
        failure(manual=True),
        [MANUAL_SWITCH],
        [UPSTOX],
        f.SWITCH,
        "upstox",
    ),
    (
        "manual rules do not hold for an ordinary failure",
        failure(**SLOW),
        [MANUAL_QUEUE],
        [UPSTOX],
        f.RETRY,
        "zerodha",
    ),
    (
        "a paused broker is never retried by the default",
        failure(manual=True),
        [],
        [UPSTOX],
        f.GIVE_UP,
        "",
    ),
    (
        "the first backup that passes is taken, the refused one passed over",
        failure(**SLOW),
        [TIMEOUT_SWITCH],
        [DHAN_NO_HOLDING, UPSTOX],
        f.SWITCH,
        "upstox",
    ),
    (
        "the rule's target is the only switch it makes",
        failure(**SLOW),
        [rule("TIMEOUT", "SWITCH", 1000, target="dhan")],
        [UPSTOX, DHAN],
        f.SWITCH,
        "dhan",
    ),
    (
        "no backup passes: the next rule queues",
        failure(**SLOW),
        [TIMEOUT_SWITCH, rule("TIMEOUT", "QUEUE", 1000, target="zerodha")],
        [DHAN_NO_HOLDING],
        f.QUEUE,
        "zerodha",
    ),
    (
        "no backup passes and no other rule: the default",
        failure(attempts_here=2, **SLOW),
        [TIMEOUT_SWITCH],
        [DHAN_NO_HOLDING],
        f.GIVE_UP,
        "",
    ),
    (
        "the failed broker is never its own backup",
        failure(**SLOW),
        [TIMEOUT_SWITCH],
        [f.Backup("zerodha")],
        f.RETRY,
        "zerodha",
    ),
    (
        "too many attempts in all: given up",
        failure(attempts_total=6, **SLOW),
        [TIMEOUT_SWITCH],
        [UPSTOX],
        f.GIVE_UP,
        "",
    ),
    ("no rules: the order path's one retry", failure(), [], [], f.RETRY, "zerodha"),
    (
        "no rules, second attempt absent too: given up",
        failure(attempts_here=2),
        [],
        [],
        f.GIVE_UP,
        "",
    ),
]


@pytest.mark.parametrize(
    ("failed", "rules", "backups", "action", "target"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_the_failover_decision(failed, rules, backups, action, target):
    verdict = f.decide(failed, rules, backups, jitter=0.5)
    assert (verdict.action, verdict.target) == (action, target), verdict.reason
    assert verdict.reason


def test_the_reason_names_the_rule_the_fact_and_the_passed_over_backup():
    verdict = f.decide(failure(**SLOW), [TIMEOUT_SWITCH], [DHAN_NO_HOLDING, UPSTOX])
    assert "rule 1 (TIMEOUT → SWITCH)" in verdict.reason
    assert "no answer for 2,500 ms (rule: 1,000 ms)" in verdict.reason
    assert "proven absent" in verdict.reason
    assert "passed over dhan: its demat holds 0 INFY" in verdict.reason


def test_an_unknown_attempt_says_the_order_goes_nowhere_else():
    verdict = f.decide(failure(UNKNOWN), [TIMEOUT_SWITCH], [UPSTOX])
    assert "goes nowhere else until it is proven absent" in verdict.reason


@pytest.mark.parametrize(
    ("retry", "jitter", "seconds"),
    [
        (1, 1.0, 0.2),
        (2, 1.0, 0.4),
        (3, 1.0, 0.8),
        (5, 1.0, 2.0),
        (9, 1.0, 2.0),
        (3, 0.5, 0.4),
        (3, 0.0, 0.0),
    ],
)
def test_backoff_is_exponential_capped_and_jittered(retry, jitter, seconds):
    assert f.backoff(retry, jitter) == pytest.approx(seconds)


def test_a_retry_waits_the_jittered_backoff():
    verdict = f.decide(failure(attempts_here=2, **SLOW), [TIMEOUT_RETRY], [], jitter=0.25)
    assert verdict.action == f.RETRY and verdict.delay_seconds == pytest.approx(0.1)


# --- The similar order ---------------------------------------------------------------------------
INFY = InstrumentInfo(isin="INE009A01021", exchange="NSE", symbol="INFY")


def backup(order_types=tuple(OrderType), products=tuple(Product)):
    return Candidate(
        key="upstox",
        connection_id="1",
        broker="upstox",
        order_types=frozenset(order_types),
        products=frozenset(products),
        exchanges=frozenset({"NSE"}),
        listing=None,
    )


def intent(**kw):
    values = {
        "instrument": INFY,
        "side": Side.BUY,
        "quantity": 3,
        "order_type": OrderType.MARKET,
        "product": Product.CNC,
    }
    return Intent(**{**values, **kw})


def test_an_order_the_backup_takes_as_it_is_is_unchanged():
    mapped, changes, why = f.similar_order(
        intent(), backup(), last_price=Decimal("1500"), band_pct=Decimal("1")
    )
    assert mapped == intent() and changes == () and why == ""


def test_a_market_buy_becomes_a_limit_within_the_band_above_the_last_price():
    mapped, changes, _ = f.similar_order(
        intent(),
        backup(order_types=[OrderType.LIMIT]),
        last_price=Decimal("1500.00"),
        band_pct=Decimal("1"),
    )
    assert mapped.order_type is OrderType.LIMIT and mapped.price == Decimal("1515.00")
    assert mapped.quantity == 3 and mapped.side is Side.BUY and mapped.instrument == INFY
    assert "MARKET as LIMIT 1515.00" in changes[0]


def test_a_market_sell_limit_is_below_the_last_price_on_the_tick():
    mapped, _, _ = f.similar_order(
        intent(side=Side.SELL, market_protection=2),
        backup(order_types=[OrderType.LIMIT]),
        last_price=Decimal("1503.35"),
        band_pct=Decimal("1"),
    )
    # 2 % (the order's own market protection) below 1503.35 = 1473.283, up to the tick.
    assert mapped.price == Decimal("1473.30")


def test_an_sl_m_becomes_an_sl_and_mtf_becomes_cnc():
    mapped, changes, _ = f.similar_order(
        intent(order_type=OrderType.SL_M, trigger_price=Decimal("1480"), product=Product.MTF),
        backup(order_types=[OrderType.SL, OrderType.LIMIT], products=[Product.CNC]),
        last_price=Decimal("1500"),
        band_pct=Decimal("0.5"),
    )
    assert (mapped.order_type, mapped.price, mapped.trigger_price, mapped.product) == (
        OrderType.SL,
        Decimal("1487.40"),
        Decimal("1480"),
        Product.CNC,
    )
    assert len(changes) == 2


@pytest.mark.parametrize(
    ("asked", "offered", "why"),
    [
        (
            {"order_type": OrderType.LIMIT, "price": Decimal("1500")},
            {"order_types": [OrderType.MARKET]},
            "it does not take LIMIT orders",
        ),
        (
            {"product": Product.MIS},
            {"products": [Product.CNC]},
            "it does not offer the product MIS",
        ),
        ({}, {"order_types": [OrderType.LIMIT]}, "needs a last price"),
    ],
)
def test_no_similar_order_where_meaning_would_change(asked, offered, why):
    mapped, _, refusal = f.similar_order(
        intent(**asked), backup(**offered), last_price=None, band_pct=Decimal("1")
    )
    assert mapped is None and why in refusal


# --- Recovery ---------------------------------------------------------------------------------
NOW = datetime(2026, 6, 3, 11, 0, tzinfo=IST)


def test_a_broker_healthy_for_less_than_the_configured_time_is_held_back():
    held = f.held_back(
        {"zerodha": NOW - timedelta(minutes=5), "upstox": NOW - timedelta(minutes=20)},
        healthy_minutes=15,
        return_to_primary=True,
        now=NOW,
    )
    assert list(held) == ["zerodha"]
    assert "healthy again for 5 of the 15 min" in held["zerodha"] and "11:10 IST" in held["zerodha"]


def test_without_return_to_primary_a_broker_down_today_stays_held_back():
    held = f.held_back(
        {"zerodha": NOW - timedelta(hours=2), "upstox": NOW - timedelta(days=1)},
        healthy_minutes=15,
        return_to_primary=False,
        now=NOW,
    )
    assert list(held) == ["zerodha"]


def _ranked(key):
    c = backup()
    return Ranked(Candidate(**{**c.__dict__, "key": key, "broker": key}), None, ("₹20 est.",))


def test_a_held_back_primary_ranks_last_and_the_choice_says_why():
    zerodha, upstox = _ranked("zerodha"), _ranked("upstox")
    zerodha = Ranked(zerodha.candidate, None, (*zerodha.reasons, "chosen: lowest cost"))
    decision = Decision("LOWEST_COST", zerodha, (zerodha, upstox), (), "zerodha first.")
    moved = f.apply_recovery(decision, {"zerodha": "zerodha is healthy again for 5 of the 15 min"})
    assert [r.candidate.key for r in moved.ranked] == ["upstox", "zerodha"]
    assert moved.chosen.candidate.key == "upstox"
    assert "chosen: zerodha is healthy again for 5 of the 15 min" in moved.chosen.reasons
    assert not any(r.startswith("chosen:") for r in moved.ranked[1].reasons)
    assert "held back" in moved.explanation


def test_nothing_held_back_leaves_the_decision_as_it_was():
    zerodha = _ranked("zerodha")
    decision = Decision("LOWEST_COST", zerodha, (zerodha,), (), "")
    assert f.apply_recovery(decision, {}) is decision
