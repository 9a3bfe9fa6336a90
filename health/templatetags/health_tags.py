from django import template

from health.models import Notification
from health.summary import summarize

register = template.Library()


@register.simple_tag
def connection_health(connection, charts=False):
    """The connection's HealthSummary (quality, metrics, uptime, breaker)."""
    return summarize(connection, charts_too=charts)


@register.simple_tag
def unread_notices(user) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


@register.filter
def pct(value, digits=1):
    if value is None or value == "":
        return "\u2013"  # an en dash: no figure
    return f"{float(value) * 100:.{int(digits)}f}%"


@register.filter
def ms(value):
    if value is None or value == "":
        return "\u2013"  # an en dash: no figure
    return f"{float(value):,.0f} ms"


@register.simple_tag
def health_overview(connections) -> list[tuple[str, int]]:
    """How many connections are red, yellow, green (and grey), worst first."""
    counts: dict[str, int] = {}
    for connection in connections:
        colour = summarize(connection).colour
        counts[colour] = counts.get(colour, 0) + 1
    return [(c, counts[c]) for c in ("red", "yellow", "green", "grey") if c in counts]
