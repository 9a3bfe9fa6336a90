"""Support staff see who holds which API token, by name and its first characters only.

Tokens are made by their trader (the API tokens page) or by ``manage.py api_token``, never
here: there is no add form, and nothing can be edited. Deleting one revokes it at once.
"""

from django.contrib import admin
from django.utils import timezone

from accounts.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "starts_with", "created", "expiry", "expired")
    list_filter = ("created", "expiry")
    search_fields = ("name", "user__username")
    fields = ("name", "user", "starts_with", "created", "expiry")
    readonly_fields = fields
    ordering = ("-created",)

    @admin.display(description="starts with")
    def starts_with(self, token: ApiToken) -> str:
        return token.prefix

    @admin.display(boolean=True)
    def expired(self, token: ApiToken) -> bool:
        return token.expiry is not None and token.expiry <= timezone.now()

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
