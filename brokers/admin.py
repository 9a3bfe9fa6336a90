"""Support staff see every connection's state, never a secret: only "set / not set"."""

from django.contrib import admin

from brokers.models import BrokerApp, BrokerConnection, BrokerHealthLog, OAuthState


def _is_set(value: bool) -> str:
    return "set" if value else "not set"


@admin.register(BrokerConnection)
class BrokerConnectionAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "user",
        "broker",
        "status",
        "token_state",
        "token_expires_at",
        "consecutive_failures",
        "last_successful_call",
        "last_health_check",
    )
    list_filter = ("broker", "status")
    search_fields = ("account_id", "display_name", "user__username", "user__email")
    list_select_related = ("user",)
    readonly_fields = (
        "id",
        "access_token_state",
        "refresh_token_state",
        "token_expires_at",
        "last_successful_call",
        "last_health_check",
        "consecutive_failures",
        "last_error",
        "capabilities",
        "version",
        "created_at",
        "updated_at",
    )
    fields = (
        "id",
        "user",
        "broker",
        "account_id",
        "display_name",
        "app",
        "status",
        "access_token_state",
        "refresh_token_state",
        *readonly_fields[3:],
        "connection_config",
    )
    raw_id_fields = ("user", "app")

    @admin.display(description="access token")
    def token_state(self, obj):
        return _is_set(obj.has_access_token)

    @admin.display(description="access token")
    def access_token_state(self, obj):
        return _is_set(obj.has_access_token)

    @admin.display(description="refresh token")
    def refresh_token_state(self, obj):
        return _is_set(obj.has_refresh_token)


@admin.register(BrokerApp)
class BrokerAppAdmin(admin.ModelAdmin):
    list_display = ("label", "user", "broker", "api_key", "secret_state", "redirect_url")
    list_filter = ("broker",)
    search_fields = ("label", "api_key", "user__username")
    fields = (
        "user",
        "broker",
        "label",
        "api_key",
        "client_id",
        "redirect_url",
        "secret_state",
        "pin_state",
    )
    readonly_fields = ("secret_state", "pin_state")
    raw_id_fields = ("user",)

    @admin.display(description="API secret")
    def secret_state(self, obj):
        return _is_set(obj._meta.get_field("api_secret").is_set(obj))

    @admin.display(description="PIN")
    def pin_state(self, obj):
        return _is_set(obj._meta.get_field("pin").is_set(obj))


@admin.register(OAuthState)
class OAuthStateAdmin(admin.ModelAdmin):
    list_display = ("user", "broker", "created_at", "expires_at", "used_at")
    list_filter = ("broker",)
    search_fields = ("user__username",)
    # The state value itself is a bearer credential for a login in flight: never shown.
    fields = ("user", "broker", "redirect_uri", "connection", "created_at", "expires_at", "used_at")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(BrokerHealthLog)
class BrokerHealthLogAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "connection",
        "kind",
        "from_status",
        "to_status",
        "success",
        "response_time_ms",
        "error_type",
    )
    list_filter = ("kind", "success", "error_type", "connection__broker")
    search_fields = ("connection__account_id", "connection__user__username", "message")
    date_hierarchy = "created_at"
    list_select_related = ("connection",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
