"""The consolidated portfolio's JSON: the one document the API serves and the page renders.

camelCase, numbers as strings (exact decimals, no float), rounded here, at presentation, half
up (ROUND_HALF_UP: 2453.84625 → 2453.8463): money and percentages to two places, prices
(average, current, previous close, a broker's last price) to four, so a weighted average such
as 31900 / 13 = 2453.846153… reads 2453.8462, not 2453.85.
"""

from decimal import ROUND_HALF_UP, Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

PAISA = Decimal("0.01")


def _money(amount: Decimal) -> str:
    return str(amount.quantize(PAISA, ROUND_HALF_UP))


def _amount(**kwargs):
    """Money or a percent: two places, half up."""
    return serializers.DecimalField(
        max_digits=None, decimal_places=2, rounding=ROUND_HALF_UP, allow_null=True, **kwargs
    )


def _price(**kwargs):
    """A price per unit: four places, half up."""
    return serializers.DecimalField(
        max_digits=None, decimal_places=4, rounding=ROUND_HALF_UP, allow_null=True, **kwargs
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
    averagePrice = _price(source="average_price")
    lastPrice = _price(source="last_price", help_text="The price this broker reported")
    currentValue = _amount(source="value", help_text="At the line's one current price")
    unrealizedPnL = serializers.SerializerMethodField(
        help_text="currentValue - quantity x averagePrice (null when either is unknown)"
    )
    dayChange = _amount(source="day", help_text="This broker line's part of the day change")
    includedInTotals = serializers.BooleanField(source="included")
    flags = FlagSerializer(many=True)

    @extend_schema_field(serializers.DecimalField(max_digits=None, decimal_places=2))
    def get_unrealizedPnL(self, line) -> str | None:
        if line.value is None or line.cost is None:
            return None
        return _money(line.value - line.cost)


class PositionSerializer(serializers.Serializer):
    instrumentKey = serializers.CharField(source="key")
    kind = serializers.ChoiceField(
        ["HOLDING", "POSITION"],
        help_text=(
            "HOLDING: the instrument's demat holdings; POSITION: its open positions "
            "(intraday, F&O, delivery bought today). An instrument held and traded has one "
            "line of each, at the same price."
        ),
    )
    isin = serializers.CharField(allow_blank=True)
    symbol = serializers.CharField()
    exchange = serializers.CharField()
    name = serializers.CharField(allow_blank=True)
    assetClass = serializers.CharField(source="asset_class")
    totalQuantity = serializers.IntegerField(
        source="quantity", help_text="For a POSITION line the net quantity (negative: short)"
    )
    lotSize = serializers.IntegerField(source="lot_size")
    averagePrice = _price(source="average_price", help_text="Total cost / total quantity")
    currentPrice = _price(source="current_price")
    previousClose = _price(source="previous_close")
    priceFrom = serializers.CharField(source="price_from", allow_blank=True)
    totalCost = _amount(source="cost")
    currentValue = _amount(source="value")
    unrealizedPnL = _amount(source="pnl", help_text="For a POSITION line its MTM")
    unrealizedPnLPercent = _amount(source="pnl_percent")
    dayChange = _amount(
        source="day_change",
        help_text=(
            "Against the previous close; for what a POSITION line traded today, against "
            "its average price (it did not exist at the close)"
        ),
    )
    dayChangePercent = _amount(source="day_change_percent")
    realizedPnLToday = _amount(
        source="realized", help_text="POSITION lines: realized today on these open positions"
    )
    inTotals = serializers.BooleanField(source="in_totals")
    flags = FlagSerializer(many=True)
    brokerPositions = BrokerPositionSerializer(source="broker_lines", many=True)


class BrokerShareSerializer(serializers.Serializer):
    connectionId = serializers.CharField(source="connection_id")
    brokerType = serializers.CharField(source="broker")
    accountId = serializers.CharField(source="account_id")
    displayName = serializers.CharField(source="label")
    value = _amount(help_text="Current value of this broker's holdings")
    invested = _amount(help_text="What this broker's holdings cost")
    unrealizedPnL = _amount(source="pnl", help_text="value - invested")
    dayChange = _amount(source="day_change", help_text="Of this broker's holdings")
    positionsMtm = _amount(source="positions_mtm", help_text="Of its open positions")
    positionsDayPnL = _amount(
        source="positions_day_pnl", help_text="Its open positions' day change + realized today"
    )
    realizedPnLToday = _amount(source="realized")
    cash = _amount()
    share = _amount(help_text="Percent of totalValue (the holdings value)")
    positions = serializers.IntegerField(source="lines", help_text="Its broker lines")


class AllocationSerializer(serializers.Serializer):
    assetClass = serializers.CharField(source="asset_class")
    value = _amount()
    share = _amount(help_text="Percent of netWorth (positions count by their MTM)")


class BrokerStateSerializer(serializers.Serializer):
    connectionId = serializers.CharField(source="connection_id")
    brokerType = serializers.CharField(source="broker")
    accountId = serializers.CharField(source="account_id")
    connectionStatus = serializers.CharField(source="status")
    lastGoodSnapshotAt = serializers.DateTimeField(source="synced_at", allow_null=True)
    failedAt = serializers.DateTimeField(source="failed_at", allow_null=True)
    reason = serializers.CharField(allow_blank=True)


HOLDINGS_ONLY = "Holdings only (demat), as on a broker's holdings page; open positions are apart"


class ConsolidatedSerializer(serializers.Serializer):
    userId = serializers.IntegerField(source="user_id")
    totalValue = _amount(source="portfolio.total_value", help_text=f"{HOLDINGS_ONLY}.")
    totalCost = _amount(source="portfolio.total_cost", help_text=f"Invested. {HOLDINGS_ONLY}.")
    unrealizedPnL = _amount(source="portfolio.unrealized_pnl", help_text=f"{HOLDINGS_ONLY}.")
    unrealizedPnLPercent = _amount(source="portfolio.unrealized_pnl_percent")
    dayChange = _amount(
        source="portfolio.day_change",
        help_text=f"Against the previous close. {HOLDINGS_ONLY}.",
    )
    dayChangePercent = _amount(source="portfolio.day_change_percent")
    positionsMtm = _amount(
        source="portfolio.positions_mtm",
        help_text="Open positions' P&L against their average price (all brokers)",
    )
    positionsDayChange = _amount(
        source="portfolio.positions_day_change",
        help_text=(
            "Open positions' day change: from the previous close for what was carried in, "
            "from the average price for what was opened today"
        ),
    )
    positionsDayPnL = _amount(
        source="portfolio.positions_day_pnl", help_text="positionsDayChange + realizedPnLToday"
    )
    openPositions = serializers.IntegerField(
        source="portfolio.positions_count", help_text="POSITION lines with a value"
    )
    realizedPnLToday = _amount(
        source="portfolio.realized_pnl", help_text="Today's, positions closed today included"
    )
    cash = _amount(source="portfolio.cash", help_text="Available funds at the covered brokers")
    netWorth = _amount(
        source="portfolio.net_worth",
        help_text=(
            "totalValue + positionsMtm + cash: a position's margin or cost is already out of "
            "the cash, so it adds only its P&L"
        ),
    )
    positions = PositionSerializer(
        source="portfolio.lines",
        many=True,
        help_text="Every line: the HOLDING lines, then the POSITION lines (see kind)",
    )
    brokerBreakdown = BrokerShareSerializer(source="portfolio.broker_breakdown", many=True)
    assetAllocation = AllocationSerializer(source="portfolio.asset_allocation", many=True)
    coveredBrokers = BrokerStateSerializer(source="covered", many=True)
    failedBrokers = BrokerStateSerializer(source="failed", many=True)
    pendingBrokers = BrokerStateSerializer(
        source="pending", many=True, help_text="Connected, not synced yet: a sync is on its way"
    )
    notes = FlagSerializer(source="portfolio.notes", many=True)
    totalsInclude = serializers.SerializerMethodField(
        help_text=(
            "What the totals above count: the connections whose last sync landed "
            "(coveredBrokers), never a failed or pending one, and what each total is"
        )
    )
    lastUpdated = serializers.DateTimeField(source="last_updated", allow_null=True)

    @extend_schema_field(serializers.DictField())
    def get_totalsInclude(self, view) -> dict:
        return {
            "connections": [b.connection_id for b in view.covered],
            "leftOut": [b.connection_id for b in [*view.failed, *view.pending]],
            "totalValue": HOLDINGS_ONLY,
            "positionsMtm": "Open positions only, every covered broker",
            "netWorth": "totalValue + positionsMtm + cash",
        }
