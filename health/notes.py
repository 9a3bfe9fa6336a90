"""What health learns from a broker call, shared by the call receivers (health.calls), the status
rules (health.services) and the probes (health.probes).

A ``Note`` is one call's lesson: its outcome, any breaker move it caused, and the
connection's last known status read with it. That status is kept in health's store
(``remember_status``) so the after-hook can tell, in the same round trip as the metrics, that
nothing needs doing.
"""

from __future__ import annotations

from dataclasses import dataclass

from brokers.errors import BrokerError, Maintenance
from health import breaker
from health.metrics import Outcome
from health.store import store

STATUS_TTL = 300


@dataclass
class Note:
    """What one call taught health: its outcome and any breaker move it caused."""

    outcome: Outcome | None = None
    error: BrokerError | None = None
    elapsed_ms: float = 0.0
    endpoint: str = ""
    change: breaker.Change | None = None
    known: dict | None = None  # the connection's last known status, read with the call
    write_success: bool = False  # this call may stamp last_successful_call

    @property
    def counts_for_breaker(self) -> bool:
        return self.outcome in (Outcome.OK, Outcome.FAIL) and not isinstance(
            self.error, Maintenance
        )


def status_key(cid: str) -> str:
    return f"status:{cid}"


def remember_status(cid: str, status: str, failures: int = 0, failing: list[str] = ()) -> None:
    """``failures``: 0 when the connection is green and clean (a good call needs no more work);
    ``failing``: the endpoints whose last call failed (the probe calls the data reads too)."""
    known = {"status": status, "failures": failures}
    if failing:
        known["failing"] = list(failing)
    store().set(status_key(cid), known, STATUS_TTL)
