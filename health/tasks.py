from celery import shared_task
from django.utils import timezone

from health import notices


@shared_task
def warn_expiring_logins(slot: str) -> int:
    return notices.warn_expiring_logins(now=timezone.now(), slot=slot)
