"""Server-rendered SVG charts for the health pages: no chart library, no script.

Everything interpolated is a number or an escaped label, so the markup is safe to mark safe.
"""

from __future__ import annotations

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT, PAD = 240, 56, 4


def line_chart(
    values: list[float | None], *, label: str, unit: str, floor_max: float = 1.0
) -> SafeString:
    """A sparkline of ``values`` (None = no calls then) with its maximum written in a corner."""
    known = [v for v in values if v is not None]
    top = max([floor_max, *known])
    step = (WIDTH - 2 * PAD) / max(1, len(values) - 1)
    segments, current = [], []
    for i, value in enumerate(values):
        if value is None:
            if current:
                segments.append(current)
            current = []
            continue
        x = PAD + i * step
        y = HEIGHT - PAD - (HEIGHT - 2 * PAD) * (value / top)
        current.append(f"{x:.1f},{y:.1f}")
    if current:
        segments.append(current)
    lines = "".join(
        f'<polyline points="{" ".join(points)}" fill="none" stroke="currentColor" '
        'stroke-width="1.5"/>'
        if len(points) > 1
        else f'<circle cx="{points[0].split(",")[0]}" cy="{points[0].split(",")[1]}" r="1.5"/>'
        for points in segments
    )
    empty = (
        ""
        if known
        else f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">no calls</text>'
    )
    return mark_safe(  # noqa: S308 - numbers and an escaped label only
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" aria-label="{escape(label)}"><title>{escape(label)}</title>'
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" '
        'class="axis"/>'
        f"{lines}{empty}"
        f'<text x="{WIDTH - PAD}" y="11" text-anchor="end" class="max">'
        f"{_fmt(top)} {escape(unit)}</text>"
        "</svg>"
    )


def uptime_bars(shares: list[float | None], *, label: str) -> SafeString:
    """One bar per period: green when up ≥ 99.5 %, yellow ≥ 95 %, red below, grey unknown."""
    gap = 2
    width = (WIDTH - gap * (len(shares) - 1)) / max(1, len(shares))
    bars = []
    for i, share in enumerate(shares):
        if share is None:
            colour = "none"
        else:
            colour = "up" if share >= 0.995 else "part" if share >= 0.95 else "down"
        title = "no data" if share is None else f"{share * 100:.1f}% up"
        bars.append(
            format_html(
                '<rect x="{}" y="0" width="{}" height="20" class="bar-{}"><title>{}</title></rect>',
                f"{i * (width + gap):.1f}",
                f"{width:.1f}",
                colour,
                title,
            )
        )
    return mark_safe(  # noqa: S308 - built from format_html pieces
        f'<svg class="uptime" viewBox="0 0 {WIDTH} 20" width="{WIDTH}" height="20" role="img" '
        f'aria-label="{escape(label)}">{"".join(bars)}</svg>'
    )


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 else f"{value:.1f}"
