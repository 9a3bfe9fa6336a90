"""API token authentication that reads the database once a minute per token, not per request.

Tokens are django-rest-knox's (accounts.models.ApiToken: a SHA-512 digest, an expiry). Knox
costs three queries a request here (the token with its user, the user's other tokens to
purge expired ones, then the trader role): most of an API read served from the cache. This
keeps the answer in the cache for ``TOKEN_CACHE_SECONDS`` (never past the token's expiry),
under the token's digest (never the token itself), and rebuilds the user from the cached
fields without the password: the instance has ``password`` deferred, so reading it queries,
and ``save()`` writes only the fields it holds.

What ends a token's access ends it at once, not a minute later: revoking (deleting) the
token, changing the user (deactivated, password changed) and changing their groups drop the
cached entry; an expired one is refused from the cache too.
"""

from __future__ import annotations

import functools

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import router
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from rest_framework.exceptions import AuthenticationFailed

from accounts import roles
from accounts.models import ApiToken

TOKEN_CACHE_SECONDS = 60


@functools.cache
def user_fields() -> tuple[str, ...]:
    """The user's columns in model order (as ``from_db`` takes them), the password left out."""
    return tuple(
        f.attname for f in get_user_model()._meta.concrete_fields if f.attname != "password"
    )


def _key(digest: str) -> str:
    return "auth:token:" + digest


class CachedTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <token>``, as knox's, with the lookup cached (module docstring)."""

    def authenticate_credentials(self, token: bytes):
        try:
            text = token.decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed("Invalid token.") from None
        digest = hash_token(text)
        cached = cache.get(_key(digest))
        now = timezone.now()
        if cached is None:
            user, record = super().authenticate_credentials(token)  # raises on a bad token
            values = tuple(getattr(user, name) for name in user_fields())
            fields = (record.token_key, record.name, record.created, record.expiry)
            lasts = TOKEN_CACHE_SECONDS
            if record.expiry is not None:
                lasts = min(lasts, int((record.expiry - now).total_seconds()))
            if lasts > 0:
                cache.set(_key(digest), (values, roles.is_trader(user), fields), lasts)
            return user, record
        values, trader, (token_key, name, created, expiry) = cached
        if expiry is not None and expiry <= now:
            raise AuthenticationFailed("Invalid token.")
        user_model = get_user_model()
        user = user_model.from_db(router.db_for_read(user_model), user_fields(), values)
        if not user.is_active:  # a deactivation drops the entry; this is the belt to it
            raise AuthenticationFailed("User inactive or deleted.")
        roles.remember(user, trader=trader)
        record = ApiToken(
            digest=digest, token_key=token_key, name=name, user=user, created=created, expiry=expiry
        )
        return user, record


class CachedTokenScheme(KnoxTokenScheme):
    """The OpenAPI schema names it as knox's: ``Authorization: Token <token>``."""

    target_class = CachedTokenAuthentication
    name = "tokenAuth"


def forget(digest: str) -> None:
    cache.delete(_key(digest))


def forget_user(user_id) -> None:
    for digest in ApiToken.objects.filter(user_id=user_id).values_list("digest", flat=True):
        forget(digest)


@receiver(post_delete, sender=ApiToken, dispatch_uid="accounts.forget_deleted_token")
def _token_deleted(sender, instance: ApiToken, **kwargs) -> None:
    forget(instance.digest)


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
