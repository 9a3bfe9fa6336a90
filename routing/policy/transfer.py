"""Export and import of a whole profile, and applying a profile-shaped document (a template).

The file is the profile document itself (``schema_version`` 2, JSON Schema published at
/api/v1/policy/schema.json and kept in routing/policy/policy.schema.json). It holds no secret:
no token, key, secret or PIN is part of a profile, and custom settings refuse such names.

An import is read (size, encoding, JSON, nesting), migrated forward from an older
``schema_version``, mapped onto the importing trader's connections by broker (routing.policy.
mapping), laid over the current profile (brokers not in the file keep their settings), then
validated: ``prepare`` gives the changes and every problem without saving anything; ``apply``
saves it as one revision, all or nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal

from config import jsonbody
from routing.models import PolicyRevision
from routing.policy import mapping
from routing.policy.diff import diff
from routing.policy.schema import SCHEMA_VERSION, BrokerSettings
from routing.policy.services import Editing, editing, save_profile
from routing.policy.validation import (
    BROKER_NAMES,
    MAX_DEPTH,
    Context,
    Invalid,
    Problem,
    check_value,
    depth,
    validate,
)

MAX_BYTES = 1_000_000  # a full profile of 50 brokers is about 150 KB


# --- Reading a file ---------------------------------------------------------------------------
def read(data: bytes | str) -> dict:
    """The JSON document in ``data``, or Invalid saying what is wrong with the file."""
    try:
        jsonbody.check(data, max_bytes=MAX_BYTES)  # size and nesting, before parsing
    except jsonbody.JsonBodyRejected as rejected:
        raise Invalid([Problem("", rejected.message)]) from None
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise Invalid([Problem("", "The file is not UTF-8 text: export it again.")]) from None
    try:
        document = json.loads(data, parse_float=Decimal)
    except json.JSONDecodeError as error:
        raise Invalid(
            [
                Problem(
                    "",
                    f"This is not valid JSON: {error.msg.lower()} at line {error.lineno}, "
                    f"column {error.colno}.",
                )
            ]
        ) from None
    if not isinstance(document, dict):
        raise Invalid([Problem("", "A policy file holds one JSON object ({ … }).")])
    if depth(document) > MAX_DEPTH:
        raise Invalid([Problem("", "The document is nested deeper than any policy.")])
    return document


# --- Older versions, migrated forward ---------------------------------------------------------
def _v1_to_v2(document: dict) -> dict:
    """Version 1 kept the global policy under "policy", the brokers as a list of
    {"key", "broker", ...sections}, and the request timeout in milliseconds."""
    out = {k: v for k, v in document.items() if k not in ("policy", "brokers", "schema_version")}
    out["schema_version"] = 2
    if "policy" in document:
        out["global"] = document["policy"]
    brokers = document.get("brokers", [])
    if isinstance(brokers, list):
        converted = {}
        for i, entry in enumerate(brokers):
            if not isinstance(entry, dict):
                raise Invalid([Problem(f"brokers[{i}]", "Each broker must be a JSON object.")])
            entry = dict(entry)
            key = entry.pop("key", None) or entry.get("broker")
            api = entry.get("api")
            if isinstance(api, dict) and "request_timeout_ms" in api:
                api = dict(api)
                milliseconds = api.pop("request_timeout_ms")
                if isinstance(milliseconds, int | Decimal) and not isinstance(milliseconds, bool):
                    api["request_timeout_seconds"] = str(Decimal(milliseconds) / 1000)
                else:
                    api["request_timeout_seconds"] = milliseconds
                entry["api"] = api
            converted[str(key)] = entry
        out["brokers"] = converted
    else:
        out["brokers"] = brokers
    return out


MIGRATIONS = {1: _v1_to_v2}


def migrate(document: dict) -> tuple[dict, int]:
    """``document`` brought to the current schema version; also the version it came in."""
    version = document.get("schema_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise Invalid(
            [Problem("schema_version", f"Say which schema version this is (now {SCHEMA_VERSION}).")]
        )
    if version > SCHEMA_VERSION:
        raise Invalid(
            [
                Problem(
                    "schema_version",
                    f"Version {version} is newer than this installation reads ({SCHEMA_VERSION}).",
                )
            ]
        )
    if version < min(MIGRATIONS):
        raise Invalid([Problem("schema_version", f"Version {version} is too old to import.")])
    came_in = version
    while version < SCHEMA_VERSION:
        document = MIGRATIONS[version](document)
        version = document["schema_version"]
    return document, came_in


# --- Export -------------------------------------------------------------------------------------
def export(user) -> dict:
    """The trader's whole profile as a document: every connected broker, no secret."""
    return editing(user).document


# --- Import -------------------------------------------------------------------------------------
@dataclass
class Preview:
    """What an import (or a template) would do: the changes, or the problems."""

    document: dict
    version: int  # the profile version it was prepared against
    changes: list[dict] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)  # key in the file → your key
    skipped: list[str] = field(default_factory=list)  # brokers of the file left out
    migrated_from: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def prepare(user, document: dict, *, skip_unmapped: bool = False) -> Preview:
    """Dry run: migrate, map, merge and validate ``document`` against the current profile."""
    state = editing(user)
    try:
        document, came_in = migrate(document)
    except Invalid as invalid:
        return Preview(document={}, version=state.version, problems=invalid.problems)
    moved = mapping.plan(document, state.accounts)
    left = mapping.unmapped(document, moved)
    skipped: list[str] = []
    problems: list[Problem] = []
    if left and skip_unmapped:
        # Left out, but still read: a malformed entry is an error even when it is skipped.
        for key in left:
            try:
                check_value(BrokerSettings, document["brokers"][key], f"brokers.{key}")
            except Invalid as invalid:
                problems += invalid.problems
        document, skipped = mapping.without(document, left), left
    elif left:
        for key in left:
            problems.append(_unmapped_problem(document, key))
        document = mapping.without(document, left)
    renamed = mapping.rename(document, moved)
    preview = preview_document(state, renamed, problems)
    preview.mapping = {k: v for k, v in moved.items() if k not in skipped}
    preview.skipped = skipped
    preview.migrated_from = came_in if came_in != SCHEMA_VERSION else None
    return preview


def _unmapped_problem(document: dict, key: str) -> Problem:
    entry = document.get("brokers", {}).get(key)
    broker = entry.get("broker") if isinstance(entry, dict) else None
    name = BROKER_NAMES.get(broker) if isinstance(broker, str) else None
    if name is None:
        return Problem(f"brokers.{key}.broker", "Say which broker these settings are for.")
    return Problem(
        f"brokers.{key}",
        f"You have no {name} connection left to take these settings: connect one, or import "
        f"without the brokers you have not connected.",
    )


def preview_document(state: Editing, incoming: dict, problems: list[Problem]) -> Preview:
    """``incoming`` laid over the current profile and validated."""
    current = state.document
    combined = {
        "schema_version": SCHEMA_VERSION,
        "global": incoming.get("global", current["global"]),
        "brokers": {**current["brokers"], **(incoming.get("brokers") or {})}
        if isinstance(incoming.get("brokers", {}), dict)
        else incoming.get("brokers"),
    }
    for key, value in incoming.items():
        if key not in ("schema_version", "global", "brokers"):
            combined[key] = value  # validation names what does not belong
    try:
        profile = validate(combined, Context(accounts=state.accounts))
    except Invalid as invalid:
        problems = problems + invalid.problems
        return Preview(document=combined, version=state.version, problems=problems)
    document = profile.document()
    return Preview(
        document=document,
        version=state.version,
        changes=diff(current, document),
        problems=problems,
    )


def apply(
    user,
    document: dict,
    *,
    version: int,
    author=None,
    skip_unmapped: bool = False,
    source: str = PolicyRevision.Source.IMPORT,
    note: str = "Imported",
) -> PolicyRevision:
    """Save what ``prepare`` showed, as one revision. Raises Invalid (nothing saved) when the
    document has problems, and Conflict when the profile changed since ``version``."""
    preview = prepare(user, document, skip_unmapped=skip_unmapped)
    if preview.problems:
        raise Invalid(preview.problems)
    return save_profile(
        user=user,
        document=preview.document,
        version=version,
        author=author,
        source=source,
        note=note,
    )
