import logging

from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone

from brokers import instruments
from brokers.adapters.base import BrokerError
from brokers.adapters.registry import adapter_for
from brokers.models import BrokerConnection, ConnectionStatus, OAuthState

logger = logging.getLogger(__name__)

MASTER_LOCK_SECONDS = 600  # one download of a broker's master at a time


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


def load_master_if_stale(connection: BrokerConnection) -> int | str | None:
    """After a login: the broker's master through this account, unless it is today's already.

    The 08:00 IST refresh needs a connected account of each broker, and most sessions end
    overnight, so a broker whose traders log in after 08:00 (or a new installation) would go
    without a fresh master; lines that can only be joined through it (a Kite position with no
    ISIN, an Angel One token) would stay unjoined. Concurrent logins share one download.
    Returns the rows stored, why the previous master was kept, or None when nothing was due.
    """
    broker = connection.broker
    if instruments.is_current(broker):
        return None
    lock = f"instrument-master:loading:{broker}"
    if not cache.add(lock, 1, MASTER_LOCK_SECONDS):
        return None
    try:
        return instruments.refresh_master(adapter_for(connection))
    except BrokerError as error:
        logger.warning("instrument master of %s not loaded after a login: %s", broker, error)
        return f"kept the previous master: {error}"
    finally:
        cache.delete(lock)
