"""Support staff see policies and revisions read only, and can switch a trader's kill switch
on with a reason (audited); they cannot edit a policy."""

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from routing.models import KillSwitchCancel, KillSwitchEvent, Order, Policy
from routing.policy import services
from routing.policy.effective import effective
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def support(client, db):
    staff = UserFactory(username="support", is_staff=True, is_superuser=True)
    client.force_login(staff)
    client.staff = staff
    return client


@pytest.fixture
def saved(trader, brokers):
    document = services.editing(trader).document
    document["global"]["routing"]["strategy"] = "BEST_PRICE"
    services.save_profile(user=trader, document=document, version=0, author=trader)
    return Policy.objects.get(user=trader)


def test_revisions_are_shown_read_only(support, saved):
    listing = support.get(reverse("admin:routing_policyrevision_changelist"))
    assert listing.status_code == 200
    assert b"asha" in listing.content
    revision = saved.revisions.get()
    page = support.get(reverse("admin:routing_policyrevision_change", args=[revision.pk]))
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert b"global.routing.strategy" in page.content


def test_staff_cannot_edit_a_policy(support, saved):
    url = reverse("admin:routing_policy_change", args=[saved.pk])
    assert b'name="_save"' not in support.get(url).content
    support.post(url, {"version": 99, "document": "{}"})
    saved.refresh_from_db()
    assert saved.version == 1
    assert support.get(reverse("admin:routing_policy_add")).status_code == 403


def test_staff_switch_the_kill_switch_on_with_a_reason(support, trader, saved):
    url = reverse("admin:routing_policy_changelist")
    asked = support.post(url, {"action": "arm_kill_switch", "_selected_action": [saved.pk]})
    assert b"Why" in asked.content
    assert not effective(trader).orders_blocked

    support.post(
        url,
        {"action": "arm_kill_switch", "_selected_action": [saved.pk], "reason": "compromised"},
    )
    snapshot = effective(trader)
    assert snapshot.orders_blocked
    assert snapshot.kill_switch.reason == "Support: compromised"
    event = KillSwitchEvent.objects.get()
    assert (event.actor, event.by_staff) == (support.staff, True)
    assert LogEntry.objects.filter(change_message__contains="compromised").exists()


def test_staff_see_what_an_armings_cancels_did_read_only(support, trader, saved):
    services.arm_kill_switch(user=trader, reason="stop", cancel_open_orders=True)
    event = KillSwitchEvent.objects.get()
    order = Order.objects.create(
        user=trader,
        instrument="NSE:INFY",
        exchange="NSE",
        symbol="INFY",
        side="BUY",
        quantity=2,
        order_type="LIMIT",
        product="CNC",
        status="OPEN",
    )
    KillSwitchCancel.objects.create(
        event=event, order=order, broker_key="upstox", outcome="FAILED", reason="no answer"
    )
    page = support.get(reverse("admin:routing_killswitchevent_change", args=[event.pk]))
    assert page.status_code == 200
    assert b"Not cancelled" in page.content and b"no answer" in page.content
    assert b'name="_save"' not in page.content
