"""The platform's API tokens: stored as a digest, shown once, expiring, revocable by their
trader on a page and by a command, and shown to support staff by their first characters only."""

import re
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection as db
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken
from tests.factories import UserFactory, api_token

pytestmark = pytest.mark.django_db

API = "/api/v1/brokers/connections"
TOKEN = re.compile(r"mbt_[0-9a-f]{64}")


def answer_with(token: str):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client.get(API)


def everything_stored() -> str:
    """Every row of every table, as text: where a leaked database would show a token."""
    rows = []
    with db.cursor() as cursor:
        for table in db.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')
            rows.extend(map(str, cursor.fetchall()))
    return "\n".join(rows)


@pytest.fixture
def signed_in(client, trader):
    client.force_login(trader)
    return client


def make(client, name="nightly export", days="30"):
    return client.post(reverse("accounts:tokens"), {"name": name, "days": days})


def test_a_token_is_shown_once_and_stored_only_as_a_digest(signed_in, trader):
    answer = make(signed_in)

    assert answer.status_code == 200
    assert answer["Cache-Control"] == "no-store"
    token = TOKEN.search(answer.content.decode()).group(0)
    assert answer_with(token).status_code == 200
    assert token not in everything_stored()
    record = ApiToken.objects.get(user=trader)
    assert record.name == "nightly export"
    assert token.startswith(record.token_key)
    # The page again: the token is listed by its first characters, never in full.
    again = signed_in.get(reverse("accounts:tokens")).content.decode()
    assert token not in again
    assert record.prefix in again


def test_a_token_expires(signed_in, trader):
    token = TOKEN.search(make(signed_in, days="7").content.decode()).group(0)
    record = ApiToken.objects.get(user=trader)
    assert timedelta(days=7) - (record.expiry - timezone.now()) < timedelta(minutes=1)
    assert answer_with(token).status_code == 200  # cached now

    with time_machine.travel(record.expiry + timedelta(seconds=1)):
        late = answer_with(token)

    assert late.status_code == 403
    assert late.json()["error"]["message"] == "Invalid token."


def test_the_default_lifetime_is_the_setting(trader, settings):
    settings.API_TOKEN_DAYS = 45
    api_token(trader)
    left = ApiToken.objects.get(user=trader).expiry - timezone.now()
    assert timedelta(days=44) < left <= timedelta(days=45)


def test_revoking_ends_a_token_at_once(signed_in, trader):
    token = TOKEN.search(make(signed_in).content.decode()).group(0)
    assert answer_with(token).status_code == 200  # and cached
    record = ApiToken.objects.get(user=trader)

    answer = signed_in.post(reverse("accounts:revoke_token"), {"token": record.token_key})

    assert answer.status_code == 302
    assert not ApiToken.objects.exists()
    assert answer_with(token).status_code == 403


def test_another_trader_cannot_revoke_your_token(client, trader, other_trader):
    token = api_token(trader)
    client.force_login(other_trader)
    record = ApiToken.objects.get(user=trader)

    answer = client.post(reverse("accounts:revoke_token"), {"token": record.token_key})

    assert answer.status_code == 404
    assert answer_with(token).status_code == 200
    assert record.prefix not in client.get(reverse("accounts:tokens")).content.decode()


@pytest.mark.parametrize(
    ("name", "days", "message"),
    [
        ("", "30", "This field is required."),
        ("x" * 61, "30", "at most 60 characters"),
        ("script", "9999", "Select a valid choice"),
        ("script", "soon", "Select a valid choice"),
    ],
)
def test_bad_input_makes_no_token_and_says_why(signed_in, name, days, message):
    answer = make(signed_in, name=name, days=days)
    assert answer.status_code == 400
    assert message in answer.content.decode()
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize(
    "header",
    ["Token not-a-token", "Token mbt_" + "0" * 64, "Token", "Token a b", "Token \u00e9t\u00e9"],
)
def test_a_bad_token_header_is_refused_cleanly(trader, header):
    api_token(trader)
    client = APIClient()
    answer = client.get(API, HTTP_AUTHORIZATION=header.encode().decode("latin-1"))
    assert answer.status_code == 403
    assert "token" in answer.json()["error"]["message"].lower()


def test_admin_shows_staff_only_the_first_characters(client, trader):
    token = api_token(trader, name="desk script")
    record = ApiToken.objects.get(user=trader)
    client.force_login(UserFactory(username="support", is_staff=True, is_superuser=True))

    listing = client.get(reverse("admin:accounts_apitoken_changelist")).content.decode()
    detail = client.get(
        reverse("admin:accounts_apitoken_change", args=[record.pk]), follow=True
    ).content.decode()

    for page in (listing, detail):
        assert record.prefix in page
        assert token not in page
        assert token[len(record.token_key) :] not in page
    assert "desk script" in detail
    assert client.get(reverse("admin:accounts_apitoken_add")).status_code == 403


def test_the_command_makes_lists_and_revokes(trader):
    out, err = StringIO(), StringIO()
    call_command(
        "api_token", "create", "asha", "--name", "cron", "--days", "10", stdout=out, stderr=err
    )
    token = out.getvalue().strip()
    assert TOKEN.fullmatch(token)
    assert "not shown again" in err.getvalue()
    assert answer_with(token).status_code == 200

    listed = StringIO()
    call_command("api_token", "list", "asha", stdout=listed)
    assert "cron" in listed.getvalue() and token not in listed.getvalue()
    shown = listed.getvalue().split("\t")[0]

    call_command("api_token", "revoke", "asha", shown, stdout=StringIO())
    assert answer_with(token).status_code == 403


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create", "nobody", "--name", "x"], "no user 'nobody'"),
        (["create", "asha", "--name", " "], "1 to 60 characters"),
        (["create", "asha", "--name", "x", "--days", "0"], "between 1 and 3650"),
        (["revoke", "asha", "mbt_"], "no token starting with"),
    ],
)
def test_the_command_refuses_bad_input(trader, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("api_token", *args, stdout=StringIO(), stderr=StringIO())
    assert not ApiToken.objects.exists()


def test_the_command_makes_tokens_for_traders_only(db):
    UserFactory(username="support")
    with pytest.raises(CommandError, match="not a trader"):
        call_command("api_token", "create", "support", "--name", "x", stdout=StringIO())


@pytest.mark.django_db(transaction=True)
def test_plaintext_tokens_of_before_are_hashed_and_their_table_dropped(trader):
    """The migration: DRF's table of plain keys becomes digests; each key keeps working."""
    from importlib import import_module

    from django.apps import apps

    migration = import_module("accounts.migrations.0002_api_tokens")
    old_key = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"  # a DRF-style 40-hex key
    with db.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, "
            "user_id integer NOT NULL, created timestamp NOT NULL)"
        )
        cursor.execute(
            "INSERT INTO authtoken_token VALUES (%s, %s, %s)",
            [old_key, trader.pk, "2026-01-05 10:00:00"],
        )
    with db.schema_editor() as editor:
        migration.hash_plaintext_tokens(apps, editor)

    assert "authtoken_token" not in db.introspection.table_names()
    assert old_key not in everything_stored()
    record = ApiToken.objects.get(user=trader)
    assert record.name == "Made 2026-01-05, hashed later"
    assert record.expiry > timezone.now() + timedelta(days=80)
    assert answer_with(old_key).status_code == 200


def test_a_token_that_reaches_a_log_line_is_masked(trader):
    import logging

    from config.logging import RedactSecrets

    token = api_token(trader)
    record = logging.LogRecord(
        "x", logging.WARNING, __file__, 1, "client sent %s in its body", (token,), None
    )
    RedactSecrets().filter(record)
    assert token not in record.getMessage()
    assert "[REDACTED]" in record.getMessage()


def test_an_account_holds_at_most_twenty_tokens(signed_in, trader):
    for n in range(20):
        api_token(trader, name=f"script {n}")

    answer = make(signed_in)

    assert answer.status_code == 400
    assert "Revoke one you no longer use first" in answer.content.decode()
    assert ApiToken.objects.filter(user=trader).count() == 20
    with pytest.raises(CommandError, match="Revoke one"):
        call_command("api_token", "create", "asha", "--name", "x", stdout=StringIO())


def test_the_api_schema_says_how_to_send_a_token(client):
    schema = client.get("/api/schema/?format=json").json()
    scheme = schema["components"]["securitySchemes"]["tokenAuth"]
    assert scheme["in"] == "header" and scheme["name"] == "Authorization"
    assert '"Token"' in scheme["description"]
    connections = schema["paths"]["/api/v1/brokers/connections"]["get"]
    assert {"tokenAuth": []} in connections["security"]
