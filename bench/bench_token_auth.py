"""API token authentication per request: knox's lookup against the cached one.

Knox finds a token by its first characters, checks the SHA-512 digest, purges the user's
expired tokens and the API then asks the trader role: three queries a request. The cache
(accounts/authentication.py) keeps that answer for a minute under the digest. Prints the
median and p99 of each path, in microseconds.
"""

import statistics
import time

from django.contrib.auth import get_user_model
from django.core.cache import cache

ROUNDS = {"uncached": 300, "cached": 3000}


def timed(call, n: int, before=None) -> tuple[float, float]:
    spent = []
    for _ in range(n):
        if before:
            before()
        started = time.perf_counter()
        call()
        spent.append((time.perf_counter() - started) * 1e6)
    spent.sort()
    return statistics.median(spent), spent[max(0, round(0.99 * n) - 1)]


def run() -> None:
    from accounts.authentication import CachedTokenAuthentication
    from accounts.roles import make_trader
    from accounts.services import issue_api_token

    user = get_user_model().objects.create(username=f"bench-token-{time.time_ns()}")
    make_trader(user)
    record, token = issue_api_token(user=user, name="bench")
    authenticate = CachedTokenAuthentication().authenticate_credentials
    try:
        timed(lambda: authenticate(token.encode()), 50)  # warm up
        uncached = timed(
            lambda: authenticate(token.encode()), ROUNDS["uncached"], before=cache.clear
        )
        cached = timed(lambda: authenticate(token.encode()), ROUNDS["cached"])
    finally:
        record.delete()
        user.delete()
    print(f"   knox lookup + role (uncached): p50 {uncached[0]:.0f} µs, p99 {uncached[1]:.0f} µs")
    print(f"   cached under the digest:       p50 {cached[0]:.0f} µs, p99 {cached[1]:.0f} µs")
