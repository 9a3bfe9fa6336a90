"""Small things every start and every page load touch: the icon, the task queue's URL."""

import logging

from django.contrib.staticfiles import finders

from config.celery import app


def test_favicon_ico_is_the_sites_icon_not_a_404(client):
    response = client.get("/favicon.ico")

    assert (response.status_code, response["Content-Type"]) == (200, "image/svg+xml")
    assert response.content.startswith(b"<svg") and finders.find("img/favicon.svg")
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_the_embedded_task_queue_names_its_host_so_kombu_does_not_warn(caplog):
    # Connection.info() is what a start reads (kombu warns there when the URL names no host)
    with caplog.at_level(logging.WARNING, logger="kombu"), app.connection_for_write() as conn:
        assert conn.info()["hostname"]
    assert "No hostname" not in caplog.text
