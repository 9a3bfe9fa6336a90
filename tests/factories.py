import factory
from django.contrib.auth import get_user_model

from accounts.roles import make_trader
from brokers.models import BrokerApp, BrokerConnection, ConnectionStatus


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"trader{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct-horse-battery-staple")


class TraderFactory(UserFactory):
    @factory.post_generation
    def trader_role(self, create, extracted, **kwargs):
        if create:
            make_trader(self)


class BrokerAppFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BrokerApp

    user = factory.SubFactory(TraderFactory)
    broker = "zerodha"
    label = factory.Sequence(lambda n: f"app {n}")
    api_key = factory.Sequence(lambda n: f"key{n:04d}")
    api_secret = factory.Sequence(lambda n: f"app-secret-{n:06d}")
    redirect_url = "http://127.0.0.1:8000/brokers/callback/"


class BrokerConnectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BrokerConnection

    user = factory.SubFactory(TraderFactory)
    broker = "zerodha"
    account_id = factory.Sequence(lambda n: f"AB{n:04d}")
    display_name = "Demo account"
    app = factory.SubFactory(
        BrokerAppFactory,
        user=factory.SelfAttribute("..user"),
        broker=factory.SelfAttribute("..broker"),
    )
    access_token = factory.Sequence(lambda n: f"access-token-{n:08d}")
    status = ConnectionStatus.CONNECTED


def api_token(user, name: str = "test client", **kwargs) -> str:
    """A new API token of ``user``: the token itself (only its digest is stored)."""
    from accounts.services import issue_api_token

    return issue_api_token(user=user, name=name, **kwargs)[1]
