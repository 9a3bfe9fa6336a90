"""/metrics and /readyz: only for the operator's token; what they say about the system."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import responses
from prometheus_client.parser import text_string_to_metric_families

from brokers.adapters import registry
from brokers.errors import BrokerError
from ops import readiness, tasks
from tests.factories import BrokerConnectionFactory

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "ops-token-0123456789abcdefghij"


@pytest.fixture
def ops_token(settings):
    settings.OPS_TOKEN = TOKEN
    return {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}


def samples(client, auth) -> dict[tuple, float]:
    answer = client.get("/metrics", **auth)
    assert answer.status_code == 200
    found = {}
    for family in text_string_to_metric_families(answer.content.decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


@pytest.mark.parametrize("path", ["/metrics", "/readyz"])
@pytest.mark.parametrize(
    "header",
    [None, "Bearer wrong-token-0123456789abcdef", f"Basic {TOKEN}", f"Token {TOKEN}", "Bearer "],
)
def test_operator_endpoints_refuse_anyone_without_the_token(client, ops_token, path, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    answer = client.get(path, **extra)
    assert answer.status_code == 401
    assert "OPS_TOKEN" in answer.json()["error"]
    assert answer["WWW-Authenticate"].startswith("Bearer")
    assert b"broker_call" not in answer.content and b"database" not in answer.content


@pytest.mark.parametrize("path", ["/metrics", "/readyz"])
def test_a_signed_in_support_user_is_no_operator(client, ops_token, path, django_user_model):
    staff = django_user_model.objects.create_user("support", password="x", is_staff=True)
    client.force_login(staff)
    assert client.get(path).status_code == 401


@pytest.mark.parametrize("path", ["/metrics", "/readyz"])
def test_without_an_operator_token_configured_the_endpoints_are_off(client, settings, path):
    settings.OPS_TOKEN = ""
    answer = client.get(path, HTTP_AUTHORIZATION="Bearer ")
    assert answer.status_code == 403
    assert "set OPS_TOKEN" in answer.json()["error"]


def test_broker_calls_are_counted_per_broker_endpoint_and_error(
    client, ops_token, trader, settings
):
    kite = BrokerConnectionFactory(user=trader, account_id="OPS1", access_token="tok-ops-1")
    url = settings.BROKER_HOSTS["zerodha"]["API"] + "/user/profile"
    key = (("broker", "zerodha"), ("endpoint", "user/profile"))
    before = samples(client, ops_token)
    with responses.RequestsMock() as broker:
        broker.get(url, json={"status": "success", "data": {"user_id": "OPS1"}})
        broker.get(url, status=503, json={"status": "error", "message": "down"})
        registry.adapter_for(kite).profile()
        with pytest.raises(BrokerError):
            registry.adapter_for(kite).profile()

    after = samples(client, ops_token)
    calls = after[("broker_call_seconds_count", key)] - before.get(
        ("broker_call_seconds_count", key), 0
    )
    assert calls >= 2  # a failed read may be retried: each try is a call
    errors = [
        value - before.get((name, labels), 0)
        for (name, labels), value in after.items()
        if name == "broker_call_errors_total" and dict(labels)["broker"] == "zerodha"
    ]
    assert sum(errors) >= 1
    assert after[("broker_connections", (("broker", "zerodha"), ("status", "CONNECTED")))] == 1
    assert after[("circuit_breakers", (("broker", "zerodha"), ("state", "CLOSED")))] == 1
    assert ("websockets_open", ()) in after
    assert ("celery_heartbeat_age_seconds", ()) in after
    assert "tok-ops-1" not in client.get("/metrics", **ops_token).content.decode()


def test_ready_once_a_worker_has_run_the_heartbeat(client, ops_token, worker, settings):
    waiting = client.get("/readyz", **ops_token)
    assert waiting.status_code == 503
    assert waiting.json()["workers_and_beat"] == "no worker has run the heartbeat yet"

    tasks.heartbeat.delay()
    answer = client.get("/readyz", **ops_token)
    for _ in range(100):
        if answer.status_code == 200:
            break
        time.sleep(0.1)
        answer = client.get("/readyz", **ops_token)

    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert body["status"] == "ready"
    expected = "ok" if settings.REDIS_URL else readiness.NOT_USED
    assert body["database"] == body["channel_layer"] == body["workers_and_beat"] == "ok"
    assert body["redis"] == body["queue"] == expected
    if worker is not None:  # through the real queue: the lag was measured
        lag = samples(client, ops_token)
        assert any(
            name == "celery_task_lag_seconds_count" and ("task", "ops.tasks.heartbeat") in labels
            for name, labels in lag
        )


def test_not_ready_when_redis_does_not_answer(client, ops_token, settings):
    readiness.beat("test")
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there

    answer = client.get("/readyz", **ops_token)

    assert answer.status_code == 503
    assert answer.json()["redis"] == "down (ConnectionError)"


def test_not_ready_when_the_heartbeat_is_stale(client, ops_token, time_machine):
    readiness.beat("test")
    time_machine.move_to(readiness.time.time() + readiness.HEARTBEAT_STALE_SECONDS + 5)
    answer = client.get("/readyz", **ops_token)
    assert answer.status_code == 503
    assert "beat or the workers are down" in answer.json()["workers_and_beat"]


def test_json_logs_are_one_redacted_object_per_line():
    line = "HTTP GET /sandbox/dhan/app/consumeApp-consent?tokenId=dWNLkyC39sOJSlEjnxGsmO4A 200"
    code = f"import django, logging; django.setup(); logging.getLogger('ops').warning({line!r})"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOG_", "DEBUG"))}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", LOG_FORMAT="json")
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )

    records = [json.loads(text) for text in result.stderr.splitlines() if text.startswith("{")]
    record = next(r for r in records if r["logger"] == "ops")
    assert record["level"] == "WARNING"
    assert record["message"].endswith("tokenId=[REDACTED] 200")
    assert "dWNLkyC39sOJSlEjnxGsmO4A" not in result.stderr + result.stdout
    assert {"time", "process"} <= set(record)


def test_a_bad_log_format_or_short_token_stops_start_up():
    for variable, value, message in [
        ("LOG_FORMAT", "xml", "LOG_FORMAT must be plain or json"),
        ("OPS_TOKEN", "short", "OPS_TOKEN must be at least 24 characters"),
    ]:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", variable: value}
        result = subprocess.run(
            [sys.executable, "-c", "import django; django.setup()"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode != 0
        assert message in result.stderr
