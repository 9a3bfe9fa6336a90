"""The routing decision and risk breaches as stored with an order and shown to the trader."""

from __future__ import annotations

from dataclasses import asdict

from routing.intent import Breach, Charges, Decision


def charges_json(charges: Charges | None) -> dict | None:
    if charges is None:
        return None
    data = {name: str(value) for name, value in asdict(charges).items()}
    data["total"] = str(charges.total)
    return data


def decision_json(decision: Decision) -> dict:
    return {
        "strategy": decision.strategy,
        "chosen": decision.chosen.candidate.key if decision.chosen else None,
        "explanation": decision.explanation,
        "ranked": [
            {
                "key": r.candidate.key,
                "broker": r.candidate.broker,
                "connectionId": r.candidate.connection_id,
                "charges": charges_json(r.charges),
                "p95Ms": r.candidate.p95_ms,
                "quote": str(r.candidate.quote) if r.candidate.quote is not None else None,
                "reasons": list(r.reasons),
            }
            for r in decision.ranked
        ],
        "excluded": [
            {
                "key": e.candidate.key,
                "broker": e.candidate.broker,
                "connectionId": e.candidate.connection_id,
                "reason": e.reason,
            }
            for e in decision.excluded
        ],
    }


def breaches_json(breaches: list[Breach]) -> list[dict]:
    return [{"code": b.code, "message": b.message, "scope": b.scope} for b in breaches]
