"""Support staff see orders, their attempts and timeline, read only: nothing here can send,
change or cancel an order (no add, change or delete permission, no actions)."""

from django.contrib import admin

from routing.orders.models import Order, OrderAttempt, OrderEvent


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AttemptInline(ReadOnlyInline):
    model = OrderAttempt
    fields = (
        "number",
        "kind",
        "broker_key",
        "tag",
        "status",
        "broker_order_id",
        "error",
        "reconcile_reads",
        "sent_at",
        "finished_at",
        "elapsed_ms",
    )
    readonly_fields = fields


class EventInline(ReadOnlyInline):
    model = OrderEvent
    fields = ("at", "from_status", "to_status", "reason", "actor", "attempt")
    readonly_fields = fields


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "user",
        "side",
        "quantity",
        "exchange",
        "symbol",
        "order_type",
        "product",
        "status",
        "broker_order_id",
        "filled_quantity",
    )
    list_filter = ("status", "side", "order_type", "product", "exchange")
    search_fields = ("user__username", "symbol", "isin", "broker_order_id", "attempts__tag")
    date_hierarchy = "created_at"
    list_select_related = ("user",)
    fields = (
        "id",
        "user",
        "instrument",
        "isin",
        "exchange",
        "symbol",
        "side",
        "quantity",
        "order_type",
        "product",
        "validity",
        "price",
        "trigger_price",
        "market_protection",
        "status",
        "status_reason",
        "connection",
        "broker_order_id",
        "broker_status",
        "broker_message",
        "filled_quantity",
        "average_price",
        "last_price",
        "breaches",
        "decision",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields
    inlines = [AttemptInline, EventInline]
    actions = None

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
