import time

import pytest
import time_machine


@pytest.fixture
def market():
    """The demo market's clock, stopped: an order stays as placed until the test moves time
    on (``market.shift(2)``: a moment later, accepted orders had their chance to fill)."""
    with time_machine.travel(time.time(), tick=False) as traveller:
        yield traveller
