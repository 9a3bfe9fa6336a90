"""A broker's "IP not registered" refusal is answered with what to do."""

import pytest

from brokers.errors import AuthError, OrderRejected
from routing.orders import messages


@pytest.mark.parametrize(
    "words",
    [
        "Order rejected: IP address not registered",  # as brokers word it since 1 April 2026
        "Request from a non-whitelisted IP",
        "Static IP mismatch for this API key",
        "Invalid IP",
    ],
)
def test_an_ip_refusal_names_the_ip_to_register(settings, words):
    settings.STATIC_EGRESS_IP = "203.0.113.7"
    advice = messages.explain(OrderRejected(words), "Zerodha")
    assert "Register 203.0.113.7" in advice and "Zerodha" in advice


def test_without_a_configured_ip_the_advice_says_whom_to_ask(settings):
    settings.STATIC_EGRESS_IP = ""
    advice = messages.explain(AuthError("IP not whitelisted"), "Dhan")
    assert "Ask whoever runs this site for its static IP" in advice


def test_other_refusals_are_not_taken_for_ip_problems(settings):
    settings.STATIC_EGRESS_IP = "203.0.113.7"
    advice = messages.explain(OrderRejected("Insufficient funds"), "Upstox")
    assert "203.0.113.7" not in advice and "refused the order" in advice
