"""Redaction of broker secrets from anything that may reach a log line or an error message.

Two layers: values known to be secret for a call are replaced wherever they appear, and
patterns that look like credentials (authorization headers, token/secret/pin/totp/checksum
fields in JSON, query strings and form bodies, JWTs) are masked even when nobody said so.
"""

import re

MASK = "[REDACTED]"

_SECRET_NAMES = (
    r"access[_-]?token|refresh[_-]?token|request[_-]?token|auth[_-]?code|code|token|"
    r"api[_-]?secret|secret[_-]?key|secret|app[_-]?secret|client[_-]?secret|appIdHash|"
    r"checksum|password|pin|totp|jwt[_-]?token|feed[_-]?token|enctoken|public[_-]?token|"
    r"x-privatekey|private[_-]?key|authorization|tokenId|code[_-]?verifier|session[_-]?token|"
    r"user[_-]?session|auth[_-]?token|key"
)
# In a URL's query the login's state is a secret too: with the one-time code it completes a
# login (a callback's ?code=...&state=...), and access logs write whole request lines.
_QUERY_NAMES = _SECRET_NAMES + "|state"
_PATTERNS = [
    # Authorization-style headers, whatever the scheme ("Bearer x", "token key:x", bare x).
    re.compile(r"(?i)(\b(?:authorization|access-token|x-privatekey)\b\s*[:=]\s*)([^\r\n,;}]+)"),
    # JSON fields: "accessToken": "..." and friends, keys in any case.
    re.compile(rf'(?i)("(?:{_SECRET_NAMES})"\s*:\s*)"([^"]*)"'),
    # Python-repr dict fields: 'access_token': '...'
    re.compile(rf"(?i)('(?:{_SECRET_NAMES})'\s*:\s*)'([^']*)'"),
    # Query strings and form bodies: access_token=...&
    re.compile(rf"(?i)((?<![\w-])(?:{_QUERY_NAMES})=)([^&\s\"']+)"),
    # ...and percent-encoded inside another parameter (Kite's redirect_params=state%3D...).
    re.compile(rf"(?i)((?<![\w-])(?:{_QUERY_NAMES})%3D)((?:(?!%26)[^&\s\"'])+)"),
    # JWTs anywhere (Fyers, Angel One and Dhan tokens are JWTs).
    re.compile(r"()\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),
    # The platform's own API tokens anywhere ("mbt_" and hex digits, accounts.models).
    re.compile(r"()\bmbt_[0-9a-f]{8,}"),
]


def redact(text: str, secrets: tuple[str, ...] | list[str] = ()) -> str:
    """Return ``text`` with every given secret and every credential-looking value masked."""
    if not text:
        return text
    for secret in sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + MASK, text)
    return text


def snippet(text: str, secrets: tuple[str, ...] | list[str] = (), limit: int = 200) -> str:
    """A short, redacted excerpt of a response body for an error message."""
    cleaned = redact(" ".join((text or "").split()), secrets)
    return cleaned if len(cleaned) <= limit else cleaned[:limit] + "…"
