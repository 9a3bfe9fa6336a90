"""Support staff see every connection's state, never a secret: only "set / not set"."""

from django.contrib import admin, messages
from django.utils.html import format_html

from brokers import connections, states
from brokers.errors import BrokerError
from brokers.models import (
    BrokerApp,
    BrokerConnection,
    BrokerHealthLog,
    ConnectionStatus,
    InstrumentMasterLoad,
    OAuthState,
)
from brokers.states import TransitionRefused

COLOURS = {
    ConnectionStatus.CONNECTED: "#12b76a",
    ConnectionStatus.RATE_LIMITED: "#f79009",
    ConnectionStatus.MAINTENANCE: "#f79009",
    ConnectionStatus.CONNECTING: "#f79009",
}


class ReadOnlyAdminMixin:
    """Rows the platform writes (login states, health logs, master loads, sync results):
    support reads them, and may delete one, but never adds or edits one. Works for inlines."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def _is_set(value: bool) -> str:
    return "set" if value else "not set"


@admin.register(BrokerConnection)
class BrokerConnectionAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "user",
        "broker",
        "health",
        "response_ms",
        "consecutive_failures",
        "last_successful_call",
        "last_health_check",
        "token_state",
        "token_expires_at",
    )
    list_filter = ("broker", "status", ("user", admin.RelatedOnlyFieldListFilter))
    search_fields = ("account_id", "display_name", "user__username", "user__email")
    list_select_related = ("user",)
    actions = ["refresh_now", "mark_maintenance", "disconnect_connections"]
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

    def get_queryset(self, request):
        return super().get_queryset(request).with_last_response()

    @admin.display(description="health", ordering="status")
    def health(self, obj):
        colour = COLOURS.get(obj.status, "#f04438" if obj.status != "DISCONNECTED" else "#98a2b3")
        problem = f" · {obj.last_error[:80]}" if obj.last_error else ""
        return format_html(
            '<svg width="10" height="10" viewBox="0 0 10 10" aria-hidden="true">'
            '<circle cx="5" cy="5" r="5" fill="{}"></circle></svg> {}{}',
            colour,
            obj.get_status_display(),
            problem,
        )

    @admin.display(description="last response (ms)")
    def response_ms(self, obj):
        return obj.last_response_ms

    @admin.display(description="access token")
    def token_state(self, obj):
        return _is_set(obj.has_access_token)

    @admin.action(description="Refresh the session now (brokers that allow it)")
    def refresh_now(self, request, queryset):
        renewed, cannot, failed = 0, [], []
        for connection in queryset.select_related("app"):
            try:
                if connections.refresh_tokens(connection=connection):
                    renewed += 1
                else:
                    cannot.append(str(connection))
            except BrokerError as error:
                failed.append(f"{connection}: {error.message}")
        if renewed:
            self.message_user(request, f"Renewed {renewed} session(s).", messages.SUCCESS)
        if cannot:
            self.message_user(
                request,
                "Not renewed (the broker has no refresh, or refused it; the trader must log in "
                f"again): {', '.join(cannot)}",
                messages.WARNING,
            )
        if failed:
            self.message_user(request, "Broker unavailable: " + "; ".join(failed), messages.ERROR)

    @admin.action(description="Mark as under broker maintenance")
    def mark_maintenance(self, request, queryset):
        moved, refused = 0, []
        for connection in queryset:
            try:
                moved += states.transition(
                    connection, ConnectionStatus.MAINTENANCE, reason="Marked by support."
                )
            except TransitionRefused:
                refused.append(f"{connection} ({connection.get_status_display()})")
        self.message_user(request, f"{moved} connection(s) marked as in maintenance.")
        if refused:
            self.message_user(request, f"Not possible from: {', '.join(refused)}", messages.WARNING)

    @admin.action(description="Disconnect (revoke at the broker, wipe tokens)")
    def disconnect_connections(self, request, queryset):
        for connection in queryset.select_related("app"):
            connections.disconnect(connection=connection)
        self.message_user(request, f"Disconnected {queryset.count()} connection(s).")

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
class OAuthStateAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("user", "broker", "created_at", "expires_at", "used_at")
    list_filter = ("broker",)
    search_fields = ("user__username",)
    # The state value itself is a bearer credential for a login in flight: never shown.
    fields = ("user", "broker", "redirect_uri", "connection", "created_at", "expires_at", "used_at")
    readonly_fields = fields


@admin.register(BrokerHealthLog)
class BrokerHealthLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
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


@admin.register(InstrumentMasterLoad)
class InstrumentMasterLoadAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("broker", "count", "loaded_at")
