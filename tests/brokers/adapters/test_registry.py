"""The registry's promises: every adapter fills the contract, hosts come from settings, and one
order tag can be given to whichever broker routing picks."""

import re
import secrets
from datetime import UTC, datetime

import pytest

from brokers.adapters import registry
from brokers.adapters.base import BrokerAdapter
from brokers.errors import InvalidRequest, NotSupported
from brokers.types import AppCredentials, OrderRequest, OrderType, Product, Side, Tokens

APP = AppCredentials(api_key="key-0123", api_secret="secret-0123", client_id="C1")


def test_an_adapter_missing_a_must_have_cannot_be_built():
    class Half(BrokerAdapter):
        key = "half"

        def profile(self): ...

    with pytest.raises(TypeError, match="abstract"):
        Half(http=None, app=APP, hosts={})


@pytest.mark.parametrize("broker", sorted(registry.ADAPTERS))
def test_every_adapter_fills_the_contract_and_takes_its_hosts_from_settings(broker, settings):
    settings.BROKER_HOSTS = {
        **settings.BROKER_HOSTS,
        broker: {
            name: f"https://{name.lower()}.{broker}.example"
            for name in settings.BROKER_HOSTS[broker]
        },
    }
    adapter = registry.build(broker, app=APP)
    assert not getattr(type(adapter), "__abstractmethods__", None)
    assert adapter.url("API", "/x") == f"https://api.{broker}.example/x"


def test_a_missing_optional_feature_is_not_supported_naming_the_broker():
    class Minimal(BrokerAdapter):
        key = "minimal"
        complete_login = profile = funds = holdings = positions = orders = lambda *a, **k: None
        place_order = modify_order = cancel_order = lambda *a, **k: None

    adapter = Minimal(http=None, app=APP, hosts={})
    for call in (adapter.refresh, adapter.logout, adapter.trades, adapter.instruments):
        with pytest.raises(NotSupported) as refused:
            call()
        assert refused.value.broker == "minimal"


def test_the_common_tag_rule_is_letters_and_digits_every_broker_accepts():
    rule = registry.common_tag_rule()
    assert (rule.min_length, rule.max_length) == (8, 19)  # Groww's minimum, Angel One's maximum
    samples = [secrets.token_hex(n)[:length] for n in (4, 10) for length in (8, 13, 19)]
    samples += ["ABCdef12", "Z" * 19]
    for tag in samples:
        assert not rule.problem(tag), tag
        for broker in registry.ADAPTERS:
            assert not registry.capabilities(broker).tag_rule.problem(tag), (broker, tag)
    assert rule.problem("short7x")  # 7: Groww would refuse it
    assert rule.problem("x" * 20)  # Angel One would refuse it (AB4008)
    assert rule.problem("with-dash1")  # Fyers would refuse it


@pytest.mark.parametrize(
    ("broker", "tag"),
    [
        ("angelone", "x" * 20),
        ("fyers", "not_alnum1"),
        ("groww", "a-b-c-def9"),
        ("groww", "short"),
        ("zerodha", "x" * 21),
    ],
)
def test_a_tag_the_broker_would_refuse_is_refused_before_sending(broker, tag):
    tokens = Tokens(access_token="acc-0123456789", expires_at=datetime(2030, 1, 1, tzinfo=UTC))
    adapter = registry.build(broker, app=APP, tokens=tokens, account=f"tag-{broker}")
    order = OrderRequest("NSE", "SBIN", Side.BUY, 1, OrderType.MARKET, Product.CNC, tag=tag)
    with pytest.raises(InvalidRequest, match=re.escape("order tag")) as refused:
        adapter.place_order(order)
    assert refused.value.broker == broker
