"""The stamp of each trader's policy in the cache: what every process compares against."""

from __future__ import annotations

import logging

from django.core.cache import cache

from routing.models import Policy

logger = logging.getLogger(__name__)

TTL = 60  # seconds a cached stamp is trusted without the database


def key(user_id: int) -> str:
    return f"policy:stamp:{user_id}"


def current(user_id: int) -> int:
    """The newest stamp of a trader's policy: the cache, else the database."""
    try:
        value = cache.get(key(user_id))
    except Exception:  # the cache is down: the database still knows
        logger.warning("policy stamp cache unreachable; reading the database")
        value = None
    if value is not None:
        return int(value)
    stamp = Policy.objects.filter(user_id=user_id).values_list("stamp", flat=True).first() or 0
    remember(user_id, stamp)
    return stamp


def remember(user_id: int, stamp: int) -> None:
    try:
        cache.set(key(user_id), stamp, TTL)
    except Exception:
        logger.warning("policy stamp cache unreachable; other processes will read the database")
