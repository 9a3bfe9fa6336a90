from pathlib import Path

from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.views.defaults import page_not_found


def healthz(request):
    """Liveness for load balancers and docker compose: the database and the cache answer."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception:
        checks["database"] = "down"
    try:
        cache.set("healthz", "1", 5)
        checks["cache"] = "ok" if cache.get("healthz") == "1" else "down"
    except Exception:
        checks["cache"] = "down"
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "down", **checks}, status=200 if healthy else 503
    )


def not_found(request, exception):
    """A URL no route matches: under /api/ in the API's error shape, as its other errors."""
    if request.path.startswith("/api/"):
        body = {"error": {"code": "not_found", "message": "No such endpoint or object."}}
        return JsonResponse(body, status=404)
    return page_not_found(request, exception)


ICON = (Path(__file__).resolve().parents[1] / "static" / "img" / "favicon.svg").read_bytes()


def favicon(request):
    """Browsers ask for /favicon.ico whatever the page links: the site's icon, not a 404
    (served here, so it carries the site's headers like every other answer)."""
    response = HttpResponse(ICON, content_type="image/svg+xml")
    response["Cache-Control"] = "public, max-age=86400"
    return response
