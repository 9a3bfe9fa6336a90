"""Every URL of the project as a concrete path, read from the URL configuration itself, so a
test that walks them covers the endpoints added later without a hand-kept list."""

import re
import uuid
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern

_CONVERTER = re.compile(r"<(?:(?P<kind>\w+):)?(?P<name>\w+)>")
_PLAIN_REGEX = re.compile(r"^[\w\-./]*$")


@dataclass(frozen=True)
class Route:
    path: str
    name: str  # "namespace:name", or "" when the pattern has none
    pattern: URLPattern


def _concrete(pattern, values: dict[str, str], placeholder: str | None) -> str | None:
    if isinstance(pattern, RoutePattern):

        def fill(match):
            name, kind = match["name"], match["kind"] or "str"
            if placeholder is not None:
                return placeholder
            if name in values:
                return values[name]
            return {"uuid": str(uuid.uuid4()), "int": "1", "slug": "x", "path": "x"}.get(kind, "x")

        return _CONVERTER.sub(fill, str(pattern))
    if isinstance(pattern, RegexPattern):
        text = str(pattern._regex).removeprefix("^").removesuffix("$").replace("/?", "/")
        return text if _PLAIN_REGEX.match(text) else None  # groups (admin's): left out
    return None


def routes(values: dict[str, str] | None = None, *, placeholder: str | None = None) -> list[Route]:
    """Every URL pattern the project serves, its path parameters filled from ``values`` (by
    name) or made up — or all of them ``placeholder``, to compare with path templates; regex
    patterns with groups (Django admin's own) are left out."""
    values = values or {}
    found: list[Route] = []

    def walk(patterns, prefix: str, namespace: str):
        for entry in patterns:
            part = _concrete(entry.pattern, values, placeholder)
            if part is None:
                continue
            if isinstance(entry, URLResolver):
                inner = ":".join(n for n in (namespace, entry.namespace or "") if n)
                walk(entry.url_patterns, prefix + part, inner)
            else:
                name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
                found.append(Route("/" + prefix + part, name or "", entry))

    walk(get_resolver().url_patterns, "", "")
    return found
