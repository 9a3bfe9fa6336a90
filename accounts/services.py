from django.contrib.auth import get_user_model
from django.db import transaction

from accounts.roles import make_trader


@transaction.atomic
def register_trader(*, username: str, email: str, password: str):
    user = get_user_model().objects.create_user(username=username, email=email, password=password)
    make_trader(user)
    return user
