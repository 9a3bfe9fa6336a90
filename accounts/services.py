from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from accounts.models import ApiToken
from accounts.roles import make_trader


@transaction.atomic
def register_trader(*, username: str, email: str, password: str):
    user = get_user_model().objects.create_user(username=username, email=email, password=password)
    make_trader(user)
    return user


# --- API tokens --------------------------------------------------------------------------------
LIFETIMES_DAYS = (7, 30, 90, 365)
MAX_TOKENS = 20  # per user; more is a leak waiting to happen, not a need


class TooManyTokens(Exception):
    """The user holds MAX_TOKENS already; the message is for them."""


def issue_api_token(*, user, name: str, days: int | None = None) -> tuple[ApiToken, str]:
    """A new token for ``user``: the stored record and the token itself, which is shown once
    and never again (only its digest is kept)."""
    with transaction.atomic():
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        if ApiToken.objects.filter(user=user).count() >= MAX_TOKENS:
            raise TooManyTokens(
                f"You have {MAX_TOKENS} tokens, the most one account may hold. "
                "Revoke one you no longer use first."
            )
        lifetime = timedelta(days=days or settings.API_TOKEN_DAYS)
        return ApiToken.objects.create(user=user, expiry=lifetime, name=name)


def revoke_api_token(*, user, token_key: str) -> bool:
    """Delete one of ``user``'s tokens, named by its first characters; False if none."""
    deleted, _ = ApiToken.objects.filter(user=user, token_key=token_key).delete()
    return bool(deleted)


def api_tokens(user):
    return ApiToken.objects.filter(user=user).order_by("-created")
