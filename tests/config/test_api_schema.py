"""The OpenAPI schema says what the answers are: nullable where null comes back, a list where a
list comes back, and every error code an endpoint can give (the fuzzer's view of it:
test_api_fuzz.py)."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client):
    return client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()


def _component(schema, ref: str) -> dict:
    return schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]


def _answer(schema, path, method, code) -> dict:
    return schema["paths"][path][method]["responses"][code]


def test_a_connection_never_logged_in_has_no_token_expiry_and_the_schema_says_so(schema):
    connection = _component(schema, "Connection")["properties"]

    for name in ("tokenExpiresAt", "lastSuccessfulCall", "lastHealthCheck"):
        assert connection[name].get("nullable") is True, name


def test_the_health_list_is_a_list_of_connections(schema):
    listed = _answer(schema, "/api/v1/health/connections", "get", "200")
    body = listed["content"]["application/json"]["schema"]

    assert body["type"] == "array"
    item = _component(schema, body["items"]["$ref"])["properties"]
    assert item["tokenExpiresAt"].get("nullable") is True
    metrics = _component(schema, item["metrics"]["$ref"])["properties"]
    assert metrics["averageMs"].get("nullable") is True


def test_every_operation_documents_its_throttle_and_its_errors(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            codes = operation["responses"]
            throttled = codes["429"]
            assert throttled["headers"]["Retry-After"]["schema"]["type"] == "integer"
            assert "403" in codes, (method, path)
            if "{" in path:
                assert "404" in codes, (method, path)
            if "requestBody" in operation:
                assert {"400", "415"} <= set(codes), (method, path)
                assert list(operation["requestBody"]["content"]) == ["application/json"]


def test_the_answers_a_view_gives_besides_are_documented(schema):
    assert "409" in schema["paths"]["/api/v1/health/connections/{id}/retry"]["post"]["responses"]
    initiate = schema["paths"]["/api/v1/brokers/connect/initiate"]["post"]["responses"]
    assert {"404", "502"} <= set(initiate)


def test_an_unknown_api_url_answers_in_the_apis_error_shape(client, trader):
    client.force_login(trader)

    response = client.get("/api/v1/health/connections/not-a-uuid")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    # Pages keep Django's page.
    assert client.get("/no-such-page/")["Content-Type"].startswith("text/html")
