"""Failed password sign-ins, counted by django-axes (settings: AXES_*, config/settings.py).

Every password sign-in — the trader's page and the admin's — goes through Django's
``authenticate``, where axes' backend refuses a locked pair and its signal handler counts the
failures. A lock holds one username from one client address: a guesser locks only their own
address out of that account, and one address (a shared proxy) never locks every trader.

The values are read when a sign-in happens, from the settings named in .env.example, so
SIGN_IN_MAX_FAILURES, SIGN_IN_LOCKOUT_MINUTES and TRUSTED_PROXY_COUNT stay the only knobs.
"""

from __future__ import annotations

from datetime import timedelta

from axes.helpers import get_client_username
from django.conf import settings
from django.shortcuts import render
from django.urls import reverse
from ipware.ip import get_client_ip

from accounts.forms import SignInForm


def failure_limit(request, credentials) -> int:
    return settings.SIGN_IN_MAX_FAILURES


def cool_off(request) -> timedelta:
    return timedelta(minutes=settings.SIGN_IN_LOCKOUT_MINUTES)


def client_address(request) -> str | None:
    """The socket's address, or — behind TRUSTED_PROXY_COUNT proxies of ours — the address
    the outermost of them saw: counted from the right of TRUSTED_PROXY_HEADER, since entries
    on its left are whatever the client sent."""
    count = settings.TRUSTED_PROXY_COUNT
    if not count:
        return request.META.get("REMOTE_ADDR")
    header = "HTTP_" + settings.TRUSTED_PROXY_HEADER.upper().replace("-", "_")
    address, _routable = get_client_ip(
        request,
        proxy_order="right-most",
        proxy_count=count,
        request_header_order=[header, "REMOTE_ADDR"],
    )
    return address


def locked_out(request, original_response=None, credentials=None):
    """The page a locked sign-in gets (both sign-in pages): what happened and the way back."""
    username = get_client_username(request, credentials) or ""
    context = {
        "form": SignInForm(request, initial={"username": username}),
        "next": "",
        "locked": True,
        "minutes": settings.SIGN_IN_LOCKOUT_MINUTES,
        "reset_url": reverse("accounts:password_reset"),
    }
    return render(request, "accounts/sign_in.html", context, status=429)
