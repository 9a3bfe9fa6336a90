"""Simulated IIFL Securities: Symphony XTS as served by ttblaze.iifl.com (docs/brokers/iifl.md).

A bare § number in this package is a section of docs/brokers/iifl.md.

Two logins with the demo app's two key pairs (interactive and market data), each token bare in
the ``authorization`` header; every answer is {type, code, description, result}. GET and DELETE
take query parameters, POST and PUT a JSON body. Strings marked UNCONFIRMED in the notes (error
codes other than e-session-0007, the over-limit answer) are this simulator's best guess.
``login`` holds the sessions and the token check, ``api`` the endpoints, ``render`` the shapes.
"""

from django.urls import path, re_path

from brokers.sandbox import web
from brokers.sandbox.iifl import api, login
from brokers.sandbox.iifl.login import demo_login_fields, route
from brokers.sandbox.iifl.render import BROKER, ERRORS

__all__ = ["BROKER", "ERRORS", "demo_login_fields", "urlpatterns"]

urlpatterns = [
    path(
        "interactive/user/session",
        route(post=login.interactive_login, delete=login.interactive_logout),
    ),
    path("interactive/user/profile", route(get=api.profile)),
    path("interactive/user/balance", route(get=api.balance)),
    path("interactive/portfolio/holdings", route(get=api.holdings)),
    path("interactive/portfolio/positions", route(get=api.positions)),
    path(
        "interactive/orders",
        route(get=api.order_book, post=api.place, put=api.modify, delete=api.cancel),
    ),
    path("interactive/orders/trades", route(get=api.trade_book)),
    path("apimarketdata/auth/login", route(post=login.market_login)),
    path("apimarketdata/auth/logout", route(delete=login.market_logout)),
    path("apimarketdata/instruments/quotes", route(post=api.quotes)),
    path("apimarketdata/instruments/master", api.master),
    re_path(r"^(?P<rest>.*)$", web.unknown_path(ERRORS)),
]
