from rest_framework.permissions import BasePermission

from accounts.roles import is_trader


class IsTrader(BasePermission):
    """The API is for traders: signed in and holding the trader role."""

    message = "This endpoint is for trader accounts."

    def has_permission(self, request, view) -> bool:
        return is_trader(request.user)
