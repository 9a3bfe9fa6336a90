"""A broker's refusal in the broker's own words, plus ours: what it means and what to do.

SEBI's retail-algo framework (in force from 1 April 2026) makes every broker refuse API orders
from an IP address not registered for the account; each says so in its own words. Those are
recognised here and answered with the server's registered egress IP (STATIC_EGRESS_IP).
"""

from __future__ import annotations

import re

from django.conf import settings

from brokers.errors import AuthError, BrokerError, TokenExpired

# Phrases the brokers use for an unregistered IP (docs/brokers/<broker>.md, SEBI section).
IP_REFUSAL = re.compile(
    r"\b(static\s*ip|white\s*-?list|whitelisted|ip\s*(address)?\s*(is\s*)?not\s*(registered|"
    r"allowed|whitelisted|mapped)|unregistered\s*ip|invalid\s*ip|ip\s*mismatch)",
    re.IGNORECASE,
)


def egress_ip() -> str:
    return getattr(settings, "STATIC_EGRESS_IP", "") or ""


def ip_advice(broker_label: str) -> str:
    ip = egress_ip()
    if ip:
        return (
            f"{broker_label} refused the order because it did not come from the IP address "
            f"registered for your account. Register {ip} (this site's static IP) in "
            f"{broker_label}'s developer console, then place the order again."
        )
    return (
        f"{broker_label} refused the order because it did not come from the IP address "
        f"registered for your account. Ask whoever runs this site for its static IP, register "
        f"it in {broker_label}'s developer console, then place the order again."
    )


def explain(error: BrokerError, broker_label: str) -> str:
    """Ours, to go with the broker's words."""
    words = error.message or str(error)
    if IP_REFUSAL.search(words):
        return ip_advice(broker_label)
    if isinstance(error, TokenExpired):
        return f"Your {broker_label} session has ended: log in to {broker_label} again."
    if isinstance(error, AuthError):
        return f"{broker_label} did not accept this site's session: log in to it again."
    return f"{broker_label} refused the order; nothing was placed."
