from django.contrib import admin

from portfolio.models import BrokerPositionBreakdown, ConsolidatedPosition


class BreakdownInline(admin.TabularInline):
    model = BrokerPositionBreakdown
    extra = 0
    can_delete = False
    readonly_fields = (
        "connection",
        "broker_symbol",
        "exchange",
        "quantity",
        "average_price",
        "last_price",
        "current_value",
    )
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ConsolidatedPosition)
class ConsolidatedPositionAdmin(admin.ModelAdmin):
    list_display = (
        "symbol",
        "isin",
        "user",
        "asset_class",
        "total_quantity",
        "average_price",
        "current_value",
        "unrealized_pnl",
        "updated_at",
    )
    list_filter = ("asset_class", "exchange")
    search_fields = ("symbol", "isin", "user__username")
    list_select_related = ("user",)
    inlines = [BreakdownInline]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(BrokerPositionBreakdown)
class BrokerPositionBreakdownAdmin(admin.ModelAdmin):
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

    def has_change_permission(self, request, obj=None):
        return False
