"""The portfolio API: the consolidated portfolio of the signed-in trader, and a sync on demand.

camelCase JSON; money rounded to paise and percentages to two places here, at presentation,
as strings (exact decimals, no float). There is no user id in any URL: a trader only ever
reaches their own portfolio.
"""

from decimal import ROUND_HALF_UP

from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from portfolio import services
from portfolio.services import NoBrokerConnected


def _amount(**kwargs):
    return serializers.DecimalField(
        max_digits=None, decimal_places=2, rounding=ROUND_HALF_UP, allow_null=True, **kwargs
    )


class FlagSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    broker = serializers.CharField(allow_blank=True)


class BrokerPositionSerializer(serializers.Serializer):
    connectionId = serializers.CharField(source="connection_id")
    brokerType = serializers.CharField(source="broker")
    accountId = serializers.CharField(source="account_id")
    brokerSymbol = serializers.CharField(source="broker_symbol")
    exchange = serializers.CharField()
    product = serializers.CharField(help_text='"" for a holding; MIS, NRML... for a position')
    quantity = serializers.IntegerField()
    averagePrice = _amount(source="average_price")
    lastPrice = _amount(source="last_price", help_text="The price this broker reported")
    currentValue = _amount(source="value", help_text="At the line's one current price")
    includedInTotals = serializers.BooleanField(source="included")
    flags = FlagSerializer(many=True)


class PositionSerializer(serializers.Serializer):
    instrumentKey = serializers.CharField(source="key")
    isin = serializers.CharField(allow_blank=True)
    symbol = serializers.CharField()
    exchange = serializers.CharField()
    name = serializers.CharField(allow_blank=True)
    assetClass = serializers.CharField(source="asset_class")
    totalQuantity = serializers.IntegerField(source="quantity")
    lotSize = serializers.IntegerField(source="lot_size")
    averagePrice = _amount(source="average_price")
    currentPrice = _amount(source="current_price")
    previousClose = _amount(source="previous_close")
    priceFrom = serializers.CharField(source="price_from", allow_blank=True)
    totalCost = _amount(source="cost")
    currentValue = _amount(source="value")
    unrealizedPnL = _amount(source="pnl")
    unrealizedPnLPercent = _amount(source="pnl_percent")
    dayChange = _amount(source="day_change")
    dayChangePercent = _amount(source="day_change_percent")
    inTotals = serializers.BooleanField(source="in_totals")
    flags = FlagSerializer(many=True)
    brokerPositions = BrokerPositionSerializer(source="broker_lines", many=True)


class BrokerShareSerializer(serializers.Serializer):
    connectionId = serializers.CharField(source="connection_id")
    brokerType = serializers.CharField(source="broker")
    accountId = serializers.CharField(source="account_id")
    displayName = serializers.CharField(source="label")
    value = _amount()
    cash = _amount()
    share = _amount(help_text="Percent of totalValue")
    positions = serializers.IntegerField(source="lines")


class AllocationSerializer(serializers.Serializer):
    assetClass = serializers.CharField(source="asset_class")
    value = _amount()
    share = _amount(help_text="Percent of totalValue + cash")


class BrokerStateSerializer(serializers.Serializer):
    connectionId = serializers.CharField(source="connection_id")
    brokerType = serializers.CharField(source="broker")
    accountId = serializers.CharField(source="account_id")
    connectionStatus = serializers.CharField(source="status")
    lastGoodSnapshotAt = serializers.DateTimeField(source="synced_at", allow_null=True)
    failedAt = serializers.DateTimeField(source="failed_at", allow_null=True)
    reason = serializers.CharField(allow_blank=True)


class ConsolidatedSerializer(serializers.Serializer):
    userId = serializers.IntegerField(source="user_id")
    totalValue = _amount(source="portfolio.total_value")
    totalCost = _amount(source="portfolio.total_cost")
    unrealizedPnL = _amount(source="portfolio.unrealized_pnl")
    unrealizedPnLPercent = _amount(source="portfolio.unrealized_pnl_percent")
    dayChange = _amount(source="portfolio.day_change")
    dayChangePercent = _amount(source="portfolio.day_change_percent")
    realizedPnLToday = _amount(source="portfolio.realized_pnl")
    cash = _amount(source="portfolio.cash")
    positions = PositionSerializer(source="portfolio.lines", many=True)
    brokerBreakdown = BrokerShareSerializer(source="portfolio.broker_breakdown", many=True)
    assetAllocation = AllocationSerializer(source="portfolio.asset_allocation", many=True)
    coveredBrokers = BrokerStateSerializer(source="covered", many=True)
    failedBrokers = BrokerStateSerializer(source="failed", many=True)
    pendingBrokers = BrokerStateSerializer(
        source="pending", many=True, help_text="Connected, not synced yet: a sync is on its way"
    )
    notes = FlagSerializer(source="portfolio.notes", many=True)
    lastUpdated = serializers.DateTimeField(source="last_updated", allow_null=True)


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
    "averagePrice": "2400.00",
    "lastPrice": "2950.50",
    "currentValue": "29505.00",
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
    "realizedPnLToday": "60.00",
    "cash": "340000.00",
    "positions": [
        {
            "instrumentKey": "INE002A01018",
            "isin": "INE002A01018",
            "symbol": "RELIANCE",
            "exchange": "NSE",
            "name": "RELIANCE INDUSTRIES",
            "assetClass": "EQUITY",
            "totalQuantity": 14,
            "lotSize": 1,
            "averagePrice": "2414.29",
            "currentPrice": "2950.50",
            "previousClose": "2925.00",
            "priceFrom": "zerodha",
            "totalCost": "33800.00",
            "currentValue": "41307.00",
            "unrealizedPnL": "7507.00",
            "unrealizedPnLPercent": "22.21",
            "dayChange": "357.00",
            "dayChangePercent": "0.87",
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
                    "averagePrice": "2450.00",
                    "currentValue": "11802.00",
                },
            ],
        }
    ],
    "brokerBreakdown": [
        {
            "connectionId": "6f1c…",
            "brokerType": "zerodha",
            "accountId": "ZD1234",
            "displayName": "Asha Demo",
            "value": "29505.00",
            "cash": "250000.00",
            "share": "71.43",
            "positions": 1,
        },
        {
            "connectionId": "9a4d…",
            "brokerType": "fyers",
            "accountId": "FY0001",
            "displayName": "Asha Demo",
            "value": "11802.00",
            "cash": "90000.00",
            "share": "28.57",
            "positions": 1,
        },
    ],
    "assetAllocation": [
        {"assetClass": "EQUITY", "value": "41307.00", "share": "10.83"},
        {"assetClass": "ETF", "value": "0.00", "share": "0.00"},
        {"assetClass": "MUTUAL_FUND", "value": "0.00", "share": "0.00"},
        {"assetClass": "DERIVATIVE", "value": "0.00", "share": "0.00"},
        {"assetClass": "COMMODITY", "value": "0.00", "share": "0.00"},
        {"assetClass": "CURRENCY", "value": "0.00", "share": "0.00"},
        {"assetClass": "CASH", "value": "340000.00", "share": "89.17"},
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
    "lastUpdated": "2026-11-23T10:15:02+05:30",
}


class ConsolidatedPortfolioApi(APIView):
    @extend_schema(
        responses={200: ConsolidatedSerializer, 404: ERROR},
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
            data = services.get_presented(
                user=request.user,
                name="api",
                present=lambda view: ConsolidatedSerializer(view).data,
            )
        except NoBrokerConnected as missing:
            return _no_broker(missing)
        return Response(data)


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
    @extend_schema(
        request=None,
        responses={202: PROGRESS, 404: ERROR},
        examples=[OpenApiExample("Sync started", value=SYNC_EXAMPLE, response_only=True)],
        summary="Sync your portfolio from every connected broker now",
    )
    def post(self, request):
        try:
            progress = services.request_sync(user=request.user)
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
