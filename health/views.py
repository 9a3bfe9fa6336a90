"""Pages: the health dashboard, a connection's diagnostics, retry now and the notification list.
Another trader's connection is a 404 everywhere.

Which alerts a connection sends, and how often it is checked, are the policy's (its broker
panel's Notifications and API tabs): the diagnostics page shows them and links there."""

from datetime import UTC, datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from brokers.models import BrokerConnection
from health import breaker, diagnostics, metrics, probes, quality, services, state
from health.models import Notification
from health.notify import channels_of
from health.summary import summarize
from routing.policy.effective import effective
from routing.policy.schema import Channel, Event


def _own_connection(request, pk) -> BrokerConnection:
    return get_object_or_404(
        BrokerConnection.objects.select_related("app"), pk=pk, user=request.user
    )


def _threshold_context() -> dict:
    return {
        "window_minutes": state.WINDOW_SECONDS // 60,
        "window_calls": state.WINDOW_CALLS,
        "quality_min_calls": quality.MIN_CALLS,
        "down_after": state.DOWN_AFTER,
        "recovery_calls": state.RECOVERY_CALLS,
        "recovery_seconds": state.RECOVERY_SECONDS,
        "thresholds": [
            {
                "quality": t.quality.value,
                "min_success": t.min_success * 100,
                "max_p95_ms": t.max_p95_ms,
                "colour": quality.COLOUR[t.quality],
            }
            for t in quality.THRESHOLDS
        ],
        "breaker_min": breaker.MIN_CALLS,
        "breaker_window": breaker.WINDOW_SECONDS,
        "failure_rate": int(breaker.FAILURE_RATE * 100),
        "slow_rate": int(breaker.SLOW_RATE * 100),
        "slow_ms": metrics.SLOW_CALL_MS,
    }


@login_required
def dashboard(request):
    mine = BrokerConnection.objects.for_user(request.user).select_related("app")
    summaries = sorted((summarize(c, charts_too=True) for c in mine), key=lambda s: s.sort_key())
    return render(
        request, "health/dashboard.html", {"summaries": summaries, **_threshold_context()}
    )


def _alerts(connection) -> dict | None:
    """This connection's notification settings and check interval, as its policy says."""
    broker = effective(connection.user_id).for_connection(connection.pk)
    if broker is None:
        return None
    notifications = broker.settings.notifications
    return {
        "events": [
            {
                "label": event.value.replace("_", " ").capitalize(),
                "in_app": Channel.IN_APP in channels_of(notifications, event),
                "email": Channel.EMAIL in channels_of(notifications, event),
            }
            for event in Event
        ],
        "quiet_hours": notifications.quiet_hours,
        "interval": broker.api.health_check_seconds,
    }


def _diagnostics_context(connection, *, steps=None) -> dict:
    services.ensure_health(connection)
    view = diagnostics.breaker_view(connection)
    retry_at = view["now"].retry_at
    recent = [
        {**c, "when": datetime.fromtimestamp(c["at"], UTC)}
        for c in metrics.recent_calls(str(connection.pk), 20)
    ]
    history = [{**h, "at": datetime.fromtimestamp(h["at"], UTC)} for h in view["history"]]
    summary = summarize(connection, charts_too=True)
    return {
        "connection": connection,
        "summary": summary,
        "advice": diagnostics.status_advice(connection, summary.state),
        "api_host": settings.BROKER_HOSTS[connection.broker]["API"],
        "steps": steps,
        "breaker": view,
        "breaker_history": history,
        "breaker_retry_at": datetime.fromtimestamp(retry_at, UTC) if retry_at else None,
        "headroom": diagnostics.rate_headroom(connection),
        "errors": diagnostics.errors_by_type(connection),
        "recent": recent,
        "transitions": diagnostics.transitions(connection),
        "alerts": _alerts(connection),
        **_threshold_context(),
    }


@login_required
def connection_diagnostics(request, pk):
    connection = _own_connection(request, pk)
    return render(request, "health/diagnostics.html", _diagnostics_context(connection))


@login_required
@require_POST
def diagnose(request, pk):
    """Run the live diagnosis: an htmx request gets the steps' fragment, others the page."""
    connection = _own_connection(request, pk)
    steps = diagnostics.diagnose(connection)
    if request.htmx:
        return render(request, "health/diagnostics.html#diagnosis", {"steps": steps})
    connection.refresh_from_db()
    return render(request, "health/diagnostics.html", _diagnostics_context(connection, steps=steps))


@login_required
@require_POST
def retry(request, pk):
    """Retry now: a trial probe at once (the same service as the API and the sweep)."""
    connection = _own_connection(request, pk)
    try:
        connection = probes.retry_now(connection=connection)
        note = f"Checked: {state.current(connection).word}."
    except probes.RetryRefused as refused:
        note = str(refused)
    if request.htmx:
        return HttpResponse(note)
    messages.info(request, f"{connection}: {note}")
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}):
        target = reverse("health:diagnostics", args=[connection.pk])
    return redirect(target)


@login_required
def preferences(request, pk):
    """The alert preferences now live in the policy: its Notifications tab for the connection."""
    connection = _own_connection(request, pk)
    return redirect("routing:broker_tab", pk=connection.pk, tab="notifications")


@login_required
def notifications(request):
    mine = Notification.objects.filter(user=request.user)
    return render(
        request,
        "health/notifications.html",
        {"notices": mine[:100], "unread": mine.filter(read_at__isnull=True).count()},
    )


@login_required
@require_POST
def notifications_read(request):
    Notification.objects.filter(user=request.user, read_at__isnull=True).update(
        read_at=timezone.now()
    )
    return redirect("health:notifications")
