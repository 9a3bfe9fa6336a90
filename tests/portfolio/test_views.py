"""The portfolio page: what a trader sees, sorting, fragments, sync now, and nobody else's data."""

import re
from datetime import datetime
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from brokers.clock import IST
from brokers.types import Funds, Holding, Position
from portfolio import services
from portfolio.models import BrokerSnapshot
from tests.factories import BrokerConnectionFactory
from tests.portfolio.conftest import eventually, store_snapshot

D = Decimal
PAGE = "/portfolio/"
RELIANCE = "INE002A01018"


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

    # Holdings: RELIANCE 14 x 2950.50 = 41307 + INFY 5 x 1542.30 = 7711.50 → 49018.50
    assert 'id="total-value">₹49,018.50<' in html
    # Kite's SBIN MIS is an open position: 30 x (812.60 - 808) = 138 MTM, not holdings value
    assert 'id="positions-mtm" class="gain">+₹138.00<' in html
    # Net worth: 49018.50 + 138 + cash 250000 = 299156.50
    assert 'id="net-worth">₹2,99,156.50<' in html
    assert "₹2,50,000.00" in html  # cash, in lakhs
    # holdings by value, then the open positions
    # (Dhan's TCS last: its broker failed, the line is shown flagged, out of the totals)
    assert rows(html) == ["INE002A01018", "INE009A01021", "INE467B01029", "NSE:SBIN"]
    assert "FY0001" in html and "ZD1234" in html  # per-broker lines of RELIANCE
    assert "<svg" in html and "Asset allocation" in html and "By broker" in html
    # Kite's money: holdings 10 x 2950.50 + 5 x 1542.30 = 29505 + 7711.50 = 37216.50,
    # invested 24000 + 7500 = 31500, P&L +5716.50, day 10 x 25.50 - 5 x 7.80 = 255 - 39 = 216
    kite = re.search(r'data-broker="zerodha">(.*?)</span></span>', html, re.S).group(1)
    assert "₹37,216.50" in kite and "invested ₹31,500.00" in kite
    assert "+₹5,716.50" in kite and "+₹216.00" in kite and "+₹138.00" in kite  # MTM


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
    # Dhan's TCS is shown as its last good line, greyed and out of every total, saying why
    tcs = re.search(
        r'<tbody class="position left-out" data-key="INE467B01029">.*?</tbody>', html, re.S
    )
    assert tcs and re.search(
        r"partial: Dhan&#x27;s share \(2\) missing, last seen 10:5\d IST", tcs.group(0)
    )
    assert 'id="total-value">₹49,018.50<' in html  # as without Dhan


@pytest.mark.django_db
def test_a_line_partly_at_a_failed_broker_says_whose_share_is_missing(client, trader):
    kite = BrokerConnectionFactory(user=trader, broker="zerodha", account_id="ZD1234")
    dhan = BrokerConnectionFactory(user=trader, broker="dhan", account_id="1100456789")
    store_snapshot(
        kite, holdings=[Holding("NSE", "RELIANCE", 10, D("2400"), RELIANCE, D("2950.50"))]
    )
    in_session = datetime(2026, 11, 23, 9, 42, 30, tzinfo=IST)
    with time_machine.travel(in_session, tick=False):
        # Dhan's last good answer at 09:42 held 6 RELIANCE; its sync at 09:57 failed.
        held = [Holding("NSE", "RELIANCE", 6, D("2500"), RELIANCE, D("2950.50"))]
        failed = store_snapshot(dhan, holdings=held, taken_minutes_ago=0, error="DH-905")
    failed.attempted_at = in_session.replace(minute=57)
    failed.save()
    with time_machine.travel(in_session.replace(minute=57), tick=False):
        client.force_login(trader)
        html = client.get(PAGE).content.decode()
        data = APIClient()
        data.force_authenticate(trader)
        [line] = data.get("/api/v1/brokers/portfolio/consolidated").json()["positions"]

    # The line counts Kite's 10 only (10 x 2950.50 = 29505) and says that Dhan's 6 are missing
    assert 'id="total-value">₹29,505.00<' in html
    row = re.search(rf'data-key="{RELIANCE}">.*?</tbody>', html, re.S).group(0)
    assert "partial: Dhan&#x27;s share (6) missing, last seen 09:42 IST" in row
    assert line["totalQuantity"] == 10 and line["currentValue"] == "29505.00"
    assert "partial: Dhan's share (6) missing, last seen 09:42 IST" in {
        f["message"] for f in line["flags"]
    }
    dhan_line = next(b for b in line["brokerPositions"] if b["brokerType"] == "dhan")
    assert (dhan_line["quantity"], dhan_line["includedInTotals"]) == (6, False)


@pytest.mark.django_db
def test_sorting_by_a_column_and_back(client, trader, seeded):
    client.force_login(trader)

    by_symbol = rows(client.get(PAGE, {"sort": "symbol", "dir": "asc"}).content.decode())
    # The holdings sort (INFY, RELIANCE); the open positions follow (SBIN)
    assert by_symbol == ["INE009A01021", "INE002A01018", "INE467B01029", "NSE:SBIN"]
    by_pnl = rows(client.get(PAGE, {"sort": "pnl", "dir": "asc"}).content.decode())
    by_pnl_desc = rows(client.get(PAGE, {"sort": "pnl", "dir": "desc"}).content.decode())
    assert by_pnl == ["INE009A01021", "INE002A01018", "INE467B01029", "NSE:SBIN"]  # 211.50, 7507
    assert by_pnl_desc == ["INE002A01018", "INE009A01021", "INE467B01029", "NSE:SBIN"]
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


@pytest.mark.django_db
def test_an_unknown_instrument_is_counted_and_the_page_says_by_which_rule(client, trader):
    kite = BrokerConnectionFactory(user=trader, broker="zerodha", account_id="ZD1234")
    reliance = Holding("NSE", "RELIANCE", 10, D("2400"), RELIANCE, D("2950.50"), D("2925"))
    odd = Holding("NSE", "ZZUNLISTED", 7, D("10"), "", D("12.00"), D("11.00"))
    store_snapshot(kite, holdings=[reliance])
    client.force_login(trader)
    assert 'id="unknown-rule"' not in client.get(PAGE).content.decode()  # nothing to explain

    store_snapshot(kite, holdings=[reliance, odd])
    services.invalidate(trader.pk)  # as a sync does
    html = client.get(PAGE).content.decode()

    # counted: 10 x 2950.50 + 7 x 12 = 29505 + 84 = 29589
    assert 'id="total-value">₹29,589.00<' in html
    rule = re.search(r'<p class="muted pf-rule" id="unknown-rule">(.*?)</p>', html, re.S).group(1)
    assert "counted in the totals at the price its broker gives" in rule
    row = re.search(r'data-key="NSE:ZZUNLISTED">.*?</tbody>', html, re.S).group(0)
    assert "unknown instrument" in row


@pytest.mark.django_db
def test_the_page_and_the_api_show_the_same_numbers(client, trader, seeded):
    from portfolio.templatetags.portfolio_format import inr, signed_inr

    api = APIClient()
    api.force_authenticate(trader)
    body = api.get("/api/v1/brokers/portfolio/consolidated").json()
    client.force_login(trader)
    html = client.get(PAGE).content.decode()

    for element, field in [
        ("total-value", "totalValue"),
        ("total-invested", "totalCost"),
        ("net-worth", "netWorth"),
        ("cash", "cash"),
    ]:
        assert re.search(rf'id="{element}"[^>]*>{re.escape(inr(body[field]))}<', html), element
    for element, field in [
        ("total-pnl", "unrealizedPnL"),
        ("day-change", "dayChange"),
        ("positions-mtm", "positionsMtm"),
        ("positions-day", "positionsDayPnL"),
    ]:
        assert re.search(rf'id="{element}"[^>]*>{re.escape(signed_inr(body[field]))}<', html)
    assert len(body["positions"]) == len(rows(html)) == 4
    for line in body["positions"]:
        kind = ' data-kind="position"' if line["kind"] == "POSITION" else ""
        row = re.search(
            rf'data-key="{re.escape(line["instrumentKey"])}"{kind}>.*?</tbody>', html, re.S
        ).group(0)
        main, *per_broker = row.split('<tr class="broker-line')
        assert signed_inr(line["unrealizedPnL"]) in main
        if line["kind"] == "HOLDING":
            assert inr(line["currentValue"]) in main
        assert len(per_broker) == len(line["brokerPositions"])
        for shown, broker_line in zip(per_broker, line["brokerPositions"], strict=True):
            assert broker_line["accountId"] in shown
            assert signed_inr(broker_line["unrealizedPnL"]) in shown
