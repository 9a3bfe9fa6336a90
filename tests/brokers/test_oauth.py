"""Every way a login state is refused: replayed, expired, foreign, tampered, wrong broker."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from brokers.models import OAuthState
from brokers.oauth import StateRefused, consume_state, issue_state
from tests.factories import BrokerAppFactory

REDIRECT = "http://127.0.0.1:8000/brokers/callback/zerodha/"


@pytest.fixture
def issued(trader):
    app = BrokerAppFactory(user=trader, broker="zerodha")
    return issue_state(user=trader, broker="zerodha", redirect_uri=REDIRECT, app=app)


def test_a_fresh_state_is_accepted_once(trader, issued):
    login = consume_state(user=trader, broker="zerodha", value=issued.value)

    assert login.pk == issued.record.pk
    assert login.redirect_uri == REDIRECT
    assert login.code_verifier  # PKCE verifier travels sealed with the state


def test_only_a_hash_of_the_state_is_stored(issued):
    assert not OAuthState.objects.filter(state=issued.value).exists()


def test_a_replayed_state_is_refused(trader, issued):
    consume_state(user=trader, broker="zerodha", value=issued.value)
    with pytest.raises(StateRefused, match="already used"):
        consume_state(user=trader, broker="zerodha", value=issued.value)


def test_a_replay_is_refused_even_when_the_cache_was_lost(trader, issued):
    from django.core.cache import cache

    consume_state(user=trader, broker="zerodha", value=issued.value)
    cache.clear()
    with pytest.raises(StateRefused, match="already used"):
        consume_state(user=trader, broker="zerodha", value=issued.value)


def test_an_expired_state_is_refused(trader, issued):
    later = timezone.now() + timedelta(minutes=10, seconds=1)
    with time_machine.travel(later), pytest.raises(StateRefused, match="expired"):
        consume_state(user=trader, broker="zerodha", value=issued.value)


def test_another_users_state_is_refused(other_trader, issued):
    with pytest.raises(StateRefused, match="someone else"):
        consume_state(user=other_trader, broker="zerodha", value=issued.value)
    assert OAuthState.objects.get(pk=issued.record.pk).used_at is None


def test_a_tampered_state_is_refused(trader, issued):
    tampered = issued.value[:-1] + ("A" if issued.value[-1] != "A" else "B")
    with pytest.raises(StateRefused, match="not one we issued"):
        consume_state(user=trader, broker="zerodha", value=tampered)


@pytest.mark.parametrize("value", ["", "x" * 500])
def test_a_missing_or_absurd_state_is_refused(trader, value):
    with pytest.raises(StateRefused):
        consume_state(user=trader, broker="zerodha", value=value)


def test_a_state_for_another_broker_is_refused(trader, issued):
    with pytest.raises(StateRefused, match="another broker"):
        consume_state(user=trader, broker="upstox", value=issued.value)
