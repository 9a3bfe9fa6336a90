"""Kite's login (§1, §2): the browser page at kite.zerodha.com, the token exchange, logout."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time as clock_time
from datetime import time
from urllib.parse import parse_qsl

from django.http import HttpResponse, HttpResponseRedirect
from django.utils.html import escape
from django.views.decorators.csrf import csrf_exempt

from brokers.clock import next_ist
from brokers.sandbox import kit, universe, web
from brokers.sandbox.zerodha.render import APP, BROKER, ERRORS, bad_input, fail, ok, profile_data

SESSION_RESET = time(6, 0)  # §2: sessions die at 06:00 IST, whenever the login happened


def redirect_url(request) -> str:
    """The redirect URL "registered" for the demo app in the (simulated) developer console.

    Kite's login URL carries no redirect URL (§1): the demo app is registered with the Zerodha
    callback of the site serving this sandbox.
    """
    return APP.get("redirect_url") or request.build_absolute_uri(f"/brokers/callback/{BROKER}/")


def demo_login_fields() -> dict:
    return {}  # a browser login: nothing is typed into our app


@csrf_exempt
def login(request):
    if request.method not in ("GET", "POST"):
        return web.page("Kite sandbox", "<p>Method not allowed.</p>", 405)
    params = request.POST if request.method == "POST" else request.GET
    if params.get("api_key") != APP["api_key"]:
        return web.page("Kite sandbox", "<p>Invalid <code>api_key</code>.</p>", 400)
    if params.get("v") != "3":
        return web.page("Kite sandbox", "<p>Invalid <code>v</code>: Kite Connect v3 only.</p>", 400)
    if request.method == "GET":
        return _login_page(params)
    # The select's first account is preselected, so a bare submit means that one.
    account = web.chosen_account(BROKER, params)
    if account is None:
        return web.page("Kite sandbox", "<p>Unknown account.</p>", 400)
    # §1.2: redirect_params key/values are echoed on the redirect.
    echoed = parse_qsl(params.get("redirect_params", ""))
    decision = params.get("decision")
    if decision == "approve":
        code = kit.issue_code(BROKER, {"api_key": APP["api_key"], "account": account.account_id})
        query = [("action", "login"), ("type", "login"), ("status", "success")]
        query += [("request_token", code), *echoed]
    elif decision == "deny":
        # Kite's denial shape is undocumented: the OAuth2 standard error, plus the echo.
        query = [("error", "access_denied"), *echoed]
    else:
        return web.page("Kite sandbox", "<p>Choose approve or deny.</p>", 400)
    return HttpResponseRedirect(web.with_query(redirect_url(request), query))


def _login_page(params) -> HttpResponse:
    hidden = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in params.items()
    )
    options = "".join(
        f'<option value="{escape(a.account_id)}"{" selected" if i == 0 else ""}>'
        f"{escape(a.account_id)}: {escape(a.name)}</option>"
        for i, a in enumerate(universe.ACCOUNTS[BROKER])
    )
    body = (
        f"<p>The app <strong>{escape(APP['api_key'])}</strong> wants to access your Kite "
        f"account.</p><form method='post'>{hidden}"
        f"<label>Account <select name='account_id'>{options}</select></label> "
        "<button type='submit' name='decision' value='approve'>Log in and authorize</button> "
        "<button type='submit' name='decision' value='deny'>Deny</button></form>"
    )
    return web.page("Zerodha sandbox login", body)


def _checksum(*parts: str) -> str:
    return hashlib.sha256("".join(parts).encode()).hexdigest()


@csrf_exempt
def session_token(request):
    if request.method == "DELETE":
        return _logout(request)
    if request.method != "POST":
        return fail("Method not allowed", "GeneralException", 405)
    if request.headers.get("X-Kite-Version") != "3":
        return bad_input("Invalid or missing `X-Kite-Version` header.")
    form = request.POST
    for name in ("api_key", "request_token", "checksum"):
        if not form.get(name):
            return bad_input(f"Missing `{name}`.")
    if form["api_key"] != APP["api_key"]:
        return fail("Invalid `api_key`.", "TokenException", 403)
    expected = _checksum(form["api_key"], form["request_token"], APP["api_secret"])
    if not hmac.compare_digest(expected, form["checksum"].lower()):
        return fail("Invalid `checksum`.", "TokenException", 403)
    grant = kit.take_code(BROKER, form["request_token"])  # §8.6: one-shot
    if not grant or grant["api_key"] != form["api_key"]:
        return fail("Token is invalid or has expired.", "TokenException", 403)
    account = universe.account(BROKER, grant["account"])
    # §2: the session dies at 06:00 IST, whenever the login happened.
    ttl = web.seconds_until(next_ist(SESSION_RESET))
    access_token = kit.issue_token(BROKER, account.account_id, ttl=ttl)
    data = {
        **profile_data(account),
        "api_key": APP["api_key"],
        "access_token": access_token,
        "public_token": secrets.token_hex(16),
        "enctoken": secrets.token_urlsafe(24),
        "refresh_token": "",  # §2: none for ordinary apps
        "silo": "",
        "login_time": web.ist_stamp(clock_time.time()),
    }
    return ok(data)


def _logout(request):
    if request.GET.get("api_key") != APP["api_key"]:
        return fail("Invalid `api_key`.", "TokenException", 403)
    token = request.GET.get("access_token", "")
    account_id = kit.account_for_token(BROKER, token)
    if (refused := kit.gate(BROKER, account_id, ERRORS)) is not None:
        return refused
    kit.revoke_token(BROKER, token)
    return ok(True)
