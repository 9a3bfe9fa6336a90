"""API token authentication that reads the database once a minute per token, not per request.

DRF's TokenAuthentication costs two queries a request here (the token with its user, then the
trader role): most of an API read served from the cache. This keeps the answer of both in the
cache for ``TOKEN_CACHE_SECONDS``, under a hash of the token (never the token itself), and
rebuilds the user from the cached fields without the password: the instance has ``password``
deferred, so reading it queries, and ``save()`` writes only the fields it holds.

What ends a token's access ends it at once, not a minute later: deleting the token, changing
the user (deactivated, password changed) and changing their groups drop the cached entry.
"""

from __future__ import annotations

import functools
import hashlib

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import router
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed

from accounts import roles

TOKEN_CACHE_SECONDS = 60


@functools.cache
def user_fields() -> tuple[str, ...]:
    """The user's columns in model order (as ``from_db`` takes them), the password left out."""
    return tuple(
        f.attname for f in get_user_model()._meta.concrete_fields if f.attname != "password"
    )


def _key(token_key: str) -> str:
    return "auth:token:" + hashlib.sha256(token_key.encode()).hexdigest()


class CachedTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>``, as DRF's, with the lookup cached (module docstring)."""

    def authenticate_credentials(self, key):
        cached = cache.get(_key(key))
        if cached is None:
            user, token = super().authenticate_credentials(key)  # raises on a bad token
            values = tuple(getattr(user, name) for name in user_fields())
            cached = (values, roles.is_trader(user), token.created)
            cache.set(_key(key), cached, TOKEN_CACHE_SECONDS)
            return user, token
        values, trader, created = cached
        user_model = get_user_model()
        user = user_model.from_db(router.db_for_read(user_model), user_fields(), values)
        if not user.is_active:  # a deactivation drops the entry; this is the belt to it
            raise AuthenticationFailed("User inactive or deleted.")
        roles.remember(user, trader=trader)
        token = Token(key=key, user=user, created=created)
        return user, token


def forget(token_key: str) -> None:
    cache.delete(_key(token_key))


def forget_user(user_id) -> None:
    for key in Token.objects.filter(user_id=user_id).values_list("key", flat=True):
        forget(key)


@receiver(post_delete, sender=Token, dispatch_uid="accounts.forget_deleted_token")
def _token_deleted(sender, instance: Token, **kwargs) -> None:
    forget(instance.key)


@receiver(post_save, dispatch_uid="accounts.forget_changed_user")
def _user_saved(sender, instance, created: bool, **kwargs) -> None:
    if sender is get_user_model() and not created:
        forget_user(instance.pk)


@receiver(m2m_changed, dispatch_uid="accounts.forget_regrouped_user")
def _groups_changed(sender, instance, action: str, reverse: bool, pk_set, **kwargs) -> None:
    if sender is not get_user_model().groups.through:
        return
    if not reverse:  # user.groups.add/remove/clear: the instance is the user
        if action.startswith("post_"):
            instance.__dict__.pop("_is_trader", None)
            forget_user(instance.pk)
    elif action in ("post_add", "post_remove"):  # group.user_set.add/remove: pk_set are users
        for user_id in pk_set:
            forget_user(user_id)
    elif action == "pre_clear":  # group.user_set.clear(): whoever is in it, before it empties
        for user_id in instance.user_set.values_list("pk", flat=True):
            forget_user(user_id)
