"""API tokens: a burst of requests reads the token once; revoking access works at once."""

import pytest
from django.contrib.auth.models import Group
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.authentication import CachedTokenAuthentication
from accounts.models import ApiToken
from accounts.roles import TRADER
from tests.factories import BrokerConnectionFactory, api_token

STATUS = "/api/v1/brokers/connections"


@pytest.fixture
def token(trader):
    BrokerConnectionFactory(user=trader)
    return api_token(trader)


def client_for(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_a_second_request_reads_neither_the_token_nor_the_role(token):
    client = client_for(token)
    first = client.get(STATUS)
    with CaptureQueriesContext(db) as queries:
        second = client.get(STATUS)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    asked = " ".join(q["sql"] for q in queries.captured_queries)
    assert "api_tokens" not in asked
    assert "auth_group" not in asked


def test_a_deleted_token_is_refused_at_once(token):
    client = client_for(token)
    assert client.get(STATUS).status_code == 200
    ApiToken.objects.filter(user__username="asha").delete()
    answer = client.get(STATUS)
    assert answer.status_code == 403  # DRF: the first authenticator (the session) has no 401
    assert answer.json()["error"]["message"] == "Invalid token."


def test_a_deactivated_user_is_refused_at_once(token, trader):
    client = client_for(token)
    assert client.get(STATUS).status_code == 200
    trader.is_active = False
    trader.save()
    answer = client.get(STATUS)
    assert answer.status_code == 403
    assert answer.json()["error"]["message"] == "User inactive or deleted."


@pytest.mark.parametrize("how", ["user_side", "group_side", "group_cleared"])
def test_losing_the_trader_role_is_refused_at_once(token, trader, how):
    client = client_for(token)
    assert client.get(STATUS).status_code == 200
    group = Group.objects.get(name=TRADER)
    if how == "user_side":
        trader.groups.remove(group)
    elif how == "group_side":
        group.user_set.remove(trader)
    else:
        group.user_set.clear()
    assert client.get(STATUS).status_code == 403


def everything_cached() -> bytes:
    """Every value in the cache as stored (pickled), on either backend."""
    backend = caches["default"]
    if isinstance(backend, LocMemCache):
        return b"".join(backend._cache.values())
    client = backend._cache.get_client()
    return b"".join(client.get(key) or b"" for key in client.keys("*"))


def test_the_cache_holds_neither_the_token_nor_the_password(token, trader):
    assert client_for(token).get(STATUS).status_code == 200
    stored = everything_cached()
    assert b"asha@example.com" in stored  # the entry is there...
    assert token.encode() not in stored  # ...under a hash of the token
    assert trader.password.encode() not in stored


def test_saving_a_cached_user_keeps_their_password(token, trader):
    authenticator = CachedTokenAuthentication()
    authenticator.authenticate_credentials(token.encode())  # fills the cache
    user, _ = authenticator.authenticate_credentials(token.encode())  # from the cache
    user.first_name = "Asha"
    user.save()
    trader.refresh_from_db()
    assert trader.first_name == "Asha"
    assert trader.check_password("correct-horse-battery-staple")


def test_a_wrong_token_is_refused(token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    answer = client.get(STATUS)
    assert answer.status_code == 403
    assert answer.json()["error"]["message"] == "Invalid token."
