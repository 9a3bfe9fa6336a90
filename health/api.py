"""The health API: every connection's health, one connection's details, retry now, notices.

camelCase JSON, trader role required, another user's connection is a 404, no secret ever.
"""

from datetime import UTC, datetime

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from brokers.models import BrokerConnection, ConnectionStatus
from health import diagnostics, metrics, probes
from health import state as health_state
from health.breaker import State as BreakerState
from health.models import Notification
from health.quality import Quality
from health.summary import summarize


def _nullable(field_class, **kwargs):
    return field_class(allow_null=True, **kwargs)


_HEALTH_FIELDS = {
    "connectionId": serializers.UUIDField(),
    "brokerType": serializers.CharField(),
    "accountId": serializers.CharField(),
    "displayName": serializers.CharField(allow_blank=True),
    "status": serializers.ChoiceField(ConnectionStatus.values),
    "state": inline_serializer(
        "ConnectionState",
        {
            "word": serializers.ChoiceField(
                list(health_state.WORDS),
                help_text="What the card says; the colour and the grade always agree with it",
            ),
            "colour": serializers.ChoiceField(["green", "yellow", "red", "grey"]),
            "grade": serializers.ChoiceField([q.value for q in Quality]),
            "reason": serializers.CharField(allow_blank=True),
        },
    ),
    "quality": serializers.ChoiceField([q.value for q in Quality]),
    "colour": serializers.ChoiceField(["green", "yellow", "red", "grey"]),
    "graded": inline_serializer(
        "GradedFigures",
        {
            "calls": serializers.IntegerField(help_text="calls in the grading window"),
            "successRate": _nullable(serializers.FloatField, help_text="0 to 1"),
            "p95Ms": _nullable(serializers.IntegerField),
            "since": _nullable(serializers.DateTimeField),
        },
    ),
    "endpoints": serializers.ListField(
        child=inline_serializer(
            "EndpointHealth",
            {
                "endpoint": serializers.CharField(),
                "lastOk": serializers.BooleanField(),
                "failuresInARow": serializers.IntegerField(),
                "lastFailure": serializers.CharField(allow_blank=True),
                "lastCallAt": serializers.DateTimeField(),
            },
        )
    ),
    "metrics": inline_serializer(
        "ConnectionMetrics",
        {
            "averageMs": _nullable(serializers.IntegerField, help_text="null: no calls"),
            "p95Ms": _nullable(serializers.IntegerField),
            "successRate": _nullable(serializers.FloatField, help_text="0 to 1"),
            "errorsLastHour": serializers.IntegerField(),
            "callsLastHour": serializers.IntegerField(),
            "callsLast24h": serializers.IntegerField(),
            "uptime": inline_serializer(
                "ConnectionUptime",
                {
                    "hour": _nullable(serializers.FloatField),
                    "day": _nullable(serializers.FloatField),
                    "week": _nullable(serializers.FloatField),
                },
            ),
            "consecutiveFailures": serializers.IntegerField(),
            "lastSuccessfulCall": _nullable(serializers.DateTimeField),
            "lastHealthCheck": _nullable(serializers.DateTimeField),
            "lastError": serializers.CharField(allow_blank=True),
        },
    ),
    "breaker": inline_serializer(
        "BreakerState",
        {
            "state": serializers.ChoiceField([s.value for s in BreakerState]),
            "retryAt": _nullable(serializers.DateTimeField),
            "windowCalls": serializers.IntegerField(),
            "windowFailures": serializers.IntegerField(),
        },
    ),
    "tokenExpiresAt": _nullable(serializers.DateTimeField, help_text="null: not connected"),
}
HEALTH = inline_serializer("ConnectionHealth", _HEALTH_FIELDS)
HEALTH_DETAIL = inline_serializer(
    "ConnectionHealthDetail",
    {
        **_HEALTH_FIELDS,
        "recentCalls": serializers.ListField(child=serializers.DictField()),
        "errorsByType": serializers.ListField(child=serializers.DictField()),
        "advice": serializers.CharField(allow_blank=True),
    },
)
ERROR = inline_serializer(
    "RetryRefused",
    {
        "error": inline_serializer(
            "RetryRefusedBody",
            {"code": serializers.CharField(), "message": serializers.CharField()},
        )
    },
)


def _own(request, pk) -> BrokerConnection:
    return get_object_or_404(
        BrokerConnection.objects.select_related("app"), pk=pk, user=request.user
    )


class HealthListApi(APIView):
    @extend_schema(
        responses=type(HEALTH)(many=True),  # the same component, as a list
        summary="Health of your connections, worst first",
    )
    def get(self, request):
        mine = BrokerConnection.objects.for_user(request.user)
        summaries = sorted((summarize(c) for c in mine), key=lambda s: s.sort_key())
        return Response([s.as_json() for s in summaries])


class HealthDetailApi(APIView):
    @extend_schema(
        responses=HEALTH_DETAIL, summary="One connection's health, breaker and recent calls"
    )
    def get(self, request, pk):
        connection = _own(request, pk)
        summary = summarize(connection)
        body = summary.as_json()
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
        body["advice"] = diagnostics.status_advice(connection, summary.state)
        return Response(body)


class RetryApi(APIView):
    @extend_schema(
        request=None,
        responses={
            200: HEALTH,
            409: OpenApiResponse(ERROR, description="Not now: log in again, or disconnected"),
        },
        summary="Retry now: a trial probe at once, skipping the backoff",
    )
    def post(self, request, pk):
        connection = _own(request, pk)
        try:
            connection = probes.retry_now(connection=connection)
        except probes.RetryRefused as refused:
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
