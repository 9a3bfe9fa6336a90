import pytest

from tests.brokers.logins import log_in


@pytest.fixture
def logged_in(request, sandbox_hosts):
    """An adapter logged in to a broker's sandbox demo account, as a trader logs in.

    The broker is the test's parameter (``@pytest.mark.parametrize("logged_in", ["dhan"],
    indirect=True)``), or else the test module's ``BROKER``.
    """
    broker = getattr(request, "param", None) or request.module.BROKER
    return log_in(broker, sandbox_hosts)
