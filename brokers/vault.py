"""AES-256-GCM for broker tokens and app secrets.

A sealed value is ``enc1$<key id>$<base64(nonce + ciphertext + tag)>``. The key id names the
key of FIELD_ENCRYPTION_KEYS that sealed it (the first key seals, every key opens), and the
associated data binds the value to its table, row and field: a token copied into another row
or column does not open. Anything that fails to open raises ``VaultError``; ciphertext is never
handed back as if it were the secret.
"""

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

PREFIX = "enc1"
NONCE_BYTES = 12


class VaultError(Exception):
    """A sealed value could not be opened. The message never contains the value."""


@dataclass(frozen=True)
class Binding:
    """What a sealed value belongs to: its table, row and field."""

    table: str
    row: str
    field: str

    def associated_data(self) -> bytes:
        return f"{self.table}\x1f{self.row}\x1f{self.field}".encode()

    def __str__(self) -> str:
        return f"{self.table}.{self.field} of row {self.row}"


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"key-id:" + key).hexdigest()[:8]


def _ring() -> dict[str, AESGCM]:
    keys = settings.FIELD_ENCRYPTION_KEYS
    cache = _ring.__dict__.setdefault("cache", {})
    fingerprint = tuple(keys)
    if fingerprint not in cache:
        cache.clear()
        cache[fingerprint] = {key_id(key): AESGCM(key) for key in keys}
    return cache[fingerprint]


def current_key_id() -> str:
    return key_id(settings.FIELD_ENCRYPTION_KEYS[0])


def seal(plaintext: str, binding: Binding) -> str:
    kid = current_key_id()
    nonce = os.urandom(NONCE_BYTES)
    body = _ring()[kid].encrypt(nonce, plaintext.encode(), binding.associated_data())
    return f"{PREFIX}${kid}${base64.b64encode(nonce + body).decode()}"


def sealed_key_id(sealed: str) -> str:
    parts = sealed.split("$")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise VaultError("the stored value is not a sealed secret (wrong format)")
    return parts[1]


def open_sealed(sealed: str, binding: Binding) -> str:
    kid = sealed_key_id(sealed)
    aead = _ring().get(kid)
    if aead is None:
        raise VaultError(
            f"{binding} was sealed with key {kid}, which is not in FIELD_ENCRYPTION_KEYS"
        )
    try:
        raw = base64.b64decode(sealed.split("$")[2], validate=True)
    except (binascii.Error, ValueError):
        raise VaultError(f"{binding} is corrupted (not base64)") from None
    if len(raw) <= NONCE_BYTES:
        raise VaultError(f"{binding} is corrupted (too short)")
    try:
        plaintext = aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], binding.associated_data())
    except InvalidTag:
        raise VaultError(
            f"{binding} failed authentication: it was tampered with or belongs to another row"
        ) from None
    return plaintext.decode()
