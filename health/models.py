from django.conf import settings
from django.db import models


class Notification(models.Model):
    """A notice to a trader, kept as their history; unread when the event is one they see in
    the app, e-mailed where their policy says so (health.notify)."""

    class Kind(models.TextChoices):
        TOKEN_EXPIRING = "token_expiring", "Login needed soon"
        TOKEN_EXPIRED = "token_expired", "Login needed"
        CONNECTION_DOWN = "connection_down", "Connection down"
        CONNECTION_RECOVERED = "connection_recovered", "Connection recovered"
        FAILOVER = "failover", "Failover"
        ORDER_REJECTED = "order_rejected", "Order rejected"
        LIMIT_BREACHED = "limit_breached", "Limit breached"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    connection = models.ForeignKey(
        "brokers.BrokerConnection",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    kind = models.CharField(max_length=30, choices=Kind.choices)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=300, blank=True)
    # One notice per incident: the same key is never notified twice.
    dedupe_key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "notifications"
        indexes = [models.Index(fields=["user", "read_at"], name="notification_user_unread")]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title


class ConnectionHealthQuerySet(models.QuerySet):
    def due(self, now):
        return self.filter(next_check_at__lte=now)


class ConnectionHealth(models.Model):
    """What health keeps per connection: its probe schedule, reconnection attempts, the last
    announced quality and the open incident.

    The probe interval itself is ``connection_config["healthCheckSeconds"]``, written there from
    the policy's ``api.health_check_seconds`` (default 30 s); which alerts go where is the
    policy's notification settings (health.notify).
    """

    connection = models.OneToOneField(
        "brokers.BrokerConnection",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="health_state",
    )
    # When the sweep probes next; a claim moves it ahead with a conditional update, so two
    # overlapping sweeps never probe the same connection.
    next_check_at = models.DateTimeField()
    claim = models.UUIDField(null=True, blank=True)
    # Failed reconnection attempts in a row: the exponent of the backoff.
    reconnect_attempts = models.PositiveIntegerField(default=0)
    # The quality last pushed to the trader (health.quality.Quality); a change is announced.
    quality = models.CharField(max_length=10, blank=True)
    # Incidents: turning red opens one (one "down" notice), turning green closes it (one
    # "recovered" notice). Red again soon after a recovery reopens the same incident.
    incident = models.PositiveIntegerField(default=0)
    incident_open = models.BooleanField(default=False)
    incident_closed_at = models.DateTimeField(null=True, blank=True)

    objects = ConnectionHealthQuerySet.as_manager()

    class Meta:
        db_table = "connection_health"
        indexes = [models.Index(fields=["next_check_at"], name="conn_health_next_check")]
        verbose_name_plural = "connection health"

    def __str__(self) -> str:
        return f"health of {self.connection_id}"
