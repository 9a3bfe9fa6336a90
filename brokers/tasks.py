from celery import shared_task

from brokers import services


@shared_task
def purge_expired_oauth_states() -> int:
    return services.purge_expired_oauth_states()


@shared_task
def refresh_instrument_masters() -> dict:
    return services.refresh_instrument_masters()
