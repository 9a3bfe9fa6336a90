"""The brokers' published brokerage plans: the default of each connection's plan.

Data only, read by the validation defaults here and by the charges model of the order path.
Per segment a rule is one of: ZERO; FLAT (rupees per executed order); PERCENT_WITH_CAP (a
percentage of the order's turnover, at most ``cap`` rupees, at least ``minimum``). Futures and
options rules also apply to currency and commodity contracts. A trader on another plan edits
theirs in the policy (global.cost.plans.<broker>).

Sources, each broker's public pricing page as published at AS_OF: zerodha.com/charges,
upstox.com/brokerage-charges, fyers.in/pricing, angelone.in/exchange-transaction-charges,
groww.in/pricing, dhan.co/pricing, indiainfoline.com/pricing.
"""

from __future__ import annotations

from datetime import date

AS_OF = date(2026, 1, 1)

SEGMENTS = ("equity_delivery", "equity_intraday", "futures", "options")


def _zero() -> dict:
    return {"kind": "ZERO"}


def _flat(rupees: str) -> dict:
    return {"kind": "FLAT", "flat": rupees}


def _percent(percent: str, cap: str, minimum: str | None = None) -> dict:
    rule = {"kind": "PERCENT_WITH_CAP", "percent": percent, "cap": cap}
    if minimum is not None:
        rule["minimum"] = minimum
    return rule


PUBLISHED_PLANS: dict[str, dict] = {
    "zerodha": {
        "name": "Kite standard",
        "equity_delivery": _zero(),
        "equity_intraday": _percent("0.03", "20"),
        "futures": _percent("0.03", "20"),
        "options": _flat("20"),
    },
    "upstox": {
        "name": "Upstox standard",
        "equity_delivery": _percent("2.5", "20"),
        "equity_intraday": _percent("0.05", "20"),
        "futures": _percent("0.05", "20"),
        "options": _flat("20"),
    },
    "fyers": {
        "name": "Fyers standard",
        "equity_delivery": _percent("0.3", "20"),
        "equity_intraday": _percent("0.03", "20"),
        "futures": _percent("0.03", "20"),
        "options": _flat("20"),
    },
    "angelone": {
        "name": "Angel One iTrade Prime",
        "equity_delivery": _percent("0.1", "20", minimum="2"),
        "equity_intraday": _percent("0.03", "20"),
        "futures": _percent("0.03", "20"),
        "options": _flat("20"),
    },
    "groww": {
        "name": "Groww standard",
        "equity_delivery": _percent("0.1", "20", minimum="5"),
        "equity_intraday": _percent("0.1", "20", minimum="5"),
        "futures": _flat("20"),
        "options": _flat("20"),
    },
    "dhan": {
        "name": "Dhan standard",
        "equity_delivery": _zero(),
        "equity_intraday": _percent("0.03", "20"),
        "futures": _percent("0.03", "20"),
        "options": _flat("20"),
    },
    "iifl": {
        "name": "IIFL Z20",
        "equity_delivery": _flat("20"),
        "equity_intraday": _flat("20"),
        "futures": _flat("20"),
        "options": _flat("20"),
    },
}
