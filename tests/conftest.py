import copy
import os
import shutil

import pytest
from django.conf import settings as django_settings

from tests.factories import BrokerConnectionFactory, TraderFactory

BROKERS = list(django_settings.BROKER_REAL_HOSTS)


@pytest.fixture(autouse=True)
def _clean_cache():
    """Each test starts with an empty cache (sandbox state, OAuth states, throttles)."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _fresh_policy_snapshots():
    """Each test starts with no effective-policy snapshot held in this process (user ids are
    reused from one test to the next)."""
    from routing.policy import effective

    effective.forget()
    yield
    effective.forget()


@pytest.fixture(autouse=True)
def _fresh_rate_limiter():
    """Each test starts with full rate-limit buckets (they live in process memory or Redis)."""
    from brokers.ratelimit import limiter

    limiter.cache_clear()
    yield
    limiter.cache_clear()


@pytest.fixture(autouse=True)
def _isolated_broker_hosts(settings):
    """Tests may point a broker at real hosts for `responses`; never leak that to the next."""
    settings.BROKER_HOSTS = copy.deepcopy(settings.BROKER_HOSTS)


@pytest.fixture
def worker():
    """A real Celery worker consuming from Redis when REDIS_URL is set; tasks run in-process
    (eagerly) on the embedded default, so there is nothing to start."""
    if django_settings.CELERY_TASK_ALWAYS_EAGER:
        yield None
        return
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    with start_worker(app, perform_ping_check=False, pool="solo", shutdown_timeout=10) as w:
        yield w


@pytest.fixture
def trader(db):
    return TraderFactory(username="asha")


@pytest.fixture
def other_trader(db):
    return TraderFactory(username="charlie")


@pytest.fixture
def connection(trader):
    return BrokerConnectionFactory(user=trader)


@pytest.fixture
def sandbox_hosts(live_server, settings):
    """Point every broker host at the sandbox of the live server; returns its base URL."""
    settings.BROKER_HOSTS = {
        broker: {host: f"{live_server.url}/sandbox/{broker}" for host in hosts}
        for broker, hosts in settings.BROKER_REAL_HOSTS.items()
    }
    return live_server.url


@pytest.fixture(scope="session")
def chromium_path():
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    if not path:
        pytest.skip(
            "no Chromium on this machine (apt-get install -y chromium); browser test skipped"
        )
    return path
