"""Thin tasks: load by id, call a service, own the retries."""

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from brokers import connections, instruments, services
from brokers.errors import BrokerError
from brokers.models import BrokerConnection, ConnectionStatus


@shared_task
def purge_expired_oauth_states() -> int:
    return services.purge_expired_oauth_states()


@shared_task
def refresh_instrument_masters() -> dict:
    return services.refresh_instrument_masters()


@shared_task
def load_master_after_login(connection_id: str) -> int | str | None:
    connection = (
        BrokerConnection.objects.select_related("app")
        .filter(pk=connection_id, status=ConnectionStatus.CONNECTED)
        .first()
    )
    if connection is None:
        return None
    return services.load_master_if_stale(connection)


def queue_master_download(sender, *, connection: BrokerConnection, **kwargs) -> None:
    """connections.logged_in: the symbols of today's lines need today's master, so a login
    whose broker's master is not current queues its download once the login commits (robust:
    a failure to queue never fails the login)."""
    if not instruments.is_current(connection.broker):
        transaction.on_commit(
            lambda: load_master_after_login.delay(str(connection.pk)), robust=True
        )


@shared_task
def refresh_expiring_tokens() -> int:
    due = connections.connections_to_refresh(now=timezone.now())
    for connection in due:
        refresh_connection.delay(str(connection.pk))
    return len(due)


@shared_task(bind=True, max_retries=3)
def refresh_connection(self, connection_id: str) -> bool:
    connection = BrokerConnection.objects.select_related("app").filter(pk=connection_id).first()
    if connection is None:
        return False
    try:
        return connections.refresh_tokens(connection=connection)
    except BrokerError as error:
        if not error.retryable or self.request.called_directly:
            raise
        # Broker unavailable or rate limited: try again later, well before the token dies.
        countdown = getattr(error, "retry_after", None) or 60 * 2**self.request.retries
        raise self.retry(countdown=countdown) from error


@shared_task
def expire_due_tokens() -> int:
    return connections.expire_due_tokens(now=timezone.now())
