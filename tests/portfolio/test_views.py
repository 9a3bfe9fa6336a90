"""The portfolio page: what a trader sees, sorting, fragments, sync now, and nobody else's data."""

import re
from datetime import datetime
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from brokers.adapters.base import Funds, Holding, Position
from brokers.clock import IST
from portfolio.models import BrokerSnapshot
from tests.factories import BrokerConnectionFactory
from tests.portfolio.conftest import eventually, store_snapshot

D = Decimal
PAGE = "/portfolio/"


@pytest.fixture
def seeded(trader):
    kite = BrokerConnectionFactory(user=trader, broker="zerodha", account_id="ZD1234")
    fyers = BrokerConnectionFactory(user=trader, broker="fyers", account_id="FY0001")
    dhan = BrokerConnectionFactory(user=trader, broker="dhan", account_id="1100456789")
    store_snapshot(
        kite,
        holdings=[
            Holding("NSE", "RELIANCE", 10, D("2400"), "INE002A01018", D("2950.50"), D("2925")),
            Holding("NSE", "INFY", 5, D("1500"), "INE009A01021", D("1542.30"), D("1550.10")),
        ],
        positions=[Position("NSE", "SBIN", "MIS", 30, D("808"), D("812.60"), D("805.35"))],
        funds=Funds(D("250000")),
    )
    store_snapshot(
        fyers,
        holdings=[Holding("BSE", "RELIANCE", 4, D("2450"), "INE002A01018", D("2950.50"), None)],
        taken_minutes_ago=40,  # stale
    )
    tcs = Holding("NSE", "TCS", 2, D("3700"), "INE467B01029", D("3890"))
    store_snapshot(dhan, holdings=[tcs], error="The broker is not answering: DH-905")
    return {"zerodha": kite, "fyers": fyers, "dhan": dhan}


def rows(html: str) -> list[str]:
    return re.findall(r'<tbody class="position[^"]*" data-key="([^"]+)"', html)


@pytest.mark.django_db
def test_the_page_shows_totals_lines_and_the_brokers_behind_them(client, trader, seeded):
    client.force_login(trader)
    html = client.get(PAGE).content.decode()

    # RELIANCE 14 x 2950.50 = 41307 + INFY 7711.50 + SBIN 24378 = 73396.50, shown ₹73,396.50
    assert 'id="total-value">₹73,396.50<' in html
    assert "₹2,50,000.00" in html  # cash, in lakhs
    assert rows(html) == ["INE002A01018", "NSE:SBIN", "INE009A01021"]  # by value
    assert "FY0001" in html and "ZD1234" in html  # per-broker lines of RELIANCE
    assert "<svg" in html and "Asset allocation" in html and "By broker" in html


@pytest.mark.django_db
def test_a_failed_and_a_stale_broker_get_banners(client, trader, seeded):
    in_session = datetime(2026, 11, 23, 11, 0, tzinfo=IST)  # a Monday, 11:00 IST
    shift = in_session - timezone.now()  # the fixture's snapshot times, moved to that moment
    with time_machine.travel(in_session):
        for snapshot in BrokerSnapshot.objects.filter(connection__user=trader):
            snapshot.taken_at += shift
            snapshot.attempted_at += shift
            snapshot.save()
        client.force_login(trader)
        html = client.get(PAGE).content.decode()

    failed = re.search(r'<div class="banner banner-failed".*?</div>', html, re.S).group(0)
    assert "Dhan (1100456789) is left out of these totals" in failed
    assert "not answering" in failed and "Last good snapshot" in failed
    stale = re.search(r'<div class="banner banner-stale" data-broker="fyers">.*?</div>', html, re.S)
    assert stale and "minutes ago" in stale.group(0)
    assert "TCS" not in html  # left out: the failed broker's holdings are not shown as current


@pytest.mark.django_db
def test_sorting_by_a_column_and_back(client, trader, seeded):
    client.force_login(trader)

    by_symbol = rows(client.get(PAGE, {"sort": "symbol", "dir": "asc"}).content.decode())
    assert by_symbol == ["INE009A01021", "INE002A01018", "NSE:SBIN"]  # INFY, RELIANCE, SBIN
    by_pnl = rows(client.get(PAGE, {"sort": "pnl", "dir": "asc"}).content.decode())
    assert by_pnl == ["NSE:SBIN", "INE009A01021", "INE002A01018"]  # 138, 211.50, 7507
    assert rows(client.get(PAGE, {"sort": "nonsense"}).content.decode())[0] == "INE002A01018"


@pytest.mark.django_db
def test_an_htmx_refresh_gets_only_the_body_fragment(client, trader, seeded):
    client.force_login(trader)
    html = client.get(
        PAGE, {"sort": "value"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="portfolio-body"
    ).content.decode()

    assert html.lstrip().startswith('<section id="portfolio-body"')
    assert "<html" not in html


@pytest.mark.django_db
def test_without_a_broker_the_page_invites_to_connect_one(client, trader):
    client.force_login(trader)
    html = client.get(PAGE).content.decode()
    assert "No broker connected yet" in html and "/brokers/connect/" in html


@pytest.mark.django_db
def test_another_trader_sees_only_their_own_page(client, other_trader, seeded):
    client.force_login(other_trader)
    html = client.get(PAGE).content.decode()

    assert "No broker connected yet" in html
    assert "RELIANCE" not in html and "ZD1234" not in html
    progress = client.get("/portfolio/sync/progress/").content.decode()
    assert "ZD1234" not in progress


@pytest.mark.django_db
def test_the_page_needs_a_signed_in_trader(client, seeded):
    answer = client.get(PAGE)
    assert answer.status_code == 302 and "/accounts/sign-in/" in answer["Location"]
    assert client.post("/portfolio/sync/").status_code == 302


@pytest.mark.django_db
def test_sync_is_a_post(client, trader, seeded):
    client.force_login(trader)
    assert client.get("/portfolio/sync/").status_code == 405


@pytest.mark.django_db(transaction=True)
def test_sync_now_shows_progress_then_refreshes_the_body(client, trader, connect_brokers, worker):
    connect_brokers(trader, ["zerodha", "groww"])
    client.force_login(trader)

    started = client.post("/portfolio/sync/", HTTP_HX_REQUEST="true").content.decode()
    assert 'id="sync-progress"' in started

    # Polled as the page does, until the sync lands (at once when tasks run in-process).
    def poll():
        answer = client.get("/portfolio/sync/progress/", HTTP_HX_REQUEST="true")
        return "Synced 2 of 2 brokers" in answer.content.decode() and answer

    answer = eventually(poll)
    assert answer and answer["HX-Trigger"] == "portfolio-updated"
    page = client.get(PAGE).content.decode()
    assert "Groww" in page and "GW5500" in page
