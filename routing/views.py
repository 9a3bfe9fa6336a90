"""Pages: the policy overview, the per-broker panel (Trading · Risk · Notifications · API ·
Custom), the global policy manager, live validation, templates, import/export, history with
revert, and the emergency panel. Every save goes through the same services and validation as
the API; another trader's connection is a 404.
"""

from __future__ import annotations

import json
import secrets

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from brokers.models import BrokerConnection
from brokers.types import AssetType, OrderType, Product
from routing.forms import apply_post, slug
from routing.models import KillSwitchEvent, PolicyRevision, PolicyTemplate
from routing.orders.views import queue_context
from routing.policy import controls, defaults, presets, services, transfer
from routing.policy.diff import diff
from routing.policy.plans import SEGMENTS
from routing.policy.schema import (
    Action,
    Channel,
    ChargeKind,
    Condition,
    Count,
    Event,
    Plan,
    Strategy,
)
from routing.policy.services import Conflict, NothingChanged
from routing.policy.validation import Invalid, Problem, check_value, validate

TABS = ("trading", "risk", "notifications", "api", "custom")
ARM_WORD = "STOP"
UPLOAD_TTL = 900
# What the first of the priority list decides, under each routing strategy (routing.route).
PRIMARY_MEANS = {
    Strategy.CUSTOM: "orders no custom rule sends elsewhere go to it first, and ties go to it.",
    Strategy.LOWEST_COST: "your strategy (lowest cost) ranks the brokers first; the primary "
    "takes the order when their charges tie or cannot be estimated.",
    Strategy.FASTEST_EXECUTION: "your strategy (fastest execution) ranks the brokers first; "
    "the primary takes the order when their latencies tie or are not measured yet.",
    Strategy.BEST_PRICE: "your strategy (best price) ranks the brokers first; the primary "
    "takes the order when their quotes tie or are missing.",
}


def _connection_key(request, pk) -> tuple[str, services.Editing]:
    get_object_or_404(BrokerConnection, pk=pk, user=request.user)
    state = services.editing(request.user)
    for key, account in state.accounts.items():
        if account.connection_id == str(pk):
            return key, state
    raise Http404("This connection is disconnected.")


def _posted_version(request) -> int:
    return check_value(Count, request.POST.get("version"), "version")


def _errors(problems: list[Problem]) -> dict[str, str]:
    return {p.path: p.message for p in problems}


def _conflict_page(request, conflict: Conflict, back: str):
    theirs = services.complete(conflict.current.document, services.editing(request.user).accounts)
    rows = diff(theirs, conflict.attempted)
    return render(
        request,
        "routing/conflict.html",
        {
            "current_version": conflict.current.version,
            "expected": conflict.expected,
            "rows": rows,
            "yours": json.dumps(conflict.attempted),
            "back": back,
        },
        status=409,
    )


def _save(request, document, version, *, back: str, on_error, **kwargs):
    try:
        services.save_profile(
            user=request.user, document=document, version=version, author=request.user, **kwargs
        )
    except Invalid as invalid:
        return on_error(invalid.problems)
    except Conflict as conflict:
        return _conflict_page(request, conflict, back)
    except NothingChanged:
        messages.info(request, "Nothing changed.")
        return redirect(back)
    messages.success(request, "Saved. It applies from the next order and the next call.")
    return redirect(back)


@login_required
def overview(request):
    state = services.editing(request.user)
    return render(
        request,
        "routing/overview.html",
        {"state": state, "policy": state.document["global"], "accounts": state.accounts},
    )


# --- The broker panel --------------------------------------------------------------------------
def _broker_context(state, key, tab, document, errors):
    account = state.accounts[key]
    caps = defaults.capabilities(account.broker)
    return {
        "state": state,
        "key": key,
        "account": account,
        "tab": tab,
        "tabs": TABS,
        "settings": document["brokers"][key],
        "prefix": f"brokers.{key}.",
        "errors": errors,
        "order_types": [t.value for t in OrderType if t in caps.order_types],
        "exchanges": sorted(caps.exchanges),
        "products": [p.value for p in Product if p in caps.products],
        "caps": defaults.documented_caps(account.broker),
        "events": [(e.value, e.value.replace("_", " ").capitalize()) for e in Event],
        "channels": [c.value for c in Channel],
        "custom_rows": [*document["brokers"][key]["custom"], {}, {}],
        "value_types": ["string", "integer", "decimal", "boolean"],
        "version": state.version,
    }


def _broker_document(request, state, key):
    document = apply_post(state.document, request.POST, f"brokers.{key}.")
    quiet = document["brokers"][key].get("notifications", {}).get("quiet_hours")
    if isinstance(quiet, dict) and not quiet.get("start") and not quiet.get("end"):
        document["brokers"][key]["notifications"]["quiet_hours"] = None
    for item in document["brokers"][key].get("custom") or []:
        if isinstance(item, dict):
            item["value"] = _typed_value(item.get("type"), item.get("value"))
    return document


def _typed_value(kind, value):
    """A custom setting's text as its type says, where it reads as one (the engine reports
    the rest)."""
    if not isinstance(value, str):
        return value
    if kind == "boolean" and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if kind == "integer" and value.lstrip("-").isdigit():
        return int(value)
    return value


@login_required
def broker_panel(request, pk, tab="trading"):
    if tab not in TABS:
        raise Http404("No such tab.")
    key, state = _connection_key(request, pk)
    back = request.path
    if request.method != "POST":
        context = _broker_context(state, key, tab, state.document, {})
        return render(request, "routing/broker.html", context)
    document = _broker_document(request, state, key)

    def on_error(problems):
        context = _broker_context(state, key, tab, document, _errors(problems))
        return render(request, "routing/broker.html", context, status=400)

    try:
        version = _posted_version(request)
    except Invalid as invalid:
        return on_error(invalid.problems)
    return _save(request, document, version, back=back, on_error=on_error)


# --- The global policy manager -----------------------------------------------------------------
SEGMENT_LABELS = {
    "equity_delivery": "Equity delivery",
    "equity_intraday": "Equity intraday",
    "futures": "Futures",
    "options": "Options",
}
# The amounts each kind of charge takes; the page drops the others when the kind changes.
CHARGE_FIELDS = {
    ChargeKind.ZERO: (),
    ChargeKind.FLAT: ("flat",),
    ChargeKind.PERCENT_WITH_CAP: ("percent", "cap", "minimum"),
}


def _published(broker: str) -> dict:
    return Plan.model_validate(defaults.published_plan(broker)).model_dump(mode="json")


def _plan_rows(state, policy) -> list[dict]:
    """Each connected broker's brokerage plan as the page shows it: the trader's own, or the
    broker's published plan (the default) to start one from."""
    plans = (policy.get("cost") or {}).get("plans") or {}
    rows = []
    for key, account in state.accounts.items():
        own = plans.get(key)
        plan = own if isinstance(own, dict) else _published(account.broker)
        rows.append(
            {
                "key": key,
                "account": account,
                "published": not isinstance(own, dict),
                "name": plan.get("name") or "",
                "segments": [
                    (segment, SEGMENT_LABELS[segment], plan.get(segment) or {})
                    for segment in SEGMENTS
                ],
            }
        )
    return rows


def _global_context(state, document, errors):
    policy = document["global"]
    weights = policy["routing"]["load_balancing"]["weights"]
    listed = [k for k in policy["routing"]["priority"] if k in state.accounts]
    unlisted = [k for k in state.accounts if k not in listed]
    return {
        "state": state,
        "policy": policy,
        "errors": errors,
        "accounts": state.accounts,
        "priority": [(k, True) for k in listed] + [(k, False) for k in unlisted],
        "strategies": [s.value for s in Strategy],
        "conditions": [c.value for c in Condition],
        "actions": [a.value for a in Action],
        "asset_types": [a.value for a in AssetType],
        "failover_rows": [*policy["failover"]["rules"], {}],
        "allocation_rows": [*policy["allocation"], {}],
        "rule_rows": [*policy["routing"]["rules"], {}],
        "weights": {k: weights.get(k) for k in state.accounts},
        "plans": _plan_rows(state, policy),
        "charge_kinds": [(k.value, k.value.replace("_", " ").capitalize()) for k in ChargeKind],
        "version": state.version,
    }


def _cost_document(request, document) -> None:
    """The brokerage plans posted: a broker ticked "published plan" has none of its own; in
    the others, each charge keeps only the amounts its kind takes."""
    cost = document["global"].get("cost")
    if not isinstance(cost, dict):
        return
    published = set(request.POST.getlist("global.cost.published:list"))
    cost.pop("published", None)
    plans = cost.get("plans")
    if not isinstance(plans, dict):
        return
    for key in list(plans):
        if key in published:
            del plans[key]
            continue
        plan = plans[key]
        for segment in SEGMENTS:
            charge = plan.get(segment) if isinstance(plan, dict) else None
            if isinstance(charge, dict) and charge.get("kind") in CHARGE_FIELDS:
                keep = CHARGE_FIELDS[ChargeKind(charge["kind"])]
                for name in ("flat", "percent", "cap", "minimum"):
                    if name not in keep:
                        charge.pop(name, None)


def _global_document(request, state):
    document = apply_post(state.document, request.POST, "global.")
    _cost_document(request, document)
    routing = document["global"].get("routing", {})
    included = set(request.POST.getlist("global.routing.included:list"))
    if isinstance(routing.get("priority"), list):
        routing["priority"] = [k for k in routing["priority"] if k in included]
    routing.pop("included", None)
    weights = routing.get("load_balancing", {}).get("weights")
    if isinstance(weights, dict):
        routing["load_balancing"]["weights"] = {k: v for k, v in weights.items() if v is not None}
    defaults_ = document["global"].get("default_brokers")
    if isinstance(defaults_, dict):
        document["global"]["default_brokers"] = {k: v for k, v in defaults_.items() if v}
    for rule in routing.get("rules") or []:
        if isinstance(rule, dict) and isinstance(rule.get("match"), dict):
            for name in ("asset_types", "exchanges", "products"):
                if rule["match"].get(name) is None:
                    rule["match"][name] = []
    return document


@login_required
def global_policy(request):
    state = services.editing(request.user)
    if request.method != "POST":
        return render(request, "routing/global.html", _global_context(state, state.document, {}))
    document = _global_document(request, state)

    def on_error(problems):
        context = _global_context(state, document, _errors(problems))
        return render(request, "routing/global.html", context, status=400)

    try:
        version = _posted_version(request)
    except Invalid as invalid:
        return on_error(invalid.problems)
    return _save(request, document, version, back=request.path, on_error=on_error)


@login_required
@require_POST
def validate_field(request):
    """Live validation as the trader types: the problems of what the form holds now, each
    swapped in next to its field (and cleared where it is gone)."""
    state = services.editing(request.user)
    scope = request.POST.get("scope", "")
    if scope.startswith("brokers."):
        key = scope.split(".")[1]
        if key not in state.accounts:
            raise Http404("No such broker.")
        document = _broker_document(request, state, key)
    elif scope == "global.":
        document = _global_document(request, state)
    else:
        raise Http404("No such form.")
    try:
        validate(document, state.context())
        problems = []
    except Invalid as invalid:
        problems = [p for p in invalid.problems if p.path.startswith(scope.rstrip("."))]
    posted = {name.split(":")[0] for name in request.POST if name.startswith(scope)}
    errors = _errors(problems)
    spans = [(slug(path), errors.get(path, "")) for path in sorted(posted | set(errors))]
    return render(request, "routing/_live_problems.html", {"problems": problems, "spans": spans})


# --- Templates ----------------------------------------------------------------------------------
@login_required
def templates_page(request):
    state = services.editing(request.user)
    errors = {}
    if request.method == "POST":
        try:
            presets.save_template(
                request.user,
                name=request.POST.get("name", ""),
                description=request.POST.get("description", "")[:200],
            )
            messages.success(request, "Template kept.")
            return redirect("routing:templates")
        except Invalid as invalid:
            errors = _errors(invalid.problems)
    return render(
        request,
        "routing/templates.html",
        {
            "presets": presets.PRESETS.values(),
            "own": PolicyTemplate.objects.filter(user=request.user),
            "errors": errors,
            "version": state.version,
            "name": request.POST.get("name", ""),
        },
        status=400 if errors else 200,
    )


@login_required
def template_preview(request, template_id):
    template = presets.find(request.user, template_id)
    name = presets.PRESETS[template].name if isinstance(template, str) else template.name
    if request.method == "POST":
        if request.POST.get("delete") and not isinstance(template, str):
            template.delete()
            messages.success(request, f"Template “{name}” deleted.")
            return redirect("routing:templates")
        try:
            version = _posted_version(request)
            if isinstance(template, str):
                presets.apply_preset(request.user, template, version=version, author=request.user)
            else:
                presets.apply_template(request.user, template, version=version, author=request.user)
        except Invalid as invalid:
            messages.error(request, invalid.problems[0].message)
            return redirect("routing:template", template_id=template_id)
        except Conflict as conflict:
            return _conflict_page(request, conflict, request.path)
        except NothingChanged:
            messages.info(request, "Nothing to change: your profile already says this.")
            return redirect("routing:templates")
        messages.success(request, f"Template “{name}” applied as one revision.")
        return redirect("routing:history")
    if isinstance(template, str):
        preview = presets.preview_preset(request.user, template)
    else:
        preview = presets.preview_template(request.user, template)
    return render(
        request,
        "routing/template_preview.html",
        {"name": name, "preview": preview, "own": not isinstance(template, str)},
    )


# --- Import and export -------------------------------------------------------------------------
@login_required
def export_file(request):
    body = json.dumps(transfer.export(request.user), indent=2, ensure_ascii=False)
    response = HttpResponse(body, content_type="application/json")
    response["Content-Disposition"] = 'attachment; filename="policy.json"'
    return response


def _upload_key(user_id, token: str) -> str:
    return f"policy:upload:{user_id}:{token}"


@login_required
def transfer_page(request):
    """Upload → the dry run (mapping, changes, every problem) → apply, all or nothing."""
    if request.method != "POST":
        return render(request, "routing/transfer.html", {})
    skip = request.POST.get("skip_unmapped") == "1"
    token = request.POST.get("token", "")
    if token:  # step 2: apply what was previewed
        document = cache.get(_upload_key(request.user.pk, token))
        if document is None:
            messages.error(request, "That upload has expired: upload the file again.")
            return redirect("routing:transfer")
        try:
            version = _posted_version(request)
            transfer.apply(
                request.user, document, version=version, author=request.user, skip_unmapped=skip
            )
        except Invalid as invalid:
            messages.error(request, invalid.problems[0].message)
            return redirect("routing:transfer")
        except Conflict as conflict:
            return _conflict_page(request, conflict, request.path)
        except NothingChanged:
            messages.info(request, "The file says what your profile already says.")
            return redirect("routing:transfer")
        cache.delete(_upload_key(request.user.pk, token))
        messages.success(request, "Imported as one revision.")
        return redirect("routing:history")
    upload = request.FILES.get("file")
    if upload is None:
        problems = [Problem("file", "Choose a policy file (.json) to upload.")]
        return render(request, "routing/transfer.html", {"problems": problems}, status=400)
    if upload.size > transfer.MAX_BYTES:
        size = upload.size / 1_000_000
        problems = [Problem("file", f"The file is {size:.1f} MB; a policy file is at most 1 MB.")]
        return render(request, "routing/transfer.html", {"problems": problems}, status=400)
    try:
        document = transfer.read(upload.read(transfer.MAX_BYTES + 1))
    except Invalid as invalid:
        return render(request, "routing/transfer.html", {"problems": invalid.problems}, status=400)
    preview = transfer.prepare(request.user, document, skip_unmapped=skip)
    token = secrets.token_urlsafe(16)
    if preview.ok:
        cache.set(_upload_key(request.user.pk, token), document, UPLOAD_TTL)
    return render(
        request,
        "routing/transfer.html",
        {"preview": preview, "token": token, "skip": skip, "filename": upload.name},
        status=200 if preview.ok else 400,
    )


# --- History ------------------------------------------------------------------------------------
@login_required
def history(request):
    policy = services.policy_for(request.user)
    return render(
        request,
        "routing/history.html",
        {"revisions": policy.revisions.select_related("author")[:100], "version": policy.version},
    )


@login_required
@require_POST
def revert(request, number):
    policy = services.policy_for(request.user)
    get_object_or_404(policy.revisions, number=number)
    try:
        services.revert(
            user=request.user, number=number, version=_posted_version(request), author=request.user
        )
    except Invalid as invalid:
        messages.error(request, invalid.problems[0].message)
    except Conflict as conflict:
        return _conflict_page(request, conflict, "/policy/history/")
    except NothingChanged:
        messages.info(request, f"Your profile already is revision {number}.")
    else:
        messages.success(request, f"Back to revision {number}, saved as a new revision.")
    return redirect("routing:history")


# --- Emergency ----------------------------------------------------------------------------------
def _emergency_context(request, errors=None):
    state = services.editing(request.user)
    policy = state.policy
    events = list(
        KillSwitchEvent.objects.filter(policy=policy)
        .select_related("actor")
        .prefetch_related("cancels__order")[:20]
    )
    armed = [e for e in events if e.action == KillSwitchEvent.Action.ARM]
    return {
        "policy": policy,
        "arming": armed[0] if policy.kill_switch and armed else None,
        "accounts": state.accounts,
        "paused": set(state.document["global"]["emergency"]["paused"]),
        "events": events,
        "errors": errors or {},
        "arm_word": ARM_WORD,
        "controls": controls.controls(request.user),
        "primary_means": PRIMARY_MEANS[state.document["global"]["routing"]["strategy"]],
        "changes": policy.revisions.filter(source=PolicyRevision.Source.EMERGENCY).select_related(
            "author"
        )[:10],
        "cancel_default": state.document["global"]["emergency"]["cancel_open_orders_on_kill"],
        **queue_context(request.user),
    }


@login_required
def emergency(request):
    """The kill switch: typed confirmation to arm (step 1 of 1), the pauses, and the queued
    orders (routing.orders.views: queue_send, queue_cancel)."""
    if request.method != "POST":
        return render(request, "routing/emergency.html", _emergency_context(request))
    reason = request.POST.get("reason", "").strip()
    errors = {}
    if request.POST.get("confirm", "").strip().upper() != ARM_WORD:
        errors["confirm"] = f"Type {ARM_WORD} to switch every new order off."
    if not reason:
        errors["reason"] = "Say why: it is kept with the switch."
    if len(reason) > 300:
        errors["reason"] = "At most 300 characters."
    if errors:
        return render(
            request, "routing/emergency.html", _emergency_context(request, errors), status=400
        )
    services.arm_kill_switch(
        user=request.user,
        actor=request.user,
        reason=reason,
        cancel_open_orders=request.POST.get("cancel_open_orders") == "1",
    )
    messages.warning(request, "Kill switch ON: no new order goes out until you release it.")
    return redirect("routing:emergency")


@login_required
def release(request):
    """Two steps: this page asks, the POST from it releases."""
    if request.method != "POST":
        return render(request, "routing/release.html", _emergency_context(request))
    if request.POST.get("step") != "2":
        return redirect("routing:release")
    if services.release_kill_switch(user=request.user, actor=request.user, reason="released"):
        messages.success(request, "Kill switch released: orders may go out again.")
    return redirect("routing:emergency")


def _control(request, pk, *, what: str, paused: bool | None = None):
    """The confirmation step of a manual control (GET, or a POST without it), then the
    control itself."""
    connection = get_object_or_404(BrokerConnection, pk=pk, user=request.user)
    label = controls.label_of(connection)
    found = controls.key_of(request.user, connection)
    refusal = ""
    if found is None:
        refusal = f"{label} is not connected: connect it again first."
    elif what == "primary":
        refusal = controls.refusal(connection, label)
    context: dict[str, object] = {
        "what": what,
        "label": label,
        "paused": paused,
        "refusal": refusal,
        "current": next((c for c in controls.controls(request.user) if c.primary), None),
        "errors": {},
        "reason": "",
        "max_reason": controls.MAX_REASON,
    }
    if request.method != "POST" or refusal:
        status = 400 if refusal and request.method == "POST" else 200
        return render(request, "routing/control.html", context, status=status)
    reason = request.POST.get("reason", "")
    context["reason"] = reason
    if request.POST.get("confirm") != "1":
        context["errors"] = {"confirm": "Confirm with the button below."}
        return render(request, "routing/control.html", context, status=400)
    try:
        if what == "primary":
            controls.switch_primary(
                user=request.user, connection=connection, reason=reason, author=request.user
            )
        else:
            controls.pause_broker(
                user=request.user,
                connection=connection,
                paused=bool(paused),
                reason=reason,
                author=request.user,
            )
    except Invalid as invalid:
        context["errors"] = {
            "reason" if p.path == "reason" else "control": p.message for p in invalid.problems
        }
        return render(request, "routing/control.html", context, status=400)
    if what == "primary":
        messages.success(request, f"{label} is your primary broker now.")
    else:
        messages.success(request, f"{label} {'paused' if paused else 'resumed'}.")
    return redirect("routing:emergency")


@login_required
def primary(request, pk):
    """Switch the primary broker now: a confirmation page, then the switch."""
    return _control(request, pk, what="primary")


@login_required
def pause(request, pk):
    """Pause a broker for new orders: a confirmation page, then the pause."""
    return _control(request, pk, what="pause", paused=True)


@login_required
def resume(request, pk):
    """Resume a paused broker: a confirmation page, then the resume."""
    return _control(request, pk, what="resume", paused=False)


def trading_state(request):
    """The every-broker-down banner, polled by every page (empty for a visitor signed out)."""
    return render(request, "routing/_trading_paused.html")
