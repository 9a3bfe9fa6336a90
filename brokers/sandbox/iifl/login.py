"""XTS sessions (§1, §2): the interactive and market-data logins and logouts, and the token
check (§3) every call goes through."""

from __future__ import annotations

import time
from datetime import time as clock
from functools import wraps

from django.views.decorators.csrf import csrf_exempt

from brokers.clock import next_ist
from brokers.sandbox import kit, universe, web
from brokers.sandbox.iifl.render import (
    APP,
    BROKER,
    ERRORS,
    PRODUCTS,
    SEGMENT_NUMBERS,
    Refusal,
    bad_request,
    error,
    ok,
)
from config import jsonbody


def demo_login_fields() -> dict:
    """Nothing is typed at an XTS login: the app key and secret are the credentials."""
    return {}


def route(**handlers):
    """One URL, one handler per HTTP method (the SDK reuses /interactive/orders for four)."""

    @csrf_exempt
    def view(request):
        handler = handlers.get(request.method.lower())
        if handler is None:
            return ERRORS.wrong_method([m.upper() for m in handlers])
        try:
            return handler(request)
        except Refusal as refusal:
            return refusal.response

    return view


def session(kind: str = "access", invalid_status: int = 400):
    """Resolve the bare token (§3), then apply the injected faults."""

    def wrap(handler):
        @wraps(handler)
        def inner(request):
            token = request.headers.get("authorization", "")
            # a token has no spaces: "Bearer <token>" is just a wrong token (gotcha 2)
            account_id = None if " " in token else kit.account_for_token(BROKER, token, kind=kind)
            if not account_id:
                return ERRORS.token_invalid(status=invalid_status)
            fault = kit.apply_faults(BROKER, account_id, ERRORS)
            if fault is not None:
                return fault
            if "clientID" in request.GET:
                return bad_request('"clientID" is not allowed')
            return handler(request, universe.account(BROKER, account_id), token)

        return inner

    return wrap


# --- §1 logins, §2 logouts ---------------------------------------------------------------------
def _token_ttl() -> int:
    return web.seconds_until(next_ist(clock(0, 0)))


def _jwt_like(account_id: str, app_key: str) -> str:
    """XTS tokens are JWTs; this one only looks like one (the sandbox looks tokens up)."""
    claims = {"userID": f"{account_id}_{app_key[-4:]}", "iat": int(time.time())}
    return web.jwt(claims, mac_bytes=24)


def _credentials(request) -> dict:
    """The SDK posts the login form-encoded, openalgo as JSON: accept both (§1)."""
    try:
        data = jsonbody.loads(request.body or b"")
    except ValueError:
        data = request.POST.dict()
    return data if isinstance(data, dict) else {}


def _login(request, *, key: str, secret: str, kind: str):
    data = _credentials(request)
    missing = [
        f'"{name}" is required' for name in ("appKey", "secretKey", "source") if not data.get(name)
    ]
    if missing:
        return None, bad_request(*missing)
    if str(data["source"]).upper() != "WEBAPI":
        return None, bad_request('"source" must be WEBAPI')
    if data["appKey"] != key or data["secretKey"] != secret:
        return None, error("e-app-0005", "Invalid appKey or secretKey")  # UNCONFIRMED
    account = universe.default_account(BROKER)
    fault = kit.apply_faults(BROKER, account.account_id, ERRORS)
    if fault is not None:
        return None, fault
    value = _jwt_like(account.account_id, key)
    kit.issue_token(BROKER, account.account_id, kind=kind, ttl=_token_ttl(), value=value)
    return (account, value), None


def interactive_login(request):
    issued, refusal = _login(request, key=APP["api_key"], secret=APP["api_secret"], kind="access")
    if refusal:
        return refusal
    account, token = issued
    result = {
        "enums": {
            "socketEvent": ["position", "order", "trade", "logout"],
            "exchangeSegment": SEGMENT_NUMBERS,
            "productType": list(PRODUCTS),
            "orderType": ["Market", "Limit", "StopLimit", "StopMarket"],
            "orderSide": ["Buy", "Sell"],
            "timeInForce": ["DAY", "IOC"],
        },
        "clientCodes": [account.account_id],
        "exchangeSegmentArray": [{"key": s, "value": n} for s, n in SEGMENT_NUMBERS.items()],
        "token": token,
        "userID": account.account_id,
        "isInvestorClient": True,
        "isOneTouchUser": False,
    }
    return ok(result, "s-user-0001", "Valid User.")


def market_login(request):
    key, secret = APP["marketdata_key"], APP["marketdata_secret"]
    issued, refusal = _login(request, key=key, secret=secret, kind="marketdata")
    if refusal:
        return refusal
    account, token = issued
    return ok({"token": token, "userID": account.account_id}, "s-user-0001", "Valid User.")


@session()
def interactive_logout(request, account, token):
    kit.revoke_token(BROKER, token)
    return ok({}, "s-user-0002", "User logged out successfully.")


@session(kind="marketdata", invalid_status=200)
def market_logout(request, account, token):
    kit.revoke_token(BROKER, token, kind="marketdata")
    return ok({}, "s-user-0002", "User logged out successfully.")
