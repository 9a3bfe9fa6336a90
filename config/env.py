"""Read settings from the environment, loudly.

Every reader names the variable in its error, so a bad deployment stops at start-up with a
message an operator can act on instead of failing later somewhere else.
"""

import base64
import binascii
import ipaddress
import os
import re
from urllib.parse import urlparse

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    return None if value is None else value.strip()


def string(name: str, default: str | None = None, *, required: bool = False) -> str | None:
    value = _raw(name)
    if value:
        return value
    if required:
        raise ImproperlyConfigured(f"{name} must be set.")
    return default


def ip_address(name: str) -> str:
    """A public IP address (v4 or v6), or "" when unset."""
    value = _raw(name)
    if not value:
        return ""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        raise ImproperlyConfigured(
            f"{name} must be an IP address like 203.0.113.7, not {_describe(value)}."
        ) from None
    if address.is_loopback or address.is_unspecified or address.is_link_local:
        raise ImproperlyConfigured(
            f"{name} must be the server's public IP address (brokers see that one), not {value}."
        )
    return str(address)


def boolean(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}.")


def integer(name: str, default: int, *, minimum: int = 0) -> int:
    value = _raw(name)
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from None
    if number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {number}.")
    return number


def url(name: str, default: str | None = None, *, schemes: tuple[str, ...]) -> str | None:
    value = _raw(name) or default
    if not value:
        return None
    parsed = urlparse(value)
    if parsed.scheme not in schemes or not (parsed.netloc or parsed.path):
        raise ImproperlyConfigured(
            f"{name} must be a URL starting with {' or '.join(s + '://' for s in schemes)}"
            f", not {_describe(value)}."
        )
    return value.rstrip("/")


_RATE = re.compile(r"^(\d+)/(s|sec|second|m|min|minute|h|hour|d|day)$")


def rate(name: str, default: str) -> str:
    """A request rate as DRF reads it: a count per second, minute, hour or day ("60/min")."""
    value = (_raw(name) or default).lower()
    match = _RATE.match(value)
    if not match or int(match[1]) < 1:
        raise ImproperlyConfigured(
            f"{name} must be a rate like 60/min (per s, min, hour or day), not {value!r}."
        )
    return value


def csv(name: str, default: list[str]) -> list[str]:
    value = _raw(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def encryption_keys(name: str, default: list[bytes] | None) -> list[bytes]:
    """Comma-separated base64 keys of 32 bytes each; the first encrypts, all decrypt."""
    value = _raw(name)
    if not value:
        if default is None:
            raise ImproperlyConfigured(
                f"{name} must be set: one or more base64 keys of 32 bytes, comma-separated. "
                "Make one with: python -c "
                '"import base64,os;print(base64.b64encode(os.urandom(32)).decode())"'
            )
        return default
    keys = []
    for position, item in enumerate(value.split(","), start=1):
        try:
            key = base64.b64decode(item.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise ImproperlyConfigured(f"{name}: key {position} is not valid base64.") from None
        if len(key) != 32:
            raise ImproperlyConfigured(
                f"{name}: key {position} is {len(key)} bytes; AES-256 needs 32."
            )
        keys.append(key)
    return keys


def _describe(value: str) -> str:
    # Never echo a URL that may carry a password back into a log.
    parsed = urlparse(value)
    if parsed.password:
        return "the given value (it is not valid)"
    return repr(value)
