"""Every JSON body is bounded in size and depth before it is parsed.

Python's json module recurses once per level of nesting, so about a thousand ``[`` raise
RecursionError (a 500) and a large body costs memory and CPU before any validation runs. One
check, ``check()``, applies the two limits (``JSON_BODY_MAX_BYTES``, ``JSON_BODY_MAX_DEPTH``)
and is used in three places:

- ``BoundedJsonBodies``, a middleware in front of every view: a body declared as JSON, or any
  body that is not a form and starts like JSON, is checked before the view runs; a refusal is
  a 400 naming the limit, in the API's error shape.
- ``JSONParser``, the API's parser: it reads at most the size limit from the stream and parses
  through ``loads()``.
- ``loads()`` wherever JSON that a client wrote is parsed by hand (the sandbox's request
  bodies and token claims), so a body the middleware let through as a form is bounded too.

The depth is counted without parsing: strings are cut out and the brackets left are summed
(+1 open, -1 close) by C-level iterators. Measured on the 2-core CI host, against json.loads
of the same text: a typical 1 MB body (objects of strings and numbers) 23 ms against 19 ms; a
1 MB body of nothing but ``[]`` 70 ms (json.loads fails at once); 1,000 levels 0.3 ms.
Bodies here are a few hundred bytes, so the check costs microseconds; the default size limit
keeps the worst case near 18 ms. No JSON library offers a configurable depth limit with the
standard library's behaviour (DRF's parser options, Decimal parsing in the sandbox).
"""

from __future__ import annotations

import json
import re
from itertools import accumulate

from django.conf import settings
from django.http import JsonResponse
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils import json as drf_json

# A JSON string (escapes included), or a run of anything that is neither a bracket nor a quote.
_NOT_BRACKETS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[^\[\]{}"]+')
# An unterminated string leaves its quote behind: it counts for nothing.
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1, '"': 0}
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
_JSON_WHITESPACE = " \t\n\r"


class JsonBodyRejected(ValueError):
    """A body over a limit; ``code`` and the message (which names the limit) are for clients."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _text(raw: bytes | str) -> str | None:
    """The body as json.loads would read it (UTF-8, -16 or -32); None if it cannot decode."""
    if isinstance(raw, str):
        return raw
    try:
        return raw.decode(json.detect_encoding(raw), "surrogatepass")
    except (UnicodeDecodeError, LookupError):
        return None


def check(raw: bytes | str, *, max_bytes: int | None = None) -> None:
    """Raise JsonBodyRejected when ``raw`` is over the size or the depth limit. ``max_bytes``:
    a document with a size rule of its own (a policy file read from an upload)."""
    max_bytes = max_bytes or settings.JSON_BODY_MAX_BYTES
    size = len(raw.encode() if isinstance(raw, str) else raw)
    if size > max_bytes:
        raise JsonBodyRejected(
            "body_too_large",
            f"The JSON body is {size:,} bytes; the limit is {max_bytes:,} bytes.",
        )
    text = _text(raw)
    if text is None:  # not JSON at all: json.loads refuses it before parsing anything
        return
    max_depth = settings.JSON_BODY_MAX_DEPTH
    depth = max(accumulate(map(_STEP.__getitem__, _NOT_BRACKETS.sub("", text))), default=0)
    if depth > max_depth:
        raise JsonBodyRejected(
            "json_too_deep",
            f"The JSON body is nested {depth} levels deep; the limit is {max_depth} levels.",
        )


def loads(raw: bytes | str, **options):
    """json.loads, after ``check()``: JsonBodyRejected (a ValueError) over a limit."""
    check(raw)
    return json.loads(raw, **options)


def looks_like_json(raw: bytes) -> bool:
    text = _text(raw[:64])
    return bool(text) and text.lstrip(_JSON_WHITESPACE + "\ufeff")[:1] in ("[", "{")


def _declared_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def refusal(rejected: JsonBodyRejected) -> JsonResponse:
    body = {"error": {"code": rejected.code, "message": rejected.message}}
    return JsonResponse(body, status=400)


class BoundedJsonBodies:
    """Middleware: refuse an over-limit JSON body before any view or parser reads it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        content_type = request.META.get("CONTENT_TYPE", "")
        declared = _declared_json(content_type)
        if not declared and content_type.split(";", 1)[0].strip().lower() in _FORMS:
            return self.get_response(request)  # Django's form parsers have their own limits
        length = request.META.get("CONTENT_LENGTH") or "0"
        try:
            announced = int(length)
        except ValueError:
            announced = 0
        if announced <= 0:
            return self.get_response(request)
        if declared and announced > settings.JSON_BODY_MAX_BYTES:
            # Refused without reading a byte of it.
            return refusal(
                JsonBodyRejected(
                    "body_too_large",
                    f"The JSON body is {announced:,} bytes; the limit is "
                    f"{settings.JSON_BODY_MAX_BYTES:,} bytes.",
                )
            )
        raw = request.body
        if declared or looks_like_json(raw):
            try:
                check(raw)
            except JsonBodyRejected as rejected:
                return refusal(rejected)
        return self.get_response(request)


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, reading at most the size limit and parsing through ``loads()``."""

    def parse(self, stream, media_type=None, parser_context=None):
        if stream is None:
            return None
        raw = stream.read(settings.JSON_BODY_MAX_BYTES + 1)
        try:
            text = raw.decode(parsers.get_encoding(parser_context or {}))
            return loads(text, parse_constant=drf_json.strict_constant if self.strict else None)
        except JsonBodyRejected as rejected:
            raise ParseError(rejected.message, code=rejected.code) from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
