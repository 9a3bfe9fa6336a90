"""The HTTP side every simulated broker shares: login-page shells, request bodies and headers,
JWT-shaped tokens, IST stamps and JSON numbers. The wire shapes stay in each broker's package.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from datetime import datetime
from decimal import Decimal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.http import HttpResponse
from django.utils import timezone
from django.utils.html import escape
from django.views.decorators.csrf import csrf_exempt
from jwt import InvalidTokenError, PyJWS

from brokers.clock import IST
from brokers.sandbox import universe
from config import jsonbody


# --- Login pages ------------------------------------------------------------------------------
def page(title: str, body: str, status: int = 200) -> HttpResponse:
    """A broker's login page around ``body`` (already escaped HTML)."""
    html = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"</head><body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    return HttpResponse(html, status=status)


def chosen_account(broker: str, params, *, default: str = "") -> universe.DemoAccount | None:
    """The demo account a login form chose. The select preselects the first account, so a bare
    submit (a scripted client) means that one, or ``default`` where the flow names one."""
    wanted = params.get("account_id") or default or universe.default_account(broker).account_id
    return universe.account(broker, wanted)


def with_query(url: str, params) -> str:
    """``url`` with ``params`` (a mapping or pairs) added to whatever query it already has:
    a registered redirect URL may carry its own."""
    parts = urlsplit(url)
    pairs = params.items() if hasattr(params, "items") else params
    query = urlencode([*parse_qsl(parts.query, keep_blank_values=True), *pairs])
    return urlunsplit(parts._replace(query=query))


# --- Routing ----------------------------------------------------------------------------------
def by_method(errors, **handlers):
    """One path, one handler per HTTP method (``get=``, ``post=``...); any other method gets
    the broker's own 405 body."""
    allowed = [method.upper() for method in handlers]

    @csrf_exempt
    def view(request, *args, **kwargs):
        handler = handlers.get(request.method.lower())
        if handler is None:
            return errors.wrong_method(allowed)
        return handler(request, *args, **kwargs)

    return view


def unknown_path(errors):
    """The last route of a broker: a path it does not serve gets its own 404 body, not
    Django's HTML page."""

    @csrf_exempt
    def view(request, rest: str = ""):
        return errors.not_found()

    return view


# --- Requests ---------------------------------------------------------------------------------
def json_object(request, *, empty=None, parse_float=float) -> dict | None:
    """The body as a JSON object, or None when it is anything else. ``empty`` is what an empty
    body stands for (None: refused)."""
    if not request.body:
        return empty
    try:
        body = jsonbody.loads(request.body, parse_float=parse_float)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def credentials(request, scheme: str, *, any_case: bool = False) -> str:
    """What follows ``scheme`` in the Authorization header; "" under another scheme."""
    word, _, value = request.headers.get("Authorization", "").partition(" ")
    same = word.lower() == scheme.lower() if any_case else word == scheme
    return value.strip() if same else ""


# --- Tokens -----------------------------------------------------------------------------------
def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(claims: dict, *, secret: str = "", alg: str = "HS256", mac_bytes: int = 32) -> str:
    """A token shaped like the broker's JWTs, so a client can read its claims (``exp``). With
    ``secret`` the signature is a real HMAC-SHA256 (cut to ``mac_bytes``); without, random bytes:
    the sandbox checks tokens by looking them up, not by verifying them."""
    head = _b64(json.dumps({"alg": alg, "typ": "JWT"}, separators=(",", ":")).encode())
    body = _b64(json.dumps(claims, separators=(",", ":")).encode())
    if secret:
        mac = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    else:
        mac = secrets.token_bytes(mac_bytes)
    return f"{head}.{body}.{_b64(mac[:mac_bytes])}"


_JWS = PyJWS()


def jwt_claims(token: str) -> dict:
    """A JWT's claims, unverified (the sandbox looks tokens up); {} for anything that is not
    one. PyJWT splits and decodes the token; the claims are parsed under the JSON body limits
    (size and depth), as a client's token is input like any body."""
    try:
        jsonbody.check(token)
        payload = _JWS.decode_complete(token, options={"verify_signature": False})["payload"]
        claims = jsonbody.loads(payload)
    except (InvalidTokenError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def seconds_until(moment: datetime) -> int:
    """A token's TTL until ``moment``; at least a second, as a cache takes 0 to mean forever."""
    return max(int((moment - timezone.now()).total_seconds()), 1)


# --- Values -----------------------------------------------------------------------------------
def ist_stamp(epoch: float, layout: str = "%Y-%m-%d %H:%M:%S") -> str:
    """An epoch as the naive IST text Indian brokers write."""
    return datetime.fromtimestamp(epoch, IST).strftime(layout)


def number(value) -> int | float:
    """An amount as a JSON number, the way brokers send prices: a whole amount as an int, else
    the float whose repr is the amount's own digits."""
    amount = Decimal(str(value))
    return int(amount) if amount == amount.to_integral_value() else float(amount)
