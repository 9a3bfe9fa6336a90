"""What a real broker can answer on a bad day, for every broker's reads and order writes: an
empty body, an HTML maintenance page, JSON in the wrong envelope, an HTTP 200 carrying the
broker's own error, a 429 without Retry-After. Each is one of our errors naming the broker,
never a crash; on an order write, anything but a refusal the broker spelt out is unknown."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import responses

from brokers.adapters import registry
from brokers.errors import (
    BadResponse,
    BrokerError,
    BrokerUnavailable,
    OrderStateUnknown,
    RateLimited,
)
from tests.brokers.orders import limit_buy
from tests.brokers.stubbed import adapter_for

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "brokers" / "samples"
EVERYTHING = re.compile(r"https?://.*")
MAINTENANCE = "<html><head><title>Maintenance</title></head><body>Back soon</body></html>"
ERROR_SAMPLE = {"zerodha": "error_token.json"}


def error_sample(broker: str) -> str:
    return (SAMPLES / broker / ERROR_SAMPLE.get(broker, "error.json")).read_text()


ANSWERS = {
    "empty body": dict(status=200, body=""),
    "HTML maintenance page": dict(status=503, body=MAINTENANCE, content_type="text/html"),
    "wrong envelope": dict(status=200, json={"result": {"unexpected": True}}),
    "429 without Retry-After": dict(status=429, body=""),
}


@pytest.mark.parametrize("answer", [*ANSWERS, "200 with the broker's error"])
@pytest.mark.parametrize("broker", sorted(registry.ADAPTERS))
def test_a_bad_answer_to_a_read_is_our_error_naming_the_broker(broker, answer, settings):
    adapter = adapter_for(broker, settings)
    if answer in ANSWERS:
        reply = ANSWERS[answer]
    else:
        reply = dict(status=200, body=error_sample(broker), content_type="application/json")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for method in ("GET", "POST"):
            mock.add(method, EVERYTHING, **reply)
        with pytest.raises(BrokerError) as raised:
            adapter.holdings()
    error = raised.value
    assert error.broker == broker
    assert str(error).startswith(f"{broker} ")
    if answer == "429 without Retry-After":
        assert isinstance(error, RateLimited) and error.retry_after == 1.0
    elif answer == "HTML maintenance page":
        assert isinstance(error, BrokerUnavailable) and error.retryable
    elif answer in ("empty body", "wrong envelope"):
        assert isinstance(error, BadResponse)
    else:  # the broker's own error, sent with HTTP 200: it says what went wrong, not us
        assert not isinstance(error, BadResponse)


@pytest.mark.parametrize("answer", [*ANSWERS, "200 with the broker's error"])
@pytest.mark.parametrize("broker", sorted(registry.ADAPTERS))
def test_a_bad_answer_to_an_order_is_unknown_unless_it_is_a_refusal(broker, answer, settings):
    adapter = adapter_for(broker, settings)
    if answer in ANSWERS:
        reply = ANSWERS[answer]
    else:
        reply = dict(status=200, body=error_sample(broker), content_type="application/json")
    order = limit_buy(broker, tag="BadDay0001")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for method in ("POST", "PUT"):
            mock.add(method, EVERYTHING, **reply)
        with pytest.raises(BrokerError) as raised:
            adapter.place_order(order)
    error = raised.value
    assert error.broker == broker
    if isinstance(error, OrderStateUnknown):
        assert error.tag == "BadDay0001"
    elif answer == "200 with the broker's error":
        assert not error.retryable
    else:
        pytest.fail(f"{broker}: {answer} on an order write must be unknown, got {error!r}")
