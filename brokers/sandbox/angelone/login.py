"""Angel One sessions (§1, §2): the publisher login page, loginByPassword, generateTokens, and
the header checks (§3) every SmartAPI call goes through."""

from __future__ import annotations

import functools
import html
import time
from datetime import datetime
from datetime import time as clock_time
from urllib.parse import urlsplit

from django.http import HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.views.decorators.csrf import csrf_exempt

from brokers.clock import next_ist
from brokers.sandbox import kit, universe, web
from brokers.sandbox.angelone.render import BROKER, CLIENT_HEADERS, DEMO, ERRORS, fail, gateway, ok

TITLE = "Angel One sandbox login"


def demo_login_fields() -> dict:
    """What the demo user types at login: client code, PIN and the current TOTP (§1b)."""
    return {
        "clientcode": DEMO["client_id"],
        "pin": DEMO["pin"],
        "totp": kit.totp(DEMO["totp_secret"]),
    }


# --- Sessions (§1, §2) -------------------------------------------------------------------------
def _midnight() -> datetime:
    return next_ist(clock_time(0, 0))  # §2: sessions die at midnight IST


def _jwt(account_id: str, kind: str) -> str:
    expires = _midnight().timestamp()
    claims = {"username": account_id, "token": kind, "iat": int(time.time()), "exp": int(expires)}
    value = web.jwt(claims, alg="HS512")
    ttl = max(1, int(expires - time.time()))
    return kit.issue_token(BROKER, account_id, kind=kind, ttl=ttl, value=value)


def _session(account_id: str, kinds=("jwtToken", "refreshToken", "feedToken")) -> dict:
    words = {"jwtToken": "access", "refreshToken": "refresh", "feedToken": "feed"}
    return {name: _jwt(account_id, words[name]) for name in kinds}


def _client_refusal(request) -> HttpResponse | None:
    if request.headers.get("X-PrivateKey") != DEMO["api_key"]:
        return gateway("Invalid API Key", "AG8004")
    if request.headers.get("X-UserType") != "USER":
        return fail("User Type Must Be USER", "AB1005")
    missing = [name for name in CLIENT_HEADERS if not request.headers.get(name)]
    if missing:
        return fail(f"Request Rejected: {missing[0]} header is required", "AB2000")
    return None


def endpoint(*methods: str, secure: bool = True):
    """Method check, §3 headers, the Bearer JWT (secure routes), then the injected faults."""

    def wrap(view):
        @csrf_exempt
        @functools.wraps(view)
        def handler(request, *args, **kwargs):
            if request.method not in methods:
                return ERRORS.wrong_method(methods)
            if secure:
                header = request.headers.get("Authorization", "")
                if not header:
                    return gateway("Token missing", "AG8003")
                scheme, _, token = header.partition(" ")
                account_id = kit.account_for_token(BROKER, token) if scheme == "Bearer" else None
                if not account_id:
                    return ERRORS.token_invalid()
            refused = _client_refusal(request)
            if refused:
                return refused
            body = web.json_object(request, empty={}) if request.method == "POST" else {}
            if body is None:
                return fail("Invalid Request Payload", "AB2000")
            if not secure:
                return view(request, body, *args, **kwargs)
            fault = kit.apply_faults(BROKER, account_id, ERRORS)
            if fault:
                return fault
            account = universe.account(BROKER, account_id)
            return view(request, account, body, *args, **kwargs)

        return handler

    return wrap


def _page_error(message: str) -> HttpResponse:
    return web.page(TITLE, f"<p>Login failed: {html.escape(message)}</p>", 400)


@csrf_exempt
def publisher_login(request):
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    source = request.GET if request.method == "GET" else request.POST
    app = {key: source.get(key, "") for key in ("api_key", "state", "redirect_url")}
    if app["api_key"] != DEMO["api_key"]:
        return _page_error("Invalid API Key: no SmartAPI app is registered with this key.")
    # The real page uses the redirect URL registered in MyApps; the sandbox has no MyApps,
    # so the app names it (newer docs' redirect_url parameter) and it must be http(s).
    if urlsplit(app["redirect_url"]).scheme not in ("http", "https"):
        return _page_error("Invalid redirect URL: register an http(s) redirect URL for the app.")
    if request.method == "GET":
        return _login_form(app)
    if kit.take_code(BROKER, request.POST.get("login_session", "")) != app:
        return _page_error("This login session has expired or was already used. Start again.")
    state = {"state": app["state"]} if app["state"] else {}
    if request.POST.get("decision") != "approve":
        return HttpResponseRedirect(
            web.with_query(app["redirect_url"], {"error": "access_denied", **state})
        )
    account = universe.account(BROKER, request.POST.get("account_id", ""))
    if account is None:
        return _page_error("Invalid client code.")
    # §1a: the redirect carries the JWT and the feed token; no refresh token in this flow.
    session = _session(account.account_id, ("jwtToken", "feedToken"))
    params = {"auth_token": session["jwtToken"], "feed_token": session["feedToken"], **state}
    return HttpResponseRedirect(web.with_query(app["redirect_url"], params))


def _login_form(app: dict) -> HttpResponse:
    hidden = {**app, "login_session": kit.issue_code(BROKER, app)}
    inputs = "".join(
        f'<input type="hidden" name="{name}" value="{html.escape(value)}">'
        for name, value in hidden.items()
    )
    options = "".join(
        f'<option value="{a.account_id}"{" selected" if i == 0 else ""}>'
        f"{a.account_id} · {html.escape(a.name)}</option>"
        for i, a in enumerate(universe.ACCOUNTS[BROKER])
    )
    return web.page(
        TITLE,
        f"<p>The app <strong>{html.escape(app['api_key'])}</strong> wants to use your "
        "Angel One account through SmartAPI.</p>"
        f'<form method="post">{inputs}'
        f'<label>Client code <select name="account_id">{options}</select></label>'
        '<button type="submit" name="decision" value="approve">Log in and authorize</button>'
        '<button type="submit" name="decision" value="deny">Deny</button></form>',
    )


# --- Auth API (§1b, §2) ------------------------------------------------------------------------
@endpoint("POST", secure=False)
def login_by_password(request, body):
    account = universe.account(BROKER, str(body.get("clientcode", "")))
    if account:
        fault = kit.apply_faults(BROKER, account.account_id, ERRORS)
        if fault:
            return fault
    if account is None or str(body.get("password", "")) != DEMO["pin"]:
        return fail("Login Id or password is invalid", "AB1007")
    if not kit.totp_valid(DEMO["totp_secret"], str(body.get("totp", ""))):
        return fail("Invalid totp", "AB1050")
    return ok({**_session(account.account_id), "state": str(body.get("state", ""))})


@endpoint("POST", secure=False)
def generate_tokens(request, body):
    refresh = str(body.get("refreshToken", ""))
    account_id = kit.account_for_token(BROKER, refresh, kind="refresh")
    if not account_id:
        return fail("Invalid Refresh Token", "AB8050")
    fault = kit.apply_faults(BROKER, account_id, ERRORS)
    if fault:
        return fault
    kit.revoke_token(BROKER, refresh, kind="refresh")
    return ok(_session(account_id))
