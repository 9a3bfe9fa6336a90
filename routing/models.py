from django.conf import settings
from django.db import models


class Policy(models.Model):
    """A trader's policy profile: the validated document, its version, and the kill switch.

    ``version`` counts saved revisions (optimistic concurrency: a save names the version it
    was edited from). ``stamp`` counts every change the order path must see — a save, the kill
    switch — and is what other processes compare against (routing.policy.live).
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="policy"
    )
    version = models.PositiveIntegerField(default=0)
    stamp = models.PositiveBigIntegerField(default=0)
    document = models.JSONField(default=dict)
    # {connection id: policy key}: the key each connection keeps (routing.policy.accounts).
    keys = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    kill_switch = models.BooleanField(default=False)
    kill_switch_reason = models.CharField(max_length=300, blank=True)
    kill_switch_at = models.DateTimeField(null=True, blank=True)
    kill_switch_cancel_open = models.BooleanField(default=False)

    class Meta:
        db_table = "routing_policies"
        verbose_name_plural = "policies"

    def __str__(self) -> str:
        return f"policy of {self.user}"


class PolicyRevision(models.Model):
    """One save: who, when, what changed, and the whole document as it then was."""

    class Source(models.TextChoices):
        EDIT = "edit", "Edit"
        REVERT = "revert", "Revert"
        TEMPLATE = "template", "Template"
        IMPORT = "import", "Import"
        EMERGENCY = "emergency", "Emergency panel"

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    document = models.JSONField()
    keys = models.JSONField(default=dict)
    changes = models.JSONField(default=list)  # [{"path", "before", "after"}]
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.EDIT)
    note = models.CharField(max_length=200, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "routing_policy_revisions"
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "number"], name="uniq_policy_revision"),
        ]

    def __str__(self) -> str:
        return f"revision {self.number} of {self.policy}"


class PolicyTemplate(models.Model):
    """A trader's own saved template: a profile document, applied like an import."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="policy_templates"
    )
    name = models.CharField(max_length=60)
    description = models.CharField(max_length=200, blank=True)
    document = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "routing_policy_templates"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="uniq_template_name"),
        ]

    def __str__(self) -> str:
        return self.name


class PolicyBackup(models.Model):
    """The daily snapshot of a profile (global.backup: on, keep N)."""

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="backups")
    version = models.PositiveIntegerField()
    document = models.JSONField()
    keys = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "routing_policy_backups"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"backup of {self.policy} at {self.created_at:%Y-%m-%d}"


class KillSwitchEvent(models.Model):
    """The kill switch's audit trail: every arm and release, by whom and why."""

    class Action(models.TextChoices):
        ARM = "arm", "Switched on"
        RELEASE = "release", "Switched off"

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="kill_events")
    action = models.CharField(max_length=10, choices=Action.choices)
    reason = models.CharField(max_length=300, blank=True)
    cancel_open_orders = models.BooleanField(default=False)
    # The trader, a member of staff, or nobody (an automatic trip).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    by_staff = models.BooleanField(default=False)
    # An automatic trip's cause (routing.policy.trips: DAILY_LOSS, REJECTIONS); "" otherwise.
    trip = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # An arming that cancels open orders: when the last of its cancels was settled
    # (routing.orders.emergency); None while they run, or for an arming that cancels nothing.
    cancels_finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "routing_kill_switch_events"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} for {self.policy} at {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def cancel_summary(self) -> str:
        """What its "cancel open orders" did: "2 cancelled, 1 not cancelled"."""
        if not self.cancel_open_orders:
            return ""
        rows = list(self.cancels.all())
        if not rows:
            return "no open order" if self.cancels_finished_at else "cancelling open orders…"
        counts = {outcome: 0 for outcome in KillSwitchCancel.Outcome.values}
        for row in rows:
            counts[row.outcome] += 1
        words = [f"{counts['CANCELLED']} cancelled", f"{counts['FAILED']} not cancelled"]
        if counts["CLOSED"]:
            words.append(f"{counts['CLOSED']} already closed")
        if counts["SENDING"]:
            words.append(f"{counts['SENDING']} in progress")
        return ", ".join(words)


class KillSwitchCancel(models.Model):
    """One open order an arming cancelled, or failed to: the audit trail of "cancel open
    orders". One row per arming and order, created before the cancel is sent, so an order is
    cancelled at most once per arming whichever process runs it and however often."""

    class Outcome(models.TextChoices):
        SENDING = "SENDING", "Sending"  # claimed; the cancel may be on its way
        CANCELLED = "CANCELLED", "Cancelled"
        CLOSED = "CLOSED", "Nothing left to cancel"  # filled, rejected or gone before it
        FAILED = "FAILED", "Not cancelled"

    event = models.ForeignKey(KillSwitchEvent, on_delete=models.CASCADE, related_name="cancels")
    order = models.ForeignKey("routing.Order", on_delete=models.CASCADE, related_name="+")
    broker_key = models.CharField(max_length=40, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.SENDING)
    reason = models.TextField(blank=True)  # the broker's words or why it was not cancelled
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "routing_kill_switch_cancels"
        ordering = ["event", "created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["event", "order"], name="uniq_kill_switch_cancel"),
        ]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()}: order {self.order_id}"


# The order models live with the order path; Django finds them through this module.
from routing.orders.models import (  # noqa: E402, F401
    IdempotencyKey,
    Order,
    OrderAttempt,
    OrderEvent,
)
