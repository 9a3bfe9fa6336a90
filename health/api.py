"""The health API: every connection's health, one connection's details, retry now, notices.

camelCase JSON, trader role required, another user's connection is a 404, no secret ever.
"""

from datetime import UTC, datetime

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from brokers.models import BrokerConnection
from health import diagnostics, metrics, services
from health.models import Notification
from health.summary import summarize

HEALTH = inline_serializer(
    "ConnectionHealth",
    {
        "connectionId": serializers.UUIDField(),
        "brokerType": serializers.CharField(),
        "accountId": serializers.CharField(),
        "status": serializers.CharField(),
        "quality": serializers.ChoiceField(["EXCELLENT", "GOOD", "POOR", "CRITICAL", "NONE"]),
        "colour": serializers.ChoiceField(["green", "yellow", "red", "grey"]),
        "metrics": serializers.DictField(),
        "breaker": serializers.DictField(),
    },
)


def _own(request, pk) -> BrokerConnection:
    return get_object_or_404(
        BrokerConnection.objects.select_related("app"), pk=pk, user=request.user
    )


class HealthListApi(APIView):
    @extend_schema(responses=HEALTH, summary="Health of your connections, worst first")
    def get(self, request):
        mine = BrokerConnection.objects.for_user(request.user)
        summaries = sorted((summarize(c) for c in mine), key=lambda s: s.sort_key())
        return Response([s.as_json() for s in summaries])


class HealthDetailApi(APIView):
    @extend_schema(responses=HEALTH, summary="One connection's health, breaker and recent calls")
    def get(self, request, pk):
        connection = _own(request, pk)
        body = summarize(connection).as_json()
        view = diagnostics.breaker_view(connection)
        body["breaker"]["history"] = [
            {**h, "at": datetime.fromtimestamp(h["at"], UTC).isoformat()} for h in view["history"]
        ]
        body["recentCalls"] = [
            {**c, "at": datetime.fromtimestamp(c["at"], UTC).isoformat()}
            for c in metrics.recent_calls(str(connection.pk), 20)
        ]
        body["errorsByType"] = [
            {"errorType": kind, "count": n, "advice": meaning}
            for kind, n, meaning in diagnostics.errors_by_type(connection)
        ]
        body["advice"] = diagnostics.status_advice(connection)
        return Response(body)


class RetryApi(APIView):
    @extend_schema(
        request=None,
        responses={200: HEALTH},
        summary="Retry now: a trial probe at once, skipping the backoff",
    )
    def post(self, request, pk):
        connection = _own(request, pk)
        try:
            connection = services.retry_now(connection=connection)
        except services.RetryRefused as refused:
            return Response(
                {"error": {"code": "retry_refused", "message": str(refused)}},
                status=status.HTTP_409_CONFLICT,
            )
        return Response(summarize(connection).as_json())


class NotificationsApi(APIView):
    @extend_schema(
        responses=inline_serializer(
            "Notifications",
            {"unread": serializers.IntegerField(), "results": serializers.ListField()},
        ),
        summary="Your notifications, newest first",
    )
    def get(self, request):
        mine = Notification.objects.filter(user=request.user)
        return Response(
            {
                "unread": mine.filter(read_at__isnull=True).count(),
                "results": [
                    {
                        "id": n.pk,
                        "kind": n.kind,
                        "title": n.title,
                        "body": n.body,
                        "link": n.link,
                        "connectionId": str(n.connection_id) if n.connection_id else None,
                        "createdAt": n.created_at.isoformat(),
                        "readAt": n.read_at.isoformat() if n.read_at else None,
                    }
                    for n in mine[:100]
                ],
            }
        )


class NotificationsReadApi(APIView):
    @extend_schema(request=None, responses={204: None}, summary="Mark every notification read")
    def post(self, request):
        Notification.objects.filter(user=request.user, read_at__isnull=True).update(
            read_at=timezone.now()
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
