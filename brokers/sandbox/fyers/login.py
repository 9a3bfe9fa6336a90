"""Fyers login (§1, §2): the generate-authcode page, the auth-code and refresh-token exchanges."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time as clock
from urllib.parse import urlsplit

from django.http import HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.utils.html import format_html, format_html_join
from django.views.decorators.csrf import csrf_exempt

from brokers.clock import next_ist
from brokers.sandbox import kit, universe, web
from brokers.sandbox.fyers.render import (
    ACCESS_CUTOVER,
    APPS,
    BROKER,
    ERRORS,
    REFRESH_TTL,
    error,
    ok,
)


def demo_login_fields() -> dict:
    return {}  # a browser login: nothing is typed into our app


def _app_hash(app_id: str) -> str:
    return hashlib.sha256(f"{app_id}:{APPS[app_id]['api_secret']}".encode()).hexdigest()


def _app_for_hash(value) -> str | None:
    return next((a for a in APPS if hmac.compare_digest(_app_hash(a), str(value or ""))), None)


def _token(app_id: str, account_id: str, *, sub: str, exp: float) -> str:
    claims = {"sub": sub, "app_id": app_id.rpartition("-")[0], "fy_id": account_id}
    claims |= {"iat": int(clock.time()), "exp": int(exp), "jti": secrets.token_hex(4)}  # type: ignore[dict-item]
    return web.jwt(claims, secret=APPS[app_id]["api_secret"], mac_bytes=16)


def _issue_access(app_id: str, account_id: str) -> str:
    exp = next_ist(ACCESS_CUTOVER).timestamp()
    token = _token(app_id, account_id, sub="access_token", exp=exp)
    return kit.issue_token(BROKER, account_id, ttl=max(1, int(exp - clock.time())), value=token)


# --- Login (§1) -----------------------------------------------------------------------------
def _login_problem(params) -> str:
    if params.get("client_id") not in APPS:
        return "Invalid client_id: no app with this App ID"
    if urlsplit(params.get("redirect_uri", "")).scheme not in ("http", "https"):
        return "Invalid redirect_uri"
    if params.get("response_type") != "code":
        return "Invalid response_type: expected code"
    return ""


@csrf_exempt
def generate_authcode(request):
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    # The form posts back to the same URL: its query and its hidden inputs say the same.
    params = request.GET.dict() | (request.POST.dict() if request.method == "POST" else {})
    problem = _login_problem(params)
    if problem:
        return web.page("Fyers sandbox login", format_html("<p>Error: {}</p>", problem), 400)
    if request.method == "GET":
        return _login_form(params)
    account = web.chosen_account(BROKER, params)
    if account is None:
        return web.page("Fyers sandbox login", "<p>Error: Unknown account</p>", 400)
    account_id = account.account_id
    state = {"state": params["state"]} if "state" in params else {}
    if params.get("decision") != "approve":
        # Not in the notes: the OAuth2 standard denial.
        return HttpResponseRedirect(
            web.with_query(params["redirect_uri"], {"error": "access_denied", **state})
        )
    app_id = params["client_id"]
    code = kit.issue_code(BROKER, {"account": account_id, "app": app_id})
    # §1: the auth code is itself a JWT (~8 h 20 min in the sample); ours points at a one-time code.
    claims = {"sub": "auth_code", "iss": "api.login.fyers.in", "app_id": app_id.rpartition("-")[0]}
    claims |= {"uuid": code, "display_name": account_id, "exp": int(clock.time()) + kit.CODE_TTL}
    auth_code = web.jwt(claims, secret=APPS[app_id]["api_secret"], mac_bytes=16)
    answer = {"s": "ok", "code": "200", "auth_code": auth_code, **state}
    return HttpResponseRedirect(web.with_query(params["redirect_uri"], answer))


def _login_form(params) -> HttpResponse:
    hidden = format_html_join(
        "",
        '<input type="hidden" name="{}" value="{}">',
        ((k, v) for k, v in params.items() if k not in ("account_id", "decision")),
    )
    options = format_html_join(
        "",
        '<option value="{}"{}>{} ({})</option>',
        (
            (a.account_id, " selected" if i == 0 else "", a.name, a.account_id)
            for i, a in enumerate(universe.ACCOUNTS[BROKER])
        ),
    )
    body = format_html(
        "<p>App <strong>{}</strong> asks to access your account.</p>"
        '<form method="post">{}<label>Account <select name="account_id">{}</select></label>'
        '<p><button type="submit" name="decision" value="approve">Log in and authorize</button> '
        '<button type="submit" name="decision" value="deny">Deny</button></p></form>',
        params["client_id"],
        hidden,
        options,
    )
    return web.page("Fyers sandbox login", body)


@csrf_exempt
def validate_authcode(request):
    if request.method != "POST":
        return ERRORS.wrong_method(["POST"])
    body = web.json_object(request)
    if not isinstance(body, dict):
        return error(-50, "Invalid input")
    if body.get("grant_type") != "authorization_code":
        return error(-441, "invalid grant type")  # F5
    app_id = _app_for_hash(body.get("appIdHash"))
    if app_id is None:
        return error(-371, "Please provide sha256 hash of appId and app secret")
    if not body.get("code"):
        return error(-374, "Please provide authorization code")
    granted = kit.take_code(BROKER, str(web.jwt_claims(str(body["code"])).get("uuid", "")))
    if not granted or granted["app"] != app_id:
        return error(-437, "invalid auth code")  # F4; a used code is gone too
    account = granted["account"]
    refresh = _token(app_id, account, sub="refresh_token", exp=clock.time() + REFRESH_TTL)
    kit.issue_token(BROKER, account, kind="refresh", ttl=REFRESH_TTL, value=refresh)
    return ok(access_token=_issue_access(app_id, account), refresh_token=refresh)


@csrf_exempt
def validate_refresh_token(request):
    if request.method != "POST":
        return ERRORS.wrong_method(["POST"])
    body = web.json_object(request)
    if not isinstance(body, dict):
        return error(-50, "Invalid input")
    if body.get("grant_type") != "refresh_token":
        return error(-441, "invalid grant type")
    app_id = _app_for_hash(body.get("appIdHash"))
    if app_id is None:
        return error(-371, "Please provide sha256 hash of appId and app secret")
    refresh = str(body.get("refresh_token") or "")
    account = kit.account_for_token(BROKER, refresh, kind="refresh")
    if account is None or web.jwt_claims(refresh).get("app_id") != app_id.rpartition("-")[0]:
        return error(-501, "Please provide valid refresh token")  # F4
    if not hmac.compare_digest(str(body.get("pin") or ""), APPS[app_id].get("pin", "")):
        return error(-50, "Please provide valid pin")  # UNCONFIRMED code for a wrong PIN
    return ok(access_token=_issue_access(app_id, account))  # §2: no new refresh token
