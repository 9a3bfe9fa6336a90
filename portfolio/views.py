"""The portfolio page: totals, the sortable positions table, two charts, banners, sync now.

One URL; an HTMX request for ``#portfolio-body`` (a sort, a refresh after a sync or a push)
gets that fragment of the same template. Only the signed-in trader's portfolio is ever shown:
nothing here takes a user or a connection id.
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from portfolio import services
from portfolio.services import NoBrokerConnected

SORTS = {
    "symbol": lambda line: line.symbol,
    "quantity": lambda line: line.quantity,
    "average": lambda line: line.average_price,
    "price": lambda line: line.current_price,
    "value": lambda line: line.value,
    "pnl": lambda line: line.pnl,
    "pnl_percent": lambda line: line.pnl_percent,
    "day": lambda line: line.day_change,
}
COLUMNS = [
    ("symbol", "Instrument"),
    ("quantity", "Quantity"),
    ("average", "Avg. price"),
    ("price", "Price"),
    ("value", "Value"),
    ("pnl", "P&L"),
    ("pnl_percent", "P&L %"),
    ("day", "Day"),
]
COLOURS = {
    "EQUITY": "#1f6feb",
    "ETF": "#12b76a",
    "MUTUAL_FUND": "#7a5af8",
    "DERIVATIVE": "#f79009",
    "COMMODITY": "#b54708",
    "CURRENCY": "#0e9384",
    "CASH": "#98a2b3",
}
LABELS = {
    "EQUITY": "Equity",
    "ETF": "ETF",
    "MUTUAL_FUND": "Mutual funds",
    "DERIVATIVE": "Derivatives",
    "COMMODITY": "Commodity",
    "CURRENCY": "Currency",
    "CASH": "Cash",
}


@login_required
@require_GET
def portfolio_page(request):
    sort, direction = _sorting(request)
    context = {"sort": sort, "direction": direction, "columns": _columns(sort, direction)}
    try:
        view = services.get_consolidated(user=request.user, fetch_pending=True)
    except NoBrokerConnected:
        view = None
    if view is not None:
        context |= _page(view, sort, direction)
    context["progress"] = services.sync_progress(user=request.user)
    template = "portfolio/page.html"
    if request.htmx and request.htmx.target == "portfolio-body":
        template += "#body"
    return render(request, template, context)


@login_required
@require_POST
def sync_now(request):
    try:
        progress = services.request_sync(user=request.user)
    except NoBrokerConnected:
        progress = None
    return _progress(request, progress)


@login_required
@require_GET
def sync_progress(request):
    return _progress(request, services.sync_progress(user=request.user))


def _progress(request, progress):
    response = render(request, "portfolio/page.html#sync", {"progress": progress})
    if progress and progress["state"] == "done":
        response["HX-Trigger"] = "portfolio-updated"  # the body re-renders with the new numbers
    return response


def _sorting(request) -> tuple[str, str]:
    sort = request.GET.get("sort", "value")
    direction = request.GET.get("dir", "desc")
    return (
        sort if sort in SORTS else "value",
        direction if direction in ("asc", "desc") else "desc",
    )


def _columns(sort: str, direction: str) -> list[dict]:
    """Each header links to its sort; a second click on the same one reverses it."""
    columns = []
    for key, label in COLUMNS:
        active = key == sort
        first = "asc" if key == "symbol" else "desc"
        columns.append(
            {
                "key": key,
                "label": label,
                "next": ("asc" if direction == "desc" else "desc") if active else first,
                "aria": ("ascending" if direction == "asc" else "descending") if active else "",
            }
        )
    return columns


def _page(view: services.PortfolioView, sort: str, direction: str) -> dict:
    portfolio = view.portfolio
    key = SORTS[sort]
    present = [line for line in portfolio.lines if key(line) is not None]
    missing = [line for line in portfolio.lines if key(line) is None]
    present.sort(key=key, reverse=direction == "desc")
    return {
        "view": view,
        "portfolio": portfolio,
        "lines": present + missing,  # lines without that number (flagged) always last
        "stale": view.stale(),
        "allocation": _donut(portfolio.asset_allocation),
        "brokers": _bars(portfolio.broker_breakdown),
    }


def _donut(slices) -> list[dict]:
    """Rings of one SVG circle (circumference 100): each slice a dash, offset by the ones
    before it. Floats here are geometry, not money."""
    shown, offset = [], 25.0  # start at twelve o'clock
    for piece in slices:
        if piece.value <= 0 or piece.share is None:
            continue
        share = float(piece.share)
        shown.append(
            {
                "kind": piece.asset_class,
                "label": LABELS.get(piece.asset_class, piece.asset_class),
                "value": piece.value,
                "share": piece.share,
                "colour": COLOURS.get(piece.asset_class, "#667085"),
                "dash": f"{share:.3f} {100 - share:.3f}",
                "offset": f"{offset:.3f}",
            }
        )
        offset -= share
    return shown


def _bars(shares) -> list[dict]:
    top = max((s.value for s in shares), default=Decimal(0))
    return [
        {"share": s, "width": f"{max(float(s.value / top * 100), 0) if top > 0 else 0:.1f}"}
        for s in sorted(shares, key=lambda s: s.value, reverse=True)
    ]
