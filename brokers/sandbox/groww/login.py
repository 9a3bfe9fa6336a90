"""Groww's token endpoint (Introduction): no browser, an approval checksum or a TOTP."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from brokers.clock import next_ist
from brokers.sandbox import kit, universe, web
from brokers.sandbox.groww.render import (
    APP,
    BROKER,
    ERRORS,
    TIMESTAMP_WINDOW,
    TOKEN_DIES,
    TOTP_SECRET,
    json_body,
    token_failure,
)


def demo_login_fields() -> dict:
    """Nothing is typed: the demo key logs in with its secret's checksum (no browser)."""
    return {}


# --- Token: POST /v1/token/api/access (not enveloped on success) ---------------------------------
@csrf_exempt
def token_access(request):
    if request.method != "POST":
        return ERRORS.wrong_method(["POST"])
    if not hmac.compare_digest(web.credentials(request, "Bearer", any_case=True), APP["api_key"]):
        return token_failure("GA005", "Invalid API key", 401)
    body = json_body(request)
    if not isinstance(body, dict):
        return token_failure("GA001", "Invalid request body", 400)
    account = universe.default_account(BROKER)
    fault = kit.apply_faults(BROKER, account.account_id, ERRORS)
    if fault is not None:
        return fault
    if body.get("key_type") == "approval":
        problem = _checksum_problem(body)
    elif body.get("key_type") == "totp":
        problem = None if kit.totp_valid(TOTP_SECRET, str(body.get("totp", ""))) else "Invalid TOTP"
    else:
        problem = "Invalid key_type"
    if problem:
        return token_failure("GA001", problem, 400)
    expires = next_ist(TOKEN_DIES)
    token = kit.issue_token(BROKER, account.account_id, ttl=web.seconds_until(expires))
    return JsonResponse(
        {
            "token": token,
            "tokenRefId": str(uuid.uuid4()),
            "sessionName": "sandbox-demo-key",
            "expiry": expires.strftime("%Y-%m-%dT%H:%M:%S"),
            "isActive": True,
        }
    )


def _checksum_problem(body: dict) -> str | None:
    """checksum = sha256_hex(secret + str(epoch seconds)); the timestamp may be int or str."""
    try:
        stamp = int(str(body.get("timestamp")))
    except ValueError:
        return "Invalid timestamp"
    if abs(time.time() - stamp) > TIMESTAMP_WINDOW:
        return "Timestamp expired"
    expected = hashlib.sha256(f"{APP['api_secret']}{stamp}".encode()).hexdigest()
    if not hmac.compare_digest(str(body.get("checksum", "")).lower(), expected):
        return "Invalid checksum"
    return None
