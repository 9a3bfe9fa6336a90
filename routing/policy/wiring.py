"""The settings brokers and health's sweep act on, written into their own rows.

The probe interval is the connection's ``connection_config["healthCheckSeconds"]`` (read by
health's sweep, which claims due rows in bulk and never reads the policy), and the request
timeout, retry count and rate ceilings are ``connection_config`` values the HTTP door is built
with (brokers.adapters.registry; brokers imports no other app). A save writes them there; the
next probe or call reads them from the row it loads anyway. Alerts are not copied anywhere:
health.notify reads them from the effective policy when it sends.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from brokers.models import BrokerConnection, StaleConnection
from health import services as health_services
from health.models import ConnectionHealth

ATTEMPTS = 3


def connection_config(broker) -> dict:
    """The door's and the probe's settings of one broker, as connection_config keys."""
    api = broker.api
    return {
        "healthCheckSeconds": api.health_check_seconds,
        "requestTimeoutSeconds": float(api.request_timeout_seconds),
        "retryCount": api.retry_count,
        "rateCeilings": {k: float(v) for k, v in api.rate_ceilings.items()},
    }


def apply(snapshot) -> int:
    """Write each connected broker's settings where brokers and health read them. Returns the
    number of connections whose rows changed."""
    changed = 0
    for broker in snapshot.brokers.values():
        connection = BrokerConnection.objects.filter(pk=broker.connection_id).first()
        if connection is None:
            continue
        wanted = connection_config(broker)
        if _write_config(connection, wanted):
            changed += 1
        health = health_services.ensure_health(connection)
        soonest = timezone.now() + timedelta(seconds=wanted["healthCheckSeconds"])
        if health.next_check_at > soonest:  # a shorter interval applies from the next check
            ConnectionHealth.objects.filter(pk=health.pk).update(next_check_at=soonest)
    return changed


def _write_config(connection: BrokerConnection, wanted: dict) -> bool:
    for _ in range(ATTEMPTS):
        config = connection.connection_config
        config = config if isinstance(config, dict) else {}
        if all(config.get(k) == v for k, v in wanted.items()):
            return False
        connection.connection_config = {**config, **wanted}
        try:
            connection.save_versioned(fields=["connection_config"])
            return True
        except StaleConnection:
            connection.refresh_from_db()
    raise StaleConnection(f"{connection} kept changing; its policy settings were not written")
