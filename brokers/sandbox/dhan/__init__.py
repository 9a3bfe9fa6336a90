"""Simulated Dhan (DhanHQ v2), written from docs/brokers/dhan.md, not from the adapter.

A bare § number in this package is a section of docs/brokers/dhan.md.

Hosts, all under /sandbox/dhan/: auth.dhan.co (consent login), api.dhan.co (/v2/...),
images.dhan.co (the scrip master CSV). Trading answers are bare JSON, errors are
{errorType, errorCode, errorMessage}; market-feed answers are enveloped and fail with HTTP 200.

The auth host's ``app_id``/``app_secret`` headers have underscores, which Daphne and Django's
own servers drop before a view sees them (CVE-2015-0219). They are checked whenever they
arrive (test client, proxies that keep them); otherwise the single-use consent id and tokenId
are what bind the app, as they do on the real host too. ``login`` holds the auth host and the
per-call token check, ``api`` the endpoints, ``render`` Dhan's shapes of the demo data.
"""

from django.urls import path, re_path

from brokers.sandbox import web
from brokers.sandbox.dhan import api, login
from brokers.sandbox.dhan.login import demo_login_fields
from brokers.sandbox.dhan.render import BROKER, ERRORS

__all__ = ["BROKER", "ERRORS", "demo_login_fields", "urlpatterns"]

urlpatterns = [
    # auth.dhan.co
    path("app/generate-consent", login.generate_consent),
    path("login/consentApp-login", login.consent_login),
    path("app/consumeApp-consent", login.consume_consent),
    # api.dhan.co
    path("v2/RenewToken", login.renew_token),
    path("v2/profile", api.profile),
    path("v2/fundlimit", api.fund_limit),
    path("v2/holdings", api.holdings),
    path("v2/positions", api.positions),
    path("v2/orders", api.orders),
    path("v2/orders/external/<str:correlation_id>", api.order_by_correlation_id),
    path("v2/orders/<str:order_id>", api.order_detail),
    re_path(r"^v2/trades/?$", api.trades),
    path("v2/trades/<str:order_id>", api.trades),
    path("v2/marketfeed/ltp", api.market_feed("ltp")),
    path("v2/marketfeed/ohlc", api.market_feed("ohlc")),
    path("v2/marketfeed/quote", api.market_feed("quote")),
    # images.dhan.co
    path("api-data/api-scrip-master.csv", api.scrip_master),
    re_path(r"^(?P<rest>.*)$", web.unknown_path(ERRORS)),
]
