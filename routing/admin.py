"""Support staff: a trader's policy and revisions, read only; the kill switch can be switched
ON with a reason (audited: a kill-switch event naming the staff member, and admin's log).
Nobody edits a policy here: that is the trader's, through the pages or the API."""

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse

from routing.models import KillSwitchCancel, KillSwitchEvent, Policy, PolicyRevision
from routing.policy import services


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ArmForm(forms.Form):
    reason = forms.CharField(max_length=300, label="Why (kept with the switch; the trader sees it)")


@admin.register(Policy)
class PolicyAdmin(ReadOnly):
    list_display = ("user", "version", "kill_switch", "kill_switch_reason", "updated_at")
    list_filter = ("kill_switch",)
    search_fields = ("user__username", "user__email")
    fields = ("user", "version", "kill_switch", "kill_switch_reason", "kill_switch_at", "document")
    readonly_fields = fields
    actions = ["arm_kill_switch"]

    @admin.action(description="Switch the kill switch ON (asks for a reason)")
    def arm_kill_switch(self, request, queryset):
        form = ArmForm(request.POST if "reason" in request.POST else None)
        if not form.is_valid():
            return TemplateResponse(
                request,
                "admin/routing/arm_kill_switch.html",
                {
                    **self.admin_site.each_context(request),
                    "title": "Switch the kill switch ON",
                    "policies": queryset.select_related("user"),
                    "form": form,
                    "action": "arm_kill_switch",
                    "opts": self.model._meta,
                },
            )
        reason = form.cleaned_data["reason"]
        armed = 0
        for policy in queryset.select_related("user"):
            if services.arm_kill_switch(
                user=policy.user,
                actor=request.user,
                reason=f"Support: {reason}",
                by_staff=True,
            ):
                armed += 1
                self.log_change(request, policy, f"Kill switch ON: {reason}")
        self.message_user(request, f"Kill switch ON for {armed} trader(s).", messages.WARNING)
        return None


@admin.register(PolicyRevision)
class PolicyRevisionAdmin(ReadOnly):
    list_display = ("policy", "number", "source", "author", "created_at")
    list_filter = ("source",)
    search_fields = ("policy__user__username",)
    fields = ("policy", "number", "source", "note", "author", "created_at", "changes", "document")
    readonly_fields = fields


class KillSwitchCancelInline(admin.TabularInline):
    """What an arming's "cancel open orders" did to each order."""

    model = KillSwitchCancel
    fields = ("order", "broker_key", "outcome", "reason", "created_at", "finished_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(KillSwitchEvent)
class KillSwitchEventAdmin(ReadOnly):
    list_display = ("policy", "action", "reason", "actor", "by_staff", "trip", "created_at")
    list_filter = ("action", "by_staff")
    readonly_fields = (
        "policy",
        "action",
        "reason",
        "cancel_open_orders",
        "cancels_finished_at",
        "actor",
        "by_staff",
    )
    inlines = (KillSwitchCancelInline,)


from routing.orders import admin as _orders_admin  # noqa: E402, F401  (registers the order admin)
