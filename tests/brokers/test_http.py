"""The one door: timeouts, order safety, the limiter, its signals and redaction."""

import time
from functools import partial

import pytest
import requests
import responses

from brokers import http
from brokers.errors import BadResponse, BrokerUnavailable, OrderStateUnknown, RateLimited
from brokers.http import BrokerHttp, CallKind
from brokers.ratelimit import Bucket, LocalLimiter, RedisLimiter, buckets_for
from brokers.signals import call_finished, call_started
from brokers.types import Window, describe_limit

URL = "https://api.broker.example/orders"
SECRET = "s3cr3t-access-token-value"


def door(**kwargs) -> BrokerHttp:
    return BrokerHttp(broker="demo", account="AC1", secrets=(SECRET,), **kwargs)


def json_parse(response):
    return response.json()["data"]


@responses.activate
def test_a_read_timeout_on_an_order_is_order_state_unknown_with_our_tag():
    responses.post(URL, body=requests.ReadTimeout())
    with pytest.raises(OrderStateUnknown) as error:
        door().call("POST", URL, endpoint="orders", parse=json_parse, kind=CallKind.ORDER, tag="T1")
    assert error.value.tag == "T1"
    assert "reconcile" in str(error.value)


@responses.activate
def test_a_read_timeout_on_a_read_is_unavailable_and_retryable():
    responses.get(URL, body=requests.ReadTimeout())
    with pytest.raises(BrokerUnavailable) as error:
        door().call("GET", URL, endpoint="orders", parse=json_parse)
    assert error.value.retryable
    assert not isinstance(error.value, OrderStateUnknown)


def test_a_refused_connection_never_sent_the_order():
    with pytest.raises(BrokerUnavailable) as error:
        door().call(
            "POST",
            "http://127.0.0.1:9/orders",
            endpoint="orders",
            parse=json_parse,
            kind=CallKind.ORDER,
        )
    assert not isinstance(error.value, OrderStateUnknown)


@pytest.mark.parametrize(
    ("status", "body"), [(429, "Too many requests"), (502, "<html>Bad Gateway</html>")]
)
@responses.activate
def test_throttled_or_failing_after_an_order_was_sent_is_unknown(status, body):
    def parse(response):
        if response.status_code == 429:
            raise RateLimited("slow down")
        if response.status_code >= 500:
            raise BrokerUnavailable("down")
        return response.json()

    responses.post(URL, body=body, status=status)
    with pytest.raises(OrderStateUnknown) as error:
        door().call("POST", URL, endpoint="orders", parse=parse, kind=CallKind.ORDER)
    # The broker's throttle rides along, for the order path to judge by the broker's docs.
    throttle = error.value.throttle
    assert (throttle.message if throttle else None) == ("slow down" if status == 429 else None)


@responses.activate
def test_garbage_names_broker_and_endpoint_with_a_redacted_snippet():
    responses.get(URL, body=f'{{"access_token": "{SECRET}", "data": [1, 2', status=200)
    with pytest.raises(BadResponse) as error:
        door().call("GET", URL, endpoint="portfolio/holdings", parse=json_parse)
    text = str(error.value)
    assert text.startswith("demo portfolio/holdings:")
    assert SECRET not in text
    assert "[REDACTED]" in text


@responses.activate
def test_every_call_is_recorded_for_health_once():
    records, payloads = [], []

    def receiver(sender, **payload):
        records.append(payload["record"])
        payloads.append(payload)

    call_finished.connect(receiver)
    try:
        responses.get(URL, json={"data": 1})
        door().call("GET", URL, endpoint="orders", parse=json_parse)
        responses.get(URL, status=503, body="down")
        with pytest.raises(BadResponse):
            door().call("GET", URL, endpoint="orders", parse=json_parse)
    finally:
        call_finished.disconnect(receiver)
    assert [r.ok for r in records] == [True, False]
    assert [p["outcome"] for p in payloads] == ["ok", "BadResponse"]
    assert {p["broker"] for p in payloads} == {"demo"} and payloads[1]["error"] is records[1].error
    assert payloads[0]["kind"] is CallKind.READ and payloads[0]["endpoint"] == "orders"
    assert records[0].status_code == 200 and records[0].elapsed_ms >= 0
    assert isinstance(records[1].error, BadResponse)


@responses.activate
def test_a_started_receiver_can_refuse_the_call_without_sending():
    def breaker(sender, context, **payload):
        raise BrokerUnavailable("circuit open")

    call_started.connect(breaker)
    try:
        with pytest.raises(BrokerUnavailable, match="circuit open"):
            door().call("GET", URL, endpoint="orders", parse=json_parse)
    finally:
        call_started.disconnect(breaker)
    assert len(responses.calls) == 0


@responses.activate
def test_a_failing_finished_receiver_is_logged_and_the_answer_still_returned(caplog):
    def broken(sender, **payload):
        raise RuntimeError("metrics store down")

    call_finished.connect(broken)
    try:
        responses.get(URL, json={"data": 5})
        assert door().call("GET", URL, endpoint="orders", parse=json_parse) == 5
    finally:
        call_finished.disconnect(broken)
    assert "metrics store down" in caplog.text


@responses.activate
def test_the_limiter_refuses_locally_rather_than_exceed_the_cap():
    responses.get(URL, json={"data": 1})
    capped = door(rate_limits={"default": 0.1})  # 0.08/s after headroom: one call, then wait
    capped.call("GET", URL, endpoint="orders", parse=json_parse)
    with pytest.raises(RateLimited) as error:
        capped.call("GET", URL, endpoint="orders", parse=json_parse)
    assert error.value.code == "local"
    assert len(responses.calls) == 1


@responses.activate
def test_an_order_write_may_queue_in_the_limiter_for_as_long_as_its_caller_allows():
    from brokers.http import order_limit_wait

    responses.post(URL, json={"data": 1})
    capped = door(rate_limits={"default": 0.5})  # 0.4/s after headroom: the next in 2.5 s
    capped.call("POST", URL, endpoint="orders", parse=json_parse, kind=CallKind.ORDER)
    with pytest.raises(RateLimited):  # an order waits at most a second by default
        capped.call("POST", URL, endpoint="orders", parse=json_parse, kind=CallKind.ORDER)
    with order_limit_wait(3.0):
        capped.call("POST", URL, endpoint="orders", parse=json_parse, kind=CallKind.ORDER)
    assert len(responses.calls) == 2


@responses.activate
def test_a_public_file_takes_nothing_from_the_api_budget():
    responses.get(URL, json={"data": 1})
    capped = door(rate_limits={"default": 0.1})  # one call, then wait
    capped.call("GET", URL, endpoint="instruments", parse=json_parse, bucket=None)
    capped.call("GET", URL, endpoint="orders", parse=json_parse)  # the budget was all there
    with pytest.raises(RateLimited):
        capped.call("GET", URL, endpoint="orders", parse=json_parse)
    assert len(responses.calls) == 2


@pytest.fixture(params=["local", "redis"])
def limiter(request, settings):
    if request.param == "local":
        return LocalLimiter()
    if not settings.REDIS_URL:
        pytest.skip("REDIS_URL is not set: the shared limiter runs in CI")
    return RedisLimiter(settings.REDIS_URL)


def one(key: str, rate: float) -> list[Bucket]:
    return buckets_for(key, rate, headroom=1.0)


def test_a_bucket_lets_the_rate_through_and_holds_back_the_rest(limiter):
    key = f"test:{time.monotonic_ns()}"
    waits = [limiter.acquire(one(key, 20), max_wait=1.0) for _ in range(25)]
    assert waits[:20] == [0.0] * 20  # the burst the bucket holds
    assert all(0 < w <= 1.0 for w in waits[20:])  # then paced at the rate
    assert limiter.acquire(one(key, 20), max_wait=0.0) is None  # refused, not queued


def test_buckets_are_per_account(limiter):
    stamp = time.monotonic_ns()
    limiter.acquire(one(f"a:{stamp}", 1), max_wait=0)
    assert limiter.acquire(one(f"a:{stamp}", 1), max_wait=0) is None
    assert limiter.acquire(one(f"b:{stamp}", 1), max_wait=0) == 0.0


def test_a_per_minute_cap_allows_a_burst_and_then_holds_the_minute(limiter):
    # Fyers: 10/s and 200/min. At 80 %: 8 at once, then no more than 160 in the minute.
    key = f"fyers:{time.monotonic_ns()}"
    buckets = buckets_for(key, (Window(10), Window(200, 60)), headroom=0.8)
    burst = [limiter.acquire(buckets, max_wait=0.0) for _ in range(9)]
    assert burst[:8] == [0.0] * 8  # a sync's parallel reads go out together
    assert burst[8] is None  # the per-second bucket is empty: refused, nothing taken
    assert limiter.available(buckets[1]) == pytest.approx(152, abs=0.5)  # the minute's budget


def test_a_refused_call_takes_from_no_bucket(limiter):
    key = f"both:{time.monotonic_ns()}"
    buckets = buckets_for(key, (Window(1), Window(100, 60)), headroom=1.0)
    assert limiter.acquire(buckets, max_wait=0) == 0.0
    assert limiter.acquire(buckets, max_wait=0) is None  # 1/s is spent
    assert limiter.available(buckets[1]) == pytest.approx(99, abs=0.1)  # the minute kept its token


def test_documented_caps_read_as_people_write_them():
    assert describe_limit((Window(10), Window(200, 60))) == "10/s and 200/min"
    assert describe_limit(1) == "1/s"


@responses.activate
def test_concurrent_calls_come_back_in_order_and_a_failure_is_raised():
    responses.get(f"{URL}/a", json={"data": "a"})
    responses.get(f"{URL}/b", json={"data": "b"})
    responses.get(f"{URL}/down", status=503, body="busy")
    calls = [partial(door().call, "GET", f"{URL}/{p}", endpoint=p, parse=json_parse) for p in "ab"]
    assert http.concurrently(*calls) == ["a", "b"]
    down = partial(door().call, "GET", f"{URL}/down", endpoint="down", parse=json_parse)
    with pytest.raises(BrokerUnavailable):
        http.concurrently(calls[0], down)


@pytest.fixture
def proxy_environment(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://egress.internal:3128")
    monkeypatch.setenv("NO_PROXY", "api.direct.example")
    http._proxies_for.cache_clear()
    yield
    http._proxies_for.cache_clear()


@responses.activate
def test_calls_go_through_the_environment_proxy_except_no_proxy_hosts(proxy_environment):
    responses.get(URL, json={"data": 1})
    responses.get("https://api.direct.example/x", json={"data": 2})

    assert door().call("GET", URL, endpoint="orders", parse=json_parse) == 1
    assert door().call("GET", "https://api.direct.example/x", endpoint="x", parse=json_parse) == 2

    proxied, direct = (call.request.req_kwargs["proxies"] for call in responses.calls)
    assert proxied["https"] == "http://egress.internal:3128"
    assert "https" not in direct
