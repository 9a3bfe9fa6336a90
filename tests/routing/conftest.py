import pytest

from brokers.models import InstrumentRecord
from routing.policy import effective as effective_module
from routing.policy import services, validation
from tests.factories import BrokerConnectionFactory
from tests.portfolio.conftest import connect_brokers  # noqa: F401  (sandbox logins, for trips)


@pytest.fixture(autouse=True)
def _fresh_snapshots():
    """Each test starts with no snapshot (nor known instrument) cached in this process."""
    effective_module.forget()
    validation.forget_known()
    yield
    effective_module.forget()
    validation.forget_known()


@pytest.fixture
def brokers(trader):
    """Asha's connections: Zerodha, Upstox and Dhan (policy keys zerodha, upstox, dhan)."""
    return {
        broker: BrokerConnectionFactory(user=trader, broker=broker)
        for broker in ("zerodha", "upstox", "dhan")
    }


@pytest.fixture
def master(db):
    """A slice of the instrument masters: RELIANCE and TCS on NSE, RELIANCE on BSE."""
    rows = [
        ("zerodha", "738561", "NSE", "RELIANCE", "INE002A01018"),
        ("zerodha", "128083204", "BSE", "RELIANCE", "INE002A01018"),
        ("upstox", "NSE_EQ|INE467B01029", "NSE", "TCS", "INE467B01029"),
    ]
    InstrumentRecord.objects.bulk_create(
        InstrumentRecord(broker=b, instrument_id=i, exchange=e, symbol=s, isin=n)
        for b, i, e, s, n in rows
    )


@pytest.fixture
def document(trader, brokers):
    """Asha's profile as the pages show it (every broker with its defaults)."""
    return services.editing(trader).document
