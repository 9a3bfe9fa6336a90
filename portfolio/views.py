"""The portfolio page: holdings and open positions apart (totals and tables), the net worth,
two charts, banners, sync now.

It renders the trader's portfolio document (``portfolio.documents``), the very JSON the API
sends, so the page and the API always show the same numbers. One URL; an HTMX request for
``#portfolio-body`` (a sort, a refresh after a sync or a push) gets that fragment of the same
template. Only the signed-in trader's portfolio is ever shown: nothing here takes a user or a
connection id.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from brokers.models import Broker, ConnectionStatus
from portfolio import services, tasks
from portfolio.aggregate import UNKNOWN_RULE
from portfolio.services import NoBrokerConnected


def _number(name: str):
    return lambda line: None if line[name] is None else Decimal(line[name])


# Each column of the holdings table: the document's field it shows and sorts by.
SORTS = {
    "symbol": lambda line: line["symbol"],
    "quantity": lambda line: line["totalQuantity"],
    "average": _number("averagePrice"),
    "price": _number("currentPrice"),
    "value": _number("currentValue"),
    "pnl": _number("unrealizedPnL"),
    "pnl_percent": _number("unrealizedPnLPercent"),
    "day": _number("dayChange"),
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
POSITION_COLUMNS = ["Instrument", "Net qty", "Avg. price", "Price", "MTM", "Day's P&L"]
POSITION_COLUMNS += ["Realized"]
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
        document = tasks.consolidated_document(user=request.user)
    except NoBrokerConnected:
        document = None
    if document is not None:
        context |= _page(document.data(), sort, direction)
    context["progress"] = services.sync_progress(user=request.user)
    template = "portfolio/page.html"
    if request.htmx and request.htmx.target == "portfolio-body":
        template += "#body"
    return render(request, template, context)


@login_required
@require_POST
def sync_now(request):
    try:
        progress = tasks.request_sync(user=request.user)
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
                "num": key != "symbol",
                "next": ("asc" if direction == "desc" else "desc") if active else first,
                "aria": ("ascending" if direction == "asc" else "descending") if active else "",
            }
        )
    return columns


def _page(data: dict, sort: str, direction: str) -> dict:
    """The template's context from the document's JSON (numbers stay its exact strings)."""
    key = SORTS[sort]
    held = [line for line in data["positions"] if line["kind"] == "HOLDING"]
    present = [line for line in held if key(line) is not None]
    missing = [line for line in held if key(line) is None]
    present.sort(key=key, reverse=direction == "desc")
    covered = [_broker(b) for b in data["coveredBrokers"]]
    unknown = any(
        f["code"] == "unknown_instrument" for line in data["positions"] for f in line["flags"]
    )
    holdings = {
        "id": "holdings",
        "caption": "Holdings",
        "sortable": True,
        "lines": present + missing,  # lines without that number (flagged) always last
        "empty": "No holdings at the covered brokers.",
        "width": 9,
    }
    traded = {
        "id": "open-positions",
        "caption": "Open positions",
        "columns": [{"label": label, "num": n > 0} for n, label in enumerate(POSITION_COLUMNS)],
        # by size of the position, as the document lists them
        "lines": [line for line in data["positions"] if line["kind"] == "POSITION"],
        "empty": "No open positions at the covered brokers.",
        "width": 8,
    }
    return {
        "portfolio": data,
        "covered": covered,
        "failed": [_broker(b) for b in data["failedBrokers"]],
        "pending": [_broker(b) for b in data["pendingBrokers"]],
        "stale": _stale(covered, timezone.now()),
        "last_updated": _when(data["lastUpdated"]),
        "tables": [holdings, traded],
        "unknown_rule": UNKNOWN_RULE if unknown else "",
        "allocation": _donut(data["assetAllocation"]),
        "brokers": _bars(data["brokerBreakdown"]),
    }


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _broker(state: dict) -> dict:
    """A connection's state in the document, with its times as times and its names."""
    return state | {
        "label": Broker(state["brokerType"]).label,
        "statusLabel": ConnectionStatus(state["connectionStatus"]).label,
        "syncedAt": _when(state["lastGoodSnapshotAt"]),
        "failedAt": _when(state["failedAt"]),
    }


def _stale(covered: list[dict], now: datetime) -> list[dict]:
    """Covered brokers whose numbers are old, or whose session is no longer healthy."""
    return [
        b
        for b in covered
        if b["connectionStatus"] != ConnectionStatus.CONNECTED
        or (b["syncedAt"] is not None and services.is_stale(b["syncedAt"], now=now))
    ]


def _donut(slices) -> list[dict]:
    """Rings of one SVG circle (circumference 100): each slice a dash, offset by the ones
    before it. Floats here are geometry, not money."""
    shown, offset = [], 25.0  # start at twelve o'clock
    for piece in slices:
        kind = piece["assetClass"]
        if Decimal(piece["value"]) <= 0 or piece["share"] is None:
            continue
        share = float(piece["share"])
        shown.append(
            {
                "kind": kind,
                "label": LABELS.get(kind, kind),
                "value": piece["value"],
                "share": piece["share"],
                "colour": COLOURS.get(kind, "#667085"),
                "dash": f"{share:.3f} {100 - share:.3f}",
                "offset": f"{offset:.3f}",
            }
        )
        offset -= share
    return shown


def _bars(shares) -> list[dict]:
    value = {s["connectionId"]: Decimal(s["value"]) for s in shares}
    top = max(value.values(), default=Decimal(0))
    return [
        {
            "share": s,
            "width": f"{max(float(value[s['connectionId']] / top * 100), 0) if top > 0 else 0:.1f}",
        }
        for s in sorted(shares, key=lambda s: value[s["connectionId"]], reverse=True)
    ]
