"""The whole API, fuzzed from its own OpenAPI schema (schemathesis): no server error and no
answer the schema does not describe, for valid and invalid input alike.

Every operation of the schema is a test of its own, found by schemathesis in the schema the
API serves, so an endpoint added later is fuzzed without being named here; a test below checks
that every API route of the URL configuration is in that schema. The calls are a trader's with
a Zerodha account connected through the sandbox, so they reach the real code paths (a sync
calls the broker, a retry probes it, an id in a path can be the trader's own connection).
Bounded: a few examples an operation and no deadline, tens of seconds in all.
"""

import re

import pytest
import schemathesis
from django.conf import settings
from django.core.cache import cache
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from rest_framework.throttling import SimpleRateThrottle
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import api_token
from tests.urlwalk import routes

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES_PER_OPERATION = 25


def body_is_described(ctx, response, case):
    """An answer with a body is one the schema gives a body: a response the schema lists as
    bodiless would otherwise pass every schema check unexamined."""
    responses = case.operation.definition.raw["responses"]
    described = responses.get(str(response.status_code))
    if response.content and described is not None and "content" not in described:
        raise AssertionError(f"{response.status_code} answers a body; the schema says it has none")


CHECKS = [
    body_is_described,
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


class Trader:
    """The signed-in trader the fuzzer calls as."""

    def __init__(self, user, connection):
        self.user = user
        self.connection = connection
        # Unzipped answers: the WSGI transport hands schemathesis the body as sent, and it does
        # not undo a Content-Encoding (the portfolio's gzip path: tests/portfolio).
        self.headers = {"Authorization": f"Token {api_token(user)}", "Accept-Encoding": "identity"}

    def fresh_budget(self):
        """The throttles would answer 429 (documented, so no failure) to most of the run: each
        call starts with the trader's budgets full. Their own test: test_throttles.py."""
        cache.delete_many(
            [
                SimpleRateThrottle.cache_format % {"scope": scope, "ident": self.user.pk}
                for scope in settings.API_THROTTLE_RATES
            ]
        )


@pytest.fixture
def calling_trader(trader, sandbox_hosts):
    from tests.brokers.test_connections import connect

    return Trader(trader, connect(trader, "zerodha", sandbox_hosts).connection)


# Read at collection from the running application (no database needed for it), so each
# operation is a test item of its own.
schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


@schema.parametrize()
@hypothesis_settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure is reported as found
    suppress_health_check=list(HealthCheck),
)
def test_the_api_answers_every_input_as_its_schema_says(case, calling_trader):
    calling_trader.fresh_budget()
    case.call_and_validate(headers=calling_trader.headers, checks=CHECKS)
    own = str(calling_trader.connection.pk)
    if case.path_parameters and own not in case.path_parameters.values():
        # The same call on the trader's own connection: past the 404, into the real path.
        case.path_parameters = {name: own for name in case.path_parameters}
        calling_trader.fresh_budget()
        case.call_and_validate(headers=calling_trader.headers, checks=CHECKS)


def test_every_api_route_is_in_the_schema(client, db):
    """What the fuzzer cannot see, it cannot test: no API route is left out of the schema."""
    served = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    documented = {re.sub(r"\{[^}]+\}", "{}", path.rstrip("/")) for path in served["paths"]}
    api_routes = {
        r.path.rstrip("/") for r in routes(placeholder="{}") if r.path.startswith("/api/v1/")
    }

    assert api_routes
    assert api_routes <= documented
