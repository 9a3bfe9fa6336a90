from django.contrib import admin

from health.models import ConnectionHealth, Notification


@admin.register(ConnectionHealth)
class ConnectionHealthAdmin(admin.ModelAdmin):
    list_display = (
        "connection",
        "quality",
        "next_check_at",
        "reconnect_attempts",
        "incident",
        "incident_open",
    )
    list_filter = ("quality", "incident_open")
    search_fields = ("connection__account_id", "connection__user__username")
    raw_id_fields = ("connection",)
    readonly_fields = ("claim",)


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("title", "user", "kind", "created_at", "read_at", "emailed_at")
    list_filter = ("kind",)
    search_fields = ("title", "user__username")
    raw_id_fields = ("user", "connection")
    readonly_fields = ("dedupe_key",)
