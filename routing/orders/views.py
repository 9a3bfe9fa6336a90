"""The order pages: the ticket (instrument search, live preview, confirmation, placing once),
the order book, and one order's page with its timeline; modify and cancel from either; a
queued order sent to a broker of the trader's choice or cancelled, from the emergency panel's
"Queued orders" or from the order's page, each confirmed with why.

One URL per page; an HTMX request gets a fragment of the same template. Every order shown or
acted on is the signed-in trader's own: another trader's id is a 404. Live status arrives as
ORDER_UPDATE on the trader's socket (/ws/brokers/), and static/js/orders.js re-renders the
part of the page it changes.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import reswap, retarget

from brokers.models import Broker
from routing.orders import messages, queue, services
from routing.orders.decisions import breaches_json, decision_json
from routing.orders.forms import FIELD_OF, TICKET_FIELDS, ModifyForm, QueueActionForm, TicketForm
from routing.orders.inputs import SEARCH_MIN, InvalidOrder, search_listings
from routing.orders.models import (
    AT_BROKER,
    QUEUE_OPEN,
    Order,
    OrderEvent,
    OrderState,
    QueuedOrder,
    QueueState,
)
from routing.policy import controls
from routing.policy.effective import effective

SEARCH_RESULTS = 15
BOOK_ROWS = 200
S = OrderState
# A status's colour on the pages: green filled, red refused, yellow unsure, blue working.
TONE: dict[str, str] = {
    S.FILLED: "green",
    S.REJECTED: "red",
    S.RISK_REJECTED: "red",
    S.UNKNOWN: "yellow",
    S.CANCELLED: "grey",
    S.EXPIRED: "grey",
}


def tone(status: str) -> str:
    return TONE.get(status, "blue")


def _brokers(user) -> dict[str, str]:
    """The trader's brokers as the ticket offers them: {policy key: label}."""
    policy = effective(user)
    return {
        key: f"{Broker(b.broker).label if b.broker in Broker.values else b.broker} · {b.account_id}"
        for key, b in policy.brokers.items()
    }


# --- The ticket ---------------------------------------------------------------------------------
def _ticket_context(request, form, **extra) -> dict:
    policy = effective(request.user)
    return {
        "form": form,
        "idempotency_key": extra.pop("idempotency_key", None) or uuid.uuid4().hex,
        "kill_switch": policy.kill_switch,
        "egress_ip": messages.egress_ip(),
        "has_brokers": bool(policy.brokers),
        **extra,
    }


@login_required
@require_GET
def ticket(request):
    initial = {}
    if request.GET.get("instrument"):
        initial["instrument"] = request.GET["instrument"][:40]
    form = TicketForm(initial=initial, brokers=_brokers(request.user))
    return render(request, "routing/orders/ticket.html", _ticket_context(request, form))


@login_required
@require_GET
def search_instruments(request):
    """Listings in the stored instrument masters matching an ISIN, EXCHANGE:SYMBOL, a symbol's
    start or a name's part; one line per listing, at most SEARCH_RESULTS."""
    query = request.GET.get("q", "").strip()[:40]
    return render(
        request,
        "routing/orders/ticket.html#results",
        {
            "query": query,
            "results": search_listings(query=query, user=request.user, limit=SEARCH_RESULTS),
            "too_short": len(query) < SEARCH_MIN,
        },
    )


def _field_errors(form, breaches: list[dict]) -> dict[str, str]:
    """Each ticket field's first problem: the form's own, else the risk rule it breaks."""
    errors = {name: str(problems[0]) for name, problems in form.errors.items()}
    for breach in breaches:
        name = FIELD_OF.get(breach["code"])
        if name and name not in errors:
            errors[name] = breach["message"]
    return errors


def _preview_context(request, form, *, confirm: bool) -> dict:
    """The preview of what the form holds: the field errors, the risk checks, the routing."""
    context: dict = {"confirm": False, "preview": None, "breaches": [], "decision": None}
    if form.is_valid():
        try:
            preview = services.preview_order(user=request.user, order=form.to_input())
        except InvalidOrder as invalid:
            for name, message in invalid.problems:
                form.add_error(name if name in form.fields else None, message)
        else:
            decision = decision_json(preview.decision)
            order = form.cleaned_data
            unit = order.get("price") or preview.last_price
            context.update(
                preview=preview,
                breaches=breaches_json(preview.breaches),
                decision=decision,
                chosen=preview.chosen,
                chosen_row=next(
                    (r for r in decision["ranked"] if r["key"] == preview.chosen), None
                ),
                estimate=unit * order["quantity"] if unit is not None else None,
                confirm=confirm and preview.accepted,
                order=order,
            )
    context["errors"] = _field_errors(form, context["breaches"])
    context["general_errors"] = list(form.non_field_errors())
    context["spans"] = [(name, context["errors"].get(name, "")) for name in TICKET_FIELDS]
    return context


@login_required
@require_POST
def preview(request):
    """The live preview as the trader types (and, with ``confirm``, the confirmation step):
    nothing stored, nothing sent."""
    form = TicketForm(request.POST, brokers=_brokers(request.user))
    context = _preview_context(request, form, confirm=request.POST.get("confirm") == "1")
    context["kill_switch"] = effective(request.user).kill_switch
    return render(request, "routing/orders/ticket.html#preview", context)


@login_required
@require_POST
def place(request):
    """Place what the confirmed ticket holds, once: its Idempotency key (made when the ticket
    was rendered) gives back the same order to a second click or a resubmitted form."""
    form = TicketForm(request.POST, brokers=_brokers(request.user))
    key = request.POST.get("idempotency_key", "").strip()[: services.MAX_KEY_LENGTH]

    def again(status: int, **extra):
        context = _ticket_context(request, form, idempotency_key=key, **extra)
        context.update(_preview_context(request, form, confirm=False))
        return render(request, "routing/orders/ticket.html", context, status=status)

    if not key:
        # A page that lost its key is a stale or forged one: a fresh ticket, nothing sent.
        flash.error(request, "This ticket had expired: check it and place it again.")
        return redirect("routing:order_ticket")
    if not form.is_valid():
        return again(400)
    try:
        placement = services.place_order(
            user=request.user, order=form.to_input(), idempotency_key=key, keep_refused=False
        )
    except InvalidOrder:
        return again(400)
    except services.Refused:
        return again(422, refused=True)
    except services.IdempotencyConflict:
        key = uuid.uuid4().hex
        return again(409, conflict=True)
    order = placement.order
    if not placement.created:
        flash.info(request, "This ticket was placed already: here is its order, not sent again.")
    elif order.status in (S.REJECTED, S.UNKNOWN):
        flash.warning(request, order.status_reason)
    else:
        flash.success(request, f"Order sent to {_where(order)}.")
    return redirect("routing:order", pk=order.pk)


def _where(order: Order) -> str:
    if order.connection is None:
        return "the broker"
    broker = order.connection.broker
    return Broker(broker).label if broker in Broker.values else broker


# --- The order book -----------------------------------------------------------------------------
def _filters(request) -> tuple[dict, dict[str, str]]:
    """The book's filters as asked ({name: value}), and a sentence for each one that cannot be."""
    wanted, problems = {}, {}
    status = request.GET.get("status", "")
    if status:
        if status in S.values:
            wanted["status"] = status
        else:
            problems["status"] = "Choose a status from the list."
    broker = request.GET.get("broker", "")[:40]
    if broker:
        wanted["broker"] = broker
    day = request.GET.get("date", "")
    if day:
        try:
            wanted["date"] = datetime.strptime(day, "%Y-%m-%d").date()
        except ValueError:
            problems["date"] = "Give the date as YYYY-MM-DD (the IST trading day)."
    return wanted, problems


def _book(user, wanted: dict):
    orders = Order.objects.for_user(user).select_related("connection").matching(wanted)
    return orders[:BOOK_ROWS]


@login_required
@require_GET
def book(request):
    wanted, problems = _filters(request)
    orders = [] if problems else list(_book(request.user, wanted))
    context = {
        "orders": [(o, tone(o.status)) for o in orders],
        "wanted": wanted,
        "raw": {n: request.GET.get(n, "") for n in ("status", "broker", "date")},
        "problems": problems,
        "statuses": S.choices,
        "brokers": _brokers(request.user),
        "at_broker": AT_BROKER,
        "limit": BOOK_ROWS,
    }
    template = "routing/orders/book.html"
    if request.htmx and request.htmx.target == "order-book":
        template += "#table"
    return render(request, template, context, status=400 if problems else 200)


# --- One order ----------------------------------------------------------------------------------
def _own(request, pk) -> Order:
    try:
        return services.get_order(user=request.user, order_id=pk)
    except Order.DoesNotExist:
        raise Http404("No such order.") from None


@login_required
@require_GET
def detail(request, pk):
    order = _own(request, pk)
    row = QueuedOrder.objects.filter(order=order, state__in=QUEUE_OPEN).first()
    context = {
        "order": order,
        "tone": tone(order.status),
        "attempts": list(order.attempts.select_related("connection")),
        "events": list(order.events.select_related("attempt", "actor")),
        "decision": order.decision or None,
        "chosen": (order.decision or {}).get("chosen"),
        "breaches": order.breaches,
        "can_change": order.status in AT_BROKER and bool(order.broker_order_id),
        "queued_row": row,
        "choices": queue.choices(user=request.user, rows=[row])[order.pk] if row else [],
    }
    template = "routing/orders/detail.html"
    if request.htmx and request.htmx.target == "order-live":
        template += "#live"
    return render(request, template, context)


def _action(request, order, kind: str, status: int = 200, **extra):
    return render(
        request,
        "routing/orders/_action.html",
        {"order": order, "kind": kind, "tone": tone(order.status), **extra},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def cancel(request, pk):
    """Step 1 (GET, or a POST without ``confirm``): what will be cancelled. Step 2: cancel."""
    order = _own(request, pk)
    if request.method == "GET" or request.POST.get("confirm") != "1":
        return _action(request, order, "cancel")
    try:
        services.cancel_order(user=request.user, order_id=pk)
    except services.NotModifiable as refused:
        return _action(request, order, "cancel", 422, error=str(refused))
    order = _own(request, pk)
    response = _action(request, order, "cancel", done=True)
    response["HX-Trigger"] = "order-updated"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def modify(request, pk):
    """Step 1: the form; step 2 (``review``): the change, to confirm; step 3: sent."""
    order = _own(request, pk)
    if request.method == "GET":
        return _action(request, order, "modify", form=ModifyForm())
    form = ModifyForm(request.POST)
    if not form.is_valid():
        return _action(request, order, "modify", 400, form=form)
    if request.POST.get("confirm") != "1":
        return _action(request, order, "modify", form=form, review=True)
    d = form.cleaned_data
    try:
        services.modify_order(
            user=request.user,
            order_id=pk,
            quantity=d.get("quantity"),
            price=d.get("price"),
            trigger_price=d.get("trigger_price"),
        )
    except (services.NotModifiable, InvalidOrder) as refused:
        words = [b.message for b in getattr(refused, "breaches", [])]
        return _action(request, order, "modify", 422, form=form, error=str(refused), words=words)
    order = _own(request, pk)
    response = _action(request, order, "modify", done=True)
    response["HX-Trigger"] = "order-updated"
    return response


# --- The queue, by hand -------------------------------------------------------------------------
HAND_ACTIONS = 10  # the latest sends and cancels by hand the emergency panel lists


def queue_context(user, message: str = "") -> dict:
    """The emergency panel's "Queued orders": each waiting order with the brokers it may go to,
    and the latest hand actions on queued orders (who, when, why)."""
    rows = queue.queued_orders(user=user)
    found = queue.choices(user=user, rows=rows)
    return {
        "queued": [
            {
                "row": r,
                "order": r.order,
                "choices": found[r.order_id],
                "confirm": r.state == QueueState.CONFIRM,
            }
            for r in rows
        ],
        "by_hand": OrderEvent.objects.filter(
            order__user=user, actor__isnull=False, order__queued__isnull=False
        )
        .select_related("order", "actor")
        .order_by("-at", "-pk")[:HAND_ACTIONS],
        "queue_message": message,
    }


def _queued(request, pk) -> QueuedOrder:
    row = QueuedOrder.objects.filter(order_id=pk, user=request.user).select_related("order")
    found = row.first()
    if found is None:
        raise Http404("No such queued order.")
    return found


def _broker_label(user, key: str) -> str:
    return next((c.label for c in controls.controls(user) if c.key == key), key)


def _queue_action(request, row: QueuedOrder, kind: str, status: int = 200, **extra):
    """The confirmation step of a hand action on a queued order, its refusal or its outcome:
    a fragment where it was asked for (the panel's row, the order's page), else a page."""
    order = row.order
    context = {
        "row": row,
        "order": order,
        "kind": kind,
        "tone": tone(order.status),
        "max_reason": controls.MAX_REASON,
        "errors": {},
        "reason": "",
        "target": request.htmx.target if request.htmx else "",
        **extra,
    }
    template = "routing/orders/queue_action.html"
    if request.htmx:
        template += "#action"
    return render(request, template, context, status=status)


def _queue_done(request, row: QueuedOrder, kind: str, said: str):
    """After a send or a cancel: the order's page re-reads the order; the panel re-renders
    without it; a page without htmx goes back where it came from."""
    if request.htmx and request.htmx.target == "order-action":
        response = _queue_action(request, row, kind, done=said)
        response["HX-Trigger"] = "order-updated"
        return response
    if request.htmx:
        response = render(
            request, "routing/orders/_queue.html", queue_context(request.user, message=said)
        )
        return reswap(retarget(response, "#queued-orders"), "outerHTML")
    flash.success(request, said)
    if request.POST.get("back") == "order":
        return redirect("routing:order", pk=row.order_id)
    return redirect(reverse("routing:emergency") + "#queued-orders")


def _what(order: Order) -> str:
    return f"{order.side} {order.quantity} {order.exchange}:{order.symbol}"


@login_required
@require_http_methods(["GET", "POST"])
def queue_send(request, pk):
    """Step 1 (GET, or a POST without ``confirm``): the checks for the chosen broker run (nothing
    sent) and the trader confirms with why, or reads why not. Step 2: sent now."""
    row = _queued(request, pk)
    data = request.POST if request.method == "POST" else request.GET
    broker = data.get("broker", "").strip()[:40]
    label = _broker_label(request.user, broker) if broker else ""
    context = {"broker": broker, "label": label, "back": data.get("back", "")}
    if request.method == "GET" or "confirm" not in request.POST:
        try:
            preview = queue.check_send(user=request.user, order_id=pk, broker=broker)
        except queue.QueueRefusal as refused:
            return _queue_action(request, row, "send", refusal=str(refused), **context)
        return _queue_action(request, row, "send", last_price=preview.last_price, **context)
    form = QueueActionForm(request.POST)
    context["reason"] = request.POST.get("reason", "")
    if not form.is_valid():
        errors = {name: str(problems[0]) for name, problems in form.errors.items()}
        return _queue_action(request, row, "send", 400, errors=errors, **context)
    try:
        order = queue.send_queued(
            user=request.user,
            order_id=pk,
            broker=broker,
            why=form.cleaned_data["reason"],
            actor=request.user,
        )
    except queue.QueueRefusal as refused:
        row.refresh_from_db()
        return _queue_action(request, row, "send", 422, refusal=str(refused), **context)
    row.refresh_from_db()
    said = f"{_what(order)} sent to {label}: {order.get_status_display().lower()}."
    if order.status in (S.REJECTED, S.UNKNOWN, S.QUEUED):
        said = f"{_what(order)} sent to {label}: {order.status_reason}"
    return _queue_done(request, row, "send", said)


@login_required
@require_http_methods(["GET", "POST"])
def queue_cancel(request, pk):
    """Step 1 (GET, or a POST without ``confirm``): what leaves the queue, to confirm with why.
    Step 2: out of the queue, nothing sent."""
    row = _queued(request, pk)
    data = request.POST if request.method == "POST" else request.GET
    context = {"back": data.get("back", "")}
    try:
        queue.still_queued(user=request.user, order_id=pk)
    except queue.QueueRefusal as refused:
        status = 422 if request.method == "POST" else 200
        return _queue_action(request, row, "cancel", status, refusal=str(refused), **context)
    if request.method == "GET" or "confirm" not in request.POST:
        return _queue_action(request, row, "cancel", **context)
    form = QueueActionForm(request.POST)
    context["reason"] = request.POST.get("reason", "")
    if not form.is_valid():
        errors = {name: str(problems[0]) for name, problems in form.errors.items()}
        return _queue_action(request, row, "cancel", 400, errors=errors, **context)
    try:
        queue.cancel_queued(
            user=request.user, order_id=pk, why=form.cleaned_data["reason"], actor=request.user
        )
    except queue.QueueRefusal as refused:
        row.refresh_from_db()
        return _queue_action(request, row, "cancel", 422, refusal=str(refused), **context)
    row.refresh_from_db()
    return _queue_done(
        request, row, "cancel", f"{_what(row.order)} taken out of the queue; nothing was sent."
    )
