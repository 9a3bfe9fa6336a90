"""Page input → the profile document, so the pages go through the same validation engine as
the API and import, with the same field paths.

Each input is named by its path in the document (``brokers.zerodha.risk.max_daily_loss``,
``global.failover.rules[0].threshold``), with a suffix for how to read it:

- no suffix: text; empty means "not set" (None);
- ``:list``: every value of the name (checkboxes; a hidden empty value keeps an all-unchecked
  group posted);
- ``:bool``: a checkbox after a hidden "0" (the last value wins);
- ``:lines``: a text area, one entry per line or comma;
- ``:rows``: (a hidden input whose value is a path) the table at that path is rebuilt from the
  rows posted; a row with ``:remove`` checked, or with nothing filled in, is left out.

Only names under the page's own prefix are read; anything else posted is ignored.
"""

from __future__ import annotations

import copy
import re

SUFFIXES = (":list", ":bool", ":lines", ":rows", ":remove")
_PART = re.compile(r"([^.\[\]]+)|\[(\d{1,3})\]")
MAX_FIELDS = 2000


MAX_PARTS = 10  # the deepest setting is 7 parts down: deeper names are not ours


def parts_of(path: str) -> list:
    parts = [int(index) if index else name for name, index in _PART.findall(path)]
    return parts if len(parts) <= MAX_PARTS else []


def slug(path: str) -> str:
    """An element id for a path's error: brokers.zerodha.risk.max_daily_loss → err-brokers-…"""
    return "err-" + re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")


def apply_post(document: dict, post, prefix: str) -> dict:
    """``document`` with the posted values under ``prefix`` set in it."""
    out = copy.deepcopy(document)
    names = [n for n in list(post.keys())[:MAX_FIELDS] if n.startswith(prefix)]
    rows = [post.get(n) for n in names if n.endswith(":rows")]
    for table in rows:
        if table and table.startswith(prefix):
            _set(out, parts_of(table), [])
    removed: set[tuple] = set()
    for name in names:
        path, suffix = _split(name)
        parts = parts_of(path)
        if not parts or suffix == ":rows":
            continue
        if suffix == ":remove":
            if post.get(name):
                removed.add(tuple(parts))
            continue
        values = post.getlist(name)
        if suffix == ":list":
            value = [v for v in values if v != ""]
        elif suffix == ":bool":
            value = (values[-1] if values else "0") not in ("0", "", "false")
        elif suffix == ":lines":
            text = values[-1] if values else ""
            value = [v.strip() for v in re.split(r"[\n,]", text) if v.strip()]
        else:
            text = (values[-1] if values else "").strip()
            value = text if text != "" else None
        _set(out, parts, value)
    for table in rows:
        if table and table.startswith(prefix):
            target = _get(out, parts_of(table))
            if isinstance(target, list):
                target[:] = [
                    row
                    for i, row in enumerate(target)
                    if (*parts_of(table), i) not in removed and _filled(row)
                ]
    return out


def _split(name: str) -> tuple[str, str]:
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)], suffix
    return name, ""


def _filled(row) -> bool:
    if isinstance(row, dict):
        return any(_filled(v) for v in row.values())
    if isinstance(row, list):
        return bool(row)
    return row not in (None, "", False)


def _get(document, parts):
    target = document
    for part in parts:
        try:
            target = target[part]
        except (KeyError, IndexError, TypeError):
            return None
    return target


def _set(document, parts: list, value) -> None:
    target = document
    for i, part in enumerate(parts[:-1]):
        following = parts[i + 1]
        if isinstance(part, int):
            if not isinstance(target, list):
                return
            while len(target) <= part:
                target.append({} if not isinstance(following, int) else [])
            if target[part] is None:
                target[part] = {}
            target = target[part]
        else:
            if not isinstance(target, dict):
                return
            if not isinstance(target.get(part), dict | list):
                target[part] = [] if isinstance(following, int) else {}
            target = target[part]
    last = parts[-1]
    if isinstance(last, int):
        if isinstance(target, list):
            while len(target) <= last:
                target.append(None)
            target[last] = value
    elif isinstance(target, dict):
        target[last] = value
