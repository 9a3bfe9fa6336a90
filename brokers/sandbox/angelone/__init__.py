"""Simulated Angel One SmartAPI, written from docs/brokers/angelone.md.

A bare § number in this package is a section of docs/brokers/angelone.md.

Every host is served under /sandbox/angelone/ at its real path:
smartapi.angelone.in/publisher-login (the browser login page), apiconnect.angelone.in/rest/...
(the API) and margincalculator.angelbroking.com/OpenAPI_File/... (the instrument master).
``login`` holds the sessions and the per-call header checks, ``api`` the endpoints, ``render``
SmartAPI's shapes of the demo data.
"""

from django.urls import path, re_path

from brokers.sandbox import web
from brokers.sandbox.angelone import api, login
from brokers.sandbox.angelone.login import demo_login_fields
from brokers.sandbox.angelone.render import BROKER, ERRORS, SECURE

__all__ = ["BROKER", "ERRORS", "demo_login_fields", "urlpatterns"]

urlpatterns = [
    path("publisher-login", login.publisher_login),
    path("rest/auth/angelbroking/user/v1/loginByPassword", login.login_by_password),
    path("rest/auth/angelbroking/jwt/v1/generateTokens", login.generate_tokens),
    path(SECURE + "user/v1/logout", api.logout),
    path(SECURE + "user/v1/getProfile", api.profile),
    path(SECURE + "user/v1/getRMS", api.rms),
    path(SECURE + "portfolio/v1/getHolding", api.holding),
    path(SECURE + "portfolio/v1/getAllHolding", api.all_holding),
    path(SECURE + "order/v1/getPosition", api.position),
    path(SECURE + "order/v1/placeOrder", api.place_order),
    path(SECURE + "order/v1/modifyOrder", api.modify_order),
    path(SECURE + "order/v1/cancelOrder", api.cancel_order),
    path(SECURE + "order/v1/getOrderBook", api.order_book),
    path(SECURE + "order/v1/getTradeBook", api.trade_book),
    path(SECURE + "order/v1/details/<str:wanted>", api.order_details),
    path(SECURE + "order/v1/getLtpData", api.ltp_data),
    re_path(r"^rest/secure/angelbroking/market/v1/quote/?$", api.quote),
    path("OpenAPI_File/files/OpenAPIScripMaster.json", api.scrip_master),
    re_path(r"^(?P<rest>.*)$", web.unknown_path(ERRORS)),
]
