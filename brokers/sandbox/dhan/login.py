"""Dhan's consent login (§1b, §2) on auth.dhan.co, token renewal, and the access-token check
(§3) every api.dhan.co call goes through."""

from __future__ import annotations

import time
import uuid
from datetime import datetime
from functools import wraps

from django.core.cache import cache
from django.http import HttpResponseRedirect, JsonResponse
from django.utils.html import escape
from django.views.decorators.csrf import csrf_exempt

from brokers.clock import IST
from brokers.sandbox import kit, universe, web
from brokers.sandbox.dhan.render import APP, BROKER, CONSENT_TTL, ERRORS, error, input_error


def registered_redirect(request) -> str:
    """Dhan redirects to the URL registered with the API key on Dhan Web, never to one sent
    in a request. The demo app is registered with the callback of the site serving this
    sandbox, the URL its help page tells traders to register."""
    return APP.get("redirect_url") or request.build_absolute_uri(f"/brokers/callback/{BROKER}/")


def demo_login_fields() -> dict:
    return {}  # a browser (consent) login: nothing is typed into our app


def _jwt(account_id: str, expires: float) -> str:
    """Dhan tokens are JWTs; this one only looks like one (validity lives in the kit)."""
    claims = {"iss": "dhan", "exp": int(expires), "dhanClientId": account_id}
    return web.jwt(claims, alg="HS512", mac_bytes=24)


def jwt_expiry(token: str) -> float:
    return web.jwt_claims(token)["exp"]


def _new_token(account_id: str) -> tuple[str, str]:
    expires = time.time() + kit.TOKEN_TTL
    token = kit.issue_token(BROKER, account_id, value=_jwt(account_id, expires))
    return token, datetime.fromtimestamp(expires, IST).strftime("%Y-%m-%dT%H:%M:%S")


def _token_shaped(token: str) -> bool:
    """A JWT's alphabet only ("Bearer x" never matches), so nothing odd reaches a cache key."""
    return bool(token) and all(c.isalnum() or c in "._-" for c in token)


def _app_refused(request) -> JsonResponse | None:
    """Checks app_id/app_secret when the server let them through (see the module docstring)."""
    app_id, secret = request.META.get("HTTP_APP_ID"), request.META.get("HTTP_APP_SECRET")
    if app_id is None and secret is None:
        return None
    if app_id != APP["api_key"] or secret != APP["api_secret"]:
        return error(401, "DH-901", "Invalid_Authentication", "Invalid app_id or app_secret")
    return None


def api(*methods: str, auth: bool = True):
    """A Dhan endpoint: csrf-exempt, its methods only, and on api.dhan.co the bare
    access-token (no Bearer) resolved to a demo account, with faults applied; client-id, when
    sent, must name the same account (§3)."""

    def decorate(view):
        @csrf_exempt
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method not in methods:
                return ERRORS.wrong_method(methods)
            if not auth:
                return view(request, *args, **kwargs)
            token = request.headers.get("access-token", "")
            account_id = kit.account_for_token(BROKER, token) if _token_shaped(token) else None
            client_id = request.headers.get("client-id")
            if client_id is not None and client_id != account_id:
                account_id = None  # §3: client-id, when sent, must name the token's account
            if (refused := kit.gate(BROKER, account_id, ERRORS)) is not None:
                return refused
            request.dhan_token = token
            return view(request, universe.account(BROKER, account_id), *args, **kwargs)

        return wrapper

    return decorate


# --- Auth host (§1b) --------------------------------------------------------------------------
@api("POST", auth=False)
def generate_consent(request):
    if refused := _app_refused(request):
        return refused
    client_id = request.GET.get("client_id", "")
    if universe.account(BROKER, client_id) is None:
        return input_error("Invalid client_id")
    consent_id = str(uuid.uuid4())
    cache.set(f"sbx:{BROKER}:consent:{consent_id}", {"client_id": client_id}, CONSENT_TTL)
    return JsonResponse(
        {"consentAppId": consent_id, "consentAppStatus": "GENERATED", "status": "success"}
    )


@api("GET", "POST", auth=False)
def consent_login(request):
    """The browser step: the user picks a demo account and approves (or denies) the app."""
    params = request.GET if request.method == "GET" else request.POST
    consent_id = params.get("consentAppId", "")
    key = f"sbx:{BROKER}:consent:{consent_id}"
    consent = cache.get(key)
    if consent is None:
        return web.page("Dhan sandbox login", "<p>Invalid or expired consentAppId.</p>", 400)
    accounts = universe.ACCOUNTS[BROKER]
    if request.method == "GET":
        options = "".join(
            f"<option value='{escape(a.account_id)}'{' selected' if i == 0 else ''}>"
            f"{escape(a.account_id)} ({escape(a.name)})</option>"
            for i, a in enumerate(accounts)
        )
        hidden = "".join(
            f"<input type='hidden' name='{escape(k)}' value='{escape(v)}'>"
            for k, v in request.GET.items()
        )
        body = (
            f"<p>App <b>{escape(APP['api_key'])}</b> asks to trade and read the account "
            f"of client {escape(consent['client_id'])}.</p><form method='post'>{hidden}"
            f"<label>Account <select name='account_id'>{options}</select></label> "
            "<button name='decision' value='approve'>Log in and authorize</button> "
            "<button name='decision' value='deny'>Deny</button></form>"
        )
        return web.page("Dhan sandbox login", body)
    # No choice sent (a scripted client): the account the consent was generated for.
    account_id = request.POST.get("account_id") or consent["client_id"]
    if universe.account(BROKER, account_id) is None:
        return web.page("Dhan sandbox login", "<p>Unknown client id.</p>", 400)
    cache.delete(key)  # a consent is used once, approved or not
    if request.POST.get("decision") == "approve":
        token_id = kit.issue_code(BROKER, {"account": account_id, "app": APP["api_key"]})
        query = {"tokenId": token_id}
    else:
        query = {"error": "access_denied"}  # no documented denial shape: OAuth2's
    return HttpResponseRedirect(web.with_query(registered_redirect(request), query))


@api("GET", "POST", auth=False)
def consume_consent(request):
    # The SDK sends GET, openalgo POST with the same query string: both work (§1b.3).
    if refused := _app_refused(request):
        return refused
    grant = kit.take_code(BROKER, request.GET.get("tokenId", ""))
    if grant is None:
        return input_error("Invalid or expired tokenId")
    account = universe.account(BROKER, grant["account"])
    token, expiry = _new_token(account.account_id)
    return JsonResponse(
        {
            "dhanClientId": account.account_id,
            "dhanClientName": account.name.upper(),
            "dhanClientUcc": f"DEMO{account.account_id[-5:]}K",
            "givenPowerOfAttorney": True,
            "accessToken": token,
            "expiryTime": expiry,
        }
    )


@api("GET", auth=False)
def renew_token(request):
    """GET /v2/RenewToken: the header is dhanClientId here, not client-id (§2)."""
    token = request.headers.get("access-token", "")
    account_id = kit.account_for_token(BROKER, token) if _token_shaped(token) else None
    if request.headers.get("dhanClientId") != account_id:
        account_id = None
    if (refused := kit.gate(BROKER, account_id, ERRORS)) is not None:
        return refused
    token, expiry = _new_token(account_id)
    return JsonResponse({"dhanClientId": account_id, "token": token, "expiryTime": expiry})
