"""Simulated Zerodha Kite Connect v3, written from docs/brokers/zerodha.md alone.

A bare § number in this package is a section of docs/brokers/zerodha.md.

Serves kite.zerodha.com (/connect/login) and api.kite.trade under /sandbox/zerodha/ with the
real paths, envelopes ({status, data} / {status: "error", message, error_type}), HTTP codes,
form-encoded bodies and the `Authorization: token api_key:access_token` + `X-Kite-Version: 3`
headers. Prices are JSON numbers, as Kite sends them. ``login`` holds the login page and token
exchange, ``api`` the endpoints, ``render`` Kite's shapes of the demo data.
"""

from django.urls import path, re_path

from brokers.sandbox import web
from brokers.sandbox.zerodha import api, login
from brokers.sandbox.zerodha.login import demo_login_fields
from brokers.sandbox.zerodha.render import BROKER, ERRORS

__all__ = ["BROKER", "ERRORS", "demo_login_fields", "urlpatterns"]

urlpatterns = [
    path("connect/login", login.login),
    path("session/token", login.session_token),
    path("user/profile", api.profile),
    path("user/margins", api.margins),
    path("user/margins/<str:segment>", api.margins),
    path("portfolio/holdings", api.holdings),
    path("portfolio/positions", api.positions),
    path("orders", api.order_book),
    # docs/brokers/zerodha.md §4: GET /orders/{order_id} is one order's history, POST
    # /orders/{variety} places.
    re_path(r"^orders/([^/]+)$", web.by_method(ERRORS, get=api.order_history, post=api.place)),
    path("orders/<str:order_id>/trades", web.by_method(ERRORS, get=api.order_trades)),
    path("orders/<str:variety>/<str:order_id>", api.order_change),
    path("trades", api.trades),
    path("quote", api.quote_view("quote")),
    path("quote/ohlc", api.quote_view("quote/ohlc")),
    path("quote/ltp", api.quote_view("quote/ltp")),
    path("instruments", api.instruments),
    path("instruments/<str:exchange>", api.instruments),
    re_path(r"^(?P<rest>.*)$", web.unknown_path(ERRORS)),
]
