"""Every broker's real master format, downloaded from its sandbox into the store; a corrupted
download of the same URLs leaves yesterday's master in place."""

import pytest
import requests
import responses

from brokers import instruments
from brokers.adapters import registry
from brokers.errors import BadResponse
from brokers.models import InstrumentRecord
from brokers.sandbox import universe

CORRUPTED = [
    b"<html><body><h1>502 Bad Gateway</h1></body></html>",
    b"\x1f\x8b\x08\x00truncated-gzip",
]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("logged_in", sorted(registry.ADAPTERS), indirect=True)
@pytest.mark.parametrize("garbage", CORRUPTED, ids=["html", "truncated"])
def test_a_corrupted_master_leaves_the_previous_one(logged_in, garbage, monkeypatch):
    adapter, broker = logged_in, logged_in.key

    downloads: set[str] = set()
    send = requests.Session.send

    def recording(session, request, **kwargs):
        downloads.add(request.url.split("?")[0])
        return send(session, request, **kwargs)

    with monkeypatch.context() as patched:
        patched.setattr(requests.Session, "send", recording)
        stored = instruments.refresh_master(adapter)

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
