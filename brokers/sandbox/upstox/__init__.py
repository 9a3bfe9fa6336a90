"""Simulated Upstox, written from docs/brokers/upstox.md (API v2; v3 order writes and LTP).

A bare § number in this package is a section of docs/brokers/upstox.md.

Its three hosts share /sandbox/upstox/: api.upstox.com (login dialog, token, portfolio, order
book, quotes), api-hft.upstox.com (/v3/order/place|modify|cancel) and assets.upstox.com (the
gzipped JSON instrument master). Login is OAuth2: dialog → 302 with ?code&state → form POST to
the token endpoint, answered flat. Everything else answers {"status", "data"} or
{"status": "error", "errors": [{"errorCode", "message", "propertyPath", "invalidValue"}]}.
``login`` holds the dialog and token exchange, ``api`` the endpoints, ``render`` the shapes.
"""

from django.urls import path, re_path

from brokers.sandbox import web
from brokers.sandbox.upstox import api, login
from brokers.sandbox.upstox.login import demo_login_fields
from brokers.sandbox.upstox.render import BROKER, ERRORS

__all__ = ["BROKER", "ERRORS", "demo_login_fields", "urlpatterns"]

urlpatterns = [
    path("v2/login/authorization/dialog", login.dialog),
    path("v2/login/authorization/token", login.token),
    path("v2/logout", api.logout),
    path("v2/user/profile", api.profile),
    path("v2/user/get-funds-and-margin", api.funds),
    path("v2/portfolio/long-term-holdings", api.holdings),
    path("v2/portfolio/short-term-positions", api.positions),
    path("v2/order/retrieve-all", api.order_book),
    path("v2/order/details", api.order_details),
    path("v2/order/history", api.order_history),
    path("v2/order/trades", api.order_trades),
    path("v2/order/trades/get-trades-for-day", api.trades),
    path("v2/market-quote/ltp", api.quotes_view("ltp", version="2.0")),
    path("v2/market-quote/quotes", api.quotes_view("quotes", version="2.0")),
    path("v3/market-quote/ltp", api.quotes_view("ltp3")),
    path("v3/order/place", api.place_order),
    path("v3/order/modify", api.modify_order),
    path("v3/order/cancel", api.cancel_order),
    re_path(
        r"^market-quote/instruments/exchange/(?P<name>complete|NSE|BSE)\.json\.gz$",
        api.instrument_master,
    ),
    re_path(r"^(?P<rest>.*)$", web.unknown_path(ERRORS)),
]
