"""The portfolio API: the consolidated portfolio of the signed-in trader, and a sync on demand.

The portfolio is answered from its prepared document (``portfolio.documents``; its JSON is
``portfolio.serializers``): gzipped when the client accepts it, with an ETag, and a 304 to a
client that sends it back in If-None-Match while the numbers have not moved.

The view stays synchronous: an async read path (bench/today.py: the token checked through
sync_to_async, the document read with redis.asyncio) measured against it under the production
command, 100 concurrent GETs of a 7 x 1,000-line portfolio, three rounds each, alternated, gave
p99 903, 872 and 1,480 ms against 903, 924 and 985 ms: no gain. Synchronous-only middleware
(WhiteNoise, the JSON body limit) puts every request on the worker's one thread for synchronous
code anyway, and a document request spends ~2 ms of CPU there (bench_portfolio_api).
There is no user id in any URL: a trader only ever reaches their own portfolio.
"""

import re

from django.http import HttpResponse
from django.utils.cache import get_conditional_response, patch_vary_headers
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from portfolio import documents, services, tasks
from portfolio.serializers import HOLDINGS_ONLY, ConsolidatedSerializer
from portfolio.services import NoBrokerConnected

ACCEPTS_GZIP = re.compile(r"\bgzip\b")  # as django.middleware.gzip reads Accept-Encoding


ERROR = inline_serializer(
    "PortfolioError",
    {
        "error": inline_serializer(
            "PortfolioErrorBody",
            {"code": serializers.CharField(), "message": serializers.CharField()},
        )
    },
)
NO_BROKER = {
    "error": {
        "code": "no_broker_connected",
        "message": "Connect a broker to see your consolidated portfolio.",
    }
}
RELIANCE_AT_ZERODHA = {
    "connectionId": "6f1c…",
    "brokerType": "zerodha",
    "accountId": "ZD1234",
    "brokerSymbol": "RELIANCE",
    "exchange": "NSE",
    "product": "",
    "quantity": 10,
    "averagePrice": "2400.0000",
    "lastPrice": "2950.5000",
    "currentValue": "29505.00",
    "unrealizedPnL": "5505.00",
    "dayChange": "255.00",
    "includedInTotals": True,
    "flags": [],
}
EXAMPLE = {
    "userId": 7,
    "totalValue": "41307.00",
    "totalCost": "33800.00",
    "unrealizedPnL": "7507.00",
    "unrealizedPnLPercent": "22.21",
    "dayChange": "357.00",
    "dayChangePercent": "0.87",
    "positionsMtm": "138.00",
    "positionsDayChange": "138.00",
    "positionsDayPnL": "198.00",
    "openPositions": 1,
    "realizedPnLToday": "60.00",
    "cash": "340000.00",
    "netWorth": "381445.00",
    "positions": [
        {
            "instrumentKey": "INE002A01018",
            "kind": "HOLDING",
            "isin": "INE002A01018",
            "symbol": "RELIANCE",
            "exchange": "NSE",
            "name": "RELIANCE INDUSTRIES",
            "assetClass": "EQUITY",
            "totalQuantity": 14,
            "lotSize": 1,
            "averagePrice": "2414.2857",
            "currentPrice": "2950.5000",
            "previousClose": "2925.0000",
            "priceFrom": "zerodha",
            "totalCost": "33800.00",
            "currentValue": "41307.00",
            "unrealizedPnL": "7507.00",
            "unrealizedPnLPercent": "22.21",
            "dayChange": "357.00",
            "dayChangePercent": "0.87",
            "realizedPnLToday": "0.00",
            "inTotals": True,
            "flags": [],
            "brokerPositions": [
                RELIANCE_AT_ZERODHA,
                {
                    **RELIANCE_AT_ZERODHA,
                    "connectionId": "9a4d…",
                    "brokerType": "fyers",
                    "accountId": "FY0001",
                    "brokerSymbol": "BSE:RELIANCE-A",
                    "exchange": "BSE",
                    "quantity": 4,
                    "averagePrice": "2450.0000",
                    "currentValue": "11802.00",
                    "unrealizedPnL": "2002.00",
                    "dayChange": "102.00",
                },
            ],
        },
        {
            "instrumentKey": "INE062A01020",
            "kind": "POSITION",
            "isin": "INE062A01020",
            "symbol": "SBIN",
            "exchange": "NSE",
            "name": "STATE BANK OF INDIA",
            "assetClass": "EQUITY",
            "totalQuantity": 30,
            "lotSize": 1,
            "averagePrice": "808.0000",
            "currentPrice": "812.6000",
            "previousClose": "805.3500",
            "priceFrom": "zerodha",
            "totalCost": "24240.00",
            "currentValue": "24378.00",
            "unrealizedPnL": "138.00",
            "unrealizedPnLPercent": "0.57",
            "dayChange": "138.00",
            "dayChangePercent": "0.57",
            "realizedPnLToday": "60.00",
            "inTotals": True,
            "flags": [],
            "brokerPositions": [
                {
                    **RELIANCE_AT_ZERODHA,
                    "brokerSymbol": "SBIN",
                    "product": "MIS",
                    "quantity": 30,
                    "averagePrice": "808.0000",
                    "lastPrice": "812.6000",
                    "currentValue": "24378.00",
                    "unrealizedPnL": "138.00",
                    "dayChange": "138.00",
                }
            ],
        },
    ],
    "brokerBreakdown": [
        {
            "connectionId": "6f1c…",
            "brokerType": "zerodha",
            "accountId": "ZD1234",
            "displayName": "Asha Demo",
            "value": "29505.00",
            "invested": "24000.00",
            "unrealizedPnL": "5505.00",
            "dayChange": "255.00",
            "positionsMtm": "138.00",
            "positionsDayPnL": "198.00",
            "realizedPnLToday": "60.00",
            "cash": "250000.00",
            "share": "71.43",
            "positions": 2,
        },
        {
            "connectionId": "9a4d…",
            "brokerType": "fyers",
            "accountId": "FY0001",
            "displayName": "Asha Demo",
            "value": "11802.00",
            "invested": "9800.00",
            "unrealizedPnL": "2002.00",
            "dayChange": "102.00",
            "positionsMtm": "0.00",
            "positionsDayPnL": "0.00",
            "realizedPnLToday": "0.00",
            "cash": "90000.00",
            "share": "28.57",
            "positions": 1,
        },
    ],
    "assetAllocation": [
        {"assetClass": "EQUITY", "value": "41445.00", "share": "10.87"},
        {"assetClass": "ETF", "value": "0.00", "share": "0.00"},
        {"assetClass": "MUTUAL_FUND", "value": "0.00", "share": "0.00"},
        {"assetClass": "DERIVATIVE", "value": "0.00", "share": "0.00"},
        {"assetClass": "COMMODITY", "value": "0.00", "share": "0.00"},
        {"assetClass": "CURRENCY", "value": "0.00", "share": "0.00"},
        {"assetClass": "CASH", "value": "340000.00", "share": "89.13"},
    ],
    "coveredBrokers": [
        {
            "connectionId": "6f1c…",
            "brokerType": "zerodha",
            "accountId": "ZD1234",
            "connectionStatus": "CONNECTED",
            "lastGoodSnapshotAt": "2026-11-23T10:15:02+05:30",
            "failedAt": None,
            "reason": "",
        },
        {
            "connectionId": "9a4d…",
            "brokerType": "fyers",
            "accountId": "FY0001",
            "connectionStatus": "CONNECTED",
            "lastGoodSnapshotAt": "2026-11-23T10:15:02+05:30",
            "failedAt": None,
            "reason": "",
        },
    ],
    "failedBrokers": [
        {
            "connectionId": "0b9e…",
            "brokerType": "dhan",
            "accountId": "1100456789",
            "connectionStatus": "CONNECTED",
            "lastGoodSnapshotAt": "2026-11-23T10:10:01+05:30",
            "failedAt": "2026-11-23T10:15:02+05:30",
            "reason": "The broker is not answering: HTTP 503",
        }
    ],
    "pendingBrokers": [],
    "notes": [],
    "totalsInclude": {
        "connections": ["6f1c…", "9a4d…"],
        "leftOut": ["0b9e…"],
        "totalValue": HOLDINGS_ONLY,
        "positionsMtm": "Open positions only, every covered broker",
        "netWorth": "totalValue + positionsMtm + cash",
    },
    "lastUpdated": "2026-11-23T10:15:02+05:30",
}


class ConsolidatedPortfolioApi(APIView):
    @extend_schema(
        responses={
            200: ConsolidatedSerializer,
            304: OpenApiResponse(description="If-None-Match named the current ETag: unchanged"),
            404: ERROR,
        },
        examples=[
            OpenApiExample("Consolidated portfolio", value=EXAMPLE, response_only=True),
            OpenApiExample(
                "No broker connected", value=NO_BROKER, response_only=True, status_codes=["404"]
            ),
        ],
        summary="Your consolidated portfolio across every connected broker",
        description=(
            "One line per instrument (joined by ISIN: NSE and BSE listings are one line), "
            "each with its per-broker lines. A broker that failed in the last sync is left "
            "out of the totals and listed in failedBrokers with its reason and the time of "
            "its last good snapshot."
        ),
    )
    def get(self, request):
        try:
            document = tasks.consolidated_document(user=request.user)
        except NoBrokerConnected as missing:
            return _no_broker(missing)
        return _document_response(request, document)


def _document_response(request, document: documents.Document) -> HttpResponse:
    response = get_conditional_response(request, etag=document.etag)  # a 304, or None
    if response is None:
        if ACCEPTS_GZIP.search(request.headers.get("Accept-Encoding", "")):
            response = HttpResponse(document.body, content_type="application/json")
            response["Content-Encoding"] = "gzip"
        else:
            response = HttpResponse(document.json(), content_type="application/json")
    response["ETag"] = document.etag
    # Only this trader may reuse it, and only after asking whether it is still current.
    response["Cache-Control"] = "private, no-cache"
    patch_vary_headers(response, ("Accept-Encoding", "Authorization", "Cookie"))
    return response


SYNC_EXAMPLE = {
    "state": "running",
    "done": 3,
    "ok": 2,
    "total": 7,
    "startedAt": "2026-11-23T10:15:02.120000+00:00",
    "brokers": {"6f1c…": {"label": "Zerodha", "account": "ZD1234", "state": "ok", "reason": ""}},
}


PROGRESS = inline_serializer(
    "SyncProgress",
    {
        "state": serializers.ChoiceField(["queued", "running", "done"]),
        "done": serializers.IntegerField(help_text="Brokers that answered"),
        "ok": serializers.IntegerField(help_text="...and whose answer landed"),
        "total": serializers.IntegerField(),
        "startedAt": serializers.CharField(),
        "brokers": serializers.DictField(child=serializers.DictField()),
    },
)


class SyncPortfolioApi(APIView):
    @property
    def throttle_scope(self) -> str | None:
        """Starting a sync calls every broker; asking how it goes costs nothing."""
        return "sync" if self.request.method == "POST" else None

    @extend_schema(
        request=None,
        responses={202: PROGRESS, 404: ERROR},
        examples=[OpenApiExample("Sync started", value=SYNC_EXAMPLE, response_only=True)],
        summary="Sync your portfolio from every connected broker now",
    )
    def post(self, request):
        try:
            progress = tasks.request_sync(user=request.user)
        except NoBrokerConnected as missing:
            return _no_broker(missing)
        return Response(progress, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        responses={200: PROGRESS, 404: ERROR},
        examples=[OpenApiExample("Sync running", value=SYNC_EXAMPLE, response_only=True)],
        summary="How the last or current sync of your portfolio is going",
    )
    def get(self, request):
        progress = services.sync_progress(user=request.user)
        if progress is None:
            body = {"error": {"code": "no_sync", "message": "No sync has run recently."}}
            return Response(body, status=status.HTTP_404_NOT_FOUND)
        return Response(progress)


def _no_broker(missing: NoBrokerConnected) -> Response:
    body = {"error": {"code": "no_broker_connected", "message": str(missing)}}
    return Response(body, status=status.HTTP_404_NOT_FOUND)
