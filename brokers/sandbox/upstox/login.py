"""Upstox login: the authorization dialog, the token exchange, and the JWTs it mints."""

from __future__ import annotations

import hmac
import secrets
import time
from datetime import time as clock_time
from urllib.parse import urlsplit

from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.utils.html import format_html, format_html_join
from django.views.decorators.csrf import csrf_exempt

from brokers.clock import next_ist
from brokers.sandbox import kit, universe, web
from brokers.sandbox.upstox.render import (
    APP,
    BROKER,
    EXTENDED_TTL,
    UNSUPPORTED,
    error,
    profile_data,
)


def demo_login_fields() -> dict:
    return {}  # a browser login: nothing is typed into the product


def _app_problem(params) -> str:
    """The dialog checks the app and its redirect before showing anything (Authorize)."""
    redirect = urlsplit(params.get("redirect_uri", ""))
    if params.get("client_id") != APP["api_key"] or redirect.scheme not in ("http", "https"):
        return "UDAPI100068: Check your 'client_id' and 'redirect_uri'; one or both are incorrect."
    if params.get("response_type") != "code":
        return "UDAPI100036: Invalid Input: response_type must be 'code'."
    return ""


def _login_form(params) -> HttpResponse:
    carried = ("response_type", "client_id", "redirect_uri", "state")
    hidden = format_html_join(
        "",
        '<input type="hidden" name="{}" value="{}">',
        ((name, params[name]) for name in carried if name in params),
    )
    options = format_html_join(
        "",
        '<option value="{}"{}>{} ({})</option>',
        (
            (a.account_id, " selected" if i == 0 else "", a.name, a.account_id)
            for i, a in enumerate(universe.ACCOUNTS[BROKER])
        ),
    )
    return web.page(
        "Upstox sandbox login",
        format_html(
            "<p>The app <strong>{}</strong> asks to use your Upstox account.</p>"
            '<form method="post">{}<label>Account <select name="account_id">{}</select></label>'
            '<button type="submit" name="decision" value="approve">Log in and authorize</button>'
            '<button type="submit" name="decision" value="deny">Deny</button></form>',
            params["client_id"],
            hidden,
            options,
        ),
    )


def _back_to_app(redirect_uri: str, **params) -> HttpResponseRedirect:
    given = {k: v for k, v in params.items() if v}  # no empty state=
    return HttpResponseRedirect(web.with_query(redirect_uri, given))


@csrf_exempt
def dialog(request):
    params = request.POST if request.method == "POST" else request.GET
    problem = _app_problem(params)
    if problem:
        return web.page("Upstox sandbox login", format_html("<p>{}</p>", problem), status=400)
    if request.method != "POST":
        return _login_form(params)
    # A browser always sends the select's choice; a bare client gets the preselected account.
    account = web.chosen_account(BROKER, params)
    if account is None:
        problem = format_html("<p>Unknown account {}.</p>", params.get("account_id"))
        return web.page("Upstox sandbox login", problem, 400)
    redirect_uri, state = params["redirect_uri"], params.get("state", "")
    if params.get("decision") != "approve":
        # No denial shape is documented: the OAuth2 standard one.
        return _back_to_app(redirect_uri, error="access_denied", state=state)
    code = kit.issue_code(
        BROKER,
        {"account": account.account_id, "client_id": APP["api_key"], "redirect_uri": redirect_uri},
    )
    return _back_to_app(redirect_uri, code=code, state=state)


@csrf_exempt
def token(request):
    """Get Token: form fields only; the code is spent even when the exchange fails."""
    if request.method != "POST":
        return error(405, "UDAPI10000", UNSUPPORTED)
    form = request.POST
    grant = kit.take_code(BROKER, form.get("code", "")) if form.get("code") else None
    if form.get("grant_type") != "authorization_code":
        return error(400, "UDAPI100036", "Invalid Input", "grant_type", form.get("grant_type"))
    secret = form.get("client_secret", "").encode()
    secret_ok = hmac.compare_digest(secret, APP["api_secret"].encode())
    if form.get("client_id") != APP["api_key"] or not secret_ok:
        return error(401, "UDAPI100016", "Invalid Credentials")
    if grant is None or grant["redirect_uri"] != form.get("redirect_uri"):
        return error(400, "UDAPI100057", "Invalid Auth code")
    account = universe.account(BROKER, grant["account"])
    access = _mint(account.account_id, "access", next_ist(clock_time(3, 30)).timestamp())
    extended = _mint(account.account_id, "extended", time.time() + EXTENDED_TTL)
    return JsonResponse(
        {**profile_data(account), "access_token": access, "extended_token": extended}
    )


def _mint(account_id: str, kind: str, expires: float) -> str:
    """A JWT like Upstox's, whose "exp" the sandbox checks itself: a cache's TTL runs on the
    cache server's clock, and tests travel in time."""
    now = int(time.time())
    claims = {"sub": account_id, "iat": now, "exp": int(expires), "jti": secrets.token_hex(6)}
    jwt = web.jwt(claims, secret=APP["api_secret"])
    ttl = max(1, int(expires - now))
    return kit.issue_token(BROKER, account_id, kind=kind, ttl=ttl, value=jwt)


def holder(token: str, kind: str) -> str | None:
    """The account a live token belongs to."""
    account_id = kit.account_for_token(BROKER, token, kind=kind)
    if account_id is None:
        return None
    return account_id if time.time() < web.jwt_claims(token).get("exp", 0) else None
