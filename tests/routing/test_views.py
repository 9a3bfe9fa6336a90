"""The policy pages: the broker panel, the global policy manager, live validation, templates,
import/export, history with revert, the emergency panel; another trader's ids are 404."""

import io
import json

import pytest

from routing.models import KillSwitchEvent, PolicyTemplate
from routing.policy import services
from routing.policy.effective import effective

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def signed_in(client, trader):
    client.force_login(trader)
    return client


def form_of(document, prefix):
    """What the page's form posts for ``prefix`` (the same names the templates render)."""
    data = {}
    for name, value in _flat(document, "").items():
        if name.startswith(prefix):
            data[name] = value
    return data


def _flat(value, path):
    out = {}
    if isinstance(value, dict):
        for key, item in value.items():
            out.update(_flat(item, f"{path}.{key}" if path else key))
    elif isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        out[path + ":list"] = [""] + [str(v) for v in value]
    elif value is not None and not isinstance(value, list):
        out[path] = str(value).lower() if isinstance(value, bool) else str(value)
    return out


def test_every_page_renders_with_the_emergency_link(signed_in, brokers):
    zerodha = brokers["zerodha"]
    for url in (
        "/policy/",
        f"/policy/brokers/{zerodha.pk}/",
        *(f"/policy/brokers/{zerodha.pk}/{tab}/" for tab in ("risk", "api", "custom")),
        f"/policy/brokers/{zerodha.pk}/notifications/",
        "/policy/global/",
        "/policy/templates/",
        "/policy/templates/safety-first/",
        "/policy/transfer/",
        "/policy/history/",
        "/policy/emergency/",
        "/policy/emergency/release/",
        "/portfolio/",
    ):
        page = signed_in.get(url)
        assert page.status_code == 200, url
        assert b'id="kill-switch-badge"' in page.content, url
        assert b"<script>" not in page.content and b" onclick=" not in page.content, url


def test_another_traders_connection_is_404(client, other_trader, brokers):
    client.force_login(other_trader)
    zerodha = brokers["zerodha"]
    assert client.get(f"/policy/brokers/{zerodha.pk}/").status_code == 404
    assert client.post(f"/policy/brokers/{zerodha.pk}/risk/", {"version": 0}).status_code == 404
    assert (
        client.post(f"/policy/emergency/pause/{zerodha.pk}/", {"confirm": "1"}).status_code == 404
    )


def test_another_traders_template_and_revision_are_404(client, trader, other_trader, brokers):
    template = PolicyTemplate.objects.create(user=trader, name="Mine", document={})
    document = services.editing(trader).document
    document["global"]["risk"]["max_open_orders"] = 4
    services.save_profile(user=trader, document=document, version=0)
    client.force_login(other_trader)
    assert client.get(f"/policy/templates/{template.pk}/").status_code == 404
    assert client.get("/policy/templates/³/").status_code == 404  # a digit int() refuses
    assert client.post(f"/policy/templates/{template.pk}/", {"delete": "1"}).status_code == 404
    assert client.post("/policy/history/1/revert/", {"version": 0}).status_code == 404
    assert PolicyTemplate.objects.filter(pk=template.pk).exists()


def test_saving_a_tab_of_the_broker_panel(signed_in, trader, brokers):
    zerodha = brokers["zerodha"]
    document = services.editing(trader).document
    form = form_of(document, "brokers.zerodha.risk.")
    form.update(
        {
            "version": "0",
            "brokers.zerodha.risk.max_daily_loss": "7500",
            "brokers.zerodha.risk.restricted_instruments:lines": "",
        }
    )
    answer = signed_in.post(f"/policy/brokers/{zerodha.pk}/risk/", form)
    assert answer.status_code == 302
    assert str(effective(trader).brokers["zerodha"].risk.max_daily_loss) == "7500"


def test_a_bad_value_on_the_panel_names_its_field_and_saves_nothing(signed_in, trader, brokers):
    zerodha = brokers["zerodha"]
    form = form_of(services.editing(trader).document, "brokers.zerodha.trading.")
    form.update({"version": "0", "brokers.zerodha.trading.max_order_value": "1e20"})
    answer = signed_in.post(f"/policy/brokers/{zerodha.pk}/trading/", form)
    assert answer.status_code == 400
    assert b"brokers.zerodha.trading.max_order_value" in answer.content
    assert "Max order value must be at most 10,000,000,000." in answer.content.decode()
    assert effective(trader).version == 0


def test_live_validation_swaps_each_fields_error(signed_in, brokers):
    answer = signed_in.post(
        "/policy/validate/",
        {
            "scope": "brokers.zerodha.",
            "brokers.zerodha.api.retry_count": "9",
            "brokers.zerodha.api.health_check_seconds": "30",
        },
        HTTP_HX_REQUEST="true",
    )
    html = answer.content.decode()
    assert answer.status_code == 200
    swapped = 'role="alert" hx-swap-oob="true"'
    retry = "err-brokers-zerodha-api-retry-count"
    assert f'id="{retry}" {swapped}>Retry count must be at most 5.' in html
    # a field that is fine now gets its old message cleared
    assert f'id="err-brokers-zerodha-api-health-check-seconds" {swapped}></span>' in html


def test_the_global_manager_orders_the_priority_and_refuses_twice(signed_in, trader, brokers):
    form = {
        "version": "0",
        "scope": "global.",
        "global.routing.strategy": "FASTEST_EXECUTION",
        "global.routing.priority:list": ["", "upstox", "zerodha", "dhan"],
        "global.routing.included:list": ["", "upstox", "zerodha"],
        "global.failover.rules:rows": "global.failover.rules",
        "global.failover.rules[0].condition": "TIMEOUT",
        "global.failover.rules[0].threshold": "2500",
        "global.failover.rules[0].action": "SWITCH",
        "global.failover.rules[0].target": "zerodha",
        "global.failover.rules[1].condition": "",
        "global.failover.rules[1].threshold": "",
        "global.failover.rules[1].action": "",
        "global.failover.rules[1].target": "",
    }
    answer = signed_in.post("/policy/global/", form)
    assert answer.status_code == 302, answer.content.decode()[:2000]
    snapshot = effective(trader)
    assert snapshot.priority == ("upstox", "zerodha")
    assert snapshot.policy.failover.rules[0].target == "zerodha"

    form.update({"version": "1", "global.routing.priority:list": ["", "upstox", "upstox"]})
    form["global.routing.included:list"] = ["", "upstox"]
    refused = signed_in.post("/policy/global/", form)
    assert refused.status_code == 400
    assert "is listed twice" in refused.content.decode()


def plan_form(key, version="0", **segments):
    """The brokerage-plan part of the global form for ``key`` (its own plan)."""
    form = {"version": version, "scope": "global.", "global.cost.published:list": [""]}
    form[f"global.cost.plans.{key}.name"] = "My plan"
    for segment in ("equity_delivery", "equity_intraday", "futures", "options"):
        kind, *amounts = segments.get(segment, ("ZERO",))
        at = f"global.cost.plans.{key}.{segment}."
        form[at + "kind"] = kind
        for name in ("flat", "percent", "cap", "minimum"):
            form[at + name] = ""
        for pair in amounts:
            name, value = pair.split("=")
            form[at + name] = value
    return form


def test_the_global_manager_edits_the_brokerage_plans(signed_in, trader, brokers):
    page = signed_in.get("/policy/global/").content.decode()
    assert 'id="brokerage-plans"' in page
    assert 'name="global.cost.plans.zerodha.name" value="Kite standard"' in page
    form = plan_form(
        "zerodha",
        equity_delivery=("FLAT", "flat=15", "percent=0.5"),  # the % goes with the kind
        equity_intraday=("PERCENT_WITH_CAP", "percent=0.02", "cap=18", "minimum=1"),
    )
    form["global.cost.published:list"] += ["upstox"]
    form["global.cost.plans.upstox.name"] = "ignored: the published plan stays"
    answer = signed_in.post("/policy/global/", form)
    assert answer.status_code == 302, answer.content.decode()[:2000]

    snapshot = effective(trader)
    plan = snapshot.brokers["zerodha"].plan
    assert (plan.name, plan.equity_delivery.kind.value, str(plan.equity_delivery.flat)) == (
        "My plan",
        "FLAT",
        "15",
    )
    assert plan.equity_delivery.percent is None
    assert str(plan.equity_intraday.cap) == "18" and str(plan.equity_intraday.minimum) == "1"
    assert snapshot.brokers["upstox"].plan.name == "Upstox standard"
    assert set(snapshot.policy.cost.plans) == {"zerodha"}

    # a plan that lacks an amount its kind needs: a sentence at its path, nothing saved
    bad = plan_form("zerodha", version="1", futures=("PERCENT_WITH_CAP", "percent=0.03"))
    refused = signed_in.post("/policy/global/", bad)
    assert refused.status_code == 400
    assert "A percentage plan needs a cap." in refused.content.decode()
    assert effective(trader).brokers["zerodha"].plan.futures.kind.value == "ZERO"

    # ticking the published plan again drops the trader's own
    back = {"version": "1", "scope": "global.", "global.cost.published:list": ["", "zerodha"]}
    assert signed_in.post("/policy/global/", back).status_code == 302
    assert effective(trader).brokers["zerodha"].plan.name == "Kite standard"


def test_two_tabs_the_later_save_gets_the_conflict_page(signed_in, trader, brokers):
    base = {"scope": "global.", "version": "0", "global.risk.max_open_orders": "5"}
    assert signed_in.post("/policy/global/", base).status_code == 302
    other = {**base, "global.risk.max_open_orders": "8"}
    answer = signed_in.post("/policy/global/", other)
    assert answer.status_code == 409
    html = answer.content.decode()
    assert "saved meanwhile" in html
    assert "global.risk.max_open_orders" in html
    assert effective(trader).policy.risk.max_open_orders == 5


def test_upload_then_diff_then_apply(signed_in, trader, brokers):
    document = json.loads(signed_in.get("/policy/export/").content)
    document["global"]["routing"]["strategy"] = "BEST_PRICE"
    upload = io.BytesIO(json.dumps(document).encode())
    upload.name = "policy.json"
    preview = signed_in.post("/policy/transfer/", {"file": upload})
    assert preview.status_code == 200
    html = preview.content.decode()
    assert "global.routing.strategy" in html and "BEST_PRICE" in html
    assert effective(trader).version == 0
    token = html.split('name="token" value="')[1].split('"')[0]

    applied = signed_in.post("/policy/transfer/", {"token": token, "version": "0"})
    assert applied.status_code == 302
    assert effective(trader).policy.routing.strategy == "BEST_PRICE"


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"{not json", "This is not valid JSON"),
        (b" " * 20_000_000, "The file is 20.0 MB"),
        (b'{"schema_version": 2, "brokers": {"groww": {"broker": "groww"}}}', "no Groww"),
    ],
)
def test_a_bad_upload_is_refused_clearly(signed_in, trader, brokers, content, words):
    upload = io.BytesIO(content)
    upload.name = "policy.json"
    answer = signed_in.post("/policy/transfer/", {"file": upload})
    assert answer.status_code == 400
    assert words in answer.content.decode()
    assert effective(trader).version == 0


def test_history_and_revert(signed_in, trader, brokers):
    document = services.editing(trader).document
    document["global"]["risk"]["max_open_orders"] = 4
    services.save_profile(user=trader, document=document, version=0)
    document["global"]["risk"]["max_open_orders"] = 6
    services.save_profile(user=trader, document=document, version=1)
    page = signed_in.get("/policy/history/").content.decode()
    assert "Revision 2" in page and "Revision 1" in page
    assert signed_in.post("/policy/history/1/revert/", {"version": "2"}).status_code == 302
    assert effective(trader).policy.risk.max_open_orders == 4


def test_kill_switch_typed_confirmation_and_two_step_release(signed_in, trader, brokers):
    wrong = signed_in.post("/policy/emergency/", {"reason": "crash", "confirm": "stpo"})
    assert wrong.status_code == 400
    assert "Type STOP" in wrong.content.decode()
    assert not effective(trader).orders_blocked

    signed_in.post("/policy/emergency/", {"reason": "crash", "confirm": "STOP"})
    assert effective(trader).orders_blocked
    assert b"Trading stopped" in signed_in.get("/portfolio/").content

    step_one = signed_in.get("/policy/emergency/release/")
    assert b"Yes, resume trading" in step_one.content
    assert effective(trader).orders_blocked  # asking is not releasing
    signed_in.post("/policy/emergency/release/", {"step": "2"})
    assert not effective(trader).orders_blocked
    assert KillSwitchEvent.objects.count() == 2


def test_pause_from_the_emergency_panel(signed_in, trader, brokers):
    upstox = brokers["upstox"]
    signed_in.post(f"/policy/emergency/pause/{upstox.pk}/", {"reason": "odd", "confirm": "1"})
    assert not effective(trader).accepts_orders("upstox")
    signed_in.post(f"/policy/emergency/resume/{upstox.pk}/", {"reason": "ok", "confirm": "1"})
    assert effective(trader).accepts_orders("upstox")


def test_template_with_markup_in_its_name_is_refused(signed_in, brokers):
    answer = signed_in.post("/policy/templates/", {"name": "<script>x</script>"})
    assert answer.status_code == 400
    assert "(no markup)" in answer.content.decode()
    assert "<script>x</script>" not in answer.content.decode()
    assert PolicyTemplate.objects.count() == 0


def test_applying_a_preset_from_its_preview(signed_in, trader, brokers):
    preview = signed_in.get("/policy/templates/active-intraday/").content.decode()
    assert "global.routing.strategy" in preview
    assert signed_in.post("/policy/templates/active-intraday/", {"version": "0"}).status_code == 302
    assert effective(trader).policy.routing.strategy == "FASTEST_EXECUTION"
