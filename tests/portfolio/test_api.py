"""GET /api/v1/brokers/portfolio/consolidated and POST /api/v1/brokers/portfolio/sync."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from brokers.models import InstrumentRecord
from brokers.types import Funds, Holding
from tests.factories import BrokerConnectionFactory
from tests.portfolio.conftest import eventually, store_snapshot

D = Decimal
URL = "/api/v1/brokers/portfolio/consolidated"
SYNC = "/api/v1/brokers/portfolio/sync"
RELIANCE = "INE002A01018"


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def seeded(trader):
    """Kite and Fyers holding RELIANCE (NSE and BSE); Dhan failing since its last snapshot."""
    kite = BrokerConnectionFactory(user=trader, broker="zerodha", account_id="ZD1234")
    fyers = BrokerConnectionFactory(user=trader, broker="fyers", account_id="FY0001")
    dhan = BrokerConnectionFactory(user=trader, broker="dhan", account_id="1100456789")
    reliance = Holding("NSE", "RELIANCE", 10, D("2400"), RELIANCE, D("2950.50"), D("2925"))
    store_snapshot(kite, holdings=[reliance], funds=Funds(D("250000")))
    bse = Holding("BSE", "RELIANCE", 4, D("2450"), RELIANCE, D("2950.50"), None, "BSE:RELIANCE-A")
    store_snapshot(fyers, holdings=[bse], funds=Funds(D("90000")))
    tcs = Holding("NSE", "TCS", 2, D("3700"), "INE467B01029", D("3890"), D("3861.25"))
    store_snapshot(dhan, holdings=[tcs], error="The broker is not answering: DH-905")
    return {"zerodha": kite, "fyers": fyers, "dhan": dhan}


@pytest.mark.django_db
def test_the_consolidated_portfolio_in_the_seeds_shape(trader, seeded):
    answer = client_for(trader).get(URL)

    assert answer.status_code == 200
    body = answer.json()
    assert body["userId"] == trader.pk
    # 14 x 2950.50 = 41307.00; cost 24000 + 9800 = 33800; P&L 7507.00 = 22.21 %
    assert body["totalValue"] == "41307.00"
    assert body["totalCost"] == "33800.00"
    assert body["unrealizedPnL"] == "7507.00"
    assert body["unrealizedPnLPercent"] == "22.21"
    assert body["dayChange"] == "357.00"  # 25.50 x 14, the NSE close for both listings
    assert body["cash"] == "340000.00"
    position, tcs = body["positions"]
    # Dhan's TCS: its last good line, flagged partial and out of every total
    assert (tcs["symbol"], tcs["inTotals"], tcs["flags"][0]["code"]) == ("TCS", False, "partial")
    assert position["instrumentKey"] == RELIANCE and position["totalQuantity"] == 14
    # prices at four places, half up: 33800 / 14 = 2414.285714… → 2414.2857
    assert position["averagePrice"] == "2414.2857"
    assert position["currentPrice"] == "2950.5000" and position["kind"] == "HOLDING"
    # per-broker lines in the order of the connections (by broker), NSE and BSE together
    assert [
        (b["brokerType"], b["exchange"], b["quantity"], b["currentValue"])
        for b in position["brokerPositions"]
    ] == [("fyers", "BSE", 4, "11802.00"), ("zerodha", "NSE", 10, "29505.00")]
    assert {b["brokerType"] for b in body["brokerBreakdown"]} == {"zerodha", "fyers"}
    assert {a["assetClass"] for a in body["assetAllocation"]} >= {"EQUITY", "CASH"}
    assert [b["brokerType"] for b in body["coveredBrokers"]] == ["fyers", "zerodha"]
    [failed] = body["failedBrokers"]
    assert failed["brokerType"] == "dhan" and "not answering" in failed["reason"]
    assert failed["lastGoodSnapshotAt"] is not None
    assert body["lastUpdated"] is not None


@pytest.mark.django_db
def test_prices_at_four_places_half_up_and_names_from_the_masters(trader):
    kite = BrokerConnectionFactory(user=trader, broker="zerodha", account_id="ZD1234")
    upstox = BrokerConnectionFactory(user=trader, broker="upstox", account_id="UP4321")
    InstrumentRecord.objects.create(
        broker="zerodha",
        instrument_id="738561",
        exchange="NSE",
        symbol="RELIANCE",
        isin=RELIANCE,
        name="RELIANCE INDUSTRIES",
    )
    # RELIANCE: 5 at 2400 + 8 at 2487.50 = 12000 + 19900 = 31900 for 13 shares:
    # 31900 / 13 = 2453.846153… → 2453.8462 (two places would say 2453.85)
    store_snapshot(
        kite, holdings=[Holding("NSE", "RELIANCE", 5, D("2400"), RELIANCE, D("2950.50"))]
    )
    # TCS: 2 at 3890.00025, exactly half a step past 3890.0002: half up gives 3890.0003
    # (half even would give 3890.0002). INFY has no master entry anywhere.
    store_snapshot(
        upstox,
        holdings=[
            Holding(
                "NSE",
                "RELIANCE",
                8,
                D("2487.50"),
                RELIANCE,
                D("2950.50"),
                None,
                "RELIANCE",
                f"NSE_EQ|{RELIANCE}",
            ),
            Holding("NSE", "INFY", 4, D("1500.0002"), "INE009A01021", D("1542.30")),
            Holding("NSE", "TCS", 2, D("3890.00025"), "INE467B01029", D("3890")),
        ],
    )
    lines = {p["symbol"]: p for p in client_for(trader).get(URL).json()["positions"]}

    reliance = lines["RELIANCE"]
    assert reliance["averagePrice"] == "2453.8462"
    assert reliance["totalCost"] == "31900.00"  # money stays at paise
    assert reliance["name"] == "RELIANCE INDUSTRIES"  # from Kite's master, for both lines
    assert {b["brokerType"]: b["brokerSymbol"] for b in reliance["brokerPositions"]} == {
        "zerodha": "RELIANCE",
        "upstox": f"NSE_EQ|{RELIANCE}",  # as Upstox wrote it
    }
    assert lines["TCS"]["averagePrice"] == "3890.0003"  # 3890.00025 half up, not half even
    assert lines["INFY"]["name"] == ""  # no master knows it: no invented name


@pytest.mark.django_db
def test_no_token_or_secret_is_ever_in_the_answer(trader, seeded):
    text = client_for(trader).get(URL).content.decode()
    for connection in seeded.values():
        assert connection.access_token not in text
        assert connection.app.api_secret not in text


@pytest.mark.django_db
def test_no_broker_connected_is_a_clear_404(trader):
    answer = client_for(trader).get(URL)

    assert answer.status_code == 404
    assert answer.json() == {
        "error": {
            "code": "no_broker_connected",
            "message": "Connect a broker to see your consolidated portfolio.",
        }
    }
    assert client_for(trader).post(SYNC).status_code == 404
    assert client_for(trader).get(SYNC).json()["error"]["code"] == "no_sync"


@pytest.mark.django_db
def test_another_traders_portfolio_is_never_reachable(trader, other_trader, seeded):
    answer = client_for(other_trader).get(URL)

    assert answer.status_code == 404  # their own: nothing connected
    assert "RELIANCE" not in answer.content.decode()
    mine = BrokerConnectionFactory(user=other_trader, broker="groww", account_id="GW1")
    store_snapshot(
        mine, holdings=[Holding("NSE", "ITC", 50, D("420"), "INE154A01025", D("468.15"))]
    )
    body = client_for(other_trader).get(URL).json()
    assert body["userId"] == other_trader.pk
    assert [p["symbol"] for p in body["positions"]] == ["ITC"]
    assert all(str(c.pk) not in str(body) for c in seeded.values())


@pytest.mark.django_db
def test_the_api_is_for_signed_in_traders_only(seeded):
    assert APIClient().get(URL).status_code in (401, 403)


@pytest.mark.django_db(transaction=True)
def test_sync_now_through_the_api_lands_the_sandbox_portfolio(trader, connect_brokers, worker):
    connect_brokers(trader, ["zerodha", "fyers"])
    client = client_for(trader)

    started = client.post(SYNC)

    assert started.status_code == 202
    assert started.json()["state"] in ("queued", "running", "done")
    assert started.json()["total"] == 2
    # In-process on the embedded default it is done already; with Redis a worker takes it.
    done = eventually(lambda: (p := client.get(SYNC).json())["state"] == "done" and p)
    assert done["ok"] == done["total"] == 2
    body = client.get(URL).json()
    reliance = next(p for p in body["positions"] if p["isin"] == RELIANCE)
    assert {b["brokerSymbol"] for b in reliance["brokerPositions"]} == {
        "RELIANCE",
        "BSE:RELIANCE-A",
    }
    assert reliance["totalQuantity"] == 14


@pytest.mark.django_db(transaction=True)
def test_a_connection_never_synced_is_fetched_on_first_read(trader, connect_brokers, worker):
    connect_brokers(trader, ["upstox"])
    client = client_for(trader)

    first = client.get(URL).json()  # the sync it starts runs in-process, or at the worker

    assert [b["brokerType"] for b in first["coveredBrokers"] + first["pendingBrokers"]] == [
        "upstox"
    ]
    body = eventually(lambda: (b := client.get(URL).json())["coveredBrokers"] and b)
    assert body["pendingBrokers"] == []
    assert [b["brokerType"] for b in body["coveredBrokers"]] == ["upstox"]
    assert {p["symbol"] for p in body["positions"]} == {"RELIANCE", "TCS"}


@pytest.mark.django_db
def test_the_schema_documents_both_endpoints_with_an_example():
    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/json").json()
    consolidated = schema["paths"][URL]["get"]
    assert "404" in consolidated["responses"]
    example = consolidated["responses"]["200"]["content"]["application/json"]["examples"]
    assert next(iter(example.values()))["value"]["positions"][0]["brokerPositions"]
    assert "post" in schema["paths"][SYNC]
