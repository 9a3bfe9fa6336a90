import uuid

from django.conf import settings
from django.db import models
from django.db.models import F
from django.utils import timezone

from brokers.fields import EncryptedTextField


class Broker(models.TextChoices):
    ZERODHA = "zerodha", "Zerodha"
    UPSTOX = "upstox", "Upstox"
    FYERS = "fyers", "Fyers"
    ANGELONE = "angelone", "Angel One"
    GROWW = "groww", "Groww"
    DHAN = "dhan", "Dhan"
    IIFL = "iifl", "IIFL"


class ConnectionStatus(models.TextChoices):
    CONNECTED = "CONNECTED", "Connected"
    CONNECTING = "CONNECTING", "Connecting"
    DISCONNECTED = "DISCONNECTED", "Disconnected"
    TOKEN_EXPIRED = "TOKEN_EXPIRED", "Token expired"
    RATE_LIMITED = "RATE_LIMITED", "Rate limited"
    MAINTENANCE = "MAINTENANCE", "Maintenance"
    ERROR = "ERROR", "Error"
    SUSPENDED = "SUSPENDED", "Suspended"


class StaleConnection(Exception):
    """Someone else changed the connection since it was read (optimistic locking)."""


class BrokerApp(models.Model):
    """The API app a trader registered at a broker: key, sealed secret, redirect URL."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="broker_apps"
    )
    broker = models.CharField(max_length=20, choices=Broker.choices)
    label = models.CharField(max_length=100)
    api_key = models.CharField(max_length=200)
    api_secret = EncryptedTextField()
    # Broker-specific identifiers that are not secret: Angel One client code, Dhan client id.
    client_id = models.CharField(max_length=100, blank=True)
    # Fyers needs the trader's PIN to refresh; kept sealed, never shown.
    pin = EncryptedTextField()
    # Further credentials as sealed JSON: IIFL's market-data app key and secret.
    extra_secrets = EncryptedTextField()
    redirect_url = models.URLField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "broker_apps"
        constraints = [
            models.UniqueConstraint(fields=["user", "broker", "label"], name="uniq_app_label"),
        ]
        indexes = [models.Index(fields=["user", "broker"], name="broker_apps_user_broker")]

    def __str__(self) -> str:
        return f"{self.get_broker_display()} app {self.label}"


class BrokerConnectionQuerySet(models.QuerySet):
    def for_user(self, user):
        return self.filter(user=user)

    def active(self):
        return self.exclude(status__in=[ConnectionStatus.DISCONNECTED, ConnectionStatus.SUSPENDED])

    def with_last_response(self):
        """Annotate ``last_response_ms``: the latency of the newest timed call or probe."""
        latest = BrokerHealthLog.objects.filter(
            connection=models.OuterRef("pk"), response_time_ms__isnull=False
        ).order_by("-created_at")
        return self.annotate(
            last_response_ms=models.Subquery(latest.values("response_time_ms")[:1])
        )


class BrokerConnection(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="broker_connections"
    )
    broker = models.CharField(max_length=20, choices=Broker.choices)
    account_id = models.CharField(max_length=100)
    display_name = models.CharField(max_length=200, blank=True)
    app = models.ForeignKey(
        BrokerApp, null=True, blank=True, on_delete=models.SET_NULL, related_name="connections"
    )
    access_token = EncryptedTextField()
    refresh_token = EncryptedTextField()
    # Further session secrets some brokers issue (JSON): IIFL's market-data token, Angel One's
    # feed token.
    extra_tokens = EncryptedTextField()
    token_expires_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=20, choices=ConnectionStatus.choices, default=ConnectionStatus.CONNECTING
    )
    last_successful_call = models.DateTimeField(null=True, blank=True)
    last_health_check = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    capabilities = models.JSONField(default=dict, blank=True)
    connection_config = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    objects = BrokerConnectionQuerySet.as_manager()

    class Meta:
        db_table = "broker_connections"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "broker", "account_id"], name="uniq_connection_account"
            ),
        ]
        indexes = [
            models.Index(fields=["user", "status"], name="broker_conn_user_status"),
            models.Index(fields=["status", "token_expires_at"], name="broker_conn_status_expiry"),
            models.Index(fields=["last_health_check"], name="broker_conn_last_check"),
        ]

    def __str__(self) -> str:
        return f"{self.get_broker_display()} {self.account_id}"

    @property
    def has_access_token(self) -> bool:
        return self._meta.get_field("access_token").is_set(self)  # type: ignore[union-attr]

    @property
    def has_refresh_token(self) -> bool:
        return self._meta.get_field("refresh_token").is_set(self)  # type: ignore[union-attr]

    def token_expired(self, now=None) -> bool:
        now = now or timezone.now()
        return self.token_expires_at is not None and self.token_expires_at <= now

    def save_versioned(self, *, fields: list[str]) -> None:
        """Write ``fields`` only if nobody changed the row since it was read.

        Raises StaleConnection otherwise, so two workers never overwrite each other's status.
        """
        values = {}
        for name in fields:
            field = self._meta.get_field(name)
            values[field.attname] = field.pre_save(self, add=False)  # type: ignore[union-attr]
        values["updated_at"] = timezone.now()
        updated = (
            type(self)
            .objects.filter(pk=self.pk, version=self.version)
            .update(version=F("version") + 1, **values)
        )
        if not updated:
            raise StaleConnection(f"connection {self.pk} changed since it was read")
        self.version += 1
        self.updated_at = values["updated_at"]


class OAuthState(models.Model):
    """A login in flight: random, single use, ten minutes, bound to user, broker and redirect."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    state = models.CharField(max_length=128, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oauth_states"
    )
    broker = models.CharField(max_length=20, choices=Broker.choices)
    redirect_uri = models.URLField(max_length=500)
    app = models.ForeignKey(BrokerApp, null=True, blank=True, on_delete=models.CASCADE)
    # Set when the login re-authenticates an existing connection; if that connection is
    # removed meanwhile, the callback is refused rather than creating a new one.
    reconnect = models.BooleanField(default=False)
    connection = models.ForeignKey(
        BrokerConnection, null=True, blank=True, on_delete=models.SET_NULL
    )
    code_verifier = EncryptedTextField()
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "OAuth state"
        verbose_name_plural = "OAuth states"
        db_table = "oauth_states"
        indexes = [models.Index(fields=["expires_at"], name="oauth_states_expiry")]

    def __str__(self) -> str:
        return f"{self.broker} login for {self.user_id}"


class BrokerHealthLog(models.Model):
    """One probe, call outcome or status transition of a connection."""

    class Kind(models.TextChoices):
        PROBE = "probe", "Probe"
        CALL = "call", "Call"
        TRANSITION = "transition", "Status change"
        SUMMARY = "summary", "Daily summary"

    connection = models.ForeignKey(
        BrokerConnection, on_delete=models.CASCADE, related_name="health_logs"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    created_at = models.DateTimeField(default=timezone.now)
    from_status = models.CharField(max_length=20, choices=ConnectionStatus.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=ConnectionStatus.choices, blank=True)
    success = models.BooleanField(null=True)
    response_time_ms = models.PositiveIntegerField(null=True, blank=True)
    endpoint = models.CharField(max_length=200, blank=True)
    error_type = models.CharField(max_length=60, blank=True)
    message = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "broker_health_logs"
        indexes = [
            models.Index(fields=["connection", "created_at"], name="health_log_conn_time"),
            models.Index(fields=["created_at"], name="health_log_time"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.connection_id} at {self.created_at:%Y-%m-%d %H:%M:%S}"


class InstrumentRecord(models.Model):
    """One row of a broker's instrument master: its identifier → what it is."""

    broker = models.CharField(max_length=20, choices=Broker.choices)
    instrument_id = models.CharField(max_length=100)
    exchange = models.CharField(max_length=10)
    symbol = models.CharField(max_length=100)
    isin = models.CharField(max_length=12, blank=True)
    name = models.CharField(max_length=200, blank=True)
    segment = models.CharField(max_length=30, blank=True)
    instrument_type = models.CharField(max_length=20, blank=True)
    lot_size = models.PositiveIntegerField(default=1)
    tick_size = models.DecimalField(max_digits=12, decimal_places=4, default=0)
    expiry = models.DateField(null=True, blank=True)
    strike = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)

    class Meta:
        db_table = "instrument_master"
        constraints = [
            models.UniqueConstraint(
                fields=["broker", "instrument_id"], name="uniq_instrument_per_broker"
            ),
        ]
        indexes = [
            models.Index(fields=["broker", "exchange", "symbol"], name="instrument_symbol"),
            models.Index(fields=["isin"], name="instrument_isin"),
        ]

    def __str__(self) -> str:
        return f"{self.broker} {self.exchange}:{self.symbol}"


class InstrumentMasterLoad(models.Model):
    """When each broker's master was last replaced, and how many rows it holds."""

    broker = models.CharField(max_length=20, choices=Broker.choices, unique=True)
    loaded_at = models.DateTimeField()
    count = models.PositiveIntegerField()

    class Meta:
        db_table = "instrument_master_loads"

    def __str__(self) -> str:
        return f"{self.broker}: {self.count} instruments"
