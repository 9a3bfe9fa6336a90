from django.db.models import Q
from django.utils import timezone

from brokers.models import OAuthState


def purge_expired_oauth_states(*, now=None) -> int:
    """Delete logins that expired or were used; returns how many went."""
    now = now or timezone.now()
    deleted, _ = OAuthState.objects.filter(
        Q(expires_at__lte=now) | Q(used_at__isnull=False)
    ).delete()
    return deleted
