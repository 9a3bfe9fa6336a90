"""The policy API: the profile, one broker's settings, the global policy, validate, templates,
export, import (dry run first), history, revert, the kill switch, and the published schema.

The policy document is the export format (schema_version 2, snake_case keys, the same field
paths as the pages); the envelope around it is camelCase like the rest of the API. Problems
are ``{"error": {"code": "invalid", "message", "problems": [{"path", "message"}]}}`` (400); a
save over a newer version is 409 with both versions; another trader's ids are 404.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from pydantic import BaseModel, ConfigDict, Field, RootModel, Strict, StrictBool
from rest_framework import status
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from brokers.models import BrokerConnection
from routing import openapi  # noqa: F401  (the pydantic models in the OpenAPI document)
from routing.models import PolicyRevision, PolicyTemplate
from routing.orders import emergency
from routing.policy import controls, presets, services, transfer
from routing.policy.schema import BrokerSettings, Count, GlobalPolicy, Profile
from routing.policy.services import Conflict, NothingChanged
from routing.policy.validation import Invalid, Problem, check_value

SCHEMA_FILE = Path(__file__).resolve().parent / "policy" / "policy.schema.json"


class PolicyJsonParser(BaseParser):
    """JSON as a policy file is read (transfer.read): numbers as Decimal, UTF-8, bounded in size
    and nesting before parsing, a clear message."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        data = stream.read(transfer.MAX_BYTES + 1) if stream is not None else b""
        try:
            return transfer.read(data)
        except Invalid as invalid:
            raise ParseError(invalid.problems[0].message) from None


# --- Envelopes (documented from these models) --------------------------------------------------
class Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ProblemOut(Envelope):
    path: str = Field(description="Where, e.g. brokers.zerodha.risk.max_daily_loss")
    message: str


class PolicyErrorBody(Envelope):
    code: str
    message: str
    problems: list[ProblemOut] = []


class ErrorOut(Envelope):
    error: PolicyErrorBody


class AccountOut(Envelope):
    key: str
    broker: str
    connection_id: str = Field(alias="connectionId")
    account_id: str = Field(alias="accountId")
    label: str


class KillSwitchOut(Envelope):
    on: bool
    reason: str
    since: str | None
    cancel_open_orders: bool = Field(alias="cancelOpenOrders")


class PolicyOut(Envelope):
    version: int
    document: Profile
    accounts: list[AccountOut]
    kill_switch: KillSwitchOut = Field(alias="killSwitch")


class PolicyIn(Envelope):
    version: int = Field(ge=0, description="The version your edit started from")
    document: Profile


class GlobalIn(Envelope):
    version: int = Field(ge=0)
    global_: GlobalPolicy = Field(alias="global")


class BrokerOut(Envelope):
    key: str
    version: int
    settings: BrokerSettings


class BrokerIn(Envelope):
    version: int = Field(ge=0)
    settings: BrokerSettings


class SavedOut(Envelope):
    version: int
    revision: int
    changes: list[dict]


class ValidateIn(Envelope):
    document: Profile


class ValidOut(Envelope):
    valid: bool
    problems: list[ProblemOut]


class ConflictBody(Envelope):
    code: str
    message: str
    current: PolicyIn
    yours: Profile


class ConflictOut(Envelope):
    error: ConflictBody


class PreviewOut(Envelope):
    ok: bool
    version: int
    changes: list[dict]
    problems: list[ProblemOut]
    mapping: dict[str, str]
    skipped: list[str]
    migrated_from: int | None = Field(alias="migratedFrom")


class ApplyIn(Envelope):
    version: int = Field(ge=0)


class TemplateOut(Envelope):
    id: str
    name: str
    description: str
    built_in: bool = Field(alias="builtIn")


class TemplateIn(Envelope):
    name: str
    description: str = ""


class RevisionOut(Envelope):
    number: int
    source: str
    note: str
    author: str | None
    created_at: str = Field(alias="createdAt")
    changes: list[dict]


class RevisionsOut(RootModel[list[RevisionOut]]):
    pass


class TemplatesOut(RootModel[list[TemplateOut]]):
    pass


class KillSwitchIn(Envelope):
    on: bool
    reason: str = Field(default="", max_length=300)
    cancel_open_orders: bool = Field(default=False, alias="cancelOpenOrders")


class PrimaryIn(Envelope):
    reason: str = Field(max_length=controls.MAX_REASON, description="Kept in the audit trail")
    confirm: bool = Field(description="true: the trader confirmed the switch")


class PauseIn(Envelope):
    paused: bool = Field(description="true: no new order goes there; false: resume")
    reason: str = Field(max_length=controls.MAX_REASON, description="Kept in the audit trail")
    confirm: bool = Field(description="true: the trader confirmed the change")


class ControlOut(Envelope):
    key: str
    label: str
    connection_id: str = Field(alias="connectionId")
    primary: bool
    paused: bool
    health: str = Field(description="The connection's health word (Connected, Down...)")
    can_be_primary: bool = Field(alias="canBePrimary")
    refusal: str = Field(description="Why it cannot become the primary now; empty when it can")


class PausedBrokerOut(Envelope):
    label: str
    status: str


class TradingPausedOut(Envelope):
    paused: bool = Field(description="true: no connected broker can take an order now")
    queued: int = Field(description="Orders waiting in the queue")
    brokers: list[PausedBrokerOut]


class ControlsOut(Envelope):
    version: int
    priority: list[str]
    brokers: list[ControlOut]
    kill_switch: KillSwitchOut = Field(alias="killSwitch")
    trading_paused: TradingPausedOut = Field(alias="tradingPaused")


INVALID = OpenApiResponse(ErrorOut, description="Problems, each with its field path")
NOT_FOUND = OpenApiResponse(ErrorOut, description="Not yours, or no such thing")
CONFLICT = OpenApiResponse(ConflictOut, description="Saved meanwhile: both versions")


# --- Helpers ----------------------------------------------------------------------------------
def _problems(problems: list[Problem], code: int = status.HTTP_400_BAD_REQUEST) -> Response:
    return Response(
        {
            "error": {
                "code": "invalid",
                "message": problems[0].message if problems else "Invalid.",
                "problems": [p.as_dict() for p in problems],
            }
        },
        status=code,
    )


def _envelope(model: type[Envelope], data) -> Envelope:
    """The request envelope; the document inside it is validated by the engine later."""
    if not isinstance(data, dict):
        raise Invalid([Problem("", "The body must be a JSON object.")])
    fields = {f.alias or name for name, f in model.model_fields.items()}
    problems = [
        Problem(str(key), f"“{key}” is not a field of this request.")
        for key in data
        if key not in fields
    ]
    for name, info in model.model_fields.items():
        key = info.alias or name
        if key not in data:
            if info.is_required():
                problems.append(Problem(key, f"{key} is required."))
            continue
        if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
            continue  # a policy document: the engine reads it, with its own field paths
        try:  # the envelope's own values (version, reason, on...), by their declared type
            check_value(Annotated[info.annotation, Strict(), *info.metadata], data[key], key)
        except Invalid as invalid:
            problems += invalid.problems
    if problems:
        raise Invalid(problems)
    return data


def _version(data: dict) -> int:
    return check_value(Count, data.get("version"), "version")


def _conflict(conflict: Conflict) -> Response:
    return Response(
        {
            "error": {
                "code": "conflict",
                "message": (
                    f"Saved meanwhile: the policy is at version {conflict.current.version}, "
                    f"your edit started from {conflict.expected}. Nothing of yours was saved."
                ),
                "current": {
                    "version": conflict.current.version,
                    "document": conflict.current.document,
                },
                "yours": conflict.attempted,
            }
        },
        status=status.HTTP_409_CONFLICT,
    )


def _saved(revision: PolicyRevision | None, version: int) -> Response:
    if revision is None:
        return Response({"version": version, "revision": None, "changes": []})
    return Response(
        {"version": revision.number, "revision": revision.number, "changes": revision.changes}
    )


def _outcome(request, change, answer=None) -> Response:
    """Run ``change`` (parse the request, save a revision) and answer: the revision (through
    ``answer``, given the revision or None when nothing changed), the problems (400), or the
    conflict with both versions (409)."""
    try:
        revision = change()
    except Invalid as invalid:
        return _problems(invalid.problems)
    except Conflict as conflict:
        return _conflict(conflict)
    except NothingChanged:
        revision = None
    if answer is not None:
        return answer(revision)
    if revision is None:
        return _saved(None, services.policy_for(request.user).version)
    return _saved(revision, revision.number)


def _save(request, document, version: int) -> PolicyRevision:
    return services.save_profile(
        user=request.user, document=document, version=version, author=request.user
    )


def _policy_body(user) -> dict:
    state = services.editing(user)
    policy = state.policy
    return {
        "version": state.version,
        "document": state.document,
        "accounts": [
            {
                "key": a.key,
                "broker": a.broker,
                "connectionId": a.connection_id,
                "accountId": a.account_id,
                "label": a.label,
            }
            for a in state.accounts.values()
        ],
        "killSwitch": {
            "on": policy.kill_switch,
            "reason": policy.kill_switch_reason,
            "since": policy.kill_switch_at.isoformat() if policy.kill_switch_at else None,
            "cancelOpenOrders": policy.kill_switch_cancel_open,
        },
    }


def _preview_body(preview: transfer.Preview) -> dict:
    return {
        "ok": preview.ok,
        "version": preview.version,
        "changes": preview.changes,
        "problems": [p.as_dict() for p in preview.problems],
        "mapping": preview.mapping,
        "skipped": preview.skipped,
        "migratedFrom": preview.migrated_from,
    }


class PolicyView(APIView):
    parser_classes = [PolicyJsonParser]


# --- Endpoints --------------------------------------------------------------------------------
class PolicyApi(PolicyView):
    @extend_schema(responses=PolicyOut, summary="Your whole policy profile")
    def get(self, request):
        return Response(_policy_body(request.user))

    @extend_schema(
        request=PolicyIn,
        responses={200: SavedOut, 400: INVALID, 409: CONFLICT},
        summary="Save the whole profile (a new revision)",
    )
    def put(self, request):
        def change():
            data = _envelope(PolicyIn, request.data)
            return _save(request, data["document"], _version(data))

        return _outcome(request, change)


class GlobalPolicyApi(PolicyView):
    @extend_schema(
        request=GlobalIn,
        responses={200: SavedOut, 400: INVALID, 409: CONFLICT},
        summary="Save the global policy",
    )
    def put(self, request):
        def change():
            data = _envelope(GlobalIn, request.data)
            document = services.editing(request.user).document
            document["global"] = data["global"]
            return _save(request, document, _version(data))

        return _outcome(request, change)


class BrokerSettingsApi(PolicyView):
    def _key(self, request, pk) -> tuple[str, services.Editing]:
        get_object_or_404(BrokerConnection, pk=pk, user=request.user)
        state = services.editing(request.user)
        for key, account in state.accounts.items():
            if account.connection_id == str(pk):
                return key, state
        raise Http404("This connection is disconnected: it has no settings.")

    @extend_schema(responses={200: BrokerOut, 404: NOT_FOUND}, summary="One broker's settings")
    def get(self, request, pk):
        key, state = self._key(request, pk)
        return Response(
            {"key": key, "version": state.version, "settings": state.document["brokers"][key]}
        )

    @extend_schema(
        request=BrokerIn,
        responses={200: SavedOut, 400: INVALID, 404: NOT_FOUND, 409: CONFLICT},
        summary="Save one broker's settings",
    )
    def put(self, request, pk):
        key, state = self._key(request, pk)

        def change():
            data = _envelope(BrokerIn, request.data)
            settings = data["settings"]
            broker = state.accounts[key].broker
            if not isinstance(settings, dict) or settings.get("broker") != broker:
                raise Invalid(
                    [
                        Problem(
                            "settings.broker",
                            f"settings.broker must be “{broker}”, the broker of this connection.",
                        )
                    ]
                )
            document = state.document
            document["brokers"][key] = settings
            return _save(request, document, _version(data))

        return _outcome(request, change)


class ValidateApi(PolicyView):
    @extend_schema(
        request=ValidateIn,
        responses={200: ValidOut, 400: INVALID},
        summary="Validate a profile without saving it",
        description="200 when the document would save; 400 with every problem and its field "
        "path when it would not (the same answer a save gives).",
    )
    def post(self, request):
        try:
            data = _envelope(ValidateIn, request.data)
            services.check(request.user, data["document"])
        except Invalid as invalid:
            return _problems(invalid.problems)
        return Response({"valid": True, "problems": []})


class ExportApi(APIView):
    @extend_schema(responses=Profile, summary="Export the profile (no secret in it)")
    def get(self, request):
        body = json.dumps(transfer.export(request.user), indent=2, ensure_ascii=False)
        response = HttpResponse(body, content_type="application/json")
        response["Content-Disposition"] = 'attachment; filename="policy.json"'
        return response


class ImportApi(PolicyView):
    @extend_schema(
        request=Profile,
        parameters=[
            OpenApiParameter("dryRun", bool, default=True, description="Only show the changes"),
            OpenApiParameter("skipUnmapped", bool, default=False),
            OpenApiParameter("version", int, description="Required to apply: your version now"),
        ],
        responses={200: PreviewOut, 400: INVALID, 409: CONFLICT},
        summary="Import a profile: a dry run by default, then all or nothing",
        description="A document with problems is refused (400) with every problem and its "
        "field path, dry run or not; a good one answers its changes (and, with "
        "dryRun=false, applies them as one revision).",
    )
    def post(self, request):
        params = request.query_params
        problems = [
            Problem(name, f"{name} is true or false.")
            for name in ("dryRun", "skipUnmapped")
            if params.get(name, "true").lower() not in ("true", "false")
        ]
        if "version" in params:
            try:
                version = check_value(Count, params["version"], "version")
            except Invalid as invalid:
                problems += invalid.problems
        if problems:
            return _problems(problems)
        dry_run = params.get("dryRun", "true").lower() == "true"
        skip = params.get("skipUnmapped", "false").lower() == "true"
        preview = transfer.prepare(request.user, request.data, skip_unmapped=skip)
        if preview.problems:
            return _problems(preview.problems)
        if dry_run:
            return Response(_preview_body(preview))
        if "version" not in params:
            return _problems([Problem("version", "Give the version the dry run showed.")])

        def change():
            return transfer.apply(
                request.user, request.data, version=version, author=request.user, skip_unmapped=skip
            )

        def answer(revision):
            if revision is not None:
                preview.changes, preview.version = revision.changes, revision.number
            return Response(_preview_body(preview))

        return _outcome(request, change, answer)


def _template_list(user) -> list[dict]:
    built_in = [
        {"id": slug, "name": p.name, "description": p.description, "builtIn": True}
        for slug, p in presets.PRESETS.items()
    ]
    own = [
        {"id": str(t.pk), "name": t.name, "description": t.description, "builtIn": False}
        for t in PolicyTemplate.objects.filter(user=user)
    ]
    return built_in + own


class TemplatesApi(PolicyView):
    @extend_schema(responses=TemplatesOut, summary="Built-in presets and your own templates")
    def get(self, request):
        return Response(_template_list(request.user))

    @extend_schema(
        request=TemplateIn,
        responses={201: TemplateOut, 400: INVALID},
        summary="Keep the current profile as your own template",
    )
    def post(self, request):
        try:
            data = _envelope(TemplateIn, request.data)
            template = presets.save_template(
                request.user, name=data["name"], description=str(data.get("description", ""))
            )
        except Invalid as invalid:
            return _problems(invalid.problems)
        return Response(
            {
                "id": str(template.pk),
                "name": template.name,
                "description": template.description,
                "builtIn": False,
            },
            status=status.HTTP_201_CREATED,
        )


def _template(request, template_id: str):
    if template_id in presets.PRESETS:
        return template_id
    # ASCII digits within a bigint: "³" is a digit to str.isdigit but not to int().
    if not (template_id.isascii() and template_id.isdigit() and len(template_id) <= 18):
        raise Http404("No such template.")
    return get_object_or_404(PolicyTemplate, pk=int(template_id), user=request.user)


class TemplateApi(PolicyView):
    @extend_schema(responses={204: None, 400: INVALID, 404: NOT_FOUND}, summary="Delete yours")
    def delete(self, request, template_id):
        template = _template(request, template_id)
        if isinstance(template, str):
            return _problems([Problem("id", "Built-in presets cannot be deleted.")])
        template.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class TemplatePreviewApi(PolicyView):
    @extend_schema(
        request=None,
        responses={200: PreviewOut, 404: NOT_FOUND},
        summary="What applying a template would change",
    )
    def post(self, request, template_id):
        template = _template(request, template_id)
        if isinstance(template, str):
            preview = presets.preview_preset(request.user, template)
        else:
            preview = presets.preview_template(request.user, template)
        return Response(_preview_body(preview))


class TemplateApplyApi(PolicyView):
    @extend_schema(
        request=ApplyIn,
        responses={200: SavedOut, 400: INVALID, 404: NOT_FOUND, 409: CONFLICT},
        summary="Apply a template as one revision",
    )
    def post(self, request, template_id):
        template = _template(request, template_id)

        def change():
            version = _version(_envelope(ApplyIn, request.data))
            if isinstance(template, str):
                return presets.apply_preset(
                    request.user, template, version=version, author=request.user
                )
            return presets.apply_template(
                request.user, template, version=version, author=request.user
            )

        return _outcome(request, change)


def _revision_body(revision: PolicyRevision) -> dict:
    return {
        "number": revision.number,
        "source": revision.source,
        "note": revision.note,
        "author": revision.author.username if revision.author else None,
        "createdAt": revision.created_at.isoformat(),
        "changes": revision.changes,
    }


class HistoryApi(APIView):
    @extend_schema(responses=RevisionsOut, summary="Every revision, newest first")
    def get(self, request):
        policy = services.policy_for(request.user)
        revisions = policy.revisions.select_related("author")[:200]
        return Response([_revision_body(r) for r in revisions])


class RevertApi(PolicyView):
    @extend_schema(
        request=ApplyIn,
        responses={200: SavedOut, 400: INVALID, 404: NOT_FOUND, 409: CONFLICT},
        summary="Make an old revision current again (itself a new revision)",
    )
    def post(self, request, number):
        policy = services.policy_for(request.user)
        get_object_or_404(PolicyRevision, policy=policy, number=number)

        def change():
            version = _version(_envelope(ApplyIn, request.data))
            return services.revert(
                user=request.user, number=number, version=version, author=request.user
            )

        return _outcome(request, change)


class KillSwitchApi(PolicyView):
    @extend_schema(responses=KillSwitchOut, summary="The kill switch")
    def get(self, request):
        return Response(_policy_body(request.user)["killSwitch"])

    @extend_schema(
        request=KillSwitchIn,
        responses={200: KillSwitchOut, 400: INVALID},
        summary="Switch every new order off at once, or back on",
    )
    def post(self, request):
        try:
            data = _envelope(KillSwitchIn, request.data)
            on = check_value(StrictBool, data.get("on"), "on")
            reason = str(data.get("reason", ""))[:300]
            cancel = check_value(
                StrictBool, data.get("cancelOpenOrders", False), "cancelOpenOrders"
            )
            if on and not reason.strip():
                raise Invalid([Problem("reason", "Say why: it is kept with the switch.")])
            if any(ord(c) < 32 or ord(c) == 127 for c in reason):
                raise Invalid([Problem("reason", "Plain text on one line, please.")])
        except Invalid as invalid:
            return _problems(invalid.problems)
        if on:
            services.arm_kill_switch(
                user=request.user, actor=request.user, reason=reason, cancel_open_orders=cancel
            )
        else:
            services.release_kill_switch(user=request.user, actor=request.user, reason=reason)
        return Response(_policy_body(request.user)["killSwitch"])


def _controls_body(user) -> dict:
    body = _policy_body(user)
    return {
        "version": body["version"],
        "priority": list(body["document"]["global"]["routing"]["priority"]),
        "brokers": [
            {
                "key": c.key,
                "label": c.label,
                "connectionId": c.connection_id,
                "primary": c.primary,
                "paused": c.paused,
                "health": c.health_word,
                "canBePrimary": not c.refusal,
                "refusal": c.refusal,
            }
            for c in controls.controls(user)
        ],
        "killSwitch": body["killSwitch"],
        "tradingPaused": _trading_paused(user),
    }


def _trading_paused(user) -> dict:
    paused = emergency.trading_paused(user)
    if paused is None:
        return {"paused": False, "queued": 0, "brokers": []}
    return {
        "paused": True,
        "queued": paused.queued,
        "brokers": [{"label": label, "status": word} for label, word in paused.brokers],
    }


def _confirmed(data: dict) -> None:
    if data.get("confirm") is not True:
        raise Invalid([Problem("confirm", 'Confirm the change: send "confirm": true.')])


class ControlsApi(PolicyView):
    @extend_schema(
        responses=ControlsOut,
        summary="The manual controls: each broker's role and health, and the kill switch",
    )
    def get(self, request):
        return Response(_controls_body(request.user))


class PrimaryApi(PolicyView):
    @extend_schema(
        request=PrimaryIn,
        responses={200: ControlsOut, 400: INVALID, 404: NOT_FOUND},
        summary="Make this broker the primary now (first of the priority list)",
    )
    def post(self, request, pk):
        connection = get_object_or_404(BrokerConnection, pk=pk, user=request.user)
        try:
            data = _envelope(PrimaryIn, request.data)
            _confirmed(data)
            controls.switch_primary(
                user=request.user,
                connection=connection,
                reason=data["reason"],
                author=request.user,
            )
        except Invalid as invalid:
            return _problems(invalid.problems)
        return Response(_controls_body(request.user))


class PauseApi(PolicyView):
    @extend_schema(
        request=PauseIn,
        responses={200: ControlsOut, 400: INVALID, 404: NOT_FOUND},
        summary="Pause this broker for new orders, or resume it",
    )
    def post(self, request, pk):
        connection = get_object_or_404(BrokerConnection, pk=pk, user=request.user)
        try:
            data = _envelope(PauseIn, request.data)
            _confirmed(data)
            controls.pause_broker(
                user=request.user,
                connection=connection,
                paused=data["paused"],
                reason=data["reason"],
                author=request.user,
            )
        except Invalid as invalid:
            return _problems(invalid.problems)
        return Response(_controls_body(request.user))


class SchemaApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        responses={(200, "application/schema+json"): OpenApiTypes.OBJECT},
        summary="The policy file's JSON Schema",
    )
    def get(self, request):
        return HttpResponse(SCHEMA_FILE.read_bytes(), content_type="application/schema+json")
