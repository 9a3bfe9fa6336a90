"""The metrics themselves (prometheus_client), imported by whoever counts: a leaf module that
imports nothing of the project, so any app may count without depending on ops."""

from prometheus_client import Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
TASK_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300)

BROKER_CALL_SECONDS = Histogram(
    "broker_call_seconds",
    "Broker calls through the HTTP door, by broker and endpoint.",
    ["broker", "endpoint"],
    buckets=LATENCY_BUCKETS,
)
BROKER_CALL_ERRORS = Counter(
    "broker_call_errors",
    "Broker calls that failed, by broker, endpoint and error type.",
    ["broker", "endpoint", "error"],
)
TASK_SECONDS = Histogram(
    "celery_task_seconds", "Run time of Celery tasks.", ["task"], buckets=TASK_BUCKETS
)
TASK_LAG_SECONDS = Histogram(
    "celery_task_lag_seconds",
    "From publishing a task to a worker starting it.",
    ["task"],
    buckets=TASK_BUCKETS,
)
TASK_FAILURES = Counter("celery_task_failures", "Celery tasks that raised.", ["task"])
SYNC_SECONDS = Histogram(
    "portfolio_sync_seconds",
    "One trader's portfolio sync (the sync task's run time).",
    buckets=TASK_BUCKETS,
)
WEBSOCKETS = Gauge("websockets_open", "Open /ws/brokers/ sockets.", multiprocess_mode="livesum")
