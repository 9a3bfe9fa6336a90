"""The connection API: start and finish a broker login, list and disconnect connections.

camelCase JSON, trader role required, another user's connection is a 404, and no token or
secret is ever part of a response.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from brokers import connections
from brokers.connections import ConnectFailed
from brokers.models import Broker, BrokerApp, BrokerConnection

# The callback parameter that carries each broker's one-time code.
CODE_PARAM = {
    "zerodha": "request_token",
    "upstox": "code",
    "fyers": "auth_code",
    "dhan": "tokenId",
}


class ConnectionSerializer(serializers.ModelSerializer):
    brokerType = serializers.CharField(source="broker")
    accountId = serializers.CharField(source="account_id")
    displayName = serializers.CharField(source="display_name")
    tokenExpiresAt = serializers.DateTimeField(
        source="token_expires_at", allow_null=True, help_text="null: not connected"
    )
    lastSuccessfulCall = serializers.DateTimeField(source="last_successful_call", allow_null=True)
    lastHealthCheck = serializers.DateTimeField(source="last_health_check", allow_null=True)
    consecutiveFailures = serializers.IntegerField(source="consecutive_failures")
    lastError = serializers.CharField(source="last_error")
    hasAccessToken = serializers.BooleanField(source="has_access_token")
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")

    class Meta:
        model = BrokerConnection
        fields = [
            "id",
            "brokerType",
            "accountId",
            "displayName",
            "status",
            "tokenExpiresAt",
            "lastSuccessfulCall",
            "lastHealthCheck",
            "consecutiveFailures",
            "lastError",
            "hasAccessToken",
            "capabilities",
            "createdAt",
            "updatedAt",
        ]
        read_only_fields = fields


class InitiateSerializer(serializers.Serializer):
    brokerType = serializers.ChoiceField(choices=Broker.values)
    redirectUri = serializers.URLField(max_length=500)
    appId = serializers.UUIDField(
        required=False, help_text="Default: your newest app of the broker."
    )

    def validate_redirectUri(self, value):
        if not value.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise ValidationError("The redirect URI must use https (or be a local address).")
        return value


class CompleteSerializer(serializers.Serializer):
    brokerType = serializers.ChoiceField(choices=Broker.values)
    state = serializers.CharField(max_length=200)
    code = serializers.CharField(max_length=2000, required=False, allow_blank=False)
    params = serializers.DictField(
        child=serializers.CharField(max_length=2000),
        required=False,
        help_text="Every callback parameter, or the typed login fields (Angel One).",
    )

    def validate(self, data):
        if not data.get("code") and not data.get("params") and data["brokerType"] in CODE_PARAM:
            raise ValidationError(
                {"code": "The broker's one-time code from the callback is required."}
            )
        return data


FAILURE = inline_serializer(
    "ConnectFailure",
    {
        "error": inline_serializer(
            "ConnectFailureBody",
            {"code": serializers.CharField(), "message": serializers.CharField()},
        )
    },
)

INITIATE_EXAMPLE = OpenApiExample(
    "Zerodha",
    request_only=True,
    value={
        "brokerType": "zerodha",
        "redirectUri": "https://trade.example.com/brokers/callback/zerodha/",
    },
)
INITIATED_EXAMPLE = OpenApiExample(
    "Zerodha login URL",
    response_only=True,
    value={
        "authorizationUrl": "https://kite.zerodha.com/connect/login?v=3&api_key=kitedemo01&redirect_params=state%3D…",
        "brokerType": "zerodha",
        "state": "q7J…",
    },
)


class InitiateConnectionApi(APIView):
    throttle_scope = "initiate"

    @extend_schema(
        request=InitiateSerializer,
        responses={
            200: inline_serializer(
                "Initiated",
                {
                    "authorizationUrl": serializers.CharField(),
                    "brokerType": serializers.CharField(),
                    "state": serializers.CharField(),
                },
            ),
            404: OpenApiResponse(FAILURE, description="appId is not one of your apps"),
            502: OpenApiResponse(FAILURE, description="The broker could not start the login"),
        },
        examples=[INITIATE_EXAMPLE, INITIATED_EXAMPLE],
        summary="Start a broker login",
    )
    def post(self, request):
        data = _valid(InitiateSerializer, request)
        apps = BrokerApp.objects.filter(user=request.user, broker=data["brokerType"])
        app = (
            get_object_or_404(apps, pk=data["appId"])
            if data.get("appId")
            else apps.order_by("-created_at").first()
        )
        if app is None:
            raise ValidationError({"brokerType": "Register this broker's API app first."})
        try:
            started = connections.initiate_connection(
                user=request.user, app=app, redirect_uri=data["redirectUri"]
            )
        except ConnectFailed as failure:
            return _failure(str(failure), status.HTTP_502_BAD_GATEWAY)
        return Response(
            {
                "authorizationUrl": started.authorization_url,
                "brokerType": started.broker,
                "state": started.state,
            }
        )


class CompleteConnectionApi(APIView):
    @extend_schema(
        request=CompleteSerializer,
        responses={
            201: ConnectionSerializer,
            200: ConnectionSerializer,
            400: OpenApiResponse(
                FAILURE, description="Invalid input, or the broker refused the login"
            ),
        },
        examples=[
            OpenApiExample(
                "Zerodha callback",
                request_only=True,
                value={
                    "brokerType": "zerodha",
                    "code": "request-token-from-callback",
                    "state": "q7J…",
                },
            )
        ],
        summary="Finish a broker login from its callback",
    )
    def post(self, request):
        data = _valid(CompleteSerializer, request)
        broker = data["brokerType"]
        params = dict(data.get("params") or {})
        if data.get("code") and broker in CODE_PARAM:
            params[CODE_PARAM[broker]] = data["code"]
            if broker == "zerodha":
                params.setdefault("status", "success")
        try:
            verified = connections.complete_connection(
                user=request.user, broker=broker, state=data["state"], params=params
            )
        except ConnectFailed as failure:
            return _failure(str(failure), status.HTTP_400_BAD_REQUEST)
        body = ConnectionSerializer(verified.connection).data
        body["verification"] = {"holdings": verified.holdings, "positions": verified.positions}
        return Response(body, status=201 if verified.created else 200)


class ConnectionListApi(APIView):
    @extend_schema(responses=ConnectionSerializer(many=True), summary="Your broker connections")
    def get(self, request):
        mine = BrokerConnection.objects.for_user(request.user).order_by("broker", "account_id")
        return Response(ConnectionSerializer(mine, many=True).data)


class ConnectionDetailApi(APIView):
    @extend_schema(responses={204: None}, summary="Disconnect: revoke, wipe tokens, keep history")
    def delete(self, request, pk):
        connection = get_object_or_404(BrokerConnection, pk=pk, user=request.user)
        connections.disconnect(connection=connection)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _valid(serializer_class, request):
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _failure(message: str, code: int) -> Response:
    return Response({"error": {"code": "connect_failed", "message": message}}, status=code)
