"""The policy API: same validation and field paths as the pages, 409 on a stale save, 404 for
another trader's ids, and the published schema."""

import json

import pytest
from rest_framework.test import APIClient

from routing.models import PolicyTemplate
from routing.policy import services
from routing.policy.effective import effective
from tests.factories import BrokerConnectionFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def api(trader):
    client = APIClient()
    client.force_authenticate(trader)
    return client


@pytest.fixture
def charlie_api(other_trader):
    client = APIClient()
    client.force_authenticate(other_trader)
    return client


def put(api, url, body):
    return api.put(url, json.dumps(body), content_type="application/json")


def post(api, url, body=None):
    return api.post(url, json.dumps(body or {}), content_type="application/json")


def test_read_and_save_the_whole_profile(api, trader, brokers):
    got = api.get("/api/v1/policy").json()
    assert got["version"] == 0
    assert [a["key"] for a in got["accounts"]] == ["dhan", "upstox", "zerodha"]
    assert got["killSwitch"]["on"] is False

    document = got["document"]
    document["global"]["routing"]["priority"] = ["zerodha", "dhan"]
    saved = put(api, "/api/v1/policy", {"version": 0, "document": document})
    assert saved.status_code == 200, saved.json()
    assert saved.json()["version"] == 1
    assert saved.json()["changes"][0]["path"] == "global.routing.priority"
    assert effective(trader).priority == ("zerodha", "dhan")


def test_problems_carry_the_same_field_paths(api, trader, brokers):
    document = api.get("/api/v1/policy").json()["document"]
    document["global"]["routing"]["priority"] = ["zerodha", "zerodha"]
    document["brokers"]["upstox"]["trading"]["max_order_value"] = 10**20
    answer = put(api, "/api/v1/policy", {"version": 0, "document": document})
    assert answer.status_code == 400
    problems = {p["path"]: p["message"] for p in answer.json()["error"]["problems"]}
    assert problems == {
        "global.routing.priority[1]": "Zerodha AB0000 is listed twice; list each broker once.",
        "brokers.upstox.trading.max_order_value": "Max order value must be at most 10,000,000,000.",
    } or set(problems) == {"global.routing.priority[1]", "brokers.upstox.trading.max_order_value"}
    assert effective(trader).version == 0


@pytest.mark.parametrize(
    ("body", "path", "words"),
    [
        ({"version": "x", "document": {}}, "version", "whole number"),
        ({"version": True, "document": {}}, "version", "whole number"),
        ({"document": {}}, "version", "version is required"),
        ({"version": 0, "document": {}, "colour": 1}, "colour", "not a field"),
        (
            {"version": 0, "document": {"global": {"risk": {"max_open_orders": []}}}},
            "global.risk.max_open_orders",
            "whole number",
        ),
        (
            {"version": 0, "document": {"brokers": {"groww": {"broker": "groww"}}}},
            "brokers.groww",
            "no connected Groww account",
        ),
    ],
)
def test_wrong_types_and_unknown_keys(api, brokers, body, path, words):
    answer = put(api, "/api/v1/policy", body)
    assert answer.status_code == 400
    problems = {p["path"]: p["message"] for p in answer.json()["error"]["problems"]}
    assert words in problems[path]


def test_malformed_deep_and_huge_bodies(api, brokers):
    bad = api.put("/api/v1/policy", '{"version": 0, "document": {', content_type="application/json")
    assert bad.status_code == 400
    assert "not valid JSON" in bad.json()["error"]["message"]

    deep = api.put("/api/v1/policy", "[" * 50_000 + "]" * 50_000, content_type="application/json")
    assert deep.status_code == 400
    assert "nested" in deep.json()["error"]["message"]

    huge = api.post("/api/v1/policy/import", b" " * 20_000_000, content_type="application/json")
    assert huge.status_code == 400
    assert "20,000,000 bytes" in huge.json()["error"]["message"]


def test_a_stale_save_gets_409_with_both_versions(api, trader, brokers):
    document = api.get("/api/v1/policy").json()["document"]
    mine = json.loads(json.dumps(document))
    document["global"]["routing"]["strategy"] = "BEST_PRICE"
    assert put(api, "/api/v1/policy", {"version": 0, "document": document}).status_code == 200

    mine["global"]["routing"]["strategy"] = "FASTEST_EXECUTION"
    answer = put(api, "/api/v1/policy", {"version": 0, "document": mine})
    assert answer.status_code == 409
    error = answer.json()["error"]
    assert error["code"] == "conflict"
    assert error["current"]["version"] == 1
    assert error["current"]["document"]["global"]["routing"]["strategy"] == "BEST_PRICE"
    assert error["yours"]["global"]["routing"]["strategy"] == "FASTEST_EXECUTION"
    assert effective(trader).policy.routing.strategy == "BEST_PRICE"


def test_one_brokers_settings_and_another_traders_connection_is_404(
    api, charlie_api, trader, brokers
):
    zerodha = brokers["zerodha"]
    got = api.get(f"/api/v1/policy/brokers/{zerodha.pk}").json()
    assert got["key"] == "zerodha"
    settings = got["settings"]
    settings["risk"]["stop_loss_pct"] = "1.5"
    saved = put(api, f"/api/v1/policy/brokers/{zerodha.pk}", {"version": 0, "settings": settings})
    assert saved.status_code == 200
    assert str(effective(trader).brokers["zerodha"].risk.stop_loss_pct) == "1.5"

    assert charlie_api.get(f"/api/v1/policy/brokers/{zerodha.pk}").status_code == 404
    stolen = put(
        charlie_api, f"/api/v1/policy/brokers/{zerodha.pk}", {"version": 0, "settings": settings}
    )
    assert stolen.status_code == 404
    assert api.get(f"/api/v1/policy/brokers/{zerodha.pk}").json()["version"] == 1


def test_one_brokers_settings_must_name_that_connections_broker(api, trader, brokers):
    zerodha = brokers["zerodha"]
    settings = api.get(f"/api/v1/policy/brokers/{zerodha.pk}").json()["settings"]
    url = f"/api/v1/policy/brokers/{zerodha.pk}"

    for broker in (None, "upstox"):
        body = dict(settings, risk=dict(settings["risk"], stop_loss_pct="1.5"))
        if broker is None:
            body.pop("broker")
        else:
            body["broker"] = broker
        refused = put(api, url, {"version": 0, "settings": body})

        assert refused.status_code == 400
        assert refused.json()["error"]["problems"][0]["path"] == "settings.broker"
    assert api.get(url).json()["version"] == 0
    assert effective(trader).brokers["zerodha"].risk.stop_loss_pct is None


def test_global_policy_and_validate_without_saving(api, trader, brokers):
    document = api.get("/api/v1/policy").json()["document"]
    document["global"]["allocation"] = [
        {"asset_type": "EQUITY", "max_allocation_pct": 80},
        {"asset_type": "EQUITY", "preferred_broker": "dhan", "max_allocation_pct": 30},
    ]
    checked = post(api, "/api/v1/policy/validate", {"document": document})
    assert checked.status_code == 400
    problems = checked.json()["error"]["problems"]
    assert problems[0]["path"] == "global.allocation[1].max_allocation_pct"

    document["global"]["allocation"][1]["max_allocation_pct"] = 20
    assert post(api, "/api/v1/policy/validate", {"document": document}).json()["valid"]
    assert effective(trader).version == 0  # validate saves nothing

    saved = put(api, "/api/v1/policy/global", {"version": 0, "global": document["global"]})
    assert saved.status_code == 200
    assert len(effective(trader).policy.allocation) == 2


def test_export_then_import_dry_run_then_apply(api, trader, brokers):
    exported = api.get("/api/v1/policy/export")
    assert exported["Content-Disposition"] == 'attachment; filename="policy.json"'
    document = json.loads(exported.content)
    document["global"]["routing"]["strategy"] = "BEST_PRICE"

    dry = api.post("/api/v1/policy/import", json.dumps(document), content_type="application/json")
    assert dry.status_code == 200
    assert dry.json()["ok"] is True
    assert dry.json()["changes"] == [
        {"path": "global.routing.strategy", "before": "LOWEST_COST", "after": "BEST_PRICE"}
    ]
    assert effective(trader).version == 0

    applied = api.post(
        "/api/v1/policy/import?dryRun=false&version=0",
        json.dumps(document),
        content_type="application/json",
    )
    assert applied.status_code == 200, applied.json()
    assert effective(trader).policy.routing.strategy == "BEST_PRICE"


@pytest.mark.parametrize(
    ("query", "path"),
    [
        ("dryRun=maybe", "dryRun"),
        ("dryRun=false&version=null", "version"),
        ("skipUnmapped=1", "skipUnmapped"),
    ],
)
def test_import_refuses_bad_query_parameters_and_changes_nothing(api, trader, brokers, query, path):
    document = json.loads(api.get("/api/v1/policy/export").content)
    document["global"]["routing"]["strategy"] = "BEST_PRICE"

    refused = api.post(
        f"/api/v1/policy/import?{query}", json.dumps(document), content_type="application/json"
    )

    assert refused.status_code == 400
    assert refused.json()["error"]["problems"][0]["path"] == path
    assert effective(trader).version == 0


def test_templates_preview_apply_and_another_traders_template_is_404(
    api, charlie_api, trader, brokers
):
    listed = api.get("/api/v1/policy/templates").json()
    assert {"active-intraday", "safety-first"} <= {t["id"] for t in listed}

    preview = post(api, "/api/v1/policy/templates/cost-saver/preview").json()
    assert preview["ok"] and preview["changes"]
    applied = post(api, "/api/v1/policy/templates/cost-saver/apply", {"version": 0})
    assert applied.status_code == 200

    markup = post(api, "/api/v1/policy/templates", {"name": "<b>bold</b>"})
    assert markup.status_code == 400
    assert markup.json()["error"]["problems"][0]["path"] == "name"
    kept = post(api, "/api/v1/policy/templates", {"name": "Mine"})
    assert kept.status_code == 201
    template_id = kept.json()["id"]

    assert post(charlie_api, f"/api/v1/policy/templates/{template_id}/preview").status_code == 404
    for unknown in ("³", "9" * 30):  # a digit to Python that int() refuses; past a bigint
        assert post(api, f"/api/v1/policy/templates/{unknown}/preview").status_code == 404
    assert (
        post(
            charlie_api, f"/api/v1/policy/templates/{template_id}/apply", {"version": 0}
        ).status_code
        == 404
    )
    assert charlie_api.delete(f"/api/v1/policy/templates/{template_id}").status_code == 404
    assert PolicyTemplate.objects.filter(pk=template_id).exists()
    assert api.delete(f"/api/v1/policy/templates/{template_id}").status_code == 204


def test_history_and_revert_and_another_traders_revision_is_404(
    api, charlie_api, trader, other_trader, brokers
):
    document = services.editing(trader).document
    document["global"]["risk"]["max_open_orders"] = 3
    services.save_profile(user=trader, document=document, version=0)
    document["global"]["risk"]["max_open_orders"] = 9
    services.save_profile(user=trader, document=document, version=1)

    history = api.get("/api/v1/policy/history").json()
    assert [r["number"] for r in history] == [2, 1]
    BrokerConnectionFactory(user=other_trader, broker="zerodha")
    assert post(charlie_api, "/api/v1/policy/history/1/revert", {"version": 0}).status_code == 404

    stale = post(api, "/api/v1/policy/history/1/revert", {"version": 1})
    assert stale.status_code == 409
    reverted = post(api, "/api/v1/policy/history/1/revert", {"version": 2})
    assert reverted.status_code == 200
    assert effective(trader).policy.risk.max_open_orders == 3


def test_kill_switch(api, trader, brokers):
    refused = post(api, "/api/v1/policy/kill-switch", {"on": True})
    assert refused.status_code == 400
    assert refused.json()["error"]["problems"][0]["path"] == "reason"
    assert not effective(trader).orders_blocked

    armed = post(api, "/api/v1/policy/kill-switch", {"on": True, "reason": "volatility"})
    assert armed.json()["on"] is True
    assert effective(trader).orders_blocked
    post(api, "/api/v1/policy/kill-switch", {"on": False})
    assert not effective(trader).orders_blocked


def test_the_schema_is_served_and_documented(client):
    schema = client.get("/api/v1/policy/schema.json")
    assert schema.status_code == 200
    assert schema.json()["properties"]["schema_version"]["const"] == 2
    openapi = client.get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    for path in ("/api/v1/policy", "/api/v1/policy/import", "/api/v1/policy/kill-switch"):
        assert path in openapi


def test_a_signed_out_client_gets_nothing(client, brokers):
    assert client.get("/api/v1/policy").status_code in (401, 403)
