"""The sandbox is optional: with SANDBOX_ENABLED off it is neither mounted nor imported, and
with it on the connect wizard offers each broker's demo app."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from brokers.sandbox.demo import DEMO_APPS

ROOT = Path(__file__).resolve().parents[3]

# Every module of the product, imported one by one after the URLs; then what got loaded.
SCRIPT = r"""
import importlib
import pkgutil
import sys

import django

django.setup()
from django.urls import Resolver404, resolve

import config.urls  # noqa: F401


def walk(name):
    module = importlib.import_module(name)
    yield name
    for info in pkgutil.iter_modules(getattr(module, "__path__", [])):
        child = f"{name}.{info.name}"
        if child != "brokers.sandbox":
            yield from walk(child)


loaded = [m for app in ("accounts", "brokers", "config", "health", "portfolio", "routing")
          for m in walk(app)]
print("modules", len(loaded))
print("sandbox", sorted(m for m in sys.modules if m.split(".")[:2] == ["brokers", "sandbox"]))
try:
    resolve("/sandbox/")
    print("mounted yes")
except Resolver404:
    print("mounted no")
from brokers import demo_apps

print("demo", demo_apps.demo_app("zerodha"))
"""


def run_product(**env) -> dict[str, str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BROKER_", "DATABASE_URL", "REDIS_URL", "DEBUG", "SANDBOX_"))
    }
    base.update({"DJANGO_SETTINGS_MODULE": "config.settings", **env})
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return dict(line.split(" ", 1) for line in result.stdout.splitlines())


def test_with_the_sandbox_off_no_product_module_loads_it():
    seen = run_product(SANDBOX_ENABLED="false")

    assert int(seen["modules"]) > 100  # every module of the product was imported
    assert seen["sandbox"] == "[]"
    assert seen["mounted"] == "no"
    assert seen["demo"] == "None"


def test_with_the_sandbox_on_it_is_mounted_and_offers_its_demo_apps():
    seen = run_product(SANDBOX_ENABLED="true")

    assert seen["sandbox"] != "[]"
    assert seen["mounted"] == "yes"
    assert "kitedemo01" in seen["demo"]


@pytest.mark.django_db
def test_the_wizard_fills_in_the_sandbox_demo_app(client, trader):
    client.force_login(trader)

    page = client.get(reverse("brokers:connect_app", args=["angelone"])).content.decode()

    assert "Fill in the sandbox demo app" in page
    assert "angel-demo-key" in page and "AO7788" in page
    # the TOTP secret is typed at login, never an app field
    assert DEMO_APPS["angelone"]["totp_secret"] not in page
