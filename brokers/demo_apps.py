"""Ready-made API apps the connect wizard offers to fill in, by broker.

Empty unless something registers apps here: the broker sandbox (``brokers.sandbox``, an app
installed only with SANDBOX_ENABLED) registers its demo apps when it loads, so product code
never imports the sandbox and does not know whether it exists.
"""

from __future__ import annotations

from collections.abc import Mapping

_apps: dict[str, dict[str, str]] = {}


def register(broker: str, values: Mapping[str, str]) -> None:
    _apps[broker] = dict(values)


def demo_app(broker: str) -> dict[str, str] | None:
    """The registered app's values (key, secret...) for ``broker``, or None."""
    values = _apps.get(broker)
    return dict(values) if values is not None else None
