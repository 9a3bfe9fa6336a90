from django.conf import settings
from django.db import models


class Notification(models.Model):
    """An in-app notice to a trader (also e-mailed where their preferences say so)."""

    class Kind(models.TextChoices):
        TOKEN_EXPIRING = "token_expiring", "Login needed soon"
        TOKEN_EXPIRED = "token_expired", "Login needed"
        CONNECTION_DOWN = "connection_down", "Connection down"
        CONNECTION_RECOVERED = "connection_recovered", "Connection recovered"

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

    class Meta:
        db_table = "notifications"
        indexes = [models.Index(fields=["user", "read_at"], name="notification_user_unread")]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title
