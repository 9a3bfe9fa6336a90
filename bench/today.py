"""The portfolio API as it answered before the prepared document, served beside it so that
bench_portfolio_api measures both in one run on one server (``bench.today_settings``).

``/bench/today/portfolio``: the serializer's output cached per trader (as a Python dict) and
rendered to JSON on every request, uncompressed, no ETag: the code the document replaced.
With ``?fresh=1`` it serializes on every request too (no cache at all).

``/bench/async/portfolio``: the document's read path as an async view, to see whether async
helps under the production command: the token checked by the API's own authentication
(through sync_to_async), the document read from Redis with redis.asyncio (awaited, so a
worker could serve other requests meanwhile), sent as the API sends it. Redis only.
"""

import pickle

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse, JsonResponse
from django.urls import path
from redis.asyncio import Redis
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import CachedTokenAuthentication
from config.urls import urlpatterns as product
from portfolio import documents, services, tasks
from portfolio.api import _document_response
from portfolio.serializers import ConsolidatedSerializer


class TodaysPortfolioApi(APIView):
    def get(self, request):
        key = f"{services._view_key(request.user.pk)}:api"
        data = None if request.GET.get("fresh") else cache.get(key)
        if data is None:
            data = ConsolidatedSerializer(tasks.consolidated_view(user=request.user)).data
            cache.set(key, data, services.CACHE_SECONDS)
        return Response(data)


_redis: Redis | None = None


def _authenticate(request):
    found = CachedTokenAuthentication().authenticate(request)
    return found[0] if found else None


async def async_document(request) -> HttpResponse:
    global _redis
    if _redis is None:
        _redis = Redis.from_url(settings.REDIS_URL)
    user = await sync_to_async(_authenticate)(request)
    if user is None:
        return JsonResponse({"error": "not signed in"}, status=403)
    generation = await _redis.get(cache.make_key(f"portfolio:generation:{user.pk}"))
    head = await _redis.get(cache.make_key(f"portfolio:document:{user.pk}:{int(generation)}"))
    version, pending = pickle.loads(head)
    body = pickle.loads(
        await _redis.get(cache.make_key(f"portfolio:document-body:{user.pk}:{version}"))
    )
    return _document_response(request, documents.Document(user.pk, version, pending, body))


urlpatterns = [
    path("bench/today/portfolio", TodaysPortfolioApi.as_view()),
    path("bench/async/portfolio", async_document),
    *product,
]
