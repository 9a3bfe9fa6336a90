"""API conventions shared by every endpoint: camelCase JSON and one error body shape."""

import re

from django.http import Http404
from rest_framework.exceptions import NotFound
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    """Errors are ``{"error": {"code", "message", "fields"?}}`` so clients parse one shape."""
    if isinstance(exc, Http404):
        exc = NotFound("No such object of yours.")
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    code = getattr(exc, "default_code", "error")
    if isinstance(getattr(exc, "detail", None), dict | list):
        codes = exc.get_codes() if hasattr(exc, "get_codes") else None
        code = "invalid" if codes is not None else code
        fields = _camel_keys(data) if isinstance(data, dict) else {"nonFieldErrors": data}
        message = _first_message(data)
        response.data = {"error": {"code": code, "message": message, "fields": fields}}
    else:
        code = getattr(getattr(exc, "detail", None), "code", None) or code
        response.data = {"error": {"code": code, "message": str(data.get("detail", data))}}
    return response


def camel(name: str) -> str:
    return re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), name)


def _camel_keys(data: dict) -> dict:
    return {camel(str(k)): v for k, v in data.items()}


def _first_message(data) -> str:
    while isinstance(data, dict | list) and data:
        data = next(iter(data.values())) if isinstance(data, dict) else data[0]
    return str(data) if data else "Invalid input."
