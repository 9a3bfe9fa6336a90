"""Probes: a beat-driven sweep checks each due connection with its cheapest authenticated call.

Every 10 s beat runs tasks.sweep_connections, which enrolls live connections that have no
schedule yet, counts the due ones and queues one shard (tasks.sweep_shard) per SHARD of
them: every Celery worker takes shards from the queue, so adding a worker takes load off the
others. Each shard:

1. claims due connections in batches: the due rows are selected ``FOR UPDATE SKIP LOCKED``
   (on PostgreSQL; a row another shard is claiming is passed over, not waited for) and moved
   ahead with one conditional UPDATE (``next_check_at <= now`` → the default interval ahead,
   stamped with the shard's claim id), so no two shards, in one worker or several, ever
   probe a connection in the same interval;
3. probes them from a bounded thread pool — threads only talk HTTP through the door; the
   door's signals count each call (metrics, breaker) and defer the status work;
4. applies the outcomes from one thread: a probe row each in broker_health_logs (bulk), the
   status moves (brokers.states), bulk updates of the rows, the next check of each connection
   and a quality announcement.

Interval: ``connection_config["healthCheckSeconds"]`` (default 30 s, 10 s to 1 h). A failed
probe is confirmed sooner (CONFIRM_SECONDS), so the breaker's minimum of calls is reached in
about half a minute. A connection whose breaker is open is retried with backoff
(health.reconnect), its probes being the breaker's trial probes. TOKEN_EXPIRED, DISCONNECTED
and SUSPENDED connections are never probed: only the trader can bring them back.
"""

from __future__ import annotations

import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from brokers.adapters import registry
from brokers.adapters.base import BrokerAdapter
from brokers.errors import BadResponse, BrokerError, Maintenance
from brokers.models import BrokerConnection, BrokerHealthLog
from brokers.models import ConnectionStatus as S
from brokers.redaction import redact
from health import breaker, calls, reconnect, services
from health.models import ConnectionHealth
from health.notes import Note, status_key
from health.store import Batch, once_per, store

logger = logging.getLogger(__name__)

PROBED = [S.CONNECTED, S.RATE_LIMITED, S.MAINTENANCE, S.ERROR, S.CONNECTING]
DEFAULT_INTERVAL = 30
MIN_INTERVAL, MAX_INTERVAL = 10, 3600
CONFIRM_SECONDS = 10  # after a failed probe on a closed breaker
HALF_OPEN_SECONDS = 5  # between trial probes
BATCH = 1000
WORKERS = 64
SHARD = 500  # connections per queued shard: 10,000 due connections are 20 tasks


def interval_for(connection: BrokerConnection) -> int:
    config = connection.connection_config if isinstance(connection.connection_config, dict) else {}
    try:
        seconds = int(config.get("healthCheckSeconds", DEFAULT_INTERVAL))
    except (TypeError, ValueError):
        seconds = DEFAULT_INTERVAL
    return max(MIN_INTERVAL, min(MAX_INTERVAL, seconds))


@dataclass
class Job:
    health: ConnectionHealth
    adapter: BrokerAdapter | None = None
    trial: bool = False
    wait_until: float | None = None  # breaker still open: no call before this
    breaker_data: dict | None = None  # as read when planning, reused by the call's check
    widen: bool = False  # an endpoint besides the probe's is failing: call the data reads too


@dataclass
class Result:
    job: Job
    notes: list[Note] = field(default_factory=list)
    error: BrokerError | None = None
    elapsed_ms: float = 0.0
    called: bool = True

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class SweepStats:
    claimed: int = 0
    probed: int = 0
    failed: int = 0
    moved: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return self.__dict__.copy()


# --- Claiming -----------------------------------------------------------------------------
def enroll(now: datetime) -> int:
    missing = BrokerConnection.objects.filter(status__in=PROBED, health_state__isnull=True)
    rows = [
        ConnectionHealth(connection_id=pk, next_check_at=now)
        for pk in missing.values_list("pk", flat=True)
    ]
    ConnectionHealth.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def due_count(now: datetime) -> int:
    return ConnectionHealth.objects.due(now).filter(connection__status__in=PROBED).count()


def plan_sweep(now: datetime) -> int:
    """Enroll, then the number of shards to queue for the connections due at ``now``."""
    enroll(now)
    return -(-due_count(now) // SHARD)


def claim(now: datetime, size: int) -> list[ConnectionHealth]:
    """Take up to ``size`` due connections for this sweep alone."""
    token = uuid.uuid4()
    lease = now + timedelta(seconds=DEFAULT_INTERVAL)
    with transaction.atomic():
        due = (
            ConnectionHealth.objects.due(now)
            .filter(connection__status__in=PROBED)
            .order_by("next_check_at")
            .select_for_update(skip_locked=True, of=("self",))
            .values_list("pk", flat=True)[:size]
        )
        ids = list(due)
        if not ids:
            return []
        ConnectionHealth.objects.filter(pk__in=ids, next_check_at__lte=now).update(
            next_check_at=lease, claim=token
        )
    return list(ConnectionHealth.objects.filter(claim=token).select_related("connection__app"))


# --- Probing --------------------------------------------------------------------------------
def prepare(health: ConnectionHealth) -> Job:
    connection = health.connection
    cid = str(connection.pk)
    job = Job(health=health)
    batch = Batch()
    at_breaker, at_known = batch.get(breaker.state_key(cid)), batch.get(status_key(cid))
    store().run(batch)
    job.breaker_data = batch.values[at_breaker]
    known = batch.values[at_known] or {}
    job.widen = bool(known.get("failing"))
    state, retry_at = breaker.current(cid, data=job.breaker_data)
    if state is breaker.State.OPEN and (retry_at or 0) > time.time():
        job.wait_until = retry_at
        return job
    job.trial = state is not breaker.State.CLOSED
    if connection.has_access_token:
        job.adapter = registry.adapter_for(connection)
    return job


def probe_one(job: Job) -> Result:
    """One probe; never raises. Runs in a pool thread: HTTP only, no database."""
    if job.wait_until is not None:
        return Result(job, called=False)
    cid = str(job.health.connection_id)
    if job.adapter is None:
        error = BadResponse("no session to probe with", endpoint="probe")
        return Result(job, error=error, called=False)
    result = Result(job)
    started = time.perf_counter()
    with calls.deferred() as notes:
        calls.prefetched.set((cid, job.breaker_data))
        try:
            with breaker.trial(cid) if job.trial else nullcontext():
                job.adapter.probe()
                if job.widen:
                    result.error = _data_reads(job.adapter)
        except BrokerError as error:
            result.error = error
        except Exception as error:  # a bug in one probe must not stop the sweep
            secrets = tuple(job.adapter.http.secrets)
            logger.error(
                "probe of %s crashed: %s: %s",
                cid,
                type(error).__name__,
                redact(str(error), secrets),
            )
            result.error = BadResponse("the probe failed unexpectedly", endpoint="probe")
    result.elapsed_ms = (time.perf_counter() - started) * 1000
    result.notes = notes
    return result


# The reads traders depend on. While one of a connection's endpoints is failing, its probe
# calls these too, so a failure of holdings is confirmed (or cleared) without waiting for the
# next portfolio refresh, and a good profile answer alone never makes it look healthy.
DATA_READS = ("holdings", "positions", "funds", "orders")


def _data_reads(adapter: BrokerAdapter) -> BrokerError | None:
    """Call each data read once; the first error, if any (each call is counted on its own)."""
    first = None
    for name in DATA_READS:
        try:
            getattr(adapter, name)()
        except BrokerError as error:
            first = first or error
    return first


def run(jobs: list[Job], pool: ThreadPoolExecutor | None = None) -> list[Result]:
    if pool is None or len(jobs) == 1:
        return [probe_one(job) for job in jobs]
    return list(pool.map(probe_one, jobs))


# --- Applying outcomes ------------------------------------------------------------------------
def finish(results: list[Result]) -> SweepStats:
    now = timezone.now()
    stats = SweepStats()
    logs, checked, succeeded = [], [], []
    for result in results:
        connection = result.job.health.connection
        if not result.called and result.job.wait_until is not None:
            _reschedule(result.job.health, now, seconds=result.job.wait_until - time.time())
            continue
        stats.probed += 1
        stats.failed += not result.ok
        logs.append(_log_row(result, now))
        checked.append(connection.pk)
        before = connection.status
        try:
            refused = _apply(connection, result)
            if not refused and not result.ok:
                _count_failure(connection, result)
            if not refused and connection.status not in services.AT_REST:
                services.settle(connection, health=result.job.health)
        except Exception:
            logger.exception("applying the probe of %s failed", connection.pk)
        moved = connection.status != before
        stats.moved += moved
        if result.ok:
            succeeded.append(connection.pk)
        _schedule(result, now)
    BrokerHealthLog.objects.bulk_create(logs)
    BrokerConnection.objects.filter(pk__in=checked).update(last_health_check=now)
    if succeeded:
        BrokerConnection.objects.filter(pk__in=succeeded).update(
            last_successful_call=now, consecutive_failures=0
        )
        BrokerConnection.objects.filter(pk__in=succeeded, status=S.CONNECTED).exclude(
            last_error=""
        ).update(last_error="")
    return stats


def _breaker_after(result: Result) -> tuple[breaker.State, float | None]:
    """The breaker's state after the probe, from the probe's own notes when it can."""
    changes = [n.change for n in result.notes if n.change is not None]
    if changes:
        after = changes[-1].after
        wait = time.time() + breaker.OPEN_WAIT_SECONDS if after is breaker.State.OPEN else None
        return after, wait
    if not result.job.trial:
        return breaker.State.CLOSED, None
    return breaker.current(str(result.job.health.connection_id))


def _apply(connection: BrokerConnection, result: Result) -> bool:
    """A refused session moves the status at once (True); the rest waits for the state."""
    return any(services.apply(connection, note) for note in result.notes)


def _count_failure(connection: BrokerConnection, result: Result) -> None:
    updates = {"consecutive_failures": F("consecutive_failures") + 1}
    if connection.status == S.CONNECTED and result.error is not None:
        updates["last_error"] = f"Health check failed: {result.error.message}"[:1000]
    BrokerConnection.objects.filter(pk=connection.pk).update(**updates)


def _log_row(result: Result, now: datetime) -> BrokerHealthLog:
    error = result.error
    endpoint = next((n.endpoint for n in result.notes if n.endpoint), "probe")
    return BrokerHealthLog(
        connection=result.job.health.connection,
        kind=BrokerHealthLog.Kind.PROBE,
        created_at=now,
        success=error is None,
        response_time_ms=int(result.elapsed_ms) if result.called else None,
        endpoint=endpoint[:200],
        error_type=type(error).__name__ if error else "",
        message=(error.message if error else "")[:1000],
        details={"trial": result.job.trial},
    )


def _schedule(result: Result, now: datetime) -> None:
    """When to probe next: the interval, sooner to confirm a failure, later to back off."""
    health = result.job.health
    connection = health.connection
    interval = interval_for(connection)
    attempts = 0
    state, retry_at = _breaker_after(result)
    if state is breaker.State.OPEN:
        attempts = health.reconnect_attempts + 1
        floor = max(0.0, (retry_at or 0) - time.time())
        seconds = reconnect.next_attempt_in(attempts - 1, floor=floor)
    elif state is breaker.State.HALF_OPEN:
        attempts = health.reconnect_attempts
        seconds = HALF_OPEN_SECONDS
    elif connection.status == S.RATE_LIMITED:
        seconds = max(interval, getattr(result.error, "retry_after", None) or 0)
    elif connection.status == S.MAINTENANCE:
        until = result.error.until if isinstance(result.error, Maintenance) else None
        seconds = (until - now).total_seconds() if until else interval
        seconds = max(interval, min(MAX_INTERVAL, seconds))
    elif connection.status == S.CONNECTING:
        seconds = HALF_OPEN_SECONDS  # recovering: the next good calls decide
    elif not result.ok and connection.status in PROBED:
        seconds = min(interval, CONFIRM_SECONDS)
    else:
        seconds = interval
    if seconds == DEFAULT_INTERVAL and attempts == health.reconnect_attempts == 0:
        return  # the claim already leased it for the default interval
    _reschedule(health, now, seconds=seconds, attempts=attempts)


def _reschedule(health: ConnectionHealth, now: datetime, *, seconds: float, attempts=None) -> None:
    updates = {"next_check_at": now + timedelta(seconds=max(1.0, seconds))}
    if attempts is not None:
        updates["reconnect_attempts"] = attempts
    ConnectionHealth.objects.filter(pk=health.pk).update(**updates)


# --- Entry points -----------------------------------------------------------------------------
def sweep(
    *,
    now: datetime | None = None,
    limit: int = 100_000,
    workers: int = WORKERS,
    enrolled: bool = False,
) -> dict:
    """Probe up to ``limit`` due connections once. Safe to run concurrently with itself, in
    one process or many (a shard is ``sweep(limit=SHARD, enrolled=True)``)."""
    started = time.perf_counter()
    now = now or timezone.now()
    if not enrolled:
        enroll(now)
    stats = SweepStats()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="probe") as pool:
        while stats.claimed < limit:
            claimed = claim(now, min(BATCH, limit - stats.claimed))
            if not claimed:
                break
            stats.claimed += len(claimed)
            part = finish(run([prepare(h) for h in claimed], pool))
            stats.probed += part.probed
            stats.failed += part.failed
            stats.moved += part.moved
    stats.seconds = time.perf_counter() - started
    if stats.claimed:
        logger.info("health sweep: %s", stats.as_dict())
    return stats.as_dict()


def probe_now(connection: BrokerConnection, *, first: list[Note] = ()) -> Result:
    """Probe one connection at once (retry now), through the same steps as the sweep.

    ``first``: notes to apply before the probe's own (the breaker move "retry now" made).
    """
    health = services.ensure_health(connection)
    health.connection = connection
    job = prepare(health)
    if job.wait_until is not None:  # retry now forced the trial; a race reopened it
        job.wait_until, job.trial = None, True
        job.adapter = registry.adapter_for(connection) if connection.has_access_token else None
    result = probe_one(job)
    result.notes = [*first, *result.notes]
    finish([result])
    return result


# --- Retry now ------------------------------------------------------------------------------
class RetryRefused(Exception):
    """A retry that cannot help; the message says what the trader should do instead."""


RETRY_EVERY = 5  # s between two "retry now" of one connection


def retry_now(*, connection: BrokerConnection) -> BrokerConnection:
    """Skip the backoff: a trial probe now, whose outcome the status follows.

    Same path as the sweep, so it is logged, counted and announced alike.
    """
    if connection.status == S.TOKEN_EXPIRED:
        raise RetryRefused("The broker ended the session: log in again to reconnect.")
    if connection.status in (S.DISCONNECTED, S.SUSPENDED):
        raise RetryRefused("This connection is not active: connect it again.")
    if not once_per(f"retry:{connection.pk}", RETRY_EVERY):
        raise RetryRefused("A retry just ran; wait a few seconds.")
    change = breaker.force_trial(str(connection.pk))
    with transaction.atomic():
        services.ensure_health(connection)
        ConnectionHealth.objects.filter(pk=connection.pk).update(
            reconnect_attempts=0, next_check_at=timezone.now() + timedelta(seconds=30)
        )
    probe_now(connection, first=[Note(change=change)] if change else [])
    connection.refresh_from_db()
    return connection
