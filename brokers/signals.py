"""What the HTTP door announces about each broker call, for other apps to subscribe to.

``call_started`` is sent with ``Signal.send``: a receiver that raises stops the call before any
byte is sent (health's circuit breaker raises ``CircuitOpen``, a BrokerUnavailable). Keyword
arguments:

- ``context``: the ``brokers.http.CallContext`` (broker, account, connection_id, endpoint, kind);
- ``broker``, ``endpoint``, ``kind``, ``connection_id``: the same, flat.

``call_finished`` is sent once per call that got past the limiter or was refused by it, with
``Signal.send_robust``: a receiver that fails is logged and never changes the call's result.
Keyword arguments:

- ``record``: the ``brokers.http.CallRecord`` (context, method, elapsed_ms, status_code, error,
  limiter_wait_ms);
- ``broker``, ``endpoint``, ``kind``, ``connection_id``: as above;
- ``elapsed_ms``: wall time of the call, limiter wait included;
- ``outcome``: "ok" or the error's class name; ``error``: the BrokerError or None.

The sender is ``brokers.http.BrokerHttp``. Receivers connect in their AppConfig.ready with a
``dispatch_uid`` so a second ready() does not connect them twice.
"""

from __future__ import annotations

from django.dispatch import Signal

call_started = Signal(use_caching=True)
call_finished = Signal(use_caching=True)
