"""A missing or malformed setting stops start-up with a message naming the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOOD_KEY = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="  # base64 of 32 bytes


def start(**env):
    """Import the settings in a fresh interpreter, as `manage.py` or Daphne would."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BROKER_", "DATABASE_URL", "REDIS_URL", "DEBUG"))
    }
    base.update({"DJANGO_SETTINGS_MODULE": "config.settings", **env})
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_embedded_default_starts_with_nothing_set():
    result = start()
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"DEBUG": "false"}, "SECRET_KEY"),
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"DEBUG": "false", "SECRET_KEY": "k" * 40, "ALLOWED_HOSTS": "x"}, "FIELD_ENCRYPTION_KEYS"),
        ({"FIELD_ENCRYPTION_KEYS": "not base64!"}, "FIELD_ENCRYPTION_KEYS"),
        ({"FIELD_ENCRYPTION_KEYS": "c2hvcnQ="}, "FIELD_ENCRYPTION_KEYS"),
        ({"DATABASE_URL": "mysql://db/x"}, "DATABASE_URL"),
        ({"REDIS_URL": "http://localhost:6379"}, "REDIS_URL"),
        ({"BROKER_ZERODHA_API_URL": "ftp://kite"}, "BROKER_ZERODHA_API_URL"),
        ({"SESSION_IDLE_HOURS": "twelve"}, "SESSION_IDLE_HOURS"),
        ({"API_THROTTLE_SYNC": "6 per minute"}, "API_THROTTLE_SYNC"),
        ({"API_THROTTLE_USER": "0/min"}, "API_THROTTLE_USER"),
        ({"JSON_BODY_MAX_DEPTH": "1"}, "JSON_BODY_MAX_DEPTH"),
        (
            {"DEBUG": "false", "SECRET_KEY": "k" * 40, "FIELD_ENCRYPTION_KEYS": GOOD_KEY},
            "ALLOWED_HOSTS",
        ),
    ],
)
def test_bad_settings_stop_start_up_naming_the_variable(env, named):
    result = start(**env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert named in result.stderr.strip().splitlines()[-1]


def test_production_settings_turn_off_the_sandbox_and_secure_cookies():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings as s; "
            "print(s.SANDBOX_ENABLED, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
            "s.BROKER_HOSTS['zerodha']['API'])",
        ],
        cwd=ROOT,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("BROKER_")},
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "false",
            "SECRET_KEY": "k" * 40,
            "FIELD_ENCRYPTION_KEYS": GOOD_KEY,
            "ALLOWED_HOSTS": "trade.example.com",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True", "True", "https://api.kite.trade"]


def test_a_broker_host_can_be_overridden_from_the_environment():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.BROKER_HOSTS['upstox']['HFT'])",
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "BROKER_UPSTOX_HFT_URL": "https://hft.example.com/",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == "https://hft.example.com"


def test_env_example_documents_every_broker_host_setting(settings):
    documented = (ROOT / ".env.example").read_text()
    for broker, hosts in settings.BROKER_REAL_HOSTS.items():
        for host, real in hosts.items():
            assert f"BROKER_{broker.upper()}_{host}_URL={real}" in documented


def test_the_redis_channel_layer_outwaits_its_own_blocking_reads():
    # channels-redis blocks 5 s in BZPOPMIN per receive; a socket timeout no longer than that
    # closes idle websockets with 1011 under load (seen with 1,000 sockets on one Daphne).
    probe = (
        "import django; django.setup(); from django.conf import settings; "
        "from channels_redis.core import RedisChannelLayer as L; "
        "host = settings.CHANNEL_LAYERS['default']['CONFIG']['hosts'][0]; "
        "print(host['socket_timeout'] > L.brpop_timeout + 1, host['max_connections'] >= 1000)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "DEBUG"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        REDIS_URL="redis://127.0.0.1:6379/0",
        CHANNEL_LAYER="core",
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.stdout.split() == ["True", "True"], result.stderr


@pytest.mark.parametrize("logger", ["django.channels.server", "django.server", "django.request"])
def test_the_development_server_logs_each_request_once_and_redacted(logger):
    """With DEBUG on (`make run`), Django's own console handlers would print its request lines
    as they came, before ours masked them: a login's consent id reached the terminal."""
    line = "HTTP GET /sandbox/dhan/app/consumeApp-consent?tokenId=dWNLkyC39sOJSlEjnxGsmO4A 200"
    code = (
        f"import django, logging; django.setup(); logging.getLogger({logger!r}).warning({line!r})"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEBUG", "LOG_LEVEL"))}
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "true"})
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )

    printed = result.stdout + result.stderr
    assert "dWNLkyC39sOJSlEjnxGsmO4A" not in printed
    assert printed.count("consumeApp-consent?tokenId=[REDACTED]") == 1
