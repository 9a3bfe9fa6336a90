"""The alert preferences health kept per connection (in_app_alerts, email_alerts,
recovery_alerts) move into each trader's policy, as the broker's notification settings, so no
choice is lost when health drops the flags (health 0003).

A policy save used to copy the settings onto the flags ("connection down" on a channel → that
flag; any channel for "connection up" → recovery alerts); the health page could then change
the flags alone. Where the flags say something else than the policy, the flags win (they are
what the trader last chose, and what decided the alerts), written as one revision per trader.
"""

from django.db import migrations

CHANNELS = ("in_app", "email")


def _keys(connections, stored: dict) -> dict:
    """{connection id: policy key}, as routing.policy.accounts assigns them (kept keys first,
    then the broker's name, name-2, name-3... by age)."""
    taken = {}
    for connection in connections:
        key = stored.get(str(connection.pk))
        if key and key not in taken:
            taken[key] = str(connection.pk)
    out = {cid: key for key, cid in taken.items()}
    for connection in connections:
        cid = str(connection.pk)
        if cid in out:
            continue
        key, n = connection.broker, 1
        while key in taken:
            n += 1
            key = f"{connection.broker}-{n}"
        taken[key] = cid
        out[cid] = key
    return out


def _said(section: dict | None) -> tuple[list, list]:
    """The channels of "connection down" and "connection up" a broker section says."""
    events = ((section or {}).get("notifications") or {}).get("events")
    if not isinstance(events, dict):
        return list(CHANNELS), list(CHANNELS)
    return list(events.get("connection_down", CHANNELS)), list(events.get("connection_up", CHANNELS))


def forward(apps, schema_editor):
    from routing.policy.documents import default_broker  # pure: the broker's default section

    ConnectionHealth = apps.get_model("health", "ConnectionHealth")
    BrokerConnection = apps.get_model("brokers", "BrokerConnection")
    Policy = apps.get_model("routing", "Policy")
    PolicyRevision = apps.get_model("routing", "PolicyRevision")

    flags = {
        str(h.connection_id): (h.in_app_alerts, h.email_alerts, h.recovery_alerts)
        for h in ConnectionHealth.objects.all()
    }
    users = (
        BrokerConnection.objects.exclude(status="DISCONNECTED")
        .values_list("user_id", flat=True)
        .distinct()
    )
    for user_id in users:
        connections = list(
            BrokerConnection.objects.filter(user_id=user_id)
            .exclude(status="DISCONNECTED")
            .order_by("created_at", "pk")
        )
        policy = Policy.objects.filter(user_id=user_id).first()
        document = dict(policy.document) if policy and isinstance(policy.document, dict) else {}
        brokers = dict(document.get("brokers") or {})
        keys = _keys(connections, (policy.keys if policy else None) or {})
        changes = []
        for connection in connections:
            cid = str(connection.pk)
            if cid not in flags:
                continue
            in_app, email, recovery = flags[cid]
            key = keys[cid]
            saved = brokers.get(key)
            if not (isinstance(saved, dict) and saved.get("broker") == connection.broker):
                saved = None
            down_was, up_was = _said(saved)
            down = [c for c, on in zip(CHANNELS, (in_app, email)) if on]
            up = down if recovery else []
            # What the flags meant for the policy's reading: "down" by channel, "up" at all.
            if (
                ("in_app" in down_was, "email" in down_was, bool(up_was))
                == (in_app, email, recovery)
            ):
                continue
            section = saved if saved is not None else default_broker(connection.broker)
            section = {**section, "notifications": dict(section.get("notifications") or {})}
            events = dict(section["notifications"].get("events") or {})
            events["connection_down"], events["connection_up"] = down, up
            section["notifications"]["events"] = events
            brokers[key] = section
            base = f"brokers.{key}.notifications.events"
            changes += [
                {"path": f"{base}.connection_down", "before": down_was, "after": down},
                {"path": f"{base}.connection_up", "before": up_was, "after": up},
            ]
        if not changes:
            continue
        if policy is None:
            policy = Policy.objects.create(user_id=user_id)
        document["brokers"] = brokers
        document.setdefault("schema_version", 2)
        policy.version += 1
        policy.stamp += 1
        policy.document = document
        policy.keys = {**(policy.keys or {}), **keys}
        policy.save(update_fields=["version", "stamp", "document", "keys"])
        PolicyRevision.objects.create(
            policy=policy,
            number=policy.version,
            document=document,
            keys=policy.keys,
            changes=changes,
            source="edit",
            note="Alert preferences from the health page",
        )


class Migration(migrations.Migration):
    dependencies = [
        ("brokers", "0001_initial"),
        ("health", "0002_connection_health"),
        ("routing", "0001_policy"),
    ]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
