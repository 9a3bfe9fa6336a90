"""Prometheus metrics (prometheus_client), served at /metrics to the operator's token.

Counted where they happen, in the process where they happen:

- every broker call through the HTTP door: latency histogram and errors by broker, endpoint
  (the adapter's endpoint name, e.g. ``user/profile``, never a URL with ids) and error type;
- every Celery task: its run time, and its lag from publish to start (the publish time rides
  in the message's headers);
- open websockets of the web process.

Read when scraped (``SystemCollector``): connections by broker and status, circuit breakers by
broker and state, the Celery queue's depth, the age of the workers' last heartbeat.

Several processes: with ``METRICS_DIR`` set (a directory the web and worker processes
share; in the compose file a volume) each process writes its figures under
``METRICS_DIR/<host name>/`` and /metrics sums every file below METRICS_DIR
(prometheus_client's multiprocess mode, its own merge). The production web command makes
one for its workers when neither METRICS_DIR nor PROMETHEUS_MULTIPROC_DIR is set. Without
any, /metrics shows the serving process's own figures and the scrape-time ones.
"""

from __future__ import annotations

import glob
import os
import time

from celery import signals
from django.conf import settings
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily

from ops.instruments import (
    BROKER_CALL_ERRORS,
    BROKER_CALL_SECONDS,
    SYNC_SECONDS,
    TASK_FAILURES,
    TASK_LAG_SECONDS,
    TASK_SECONDS,
)

SYNC_TASK = "portfolio.tasks.sync_portfolio_task"
PUBLISHED_AT = "published_at"


def after_call(sender=None, *, record, **kwargs) -> None:
    """The HTTP door's ``call_finished`` receiver: one observation per broker call."""
    context = record.context
    BROKER_CALL_SECONDS.labels(context.broker, context.endpoint).observe(record.elapsed_ms / 1000)
    if record.error is not None:
        BROKER_CALL_ERRORS.labels(
            context.broker, context.endpoint, type(record.error).__name__
        ).inc()


def subscribe() -> None:
    """Count every broker call: the one place that listens to the HTTP door."""
    from brokers.signals import call_finished

    call_finished.connect(after_call, dispatch_uid="ops.metrics.after_call")


# --- Celery --------------------------------------------------------------------------------
_started: dict[str, float] = {}


@signals.before_task_publish.connect(dispatch_uid="ops.metrics.published")
def _published(headers=None, **kwargs) -> None:
    if headers is not None:
        headers[PUBLISHED_AT] = time.time()


@signals.task_prerun.connect(dispatch_uid="ops.metrics.prerun")
def _prerun(task_id=None, task=None, **kwargs) -> None:
    _started[task_id] = time.perf_counter()
    published = getattr(task.request, PUBLISHED_AT, None) if task is not None else None
    if isinstance(published, int | float):
        TASK_LAG_SECONDS.labels(task.name).observe(max(0.0, time.time() - published))


@signals.task_postrun.connect(dispatch_uid="ops.metrics.postrun")
def _postrun(task_id=None, task=None, state=None, **kwargs) -> None:
    started = _started.pop(task_id, None)
    if started is None or task is None:
        return
    seconds = time.perf_counter() - started
    TASK_SECONDS.labels(task.name).observe(seconds)
    if task.name == SYNC_TASK:
        SYNC_SECONDS.observe(seconds)
    if state == "FAILURE":
        TASK_FAILURES.labels(task.name).inc()


# --- Read when scraped -----------------------------------------------------------------------
class SystemCollector:
    """Figures that live in the database and Redis, read at each scrape."""

    def describe(self):
        return []  # nothing is read when registered, only when scraped

    def collect(self):
        from ops import readiness

        yield from _connections_and_breakers()
        depth = GaugeMetricFamily(
            "celery_queue_depth", "Tasks waiting in the Celery queue.", labels=["queue"]
        )
        for queue, waiting in readiness.queue_depths().items():
            depth.add_metric([queue], waiting)
        yield depth
        age = readiness.heartbeat_age()
        heartbeat = GaugeMetricFamily(
            "celery_heartbeat_age_seconds",
            "Seconds since a worker last ran beat's heartbeat task (-1: never seen).",
        )
        heartbeat.add_metric([], -1 if age is None else age)
        yield heartbeat


def _connections_and_breakers():
    from django.db.models import Count

    from brokers.models import BrokerConnection
    from health import breaker
    from health.probes import PROBED

    statuses = GaugeMetricFamily(
        "broker_connections",
        "Broker connections by broker and status.",
        labels=["broker", "status"],
    )
    for row in BrokerConnection.objects.values("broker", "status").annotate(n=Count("id")):
        statuses.add_metric([row["broker"], row["status"]], row["n"])
    yield statuses

    breakers = GaugeMetricFamily(
        "circuit_breakers",
        "Circuit breakers of probed connections by state.",
        labels=["broker", "state"],
    )
    counts: dict[tuple[str, str], int] = {}
    live = BrokerConnection.objects.filter(status__in=PROBED).values_list("pk", "broker")
    rows = list(live)
    for (_, broker_key), data in zip(rows, _breaker_data([str(pk) for pk, _ in rows]), strict=True):
        state, _ = breaker.current("", data=data or {})
        counts[(broker_key, state.value)] = counts.get((broker_key, state.value), 0) + 1
    for (broker_key, state), n in sorted(counts.items()):
        breakers.add_metric([broker_key, state], n)
    yield breakers


def _breaker_data(cids: list[str]) -> list[dict | None]:
    """Every breaker's stored state, in a few round trips however many connections there are."""
    import json

    from health import breaker
    from health.store import RedisStore, store

    shared = store()
    keys = [breaker.state_key(cid) for cid in cids]
    if not isinstance(shared, RedisStore):
        return [shared.get(key) for key in keys]
    found: list[dict | None] = []
    for start in range(0, len(keys), 1000):
        chunk = [shared.prefix + key for key in keys[start : start + 1000]]
        found.extend(None if raw is None else json.loads(raw) for raw in shared.client.mget(chunk))
    return found


class ProcessFiles:
    """Every process's figures: the multiprocess files below ``root``, merged."""

    def __init__(self, root: str):
        self.root = root

    def describe(self):
        return []

    def collect(self):
        files = glob.glob(os.path.join(self.root, "**", "*.db"), recursive=True)
        return multiprocess.MultiProcessCollector.merge(files, accumulate=True)


def exposition() -> bytes:
    """The text a Prometheus scrape gets."""
    registry = CollectorRegistry()
    shared = settings.METRICS_DIR or os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if shared:
        registry.register(ProcessFiles(shared))
    else:
        registry.register(REGISTRY)  # this process's figures and the library's own
    registry.register(SystemCollector())
    return generate_latest(registry)
