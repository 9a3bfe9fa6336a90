"""Every real call (syncs, orders) feeds health through the door's signals."""

import pytest

from brokers.adapters import registry
from brokers.errors import TokenExpired
from brokers.models import BrokerHealthLog
from brokers.models import ConnectionStatus as S
from brokers.sandbox import kit
from health import metrics
from health.calls import classify
from health.metrics import Outcome
from tests.health.conftest import fresh

pytestmark = pytest.mark.django_db(transaction=True)


def test_real_calls_are_counted_with_their_latency(kite):
    adapter = registry.adapter_for(kite)
    adapter.holdings()
    adapter.positions()
    adapter.funds()

    window = metrics.window(str(kite.pk), 60)
    assert (window.n, window.ok, window.fail) == (3, 3, 0)
    assert window.average_ms is not None
    endpoints = [c["endpoint"] for c in metrics.recent_calls(str(kite.pk))]
    assert endpoints == ["user/margins", "portfolio/positions", "portfolio/holdings"]
    assert fresh(kite).last_successful_call is not None


def test_a_refused_session_on_a_sync_turns_token_expired_once(kite):
    kit.set_faults("zerodha", kite.account_id, token_expired=True)
    adapter = registry.adapter_for(kite)

    for _ in range(3):
        with pytest.raises(TokenExpired):
            adapter.holdings()

    kite = fresh(kite)
    assert kite.status == S.TOKEN_EXPIRED
    assert BrokerHealthLog.objects.filter(connection=kite, to_status=S.TOKEN_EXPIRED).count() == 1
    failed = BrokerHealthLog.objects.filter(connection=kite, kind="call", success=False)
    assert failed.first().error_type == "TokenExpired"
    assert kite.access_token not in failed.first().message


def test_a_broker_error_on_a_sync_is_kept_and_shown_as_the_problem(kite):
    kit.set_faults("zerodha", kite.account_id, error_rate=100)

    with pytest.raises(Exception, match="went wrong|HTTP 500"):
        registry.adapter_for(kite).holdings()

    kite = fresh(kite)
    assert kite.status == S.CONNECTED  # one failure is not an outage
    assert kite.consecutive_failures == 1
    assert kite.last_error.startswith("Last call failed (portfolio/holdings)")
    assert metrics.window(str(kite.pk), 60).fail == 1

    kit.clear_faults("zerodha", kite.account_id)
    registry.adapter_for(kite).holdings()
    kite = fresh(kite)
    assert (kite.consecutive_failures, kite.last_error) == (0, "")


def test_calls_that_never_reached_the_broker_are_not_counted():
    from brokers.errors import InvalidRequest, RateLimited
    from health.breaker import CircuitOpen

    assert classify(None) is Outcome.OK
    assert classify(CircuitOpen("open")) is None
    assert classify(RateLimited("ours", code="local")) is None
    assert classify(RateLimited("theirs", code="429")) is Outcome.THROTTLED
    assert classify(InvalidRequest("bad price")) is Outcome.OK


def test_an_order_write_that_met_the_rate_limit_is_throttled_not_a_failure():
    from brokers.errors import OrderStateUnknown, RateLimited

    throttled = OrderStateUnknown("429 after the order was sent")
    throttled.throttle = RateLimited("Too many requests", code="429")
    assert classify(throttled) is Outcome.THROTTLED
    assert classify(OrderStateUnknown("no reply within 5 s")) is Outcome.FAIL
