"""The prepared portfolio document: built when a sync lands, ETag and 304, gzip, after a cache
loss, after a status change."""

import gzip
import json
from decimal import Decimal

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from brokers import states
from brokers.models import ConnectionStatus
from brokers.types import Funds, Holding
from portfolio import services
from portfolio.models import PortfolioDocument
from tests.factories import BrokerConnectionFactory
from tests.portfolio.conftest import store_snapshot

D = Decimal
URL = "/api/v1/brokers/portfolio/consolidated"
RELIANCE = "INE002A01018"


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def kite(trader):
    kite = BrokerConnectionFactory(user=trader, broker="zerodha", account_id="ZD1234")
    reliance = Holding("NSE", "RELIANCE", 10, D("2400"), RELIANCE, D("2950.50"), D("2925"))
    store_snapshot(kite, holdings=[reliance], funds=Funds(D("250000")))
    return kite


@pytest.mark.django_db(transaction=True)
def test_a_sync_that_lands_stores_the_document_and_a_client_revalidates_it(
    trader, connect_brokers, worker
):
    connect_brokers(trader, ["zerodha"])
    services.sync_portfolio(user=trader)

    stored = PortfolioDocument.objects.get(user=trader)  # before anyone asked for it
    assert json.loads(gzip.decompress(stored.body))["coveredBrokers"][0]["brokerType"] == "zerodha"
    client = client_for(trader)
    first = client.get(URL)
    assert first.status_code == 200 and first["ETag"] == f'W/"pf-{trader.pk}-{stored.version}"'
    assert "private" in first["Cache-Control"]

    again = client.get(URL, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == first["ETag"]

    services.sync_portfolio(user=trader)  # a new snapshot version: the old ETag is not current
    after = client.get(URL, HTTP_IF_NONE_MATCH=first["ETag"])
    assert after.status_code == 200 and after["ETag"] != first["ETag"]
    assert after.json()["positions"]


@pytest.mark.django_db
def test_gzip_to_a_client_that_takes_it_and_the_same_json_to_one_that_does_not(trader, kite):
    client = client_for(trader)

    zipped = client.get(URL, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    plain = client.get(URL)

    assert zipped["Content-Encoding"] == "gzip" and "Content-Encoding" not in plain
    assert "Accept-Encoding" in zipped["Vary"]
    assert json.loads(gzip.decompress(zipped.content)) == plain.json()
    assert plain.json()["totalValue"] == "29505.00"
    text = gzip.decompress(zipped.content).decode()
    assert kite.access_token not in text and kite.app.api_secret not in text


@pytest.mark.django_db
def test_the_document_says_what_its_totals_include(trader, kite):
    dhan = BrokerConnectionFactory(user=trader, broker="dhan", account_id="1100456789")
    tcs = Holding("NSE", "TCS", 2, D("3700"), "INE467B01029", D("3890"))
    store_snapshot(dhan, holdings=[tcs], error="The broker is not answering: DH-905")

    body = client_for(trader).get(URL).json()

    assert body["totalsInclude"]["connections"] == [str(kite.pk)]
    assert body["totalsInclude"]["leftOut"] == [str(dhan.pk)]
    assert body["totalValue"] == "29505.00"  # Dhan's TCS is not in it
    [failed] = body["failedBrokers"]
    assert failed["brokerType"] == "dhan" and "DH-905" in failed["reason"]


@pytest.mark.django_db
def test_a_lost_cache_is_answered_from_the_stored_row_with_the_same_etag(trader, kite):
    client = client_for(trader)
    first = client.get(URL)

    cache.clear()  # Redis restarted, or another web process that never cached it

    assert client.get(URL, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    assert client.get(URL)["ETag"] == first["ETag"]


@pytest.mark.django_db
def test_a_status_change_makes_a_new_document_saying_so(
    trader, kite, django_capture_on_commit_callbacks
):
    client = client_for(trader)
    first = client.get(URL)
    assert first.json()["coveredBrokers"][0]["connectionStatus"] == "CONNECTED"

    with django_capture_on_commit_callbacks(execute=True):  # listeners run once it commits
        states.transition(kite, ConnectionStatus.TOKEN_EXPIRED, reason="token expired")

    after = client.get(URL, HTTP_IF_NONE_MATCH=first["ETag"])
    assert after.status_code == 200 and after["ETag"] != first["ETag"]
    assert after.json()["coveredBrokers"][0]["connectionStatus"] == "TOKEN_EXPIRED"


@pytest.mark.django_db
def test_another_traders_etag_or_portfolio_is_never_theirs(trader, other_trader, kite):
    mine = client_for(trader).get(URL)

    theirs = client_for(other_trader).get(URL, HTTP_IF_NONE_MATCH=mine["ETag"])
    assert theirs.status_code == 404  # nothing connected: not a 304 on my document

    groww = BrokerConnectionFactory(user=other_trader, broker="groww", account_id="GW1")
    store_snapshot(groww, holdings=[Holding("NSE", "ITC", 50, D("420"), "INE154A01025")])
    theirs = client_for(other_trader).get(URL, HTTP_IF_NONE_MATCH=mine["ETag"])
    assert theirs.status_code == 200 and theirs["ETag"] != mine["ETag"]
    assert [p["symbol"] for p in theirs.json()["positions"]] == ["ITC"]


@pytest.mark.django_db
def test_an_older_build_never_replaces_a_newer_document(trader, kite):
    from portfolio import documents

    view = services.get_consolidated(user=trader)
    older = documents.render(view, version=documents.new_version())
    newer = documents.render(view, version=documents.new_version())

    assert documents.store(newer) is True
    assert documents.store(older) is False
    assert PortfolioDocument.objects.get(user=trader).version == newer.version


@pytest.mark.django_db(transaction=True)
def test_a_read_while_another_builds_waits_for_that_document(trader, kite):
    import threading

    from django.db import connection

    from portfolio import documents

    lock = f"portfolio:document-build:{trader.pk}"
    cache.add(lock, 1, 30)  # another request of the trader is building it
    built = {}

    def other_request():
        try:
            version = documents.new_version()
            built["document"] = services._publish(services.get_consolidated(user=trader), version)
            cache.delete(lock)
        finally:
            connection.close()

    builder = threading.Timer(0.3, other_request)
    builder.start()
    document = services.get_document(user=trader)
    builder.join()

    assert document.version == built["document"].version  # that one, not a second build
    assert PortfolioDocument.objects.get(user=trader).version == document.version
