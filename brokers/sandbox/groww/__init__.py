"""Simulated Groww Trade API, written from docs/brokers/groww.md (never from the adapter).

A bare § number in this package is a section of docs/brokers/groww.md.

Both real hosts are served under /sandbox/groww/: api.groww.in's /v1/... and
growwapi-assets.groww.in's /instruments/instrument.csv. There is no browser login: the demo
API key mints a token with an approval checksum or a TOTP, and tokens die at 06:00 IST.
``login`` holds the token endpoint, ``api`` the rest, ``render`` Groww's shapes of the data.
"""

from django.urls import path, re_path

from brokers.sandbox import web
from brokers.sandbox.groww import api, login
from brokers.sandbox.groww.login import demo_login_fields
from brokers.sandbox.groww.render import BROKER, ERRORS, MASTER_HEADER, TOKEN_DIES, TOTP_SECRET

__all__ = [
    "BROKER",
    "ERRORS",
    "MASTER_HEADER",
    "TOKEN_DIES",
    "TOTP_SECRET",
    "demo_login_fields",
    "urlpatterns",
]

urlpatterns = [
    path("v1/token/api/access", login.token_access),
    path("v1/user/detail", api.user_detail),
    path("v1/margins/detail/user", api.margins),
    path("v1/holdings/user", api.holdings),
    path("v1/positions/user", api.positions),
    path("v1/positions/trading-symbol", api.positions),
    path("v1/order/create", api.order_create),
    path("v1/order/modify", api.order_modify),
    path("v1/order/cancel", api.order_cancel),
    path("v1/order/list", api.order_list),
    path("v1/order/detail/<str:order_id>", api.order_detail),
    path("v1/order/status/reference/<str:reference>", api.order_status_by_reference),
    path("v1/order/status/<str:order_id>", api.order_status),
    path("v1/order/trades/<str:order_id>", api.order_trades),
    path("v1/live-data/quote", api.quote),
    path("v1/live-data/ltp", api.ltp),
    path("v1/live-data/ohlc", api.ohlc),
    path("instruments/instrument.csv", api.instrument_csv),
    re_path(r"^(?P<rest>.*)$", web.unknown_path(ERRORS)),
]
