"""The beat task: one sync per trader with a live connection, safe to run twice."""

import pytest

from portfolio.models import ConsolidatedPosition
from portfolio.tasks import sync_all_portfolios, sync_portfolio_task
from tests.portfolio.conftest import eventually

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_beat_task_syncs_each_connected_trader_once_per_round(trader, connect_brokers, worker):
    connect_brokers(trader, ["zerodha"])

    assert sync_all_portfolios() == 1
    assert sync_all_portfolios() == 0  # an overlapping run claims nobody twice
    assert eventually(ConsolidatedPosition.objects.filter(user=trader).exists)


def test_a_task_for_a_trader_without_brokers_does_nothing(trader, worker):
    assert sync_portfolio_task.delay(trader.pk) is not None
    assert not ConsolidatedPosition.objects.filter(user=trader).exists()
