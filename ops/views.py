"""/metrics and /readyz, for the operator's tools and load balancers only.

Both need the operator's token (``OPS_TOKEN``) as ``Authorization: Bearer <token>``; anything
else is refused with 401 before any work is done. Without OPS_TOKEN set they refuse everyone
(403 naming the setting): an installation never exposes them by accident.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from ops import metrics, readiness


def _refusal(request) -> HttpResponse | None:
    expected = settings.OPS_TOKEN
    if not expected:
        return JsonResponse(
            {"error": "This endpoint is off: set OPS_TOKEN to give operators a token."},
            status=403,
        )
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), expected.encode()
    ):
        answer = JsonResponse(
            {"error": "Operator token required: Authorization: Bearer <OPS_TOKEN>."},
            status=401,
        )
        answer["WWW-Authenticate"] = 'Bearer realm="operations"'
        return answer
    return None


@never_cache
@require_GET
def metrics_view(request):
    refused = _refusal(request)
    if refused is not None:
        return refused
    return HttpResponse(metrics.exposition(), content_type=CONTENT_TYPE_LATEST)


@never_cache
@require_GET
def readyz(request):
    refused = _refusal(request)
    if refused is not None:
        return refused
    results = readiness.check()
    ok = readiness.ready(results)
    return JsonResponse(
        {"status": "ready" if ok else "not ready", **results}, status=200 if ok else 503
    )
