import logging

from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone

from brokers import instruments
from brokers.adapters.registry import adapter_for
from brokers.errors import BrokerError
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
        outcome[connection.broker] = _download_master(connection)
    return outcome


def load_master_if_stale(connection: BrokerConnection) -> int | str | None:
    """After a login: the broker's master through this account, unless it is today's already.

    The 08:00 IST refresh needs a connected account of each broker, and most sessions end
    overnight, so a broker whose traders log in after 08:00 (or a new installation) would go
    without a fresh master, and the lines that need it (a position naming only a token or a
    symbol: its name, its lot size, its ISIN where the master has one) would stay unknown.
    Returns the rows stored, why the previous master was kept, or None when nothing was due.
    """
    if instruments.is_current(connection.broker):
        return None
    return _download_master(connection)


def _download_master(connection: BrokerConnection) -> int | str:
    """One download per broker at a time (the morning refresh, concurrent logins); a failed
    one keeps the previous master."""
    broker = connection.broker
    lock = f"instrument-master:loading:{broker}"
    if not cache.add(lock, 1, MASTER_LOCK_SECONDS):
        return "another download of this master is under way"
    try:
        return instruments.refresh_master(adapter_for(connection))
    except BrokerError as error:
        logger.warning("instrument master of %s not refreshed: %s", broker, error)
        return f"kept the previous master: {error}"
    finally:
        cache.delete(lock)
