import re

from django.contrib.staticfiles import finders


def test_openapi_schema_is_served(client, db):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert b"openapi" in response.content


def test_interactive_docs_use_only_our_own_static_files(client, db):
    html = client.get("/api/docs/").content.decode()

    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources, "the docs page loads its scripts"
    assert not [s for s in sources if s.startswith(("http:", "https:", "//"))]
    for source in sources:
        if source.startswith("/static/"):
            assert finders.find(source.removeprefix("/static/")), source


def test_pages_load_htmx_from_our_own_static_files(client, trader):
    client.force_login(trader)
    html = client.get("/").content.decode()

    scripts = re.findall(r'<script[^>]+src="([^"]+)"', html)
    assert any("htmx" in s for s in scripts)
    assert all(s.startswith("/static/") for s in scripts)
    assert all(finders.find(s.removeprefix("/static/")) for s in scripts)


def test_healthz_reports_database_and_cache(client, db):
    assert client.get("/healthz").json() == {"status": "ok", "database": "ok", "cache": "ok"}
