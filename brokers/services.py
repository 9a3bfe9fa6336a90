import logging

from django.db.models import Q
from django.utils import timezone

from brokers import instruments
from brokers.adapters.base import BrokerError
from brokers.adapters.registry import adapter_for
from brokers.models import BrokerConnection, ConnectionStatus, OAuthState

logger = logging.getLogger(__name__)


def purge_expired_oauth_states(*, now=None) -> int:
    """Delete logins that expired or were used; returns how many went."""
    now = now or timezone.now()
    expired = Q(expires_at__lte=now) | Q(used_at__isnull=False)
    deleted, _ = OAuthState.objects.filter(expired).delete()
    return deleted


def refresh_instrument_masters() -> dict[str, int | str]:
    """Download each broker's master through one of its connected accounts.

    A broker whose download fails keeps yesterday's master; the outcome is reported per broker.
    """
    outcome: dict[str, int | str] = {}
    connected = BrokerConnection.objects.filter(status=ConnectionStatus.CONNECTED).select_related(
        "app"
    )
    seen: set[str] = set()
    for connection in connected.order_by("broker", "-last_successful_call"):
        if connection.broker in seen:
            continue
        seen.add(connection.broker)
        try:
            outcome[connection.broker] = instruments.refresh_master(adapter_for(connection))
        except BrokerError as error:
            logger.warning("instrument master of %s not refreshed: %s", connection.broker, error)
            outcome[connection.broker] = f"kept the previous master: {error}"
    return outcome
