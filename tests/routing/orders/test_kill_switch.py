"""The kill switch stops the next order wherever it was switched on, and a daily loss past
the limit switches it on by itself."""

import os
import subprocess
import sys
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

from brokers.sandbox import kit
from brokers.types import OrderType, Position, Product, Side
from routing.orders import services
from routing.orders.inputs import OrderInput
from routing.orders.models import Order, OrderState
from routing.policy import services as policy_services
from routing.policy.effective import effective
from tests.portfolio.conftest import store_snapshot
from tests.routing.test_live import database_url

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[3]
ORDER = OrderInput(
    instrument="NSE:INFY",
    side=Side.BUY,
    quantity=1,
    order_type=OrderType.MARKET,
    product=Product.CNC,
)


def codes(order: Order) -> list[str]:
    return [b["code"] for b in order.breaches]


@pytest.mark.skipif(
    not settings.REDIS_URL,
    reason="the embedded default runs one process (nothing to share); needs REDIS_URL",
)
def test_the_kill_switch_armed_in_another_process_blocks_the_next_order(trader, connected):
    zerodha = connected("zerodha")["zerodha"]
    first = services.place_order(user=trader, order=ORDER).order  # this process's snapshot
    assert first.status != OrderState.RISK_REJECTED

    script = (
        "from django.contrib.auth import get_user_model;"
        "from routing.policy.services import arm_kill_switch;"
        f"arm_kill_switch(user=get_user_model().objects.get(pk={trader.pk}), reason='desk')"
    )
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "INPROCESS_SCHEDULER": "false",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT, env=env, check=True
    )

    second = services.place_order(user=trader, order=ORDER).order
    assert second.status == OrderState.RISK_REJECTED
    assert "KILL_SWITCH" in codes(second) and "desk" in second.status_reason
    assert len(kit.orders("zerodha", zerodha.account_id)) == 1


def test_the_kill_switch_armed_in_another_thread_blocks_the_next_order(trader, connected):
    zerodha = connected("zerodha")["zerodha"]
    services.place_order(user=trader, order=ORDER)

    arming = threading.Thread(
        target=policy_services.arm_kill_switch, kwargs={"user": trader, "reason": "desk"}
    )
    arming.start()
    arming.join()

    second = services.place_order(user=trader, order=ORDER).order
    assert second.status == OrderState.RISK_REJECTED and "KILL_SWITCH" in codes(second)
    assert len(kit.orders("zerodha", zerodha.account_id)) == 1


def test_a_daily_loss_past_the_limit_switches_the_kill_switch_on(trader, connected):
    zerodha = connected("zerodha")["zerodha"]
    # Today's intraday trade at Zerodha lost ₹5,000 (as the last sync stored it).
    store_snapshot(
        zerodha,
        positions=[
            Position(
                exchange="NSE",
                symbol="SBIN",
                product="MIS",
                quantity=0,
                average_price=Decimal("800"),
                realized_pnl=Decimal("-5000"),
                unrealized_pnl=Decimal("0"),
            )
        ],
    )
    state = policy_services.editing(trader)
    document = state.document
    document["global"]["risk"]["max_daily_loss"] = 1000
    policy_services.save_profile(user=trader, document=document, version=state.version)
    assert not effective(trader).kill_switch.on

    refused = services.place_order(user=trader, order=ORDER).order

    assert refused.status == OrderState.RISK_REJECTED and "DAILY_LOSS" in codes(refused)
    assert effective(trader).kill_switch.on
    assert "loss of ₹5,000.00" in effective(trader).kill_switch.reason
    assert "₹1,000.00 daily limit" in effective(trader).kill_switch.reason
    assert kit.orders("zerodha", zerodha.account_id) == []
