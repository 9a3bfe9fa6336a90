import uuid

from django.conf import settings
from django.db import models

from brokers.models import BrokerConnection

MONEY = {"max_digits": 20, "decimal_places": 4}


class AssetClass(models.TextChoices):
    EQUITY = "EQUITY", "Equity"
    ETF = "ETF", "ETF"
    MUTUAL_FUND = "MUTUAL_FUND", "Mutual fund"
    DERIVATIVE = "DERIVATIVE", "Derivatives"
    COMMODITY = "COMMODITY", "Commodity"
    CURRENCY = "CURRENCY", "Currency"
    CASH = "CASH", "Cash"


class LineKind(models.TextChoices):
    HOLDING = "HOLDING", "Holding"
    POSITION = "POSITION", "Open position"


class ConsolidatedPosition(models.Model):
    """One instrument across every broker of a user, joined by ISIN where one is known: its
    holdings as one row, its open positions (intraday, F&O, bought today) as another."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="consolidated_positions"
    )
    # ISIN for securities, exchange:symbol otherwise; the join key of the consolidation.
    instrument_key = models.CharField(max_length=100)
    kind = models.CharField(max_length=8, choices=LineKind.choices, default=LineKind.HOLDING)
    isin = models.CharField(max_length=12, blank=True)
    symbol = models.CharField(max_length=100)
    exchange = models.CharField(max_length=10)
    name = models.CharField(max_length=200, blank=True)
    asset_class = models.CharField(
        max_length=12, choices=AssetClass.choices, default=AssetClass.EQUITY
    )
    total_quantity = models.BigIntegerField()
    # Derivatives: units per lot, so quantities can be read as lots.
    lot_size = models.PositiveIntegerField(default=1)
    average_price = models.DecimalField(**MONEY)
    current_price = models.DecimalField(**MONEY, null=True, blank=True)
    previous_close = models.DecimalField(**MONEY, null=True, blank=True)
    total_cost = models.DecimalField(**MONEY)
    current_value = models.DecimalField(**MONEY, null=True, blank=True)
    unrealized_pnl = models.DecimalField(**MONEY, null=True, blank=True)
    unrealized_pnl_percent = models.DecimalField(**MONEY, null=True, blank=True)
    day_change = models.DecimalField(**MONEY, null=True, blank=True)
    day_change_percent = models.DecimalField(**MONEY, null=True, blank=True)
    # Data-quality flags a trader should see (no ISIN, missing close price...).
    flags = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "consolidated_positions"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "instrument_key", "kind"], name="uniq_consolidated_line"
            ),
        ]
        indexes = [
            models.Index(fields=["user", "updated_at"], name="consolidated_user_updated"),
            models.Index(fields=["isin"], name="consolidated_isin"),
        ]

    def __str__(self) -> str:
        return f"{self.symbol} x {self.total_quantity}"


class BrokerPositionBreakdown(models.Model):
    """The part of a consolidated position held at one broker connection."""

    position = models.ForeignKey(
        ConsolidatedPosition, on_delete=models.CASCADE, related_name="broker_positions"
    )
    connection = models.ForeignKey(
        BrokerConnection, on_delete=models.CASCADE, related_name="position_breakdowns"
    )
    broker_symbol = models.CharField(max_length=100)
    exchange = models.CharField(max_length=10)
    # "" for a holding, else the position's product (MIS, NRML...): one broker can hold a stock
    # in its demat account and trade it intraday, under the same symbol.
    product = models.CharField(max_length=20, blank=True)
    quantity = models.BigIntegerField()
    average_price = models.DecimalField(**MONEY)
    last_price = models.DecimalField(**MONEY, null=True, blank=True)
    current_value = models.DecimalField(**MONEY, null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "broker_position_breakdown"
        constraints = [
            models.UniqueConstraint(
                fields=["position", "connection", "exchange", "broker_symbol", "product"],
                name="uniq_breakdown_line",
            ),
        ]
        indexes = [models.Index(fields=["connection"], name="breakdown_connection")]

    def __str__(self) -> str:
        return f"{self.broker_symbol} x {self.quantity} at {self.connection_id}"


class BrokerSnapshot(models.Model):
    """What one connection answered at its last good sync, and how its last attempt went.

    The payload (holdings, positions, quotes, funds and the instrument-master entries they
    were keyed with) lets the consolidated portfolio be rebuilt without calling the broker
    again, e.g. when another connection is removed. No token or secret is ever part of it.
    """

    connection = models.OneToOneField(
        BrokerConnection,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="portfolio_snapshot",
    )
    taken_at = models.DateTimeField(null=True, blank=True)  # the last good snapshot
    payload = models.JSONField(default=dict, blank=True)
    attempted_at = models.DateTimeField(null=True, blank=True)
    # Why the last attempt failed, for the trader ("" when it landed); secrets already redacted.
    error = models.TextField(blank=True)
    error_kind = models.CharField(max_length=40, blank=True)

    class Meta:
        db_table = "portfolio_broker_snapshots"

    def __str__(self) -> str:
        return f"snapshot of {self.connection_id}"

    @property
    def failed(self) -> bool:
        """The newest attempt failed (a good snapshot, if any, is older)."""
        return bool(self.error) and (
            self.taken_at is None
            or (self.attempted_at is not None and self.attempted_at > self.taken_at)
        )


class PortfolioDocument(models.Model):
    """The trader's consolidated portfolio as the API serves it: its JSON, gzipped, built once
    per snapshot version (when a sync lands, or on the first read after the numbers moved).

    Kept here so that every web process can answer from it after a cache loss; the cache
    holds a copy for the hot path (``portfolio.documents``). An empty body is a version
    marked out of date: a build from older snapshots cannot be stored over it.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="portfolio_document",
    )
    # Nanoseconds at the start of the build that made it: later builds win, and a version is
    # never given twice (the ETag is made from it).
    version = models.BigIntegerField()
    body = models.BinaryField(blank=True)
    # Some connection was not synced yet when it was built (a sync is asked on reading it).
    pending = models.BooleanField(default=False)
    built_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "portfolio_documents"

    def __str__(self) -> str:
        return f"portfolio document of {self.user_id} v{self.version}"
