from django.contrib import admin

from brokers.admin import ReadOnlyAdminMixin
from portfolio.models import BrokerPositionBreakdown, BrokerSnapshot, ConsolidatedPosition


class BreakdownInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = BrokerPositionBreakdown
    extra = 0
    can_delete = False
    fields = (
        "connection",
        "broker_symbol",
        "exchange",
        "product",
        "quantity",
        "average_price",
        "last_price",
        "current_value",
    )


@admin.register(ConsolidatedPosition)
class ConsolidatedPositionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "symbol",
        "kind",
        "isin",
        "user",
        "asset_class",
        "total_quantity",
        "average_price",
        "current_value",
        "unrealized_pnl",
        "updated_at",
    )
    list_filter = ("kind", "asset_class", "exchange")
    search_fields = ("symbol", "isin", "user__username")
    list_select_related = ("user",)
    inlines = [BreakdownInline]


@admin.register(BrokerPositionBreakdown)
class BrokerPositionBreakdownAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "broker_symbol",
        "connection",
        "quantity",
        "average_price",
        "current_value",
        "updated_at",
    )
    search_fields = ("broker_symbol", "position__isin", "connection__account_id")
    list_select_related = ("connection",)


@admin.register(BrokerSnapshot)
class BrokerSnapshotAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Support's view of each connection's last portfolio sync: when it landed, why it failed.

    The payload (holdings and prices, never a token) stays out of the list and the form.
    """

    list_display = ("connection", "taken_at", "attempted_at", "failed", "error_kind")
    list_filter = ("error_kind",)
    search_fields = ("connection__account_id", "connection__user__username", "error")
    list_select_related = ("connection",)
    fields = ("connection", "taken_at", "attempted_at", "error_kind", "error", "lines")
    readonly_fields = fields

    @admin.display(boolean=True)
    def failed(self, obj):
        return obj.failed

    @admin.display(description="Lines in the last good snapshot")
    def lines(self, obj):
        payload = obj.payload or {}
        return len(payload.get("holdings") or ()) + len(payload.get("positions") or ())
