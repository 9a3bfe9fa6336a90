"""Support sees each connection's last portfolio sync in admin, never its token."""

from decimal import Decimal

import pytest

from brokers.types import Holding
from tests.factories import BrokerConnectionFactory, UserFactory
from tests.portfolio.conftest import store_snapshot


@pytest.mark.django_db
def test_support_sees_when_a_snapshot_landed_and_why_it_failed(client, trader):
    connection = BrokerConnectionFactory(user=trader, broker="dhan", account_id="1100456789")
    holding = Holding("NSE", "TCS", 2, Decimal("3700"), "INE467B01029")
    store_snapshot(connection, holdings=[holding], error="The broker is not answering: DH-905")
    staff = UserFactory(username="support", is_staff=True, is_superuser=True)
    client.force_login(staff)

    listing = client.get("/admin/portfolio/brokersnapshot/").content.decode()
    detail = client.get(f"/admin/portfolio/brokersnapshot/{connection.pk}/change/").content.decode()

    assert "1100456789" in listing and "BrokerUnavailable" in listing
    assert "not answering" in detail
    assert connection.access_token not in listing + detail
