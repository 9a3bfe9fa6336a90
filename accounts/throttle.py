"""Repeated failed sign-ins lock the username and the client address for a while."""

import hashlib

from django.conf import settings
from django.core.cache import cache


def _keys(username: str, address: str) -> list[str]:
    name = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    return [f"signin-fail:user:{name}", f"signin-fail:addr:{address}"]


def is_locked(username: str, address: str) -> bool:
    limit = settings.SIGN_IN_MAX_FAILURES
    return any((cache.get(key) or 0) >= limit for key in _keys(username, address))


def record_failure(username: str, address: str) -> None:
    timeout = settings.SIGN_IN_LOCKOUT_MINUTES * 60
    for key in _keys(username, address):
        if cache.add(key, 1, timeout):
            continue
        try:
            cache.incr(key)
        except ValueError:
            cache.set(key, 1, timeout)


def clear(username: str, address: str) -> None:
    cache.delete(_keys(username, address)[0])
