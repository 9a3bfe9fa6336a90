"""`make run` on another port: every address the app hands out follows the port given."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings

ROOT = Path(__file__).resolve().parents[2]


def dry_run(*args: str) -> list[str]:
    """The commands `make` would run, without running them."""
    env = {k: v for k, v in os.environ.items() if k not in ("SITE_URL", "MAKEFLAGS")}
    result = subprocess.run(
        ["make", "-n", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def broker_hosts(site_url: str) -> dict:
    """The broker hosts the settings derive from SITE_URL, in a fresh interpreter."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BROKER_", "SANDBOX_", "DEBUG", "SITE_URL"))
    }
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings", "SITE_URL": site_url})
    code = "import django, json; django.setup(); from django.conf import settings; "
    code += "print(json.dumps(settings.BROKER_HOSTS))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_make_run_on_another_port_hands_that_port_to_everything():
    lines = dry_run("run", "PORT=8101")

    seed = next(line for line in lines if "seed_demo" in line)
    serve = next(line for line in lines if "runserver" in line)
    assert "SITE_URL=http://127.0.0.1:8101 " in seed  # the printed link
    assert "SITE_URL=http://127.0.0.1:8101 " in serve and serve.endswith("127.0.0.1:8101")
    # ...and with that SITE_URL, every sandbox broker host (Zerodha's login page, Groww's API)
    # is this server on that port
    hosts = broker_hosts("http://127.0.0.1:8101")
    urls = [url for broker in hosts.values() for url in broker.values()]
    assert urls and all(url.startswith("http://127.0.0.1:8101/sandbox/") for url in urls)
    assert hosts["zerodha"]["LOGIN"].startswith("http://127.0.0.1:8101/")
    assert hosts["groww"]["API"].startswith("http://127.0.0.1:8101/")


def test_listening_on_every_interface_still_links_an_address_a_browser_can_open():
    serve = next(line for line in dry_run("run", "HOST=0.0.0.0") if "runserver" in line)
    assert "SITE_URL=http://127.0.0.1:8000 " in serve and serve.endswith("0.0.0.0:8000")


def test_the_scheduler_has_one_name_the_makefile_and_env_example_share():
    serve = next(line for line in dry_run("run") if "runserver" in line)
    assert "INPROCESS_SCHEDULER=true" in serve and "RUN_INPROCESS" not in serve
    documented = (ROOT / ".env.example").read_text()
    assert re.search(r"^INPROCESS_SCHEDULER=", documented, re.M)
    assert "RUN_INPROCESS_SCHEDULER" not in (ROOT / "config" / "asgi.py").read_text()


def test_make_test_shows_why_tests_were_skipped_and_which_failed():
    [command] = [line for line in dry_run("test") if "pytest" in line]
    [report] = re.findall(r" -r([a-zA-Z]+)", command)
    assert {"s", "f", "E"} <= set(report)


@pytest.mark.django_db
def test_the_printed_demo_link_is_the_site_url(capsys):
    with override_settings(SITE_URL="http://127.0.0.1:8101", DEBUG=True):
        call_command("seed_demo")
    assert "sign in at http://127.0.0.1:8101/accounts/sign-in/" in capsys.readouterr().out
