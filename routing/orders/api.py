"""The orders API: preview, place (with an Idempotency-Key), list, detail, modify, cancel, and
the queue: the orders waiting in it, each sent to a broker of the trader's choice or cancelled
by hand (confirmed, with why: kept in the order's timeline with who).

camelCase JSON; money as exact decimal strings. Errors are
``{"error": {"code", "message", "problems": [{"field", "message"}], "breaches": [{"code",
"message", "scope"}]}}``: 400 for a request that cannot be an order (nothing stored, nothing
sent), 422 for an order the risk rules refuse (stored as RISK_REJECTED, nothing sent) or a
reused Idempotency-Key with another body, 404 for an order that is not the trader's own.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from brokers.types import OrderType, Product, Side, Validity
from routing.orders import messages, postbacks, queue, services
from routing.orders.decisions import breaches_json, decision_json
from routing.orders.inputs import InvalidOrder, OrderInput
from routing.orders.models import Order, OrderState, QueuedOrder, QueueState
from routing.policy import controls
from routing.policy.validation import Invalid

MAX_QUANTITY = 10_000_000
MAX_LIST = 200
IDEMPOTENCY_HEADER = "Idempotency-Key"


def _money(**kwargs):
    return serializers.DecimalField(
        max_digits=12, decimal_places=4, required=False, allow_null=True, **kwargs
    )


class OrderRequestSerializer(serializers.Serializer):
    instrument = serializers.CharField(
        max_length=40, help_text="ISIN (INE002A01018) or EXCHANGE:SYMBOL (NSE:RELIANCE)"
    )
    exchange = serializers.ChoiceField(
        ["NSE", "BSE", "NFO", "BFO", "MCX", "CDS", "BCD"],
        required=False,
        help_text="With an ISIN: which listing (NSE by default)",
    )
    side = serializers.ChoiceField([s.value for s in Side])
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)
    orderType = serializers.ChoiceField([t.value for t in OrderType])
    product = serializers.ChoiceField([p.value for p in Product])
    validity = serializers.ChoiceField([v.value for v in Validity], required=False)
    price = _money(help_text="LIMIT and SL orders")
    triggerPrice = _money(help_text="SL and SL-M orders")
    marketProtection = serializers.IntegerField(
        min_value=-1,
        max_value=100,
        required=False,
        help_text="SEBI 2026: MARKET and SL-M orders carry -1 (the broker's automatic) or 1-100 %",
    )
    broker = serializers.CharField(
        max_length=40,
        required=False,
        help_text='A policy key ("zerodha"); omit to let routing choose',
    )

    def to_input(self) -> OrderInput:
        d = self.validated_data
        return OrderInput(
            instrument=d["instrument"],
            exchange=d.get("exchange", ""),
            side=Side(d["side"]),
            quantity=d["quantity"],
            order_type=OrderType(d["orderType"]),
            product=Product(d["product"]),
            validity=Validity(d.get("validity") or Validity.DAY),
            price=d.get("price"),
            trigger_price=d.get("triggerPrice"),
            market_protection=d.get("marketProtection", -1),
            broker=d.get("broker", ""),
        )


class ListQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(OrderState.values, required=False)
    broker = serializers.CharField(
        max_length=40, required=False, help_text="A policy key or a broker type"
    )
    date = serializers.DateField(required=False, help_text="The IST trading day")


class ModifySerializer(serializers.Serializer):
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY, required=False)
    price = _money()
    triggerPrice = _money()
    orderType = serializers.ChoiceField([t.value for t in OrderType], required=False)


class TextField(serializers.CharField):
    """A JSON string and nothing else (DRF's own turns a number into its digits)."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class ConfirmField(serializers.BooleanField):
    """``true``: the trader confirmed what is asked (as the manual controls do)."""

    def to_internal_value(self, data):
        if data is not True:
            raise serializers.ValidationError('Confirm it: send "confirm": true.')
        return True


SAY_WHY = "Say why: it is kept in the audit trail."


class QueueActionSerializer(serializers.Serializer):
    reason = TextField(
        max_length=controls.MAX_REASON,
        allow_blank=True,  # answered by check_reason, in its words
        help_text="Why: kept in the order's timeline with who did it",
        error_messages={"required": SAY_WHY, "null": SAY_WHY, "invalid": SAY_WHY},
    )
    confirm = ConfirmField(help_text="true: the trader confirmed it")

    def validate_reason(self, value: str) -> str:
        try:
            return controls.check_reason(value)
        except Invalid as invalid:
            raise serializers.ValidationError(invalid.problems[0].message) from None


class QueueSendSerializer(QueueActionSerializer):
    broker = TextField(
        max_length=40,
        help_text='The policy key of the broker to send it to ("zerodha")',
        error_messages={
            key: 'Choose the broker to send it to: its policy key, like "zerodha".'
            for key in ("required", "null", "blank", "invalid")
        },
    )


def PROBLEM(**kwargs):
    return inline_serializer(
        "OrderProblem",
        {"field": serializers.CharField(), "message": serializers.CharField()},
        **kwargs,
    )


def BREACH(**kwargs):
    return inline_serializer(
        "OrderBreach",
        {
            "code": serializers.CharField(help_text="KILL_SWITCH, LOT_SIZE, TICK_SIZE, ..."),
            "message": serializers.CharField(),
            "scope": serializers.CharField(help_text='"global" or a policy key'),
        },
        **kwargs,
    )


ERROR = inline_serializer(
    "OrderError",
    {
        "error": inline_serializer(
            "OrderErrorBody",
            {
                "code": serializers.CharField(),
                "message": serializers.CharField(),
                "problems": PROBLEM(many=True, required=False),
                "breaches": BREACH(many=True, required=False),
                "orderId": serializers.CharField(required=False),
            },
        )
    },
)
ATTEMPT = dict(
    name="OrderAttempt",
    fields={
        "number": serializers.IntegerField(),
        "kind": serializers.CharField(),
        "brokerKey": serializers.CharField(),
        "brokerType": serializers.CharField(),
        "tag": serializers.CharField(),
        "status": serializers.CharField(),
        "brokerOrderId": serializers.CharField(),
        "error": serializers.CharField(help_text="The broker's own words"),
        "reconcileReads": serializers.IntegerField(),
        "createdAt": serializers.CharField(),
        "sentAt": serializers.CharField(allow_null=True),
        "finishedAt": serializers.CharField(allow_null=True),
        "elapsedMs": serializers.FloatField(allow_null=True),
    },
)
EVENT = dict(
    name="OrderEvent",
    fields={
        "from": serializers.CharField(),
        "to": serializers.CharField(),
        "reason": serializers.CharField(),
        "by": serializers.CharField(
            allow_null=True, help_text="Who made this move by hand; null: the platform"
        ),
        "at": serializers.CharField(),
    },
)
ORDER_FIELDS = {
    "id": serializers.CharField(),
    "status": serializers.ChoiceField(OrderState.values),
    "statusReason": serializers.CharField(),
    "instrument": serializers.CharField(),
    "isin": serializers.CharField(),
    "exchange": serializers.CharField(),
    "symbol": serializers.CharField(),
    "side": serializers.CharField(),
    "quantity": serializers.IntegerField(),
    "orderType": serializers.CharField(),
    "product": serializers.CharField(),
    "validity": serializers.CharField(),
    "price": serializers.CharField(allow_null=True),
    "triggerPrice": serializers.CharField(allow_null=True),
    "brokerKey": serializers.CharField(allow_null=True),
    "connectionId": serializers.CharField(allow_null=True),
    "brokerOrderId": serializers.CharField(),
    "brokerStatus": serializers.CharField(),
    "brokerMessage": serializers.CharField(help_text="The broker's own words"),
    "filledQuantity": serializers.IntegerField(),
    "averagePrice": serializers.CharField(allow_null=True),
    "createdAt": serializers.CharField(),
    "updatedAt": serializers.CharField(),
}
ORDER = {"name": "Order", "fields": ORDER_FIELDS}
ORDER_DETAIL = inline_serializer(
    "OrderDetail",
    {
        **ORDER_FIELDS,
        "breaches": BREACH(many=True),
        "decision": serializers.JSONField(help_text="The routing decision as stored"),
        "attempts": inline_serializer(**ATTEMPT, many=True),
        "timeline": inline_serializer(**EVENT, many=True),
    },
)
PREVIEW = inline_serializer(
    "OrderPreview",
    {
        "accepted": serializers.BooleanField(help_text="Whether the order would be sent now"),
        "brokerKey": serializers.CharField(allow_null=True, help_text="Where it would go"),
        "instrument": serializers.JSONField(),
        "lastPrice": serializers.CharField(allow_null=True),
        "breaches": BREACH(many=True),
        "decision": serializers.JSONField(
            help_text="Strategy, explanation, each candidate ranked (with estimated charges) "
            "or excluded (with the reason)"
        ),
        "staticEgressIp": serializers.CharField(
            help_text="The IP orders leave from (register it at each broker; SEBI 2026)"
        ),
    },
)
# One class for an order wherever it is listed: one component in the schema.
OrderOut = type(inline_serializer(**ORDER))
ORDER_LIST = inline_serializer("OrderList", {"orders": OrderOut(many=True)})
QUEUE_LIST = inline_serializer(
    "OrderQueue",
    {
        "orders": inline_serializer(
            "QueuedOrder",
            {
                "orderId": serializers.CharField(),
                "state": serializers.ChoiceField(
                    [QueueState.WAITING, QueueState.CONFIRM],
                    help_text="WAITING for a broker, or CONFIRM: its price moved beyond the "
                    "tolerance and it waits for the trader's own send",
                ),
                "waitingForConfirmation": serializers.BooleanField(),
                "reason": serializers.CharField(help_text="Why it waits"),
                "waitsFor": serializers.CharField(
                    allow_null=True, help_text="The broker it waits for; null: any"
                ),
                "queuedAt": serializers.CharField(),
                "expiresAt": serializers.CharField(help_text="Its validity ends: never sent after"),
                "order": OrderOut(),
                "candidates": inline_serializer(
                    "QueueCandidate",
                    {
                        "key": serializers.CharField(help_text="Send it here with this key"),
                        "label": serializers.CharField(),
                        "available": serializers.BooleanField(
                            help_text="Connected, up, not paused and listing the instrument "
                            "(the risk checks run when it is sent)"
                        ),
                        "why": serializers.CharField(help_text="Why not, when not available"),
                    },
                    many=True,
                ),
            },
            many=True,
        )
    },
)


def _text(value) -> str | None:
    return None if value is None else str(value)


def _when(value) -> str | None:
    return value.isoformat() if value else None


def order_json(order: Order) -> dict:
    return {
        "id": str(order.pk),
        "status": order.status,
        "statusReason": order.status_reason,
        "instrument": order.instrument,
        "isin": order.isin,
        "exchange": order.exchange,
        "symbol": order.symbol,
        "side": order.side,
        "quantity": order.quantity,
        "orderType": order.order_type,
        "product": order.product,
        "validity": order.validity,
        "price": _text(order.price),
        "triggerPrice": _text(order.trigger_price),
        "brokerKey": (order.decision or {}).get("chosen"),
        "connectionId": _text(order.connection_id),
        "brokerOrderId": order.broker_order_id,
        "brokerStatus": order.broker_status,
        "brokerMessage": order.broker_message,
        "filledQuantity": order.filled_quantity,
        "averagePrice": _text(order.average_price),
        "createdAt": _when(order.created_at),
        "updatedAt": _when(order.updated_at),
    }


def order_detail_json(order: Order) -> dict:
    return {
        **order_json(order),
        "breaches": order.breaches,
        "decision": order.decision,
        "attempts": [
            {
                "number": a.number,
                "kind": a.kind,
                "brokerKey": a.broker_key,
                "brokerType": a.broker,
                "tag": a.tag,
                "status": a.status,
                "brokerOrderId": a.broker_order_id,
                "error": a.error,
                "reconcileReads": a.reconcile_reads,
                "createdAt": _when(a.created_at),
                "sentAt": _when(a.sent_at),
                "finishedAt": _when(a.finished_at),
                "elapsedMs": a.elapsed_ms,
            }
            for a in order.attempts.all()
        ],
        "timeline": [
            {
                "from": e.from_status,
                "to": e.to_status,
                "reason": e.reason,
                "by": e.actor.username if e.actor else None,
                "at": _when(e.at),
            }
            for e in order.events.select_related("actor")
        ],
    }


def _error(code: str, message: str, http: int, **extra) -> Response:
    return Response({"error": {"code": code, "message": message, **extra}}, status=http)


def _invalid(serializer_errors) -> Response:
    problems = [
        {"field": name, "message": str(message)}
        for name, found in serializer_errors.items()
        for message in (found if isinstance(found, list) else [found])
    ]
    return _error(
        "invalid", problems[0]["message"] if problems else "Invalid order.", 400, problems=problems
    )


def _invalid_order(invalid: InvalidOrder) -> Response:
    problems = [{"field": f, "message": m} for f, m in invalid.problems]
    return _error("invalid", str(invalid), 400, problems=problems)


class PreviewApi(APIView):
    @extend_schema(
        request=OrderRequestSerializer,
        responses={200: PREVIEW, 400: ERROR},
        summary="What would happen to an order: risk checks, the routing decision and the "
        "estimated charges at each broker. Nothing is stored or sent.",
    )
    def post(self, request):
        form = OrderRequestSerializer(data=request.data)
        if not form.is_valid():
            return _invalid(form.errors)
        try:
            preview = services.preview_order(user=request.user, order=form.to_input())
        except InvalidOrder as invalid:
            return _invalid_order(invalid)
        i = preview.instrument
        return Response(
            {
                "accepted": preview.accepted,
                "brokerKey": preview.chosen,
                "instrument": {
                    "isin": i.isin,
                    "exchange": i.exchange,
                    "symbol": i.symbol,
                    "name": i.name,
                    "lotSize": i.lot_size,
                    "tickSize": str(i.tick_size),
                    "expiry": i.expiry.isoformat() if i.expiry else None,
                },
                "lastPrice": _text(preview.last_price),
                "breaches": breaches_json(preview.breaches),
                "decision": decision_json(preview.decision),
                "staticEgressIp": messages.egress_ip(),
            }
        )


class OrdersApi(APIView):
    @property
    def throttle_scope(self) -> str | None:
        return "orders" if self.request.method == "POST" else None

    @extend_schema(
        parameters=[ListQuerySerializer],
        responses={200: ORDER_LIST, 400: ERROR},
        summary="Your orders, newest first (at most 200)",
    )
    def get(self, request):
        query = ListQuerySerializer(data=request.query_params)
        blank = [n for n in ListQuerySerializer().fields if request.query_params.get(n, None) == ""]
        if blank:
            return _invalid({blank[0]: ["This filter needs a value (or leave it out)."]})
        if not query.is_valid():
            return _invalid(query.errors)
        wanted = query.validated_data
        orders = Order.objects.for_user(request.user).matching(wanted)
        return Response({"orders": [order_json(o) for o in orders[:MAX_LIST]]})

    @extend_schema(
        request=OrderRequestSerializer,
        parameters=[
            OpenApiParameter(
                IDEMPOTENCY_HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=True,
                description="One per order (a UUID): the same key and body give back the "
                "same order, never a second one; kept 24 hours",
            )
        ],
        responses={200: ORDER_DETAIL, 201: ORDER_DETAIL, 400: ERROR, 422: ERROR},
        summary="Place an order: risk checks, routing, then sent once to the chosen broker",
    )
    def post(self, request):
        key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
        if not key or len(key) > services.MAX_KEY_LENGTH or not key.isprintable():
            return _error(
                "idempotency_key_required",
                f"Send an {IDEMPOTENCY_HEADER} header (a new UUID per order, at most "
                f"{services.MAX_KEY_LENGTH} characters): it makes a retried request safe.",
                400,
            )
        form = OrderRequestSerializer(data=request.data)
        if not form.is_valid():
            return _invalid(form.errors)
        try:
            placement = services.place_order(
                user=request.user, order=form.to_input(), idempotency_key=key
            )
        except InvalidOrder as invalid:
            return _invalid_order(invalid)
        except services.IdempotencyConflict as conflict:
            return _error("idempotency_key_reused", str(conflict), 422)
        order = placement.order
        if order.status == OrderState.RISK_REJECTED:
            return _error(
                "risk_rejected",
                "The order breaks your risk rules; nothing was sent.",
                422,
                breaches=order.breaches,
                orderId=str(order.pk),
            )
        return Response(
            order_detail_json(order),
            status=status.HTTP_201_CREATED if placement.created else status.HTTP_200_OK,
        )


class OrderApi(APIView):
    @extend_schema(
        responses={200: ORDER_DETAIL, 404: ERROR},
        summary="One order with its attempts, its routing decision and its timeline",
    )
    def get(self, request, pk):
        order = Order.objects.filter(pk=pk, user=request.user).first()
        if order is None:
            return _not_found()
        return Response(order_detail_json(order))


def _not_found() -> Response:
    return _error("not_found", "No such order.", 404)


class ModifyApi(APIView):
    throttle_scope = "orders"

    @extend_schema(
        request=ModifySerializer,
        responses={200: ORDER_DETAIL, 400: ERROR, 404: ERROR, 422: ERROR},
        summary="Change an open order's quantity, price, trigger or type at its broker",
    )
    def post(self, request, pk):
        form = ModifySerializer(data=request.data)
        if not form.is_valid():
            return _invalid(form.errors)
        d = form.validated_data
        try:
            services.modify_order(
                user=request.user,
                order_id=pk,
                quantity=d.get("quantity"),
                price=d.get("price"),
                trigger_price=d.get("triggerPrice"),
                order_type=OrderType(d["orderType"]) if d.get("orderType") else None,
            )
        except Order.DoesNotExist:
            return _not_found()
        except InvalidOrder as invalid:
            return _invalid_order(invalid)
        except services.NotModifiable as refused:
            return _error(
                "not_modified", str(refused), 422, breaches=breaches_json(refused.breaches)
            )
        return Response(order_detail_json(services.get_order(user=request.user, order_id=pk)))


class CancelApi(APIView):
    throttle_scope = "orders"

    @extend_schema(
        request=None,
        responses={200: ORDER_DETAIL, 404: ERROR, 422: ERROR},
        summary="Cancel an open order at its broker, or take a queued one out of the queue",
    )
    def post(self, request, pk):
        try:
            services.get_order(user=request.user, order_id=pk)
            waited = QueuedOrder.objects.filter(order_id=pk).exclude(state=QueueState.SENT)
            if waited.exists():  # never reached a broker: taken out of the queue
                queue.cancel_queued(user=request.user, order_id=pk, actor=request.user)
            else:
                services.cancel_order(user=request.user, order_id=pk)
        except Order.DoesNotExist:
            return _not_found()
        except services.NotModifiable as refused:
            return _error("not_cancelled", str(refused), 422)
        except queue.QueueRefusal as refused:
            return _error("not_cancelled", str(refused), 422)
        return Response(order_detail_json(services.get_order(user=request.user, order_id=pk)))


def queued_json(row: QueuedOrder, candidates: list[queue.Choice]) -> dict:
    return {
        "orderId": str(row.order_id),
        "state": row.state,
        "waitingForConfirmation": row.state == QueueState.CONFIRM,
        "reason": row.reason,
        "waitsFor": row.target_key or None,
        "queuedAt": _when(row.queued_at),
        "expiresAt": _when(row.expires_at),
        "order": order_json(row.order),
        "candidates": [
            {"key": c.key, "label": c.label, "available": c.available, "why": c.why}
            for c in candidates
        ],
    }


class QueueApi(APIView):
    @extend_schema(
        responses={200: QUEUE_LIST},
        summary="Your orders waiting in the queue, first in first, each with the brokers it "
        "could be sent to now",
    )
    def get(self, request):
        rows = queue.queued_orders(user=request.user)
        found = queue.choices(user=request.user, rows=rows)
        return Response({"orders": [queued_json(row, found[row.order_id]) for row in rows]})


def _queued_action(request, pk, serializer, act, refused_code: str) -> Response:
    """A hand action on a queued order: the trader's own (404 otherwise), in the queue (422
    otherwise), the body checked (400), then ``act``; refused with why and nothing changed."""
    try:
        services.get_order(user=request.user, order_id=pk)
    except Order.DoesNotExist:
        return _not_found()
    if not QueuedOrder.objects.filter(order_id=pk, user=request.user).exists():
        return _error(
            "not_queued",
            "This order never waited in the queue: it went to a broker at once. Cancel or "
            f"modify it there (POST /api/v1/orders/{pk}/cancel or …/modify).",
            422,
        )
    form = serializer(data=request.data)
    if not form.is_valid():
        return _invalid(form.errors)
    try:
        act(form.validated_data)
    except queue.QueueRefusal as refused:
        return _error(refused_code, str(refused), 422, breaches=breaches_json(refused.breaches))
    return Response(order_detail_json(services.get_order(user=request.user, order_id=pk)))


class QueueSendApi(APIView):
    throttle_scope = "orders"

    @extend_schema(
        request=QueueSendSerializer,
        responses={200: ORDER_DETAIL, 400: ERROR, 404: ERROR, 422: ERROR},
        summary="Send a queued order to the broker you choose, now (confirmed, with why)",
        description="The risk checks run again for that broker; an order waiting for your "
        "confirmation (its LIMIT price moved beyond the tolerance) is sent at your word. "
        "Refused with why, nothing changed: a broker that is not yours, not connected, down, "
        "paused or without the instrument, an order no longer in the queue, rules broken.",
    )
    def post(self, request, pk):
        def send(data):
            queue.send_queued(
                user=request.user,
                order_id=pk,
                broker=data["broker"],
                why=data["reason"],
                actor=request.user,
            )

        return _queued_action(request, pk, QueueSendSerializer, send, "not_sent")


class QueueCancelApi(APIView):
    throttle_scope = "orders"

    @extend_schema(
        request=QueueActionSerializer,
        responses={200: ORDER_DETAIL, 400: ERROR, 404: ERROR, 422: ERROR},
        summary="Take a queued order out of the queue, now (confirmed, with why); nothing is sent",
    )
    def post(self, request, pk):
        def cancel(data):
            queue.cancel_queued(
                user=request.user, order_id=pk, why=data["reason"], actor=request.user
            )

        return _queued_action(request, pk, QueueActionSerializer, cancel, "not_cancelled")


class PostbackApi(APIView):
    """Where a broker posts an order's changes (Kite postbacks, Upstox's order webhook).
    The broker calls it, not a trader: the address itself and, for Kite, the body's checksum
    are the credentials (routing.orders.postbacks)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses={200: OpenApiTypes.OBJECT, 400: ERROR, 401: ERROR, 403: ERROR, 404: ERROR},
        description="A broker's order postback: verified, then the order is read from that "
        "broker's order book and followed. Replays change nothing.",
    )
    def post(self, request, broker: str, app_id, signature: str):
        try:
            outcome = postbacks.receive_postback(
                broker=broker, app_id=app_id, signature=signature, body=request.body
            )
        except postbacks.PostbackRefused as refused:
            return _error("postback_refused", refused.message, refused.status)
        return Response({"status": outcome})


class PostbackAddressesApi(APIView):
    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        summary="Where each of your broker apps should post order updates",
        description="For Zerodha (the app's postback URL) and Upstox (the app's webhook URL): "
        "the path on this server to register; the address itself is secret.",
    )
    def get(self, request):
        found = postbacks.addresses(user=request.user)
        base = request.build_absolute_uri("/")[:-1]
        return Response({"results": [{**a, "url": base + a["path"]} for a in found]})
