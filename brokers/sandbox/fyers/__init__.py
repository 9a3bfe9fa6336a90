"""Simulated Fyers API v3, written from docs/brokers/fyers.md (not from our adapter).

A bare § number in this package is a section of docs/brokers/fyers.md.

Both real hosts are served under /sandbox/fyers/: ``api-t1.fyers.in`` (``/api/v3/...`` trading
and account, ``/data/...`` market data) and ``public.fyers.in`` (``/sym_details/...`` symbol
master). Tokens are JWT-shaped with a real ``exp`` so clients can read their expiry. ``login``
holds the login page and token exchanges, ``api`` the endpoints, ``render`` the shapes.
"""

from django.urls import re_path

from brokers.sandbox import web
from brokers.sandbox.fyers import api, login
from brokers.sandbox.fyers.login import demo_login_fields
from brokers.sandbox.fyers.render import BROKER, ERRORS

__all__ = ["BROKER", "ERRORS", "demo_login_fields", "urlpatterns"]

urlpatterns = [
    # Both hosts share one prefix: their paths do not overlap. Trailing slashes are tolerated
    # because the official SDK writes some paths with one.
    re_path(r"^api/v3/generate-authcode/?$", login.generate_authcode),
    re_path(r"^api/v3/validate-authcode/?$", login.validate_authcode),
    re_path(r"^api/v3/validate-refresh-token/?$", login.validate_refresh_token),
    re_path(r"^api/v3/logout/?$", api.logout),
    re_path(r"^api/v3/profile/?$", api.profile),
    re_path(r"^api/v3/funds/?$", api.funds),
    re_path(r"^api/v3/holdings/?$", api.holdings),
    re_path(r"^api/v3/positions/?$", api.positions),
    re_path(r"^api/v3/orders/?$", api.order_book),
    re_path(r"^api/v3/orders/sync/?$", api.orders_sync),
    re_path(r"^api/v3/tradebook/?$", api.tradebook),
    re_path(r"^data/quotes/?$", api.quotes),
    re_path(r"^data/depth/?$", api.depth),
    re_path(r"^data/marketStatus/?$", api.market_status),
    re_path(r"^sym_details/(?P<name>[A-Za-z_]+\.csv)$", api.symbol_master),
    re_path(r"^(?P<rest>.*)$", web.unknown_path(ERRORS)),
]
