"""The policy pages in Chromium: the broker panel's live validation, dragging the priority
list, export → upload → diff → apply, and the kill switch (typed confirmation, two steps back).
"""

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import expect

from routing.policy import effective as effective_module
from routing.policy.effective import effective
from tests.factories import BrokerConnectionFactory, TraderFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def off_the_loop(call, *args, **kwargs):
    """Playwright keeps an event loop in this thread; server-side work runs in its own."""
    with ThreadPoolExecutor(max_workers=1) as worker:
        return worker.submit(call, *args, **kwargs).result()


@pytest.fixture
def asha():
    def setup():
        effective_module.forget()
        trader = TraderFactory(username="asha")
        connections = {
            broker: BrokerConnectionFactory(
                user=trader, broker=broker, account_id=f"{broker[:2].upper()}1"
            )
            for broker in ("zerodha", "upstox", "dhan")
        }
        return trader, connections

    return off_the_loop(setup)


def sign_in(page):
    page.goto("/accounts/sign-in/")
    page.get_by_label("Username").fill("asha")
    page.get_by_label("Password").fill("correct-horse-battery-staple")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")


def snapshot(trader):
    return off_the_loop(lambda: (effective_module.forget(), effective(trader))[1])


def test_the_broker_panel_validates_as_you_type(page, screenshot, asha):
    trader, _ = asha
    sign_in(page)
    page.get_by_role("link", name="Policy", exact=True).click()
    page.get_by_role("row", name="Zerodha ZE1").get_by_role("link", name="Configure").click()
    page.get_by_role("link", name="Risk").click()

    page.get_by_label("Max daily loss (₹)").fill("100000000000000000000")
    error = page.locator("#err-brokers-zerodha-risk-max-daily-loss")
    error.get_by_text("Max daily loss must be at most 10,000,000,000.").wait_for()
    screenshot("live-error")

    page.get_by_label("Max daily loss (₹)").fill("7500")
    page.get_by_text("All settings valid.").wait_for()
    assert error.inner_text() == ""
    page.get_by_role("button", name="Save risk").click()
    page.get_by_text("Saved.").wait_for()
    screenshot("saved")
    assert str(snapshot(trader).brokers["zerodha"].risk.max_daily_loss) == "7500"


def test_the_policy_manager_orders_the_priority_by_dragging(page, screenshot, asha):
    trader, _ = asha
    sign_in(page)
    page.goto("/policy/global/")
    page.wait_for_load_state("load")  # policy.js (deferred) has wired the list
    items = page.locator("#priority-list li")

    def order():
        return [items.nth(i).get_attribute("data-key") for i in range(3)]

    assert order() == ["dhan", "upstox", "zerodha"]
    for key in ("zerodha", "dhan"):
        page.locator(f"#priority-list li[data-key={key}] input[type=checkbox]").check()
    page.locator("#priority-list li[data-key=zerodha]").drag_to(
        page.locator("#priority-list li[data-key=dhan]"), target_position={"x": 20, "y": 2}
    )
    assert order()[0] == "zerodha"
    page.get_by_text("All settings valid.").wait_for()
    screenshot("dragged")
    page.get_by_role("button", name="Save the global policy").click()
    page.get_by_text("Saved.").wait_for()
    assert snapshot(trader).priority == ("zerodha", "dhan")

    # the arrows do the same without a mouse
    page.get_by_role("button", name="Move Dhan DH1 up").click()
    page.get_by_role("button", name="Save the global policy").click()
    page.get_by_text("Saved.").wait_for()
    assert snapshot(trader).priority == ("dhan", "zerodha")


def test_the_policy_manager_edits_a_brokerage_plan_with_live_validation(page, screenshot, asha):
    trader, _ = asha
    sign_in(page)
    page.goto("/policy/global/")
    plans = page.locator("#brokerage-plans")
    zerodha = plans.locator("fieldset[data-plan=zerodha]")
    assert zerodha.get_by_label("Plan name").input_value() == "Kite standard"
    expect(zerodha.get_by_label("zerodha Futures charge")).to_be_disabled()  # published
    zerodha.get_by_label("Use Zerodha ZE1's published plan").uncheck()
    zerodha.get_by_label("zerodha Futures charge").select_option("FLAT")
    expect(zerodha.get_by_label("zerodha Futures percent")).to_be_disabled()  # not a flat's
    zerodha.get_by_label("zerodha Futures flat").fill("")
    error = page.locator("#err-global-cost-plans-zerodha-futures-flat")
    error.get_by_text("A flat-fee plan needs a flat.").wait_for()
    zerodha.scroll_into_view_if_needed()
    screenshot("plan-live-error")

    zerodha.get_by_label("zerodha Futures flat").fill("12.5")
    zerodha.get_by_label("Plan name").fill("Kite flat fee on futures")
    page.get_by_text("All settings valid.").wait_for()
    assert error.inner_text() == ""
    page.get_by_role("button", name="Save the global policy").click()
    page.get_by_text("Saved.").wait_for()
    page.locator("#brokerage-plans").scroll_into_view_if_needed()
    screenshot("plan-saved")

    plan = snapshot(trader).brokers["zerodha"].plan
    assert (plan.name, plan.futures.kind.value, str(plan.futures.flat)) == (
        "Kite flat fee on futures",
        "FLAT",
        "12.5",
    )
    assert plan.futures.percent is None and plan.futures.cap is None  # the kind decides
    assert snapshot(trader).brokers["upstox"].plan.name == "Upstox standard"
    assert not zerodha.get_by_label("Use Zerodha ZE1's published plan").is_checked()


def test_export_upload_diff_apply(page, screenshot, asha, tmp_path):
    trader, _ = asha
    sign_in(page)
    page.goto("/policy/transfer/")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download policy.json").click()
    exported = json.loads(download.value.path().read_text())
    assert exported["schema_version"] == 2
    exported["global"]["routing"]["strategy"] = "BEST_PRICE"
    exported["brokers"]["upstox"]["api"]["health_check_seconds"] = 60
    changed = tmp_path / "policy.json"
    changed.write_text(json.dumps(exported))

    page.get_by_label("Policy file (JSON, at most 1 MB)").set_input_files(str(changed))
    page.get_by_role("button", name="Check the file").click()
    preview = page.locator("#import-preview")
    preview.get_by_text("global.routing.strategy").wait_for()
    assert "brokers.upstox.api.health_check_seconds" in preview.inner_text()
    screenshot("diff")
    assert snapshot(trader).policy.routing.strategy == "LOWEST_COST"  # nothing saved yet

    page.get_by_role("button", name="Apply, all or nothing").click()
    page.get_by_text("Imported as one revision.").wait_for()
    screenshot("history")
    assert snapshot(trader).policy.routing.strategy == "BEST_PRICE"

    bad = tmp_path / "bad.json"
    bad.write_text('{"schema_version": 2, "brokers": {"fyers": {"broker": "fyers"}}}')
    page.goto("/policy/transfer/")
    page.get_by_label("Policy file (JSON, at most 1 MB)").set_input_files(str(bad))
    page.get_by_role("button", name="Check the file").click()
    page.get_by_text("You have no Fyers connection left to take these settings").wait_for()
    screenshot("refused")


def test_the_kill_switch_arms_with_a_typed_word_and_releases_in_two_steps(page, screenshot, asha):
    trader, _ = asha
    sign_in(page)
    page.locator("#kill-switch-badge").click()
    page.get_by_label("Why").fill("Market is crashing")
    arm = page.get_by_role("button", name="Stop all trading now")
    expect(arm).to_be_disabled()  # until the word is typed (static/js/policy.js)
    page.get_by_label("Type STOP to confirm").fill("stop")
    expect(arm).to_be_enabled()
    screenshot("arming")
    arm.click()
    page.get_by_role("heading", name="Kill switch ON").wait_for()
    assert page.locator("#kill-switch-badge").inner_text() == "Trading stopped"
    screenshot("armed")
    assert snapshot(trader).orders_blocked

    page.get_by_role("link", name="Release the kill switch…").click()
    page.get_by_role("heading", name="Release the kill switch?").wait_for()
    assert snapshot(trader).orders_blocked  # the first step only asks
    screenshot("release-confirm")
    page.get_by_role("button", name="Yes, resume trading").click()
    page.get_by_text("Kill switch released").wait_for()
    assert page.locator("#kill-switch-badge").inner_text() == "Emergency"
    assert not snapshot(trader).orders_blocked
