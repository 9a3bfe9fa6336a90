"""Export, import (dry run first, then all or nothing), schema migration, templates."""

import json
from pathlib import Path

import pytest

from routing.models import PolicyRevision, PolicyTemplate
from routing.policy import presets, services, transfer
from routing.policy.effective import effective
from routing.policy.schema import json_schema
from routing.policy.validation import Invalid
from tests.factories import BrokerConnectionFactory

pytestmark = pytest.mark.django_db(transaction=True)

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "routing" / "policy" / "policy.schema.json"


def exported_file(user) -> bytes:
    return json.dumps(transfer.export(user)).encode()


def comparable(snapshot):
    """An effective policy by broker name, without ids: what two traders can share."""
    by_broker = {b.broker: b for b in snapshot.brokers.values()}
    key_to_broker = {k: b.broker for k, b in snapshot.brokers.items()}
    policy = snapshot.policy.model_dump(mode="json")
    policy["routing"]["priority"] = [key_to_broker[k] for k in policy["routing"]["priority"]]
    for rule in policy["failover"]["rules"]:
        rule["target"] = key_to_broker.get(rule["target"], rule["target"])
    policy["default_brokers"] = {a: key_to_broker[k] for a, k in policy["default_brokers"].items()}
    return policy, {b: s.settings.model_dump(mode="json") for b, s in by_broker.items()}


def test_template_export_import_gives_the_same_policy_where_brokers_map(trader, other_trader):
    for broker in ("zerodha", "upstox", "dhan"):
        BrokerConnectionFactory(user=trader, broker=broker)
    # Charlie has Dhan, Upstox and Fyers: Zerodha's settings have nowhere to go
    for broker in ("dhan", "upstox", "fyers"):
        BrokerConnectionFactory(user=other_trader, broker=broker)

    state = services.editing(trader)
    presets.apply_preset(trader, "safety-first", version=state.version, author=trader)
    data = exported_file(trader)

    preview = transfer.prepare(other_trader, transfer.read(data))
    assert not preview.ok
    assert {p.path: p.message for p in preview.problems}["brokers.zerodha"].startswith(
        "You have no Zerodha connection left to take these settings"
    )
    with pytest.raises(Invalid):
        transfer.apply(other_trader, transfer.read(data), version=0)
    assert PolicyRevision.objects.filter(policy__user=other_trader).count() == 0

    # Safety first made Zerodha the primary: leave it out, the rest maps broker by broker
    document = transfer.read(data)
    document["global"]["routing"]["priority"] = ["upstox", "dhan", "zerodha"]
    for rule in document["global"]["failover"]["rules"]:
        rule["target"] = "dhan"
    document["global"]["default_brokers"] = {"EQUITY": "upstox"}
    preview = transfer.prepare(other_trader, document, skip_unmapped=True)
    assert preview.ok, preview.problems
    assert preview.skipped == ["zerodha"]
    assert preview.mapping == {"upstox": "upstox", "dhan": "dhan"}
    transfer.apply(other_trader, document, version=0, skip_unmapped=True, author=other_trader)

    # The same on the trader's side, to compare
    mine = transfer.read(data)
    mine["global"]["routing"]["priority"] = ["upstox", "dhan", "zerodha"]
    for rule in mine["global"]["failover"]["rules"]:
        rule["target"] = "dhan"
    mine["global"]["default_brokers"] = {"EQUITY": "upstox"}
    transfer.apply(trader, mine, version=1)

    my_policy, my_brokers = comparable(effective(trader))
    their_policy, their_brokers = comparable(effective(other_trader))
    my_policy["routing"]["priority"].remove("zerodha")
    assert their_policy == my_policy
    assert their_brokers["upstox"] == my_brokers["upstox"]
    assert their_brokers["dhan"] == my_brokers["dhan"]
    # Fyers was not in the file: it keeps its own settings
    assert their_brokers["fyers"]["risk"]["stop_loss_pct"] is None


def test_import_is_a_dry_run_first_with_the_changes(trader, brokers):
    document = transfer.export(trader)
    document["global"]["routing"]["strategy"] = "BEST_PRICE"
    preview = transfer.prepare(trader, document)
    assert preview.ok
    assert preview.changes == [
        {"path": "global.routing.strategy", "before": "LOWEST_COST", "after": "BEST_PRICE"}
    ]
    assert effective(trader).policy.routing.strategy == "LOWEST_COST"  # nothing saved yet

    revision = transfer.apply(trader, document, version=0, author=trader)
    assert revision.source == PolicyRevision.Source.IMPORT
    assert effective(trader).policy.routing.strategy == "BEST_PRICE"


def test_an_import_with_one_problem_saves_nothing(trader, brokers):
    document = transfer.export(trader)
    document["global"]["routing"]["strategy"] = "BEST_PRICE"
    document["brokers"]["zerodha"]["trading"]["max_order_value"] = "100000000000000000000"
    preview = transfer.prepare(trader, document)
    assert [p.path for p in preview.problems] == ["brokers.zerodha.trading.max_order_value"]
    with pytest.raises(Invalid):
        transfer.apply(trader, document, version=0)
    assert effective(trader).policy.routing.strategy == "LOWEST_COST"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"schema_version": 2, "global": {', "This is not valid JSON: expecting"),
        (b"\xff\xfe\x00garbage", "The file is not UTF-8 text"),
        (b"[1, 2, 3]", "A policy file holds one JSON object"),
        (b" " * 20_000_000, "The JSON body is 20,000,000 bytes; the limit is 1,000,000 bytes."),
        (b"[" * 100_000 + b"]" * 100_000, "nested"),
        (b'{"a":' * 50 + b"1" + b"}" * 50, "nested 50 levels deep; the limit is 32"),
        (b'{"a":' * 20 + b"1" + b"}" * 20, "The document is nested deeper than any policy."),
    ],
    ids=[
        "malformed",
        "not-utf8",
        "not-an-object",
        "20-MB",
        "deep-array",
        "deep-object",
        "deeper-than-a-policy",
    ],
)
def test_a_bad_file_gets_a_clear_error(data, message):
    with pytest.raises(Invalid) as invalid:
        transfer.read(data)
    assert message in invalid.value.problems[0].message


def test_schema_version_1_is_migrated_forward(trader, brokers):
    v1 = {
        "schema_version": 1,
        "policy": {"routing": {"strategy": "FASTEST_EXECUTION", "priority": ["upstox"]}},
        "brokers": [
            {"key": "upstox", "broker": "upstox", "api": {"request_timeout_ms": 4500}},
            {"key": "zerodha", "broker": "zerodha", "trading": {"default_quantity": 5}},
        ],
    }
    preview = transfer.prepare(trader, v1)
    assert preview.ok, preview.problems
    assert preview.migrated_from == 1
    transfer.apply(trader, v1, version=0)

    snapshot = effective(trader)
    assert snapshot.policy.routing.strategy == "FASTEST_EXECUTION"
    assert str(snapshot.brokers["upstox"].api.request_timeout_seconds) == "4.5"
    assert snapshot.brokers["zerodha"].trading.default_quantity == 5


@pytest.mark.parametrize(
    ("version", "message"),
    [(3, "newer than this installation reads"), (0, "too old"), ("2", "Say which schema")],
)
def test_unknown_schema_versions(trader, brokers, version, message):
    preview = transfer.prepare(trader, {"schema_version": version})
    assert message in preview.problems[0].message
    assert preview.problems[0].path == "schema_version"


def test_an_export_holds_no_secret(trader, brokers):
    connection = brokers["zerodha"]
    data = exported_file(trader).decode()
    for secret in (
        connection.access_token,
        connection.app.api_secret,
        connection.app.api_key,
        str(connection.pk),
    ):
        assert secret not in data
    assert json.loads(data)["schema_version"] == 2


def test_the_published_schema_file_is_the_one_the_code_validates():
    assert json.loads(SCHEMA_FILE.read_text()) == json_schema(), (
        "routing/policy/policy.schema.json is stale: run "
        "`python manage.py policy_schema > routing/policy/policy.schema.json`"
    )


def test_an_export_validates_against_the_published_schema(trader, brokers):
    import jsonschema

    jsonschema.validate(transfer.export(trader), json.loads(SCHEMA_FILE.read_text()))


@pytest.mark.parametrize("slug", list(presets.PRESETS))
def test_each_preset_previews_then_applies_as_one_revision(trader, brokers, slug):
    preview = presets.preview_preset(trader, slug)
    assert preview.ok, preview.problems
    assert preview.changes
    assert PolicyRevision.objects.count() == 0

    revision = presets.apply_preset(trader, slug, version=0, author=trader)
    assert revision.source == PolicyRevision.Source.TEMPLATE
    assert revision.changes == preview.changes
    assert PolicyRevision.objects.count() == 1


def test_safety_first_needs_a_backup(trader):
    BrokerConnectionFactory(user=trader, broker="zerodha")
    preview = presets.preview_preset(trader, "safety-first")
    assert "needs 2 connected brokers; you have 1" in preview.problems[0].message


def test_safety_first_switches_to_the_hot_backup(trader, brokers):
    presets.apply_preset(trader, "safety-first", version=0)
    snapshot = effective(trader)
    primary, backup = snapshot.priority[:2]
    assert [r.target for r in snapshot.policy.failover.rules] == [backup] * 3
    assert snapshot.policy.emergency.auto_trips.rejections_in_a_row == 5
    assert str(snapshot.brokers[primary].risk.stop_loss_pct) == "2"


def test_own_templates(trader, brokers):
    document = services.editing(trader).document
    document["global"]["routing"]["strategy"] = "BEST_PRICE"
    services.save_profile(user=trader, document=document, version=0)
    template = presets.save_template(trader, name="My usual (v2)")
    with pytest.raises(Invalid) as markup:
        presets.save_template(trader, name="<img src=x onerror=alert(1)>")
    assert markup.value.problems[0].path == "name"
    assert "(no markup)" in markup.value.problems[0].message
    with pytest.raises(Invalid) as twice:
        presets.save_template(trader, name="My usual (v2)")
    assert "already have a template" in twice.value.problems[0].message
    assert PolicyTemplate.objects.count() == 1

    services.save_profile(
        user=trader, document=merged_strategy(trader, "FASTEST_EXECUTION"), version=1
    )
    preview = presets.preview_template(trader, template)
    assert preview.changes == [
        {"path": "global.routing.strategy", "before": "FASTEST_EXECUTION", "after": "BEST_PRICE"}
    ]
    presets.apply_template(trader, template, version=2)
    assert effective(trader).policy.routing.strategy == "BEST_PRICE"


def merged_strategy(user, strategy):
    document = services.editing(user).document
    document["global"]["routing"]["strategy"] = strategy
    return document
