"""A connection's request timeout, retry count and rate ceilings, from its trader's policy,
are what the HTTP door uses from the next call on."""

import pytest
import requests
import responses

from brokers.adapters import registry
from brokers.errors import BrokerUnavailable, OrderStateUnknown
from brokers.http import BrokerHttp, CallKind, with_ceilings
from brokers.models import BrokerConnection
from brokers.types import Window
from routing.policy import services

URL = "https://api.broker.example/holdings"

pytestmark = pytest.mark.django_db(transaction=True)


def parse(response):
    response.raise_for_status()
    return response.json()


def test_saved_api_settings_reach_the_door_from_the_next_adapter(trader, brokers):
    before = registry.adapter_for(brokers["zerodha"]).http
    assert before.rate_limits["quote"] == 1.0
    assert before.retries == 0

    document = services.editing(trader).document
    api = document["brokers"]["zerodha"]["api"]
    api.update(request_timeout_seconds="4", retry_count=2)
    api["rate_ceilings"]["quote"] = "0.5"
    services.save_profile(user=trader, document=document, version=0)

    connection = BrokerConnection.objects.get(pk=brokers["zerodha"].pk)
    door = registry.adapter_for(connection).http
    assert door.rate_limits["quote"] == 0.5
    assert door.rate_limits["order"] == 10.0  # untouched categories keep the documented cap
    assert door.timeouts[CallKind.READ] == (3.05, 4.0)
    assert door.timeouts[CallKind.ORDER] == (3.05, 4.0)  # never longer than an order's own
    assert door.retries == 2


def test_a_ceiling_never_raises_the_documented_cap():
    limits = {"default": (Window(10), Window(200, 60)), "quote": 1.0}
    assert with_ceilings(limits, {"default": 50, "quote": 0.5}) == {
        "default": (Window(10), Window(200, 60)),
        "quote": 0.5,
    }
    assert with_ceilings(limits, {"default": 4})["default"] == (Window(4), Window(200, 60))


@responses.activate
def test_reads_are_retried_as_many_times_as_set_and_orders_never():
    responses.get(URL, status=503)
    responses.get(URL, json={"ok": True})
    assert BrokerHttp(broker="demo", account="R1", retries=1).call(
        "GET", URL, endpoint="holdings", parse=parse_or_unavailable
    ) == {"ok": True}

    responses.reset()
    responses.get(URL, status=503)
    responses.get(URL, json={"ok": True})
    with pytest.raises(BrokerUnavailable):
        BrokerHttp(broker="demo", account="R2").call(
            "GET", URL, endpoint="holdings", parse=parse_or_unavailable
        )

    responses.reset()
    responses.post(URL, body=requests.ReadTimeout())
    with pytest.raises(OrderStateUnknown):
        BrokerHttp(broker="demo", account="R3", retries=5).call(
            "POST", URL, endpoint="orders", parse=parse, kind=CallKind.ORDER
        )
    assert len(responses.calls) == 1  # the order went once


def parse_or_unavailable(response):
    if response.status_code >= 500:
        raise BrokerUnavailable(f"HTTP {response.status_code}")
    return response.json()
