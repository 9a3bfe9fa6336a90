"""Every broker's real master format, downloaded from its sandbox into the store; a corrupted
download of the same URLs leaves yesterday's master in place."""

import importlib

import pytest
import responses

from brokers import instruments
from brokers.adapters import registry
from brokers.adapters.base import BadResponse
from brokers.models import InstrumentRecord
from brokers.sandbox import universe
from tests.brokers.test_contract import BROWSER_LOGINS, app_credentials, browser_login

CORRUPTED = [
    b"<html><body><h1>502 Bad Gateway</h1></body></html>",
    b"\x1f\x8b\x08\x00truncated-gzip",
]


def logged_in(broker: str, base_url: str):
    app = app_credentials(broker, base_url)
    anonymous = registry.build(broker, app=app)
    if anonymous.capabilities.login_kind in BROWSER_LOGINS:
        params = browser_login(anonymous, app.redirect_uri, [])
    else:
        params = importlib.import_module(f"brokers.sandbox.{broker}").demo_login_fields()
    tokens = anonymous.complete_login(params, redirect_uri=app.redirect_uri)
    return registry.build(broker, app=app, tokens=tokens, account=tokens.account_id)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("broker", sorted(registry.ADAPTERS))
@pytest.mark.parametrize("garbage", CORRUPTED, ids=["html", "truncated"])
def test_a_corrupted_master_leaves_the_previous_one(broker, garbage, sandbox_hosts):
    adapter = logged_in(broker, sandbox_hosts)

    downloads: set[str] = set()
    hooks = adapter.http.session.hooks["response"]
    hooks.append(record := lambda r, *args, **kwargs: downloads.add(r.url.split("?")[0]))
    try:
        stored = instruments.refresh_master(adapter)
    finally:
        hooks.remove(record)

    reliance = InstrumentRecord.objects.filter(broker=broker, symbol="RELIANCE")
    assert stored >= len(universe.SECURITIES)
    assert reliance.exists()

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for url in downloads:
            for method in ("GET", "POST"):
                mock.add(method, url, body=garbage, status=200)
        with pytest.raises(BadResponse) as error:
            instruments.refresh_master(adapter)

    assert error.value.broker == broker
    assert InstrumentRecord.objects.filter(broker=broker).count() == stored
    assert reliance.exists()
