"""The API's throttles: DRF's own, with the client address read the one way the platform reads
it (``accounts.lockout.client_address``: the socket's address, or TRUSTED_PROXY_HEADER counted
from the right behind TRUSTED_PROXY_COUNT proxies), so the sign-in lockout and the anonymous
throttle can never disagree about who a client is."""

from rest_framework import throttling

from accounts.lockout import client_address


class _ClientAddress:
    def get_ident(self, request) -> str:
        return client_address(request) or ""


class AnonRateThrottle(_ClientAddress, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(_ClientAddress, throttling.UserRateThrottle):
    pass


class ScopedRateThrottle(_ClientAddress, throttling.ScopedRateThrottle):
    pass
