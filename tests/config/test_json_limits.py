"""Every JSON body is bounded in size and depth before it is parsed (config/jsonbody.py)."""

import base64
import io
import json

import pytest
from rest_framework.exceptions import ParseError
from rest_framework.test import APIClient

from brokers.models import BrokerApp, BrokerConnection, OAuthState
from tests.urlwalk import routes

pytestmark = pytest.mark.django_db

DEEP = "[" * 1000 + "]" * 1000


@pytest.fixture
def api(trader):
    client = APIClient(raise_request_exception=False)
    client.force_login(trader)
    return client


def _nothing_stored():
    return (OAuthState.objects.count(), BrokerConnection.objects.count(), BrokerApp.objects.count())


@pytest.mark.parametrize(
    "path", ["/api/v1/brokers/connect/initiate", "/api/v1/brokers/connect/complete"]
)
def test_a_thousand_levels_of_nesting_is_a_400_naming_the_limit(api, path):
    before = _nothing_stored()

    response = api.post(path, DEEP, content_type="application/json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "json_too_deep"
    assert error["message"] == ("The JSON body is nested 1000 levels deep; the limit is 32 levels.")
    assert _nothing_stored() == before


def test_a_body_over_the_size_limit_is_refused_before_it_is_read(api, settings):
    settings.JSON_BODY_MAX_BYTES = 2048
    body = json.dumps({"brokerType": "zerodha", "redirectUri": "https://x.example/" + "a" * 4000})

    response = api.post("/api/v1/brokers/connect/initiate", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "body_too_large",
        "message": f"The JSON body is {len(body):,} bytes; the limit is 2,048 bytes.",
    }
    assert OAuthState.objects.count() == 0


def test_a_body_within_the_limits_still_reaches_the_endpoint(api, settings):
    settings.JSON_BODY_MAX_DEPTH = 3
    body = {"brokerType": "angelone", "state": "s" * 20, "params": {"clientcode": "AO7788"}}

    response = api.post("/api/v1/brokers/connect/complete", body, format="json")

    # Two levels deep: past the limit check, refused by the login itself (no such state).
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "connect_failed"


def test_the_limit_counts_brackets_of_the_json_and_not_those_inside_strings(settings):
    from config import jsonbody

    settings.JSON_BODY_MAX_DEPTH = 2
    jsonbody.check('{"a": ["[[[[{{{{", "\\"[[[[[[", 1]}')  # brackets in strings: fine
    jsonbody.check(b"\xef\xbb\xbf  [[1]]")  # a BOM and whitespace first
    with pytest.raises(jsonbody.JsonBodyRejected, match="nested 3 levels deep"):
        jsonbody.check('{"a": [{"b": 1}]}')
    with pytest.raises(jsonbody.JsonBodyRejected, match="nested 3 levels deep"):
        jsonbody.check("[[[1]]]".encode("utf-16"))  # json.loads reads UTF-16 too


def test_the_api_parser_applies_the_limits_by_itself():
    """Behind the middleware anyway; a view handed a request some other way is bounded too."""
    from config import jsonbody

    with pytest.raises(ParseError) as refused:
        jsonbody.JSONParser().parse(io.BytesIO(DEEP.encode()), "application/json", {})
    assert refused.value.detail.code == "json_too_deep"
    assert jsonbody.JSONParser().parse(io.BytesIO(b'{"a": [1]}'), "application/json", {}) == {
        "a": [1]
    }


def _writable(route) -> bool:
    callback = route.pattern.callback
    allowed = getattr(getattr(callback, "cls", None), "http_method_names", None)
    return allowed is None or "post" in allowed or "put" in allowed


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", ""])
def test_every_url_refuses_deep_json_with_a_400_whatever_the_content_type(
    api, trader, content_type
):
    """Walks the whole URL configuration (API, pages, admin, the sandbox's broker endpoints):
    a body that reads as JSON is bounded whether or not it says so."""
    walked = [r for r in routes({"broker": "zerodha"}) if _writable(r)]
    assert len(walked) > 100, "the sandbox's endpoints are part of the walk"
    before = _nothing_stored()
    answers = {}
    for route in walked:
        for method in ("POST", "PUT"):
            response = api.generic(method, route.path, DEEP, content_type=content_type)
            answers[f"{method} {route.path}"] = response.status_code
            assert response.status_code == 400, (route.path, response.content[:200])
            assert "the limit is 32 levels" in response.json()["error"]["message"]
    assert set(answers.values()) == {400}
    assert _nothing_stored() == before


def test_a_form_body_the_sandbox_reads_as_json_is_bounded_too(client):
    """IIFL's login accepts JSON or a form whatever the content type says: a deep body sent
    as a form passes the middleware (forms have Django's own limits) and meets the limit at
    the sandbox's parse."""
    response = client.post(
        "/sandbox/iifl/interactive/user/session",
        DEEP,
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 400
    assert response.json()["type"] == "error"


def test_a_token_whose_claims_nest_deep_is_refused_not_a_500(client):
    """The sandbox reads a JWT's claims from the Authorization header: bounded by the same
    check."""
    payload = base64.urlsafe_b64encode(DEEP.encode()).rstrip(b"=").decode()
    token = f"eyJhbGciOiJIUzI1NiJ9.{payload}.c2ln"

    response = client.get(
        "/sandbox/fyers/api/v3/profile", HTTP_AUTHORIZATION=f"DEMOAPP1-100:{token}"
    )

    assert response.status_code == 401
