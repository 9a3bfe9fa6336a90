"""Thin tasks (load by id, call a service), and the one place a sync is queued from: once the
caller's transaction commits, in the background with a worker, in-process on the embedded
default."""

from celery import shared_task
from django.contrib.auth import get_user_model
from django.db import transaction

from portfolio import documents, services


@shared_task
def sync_portfolio_task(user_id: int) -> dict | None:
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        return None
    try:
        view = services.sync_portfolio(user=user)
    except (services.NoBrokerConnected, services.SyncInProgress):
        return None
    return {"covered": len(view.covered), "failed": len(view.failed)}


@shared_task
def sync_all_portfolios() -> int:
    """Beat: one sync task per trader with a live connection."""
    users = services.users_to_sync()
    for user_id in users:
        sync_portfolio_task.delay(user_id)
    return len(users)


def request_sync(*, user) -> dict:
    """Start a sync unless one is on its way; its progress."""
    if services.queue_sync(user=user):
        transaction.on_commit(lambda: sync_portfolio_task.delay(user.pk))
    return services.sync_progress(user=user)


def consolidated_view(*, user) -> services.PortfolioView:
    """The trader's consolidated portfolio; a connection never synced yet is synced first
    (with a worker the answer still lists it as pending; in-process it includes it)."""
    view = services.get_consolidated(user=user)
    if view.pending:
        request_sync(user=user)
        view = services.get_consolidated(user=user)
    return view


def consolidated_document(*, user) -> documents.Document:
    """The trader's portfolio document; as ``consolidated_view``, a connection never synced
    yet is synced first."""
    document = services.get_document(user=user)
    if document.pending:
        request_sync(user=user)
        document = services.get_document(user=user)
    return document
