"""The broker error taxonomy: every vendor error lands in one of these.

A leaf module: the HTTP door, the adapters, the services and the pages import it, and it imports
nothing of ours.
"""

from __future__ import annotations

from datetime import datetime


class BrokerError(Exception):
    retryable = False  # the same call may succeed later
    permanent = False  # nothing changes until a person acts (log in again, fix the order)

    def __init__(self, message: str, *, broker: str = "", endpoint: str = "", code: str = ""):
        self.broker, self.endpoint, self.code, self.message = broker, endpoint, code, message
        where = " ".join(p for p in (broker, endpoint) if p)
        super().__init__(f"{where}: {message}" if where else message)


class AuthError(BrokerError):  # bad credentials, wrong checksum, consent denied
    permanent = True


class TokenExpired(AuthError):  # the session is gone: log in again
    pass


class RateLimited(BrokerError):
    retryable = True

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        broker: str = "",
        endpoint: str = "",
        code: str = "",
    ):
        super().__init__(message, broker=broker, endpoint=endpoint, code=code)
        self.retry_after = retry_after


class InvalidRequest(BrokerError):  # our input was refused
    permanent = True


class OrderRejected(InvalidRequest):  # the order was refused (margin, price band, RMS...)
    pass


class NotSupported(InvalidRequest):  # the broker has no such feature
    pass


class BrokerUnavailable(BrokerError):  # 5xx, connect errors, read timeouts on reads
    retryable = True


class BadResponse(BrokerUnavailable):  # garbage, HTML, truncated or missing fields
    pass


class Maintenance(BrokerUnavailable):
    def __init__(
        self,
        message: str,
        *,
        until: datetime | None = None,
        broker: str = "",
        endpoint: str = "",
        code: str = "",
    ):
        super().__init__(message, broker=broker, endpoint=endpoint, code=code)
        self.until = until


class OrderStateUnknown(BrokerError):
    """An order write whose outcome we cannot know: reconcile by tag, never resend blindly."""

    def __init__(
        self, message: str, *, tag: str = "", broker: str = "", endpoint: str = "", code: str = ""
    ):
        super().__init__(message, broker=broker, endpoint=endpoint, code=code)
        self.tag = tag
        # The broker's own rate-limit answer, when that is what came back: for a broker whose
        # docs say such an answer refuses the request (Capabilities.throttle_refuses_orders),
        # it proves the order was not taken.
        self.throttle: RateLimited | None = None
