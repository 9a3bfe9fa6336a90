"""What changed between two profile documents, as field paths.

A few lines over the JSON form rather than a diff library: the documents are small, their
shape is known, and a path per leaf (lists of plain values count as one leaf, so a reordered
priority list is one change) is exactly what the history and the previews show.
"""

from __future__ import annotations

from typing import Any

MISSING = None


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        if not out and prefix:
            return {prefix: {}}  # an empty group is a value too
        return out
    if isinstance(value, list) and any(isinstance(item, dict) for item in value):
        out = {}
        for i, item in enumerate(value):
            out.update(flatten(item, f"{prefix}[{i}]"))
        return out
    return {prefix: value}


def diff(before: dict, after: dict) -> list[dict]:
    """[{"path", "before", "after"}] for every leaf that differs, in document order."""
    old, new = flatten(before), flatten(after)
    changes = []
    for path in [*old, *(p for p in new if p not in old)]:
        a, b = old.get(path, MISSING), new.get(path, MISSING)
        if a != b:
            changes.append({"path": path, "before": a, "after": b})
    return changes
