"""Thin tasks: load by id, call a service."""

from celery import shared_task
from django.contrib.auth import get_user_model

from portfolio import services


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
