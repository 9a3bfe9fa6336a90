import base64
import os

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection as db

from brokers import vault
from brokers.models import BrokerConnection
from tests.factories import BrokerConnectionFactory

TOKEN = "kite-access-token-plaintext-123"


def new_key() -> bytes:
    return os.urandom(32)


def raw_column(table: str, column: str, pk) -> str:
    with db.cursor() as cursor:
        cursor.execute(
            f"SELECT {column} FROM {table} WHERE id = %s", [pk.hex if db.vendor == "sqlite" else pk]
        )
        return cursor.fetchone()[0]


@pytest.fixture
def keys(settings):
    settings.FIELD_ENCRYPTION_KEYS = [new_key()]
    return settings


def test_the_database_column_holds_no_plaintext(keys, trader):
    conn = BrokerConnectionFactory(user=trader, access_token=TOKEN, refresh_token="refresh-xyz")

    stored = raw_column("broker_connections", "access_token", conn.pk)

    assert TOKEN not in stored
    assert stored.startswith("enc1$")
    assert BrokerConnection.objects.get(pk=conn.pk).access_token == TOKEN


def test_the_same_secret_sealed_twice_looks_different(keys, trader):
    a = BrokerConnectionFactory(user=trader, access_token=TOKEN)
    b = BrokerConnectionFactory(user=trader, access_token=TOKEN)
    assert raw_column("broker_connections", "access_token", a.pk) != raw_column(
        "broker_connections", "access_token", b.pk
    )


def test_a_ciphertext_copied_to_another_row_does_not_open(keys, trader):
    victim = BrokerConnectionFactory(user=trader, access_token=TOKEN)
    thief = BrokerConnectionFactory(user=trader, access_token="thief-token")
    sealed = raw_column("broker_connections", "access_token", victim.pk)
    BrokerConnection.objects.filter(pk=thief.pk).update(access_token=sealed)

    stolen = BrokerConnection.objects.get(pk=thief.pk)

    with pytest.raises(vault.VaultError, match="belongs to another row"):
        stolen.access_token


def test_a_ciphertext_moved_to_another_field_does_not_open(keys, trader):
    conn = BrokerConnectionFactory(user=trader, access_token=TOKEN)
    sealed = raw_column("broker_connections", "access_token", conn.pk)
    BrokerConnection.objects.filter(pk=conn.pk).update(refresh_token=sealed)

    with pytest.raises(vault.VaultError):
        BrokerConnection.objects.get(pk=conn.pk).refresh_token


def test_tampered_ciphertext_raises_instead_of_returning_garbage(keys, trader):
    conn = BrokerConnectionFactory(user=trader, access_token=TOKEN)
    prefix, kid, body = raw_column("broker_connections", "access_token", conn.pk).split("$")
    raw = bytearray(base64.b64decode(body))
    raw[-1] ^= 1
    BrokerConnection.objects.filter(pk=conn.pk).update(
        access_token=f"{prefix}${kid}${base64.b64encode(bytes(raw)).decode()}"
    )

    with pytest.raises(vault.VaultError, match="tampered"):
        BrokerConnection.objects.get(pk=conn.pk).access_token


def test_a_row_whose_secret_cannot_open_still_loads_and_saves_other_fields(keys, trader):
    conn = BrokerConnectionFactory(user=trader, access_token=TOKEN)
    sealed = raw_column("broker_connections", "access_token", conn.pk)
    keys.FIELD_ENCRYPTION_KEYS = [new_key()]

    loaded = BrokerConnection.objects.get(pk=conn.pk)
    loaded.display_name = "renamed"
    loaded.save()

    assert raw_column("broker_connections", "access_token", conn.pk) == sealed
    assert loaded.has_access_token


def test_rotation_lets_the_old_key_be_removed(keys, trader, capsys):
    old, new = keys.FIELD_ENCRYPTION_KEYS[0], new_key()
    conns = [BrokerConnectionFactory(user=trader, access_token=f"{TOKEN}-{i}") for i in range(3)]
    keys.FIELD_ENCRYPTION_KEYS = [new, old]

    call_command("rotate_encryption_keys")
    keys.FIELD_ENCRYPTION_KEYS = [new]

    assert "re-encrypted" in capsys.readouterr().out
    for i, conn in enumerate(conns):
        assert BrokerConnection.objects.get(pk=conn.pk).access_token == f"{TOKEN}-{i}"
        assert BrokerConnection.objects.get(pk=conn.pk).app.api_secret.startswith("app-secret-")


def test_rotation_with_a_wrong_key_fails_clearly_and_changes_nothing(keys, trader):
    conn = BrokerConnectionFactory(user=trader, access_token=TOKEN)
    before = raw_column("broker_connections", "access_token", conn.pk)
    keys.FIELD_ENCRYPTION_KEYS = [new_key()]

    with pytest.raises(CommandError, match="cannot be opened.*nothing was changed"):
        call_command("rotate_encryption_keys")

    assert raw_column("broker_connections", "access_token", conn.pk) == before


def test_a_wrong_key_names_the_missing_key_not_the_secret(keys, trader):
    conn = BrokerConnectionFactory(user=trader, access_token=TOKEN)
    keys.FIELD_ENCRYPTION_KEYS = [new_key()]

    with pytest.raises(vault.VaultError) as error:
        BrokerConnection.objects.get(pk=conn.pk).access_token

    assert "not in FIELD_ENCRYPTION_KEYS" in str(error.value)
    assert TOKEN not in str(error.value)
