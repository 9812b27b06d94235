"""The platform's cipher for small secrets at rest: AES-256-GCM with a key ring (the first key encrypts, every key decrypts).

A sealed value is `b"\\x01" + key id (4 bytes) + nonce (12 bytes) + ciphertext with tag`. The key id is
the start of the key's SHA-256, so a value names the key that sealed it: rotation knows what is left to
re-encrypt, and a value sealed with a key that is no longer configured fails loudly instead of as garbage.
The associated data (`context`) binds a value to its owner (a tenant, a purpose), so a ciphertext copied
into another tenant's row does not decrypt. Access codes (app/access) and webhook secrets (app/integrations)
share it and its keys, DETOUR_ACCESS_ENCRYPTION_KEYS.
"""
import base64
import hashlib
import os
from collections.abc import Sequence
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.config import Settings

FORMAT_VERSION = b"\x01"
KEY_ID_BYTES = 4
NONCE_BYTES = 12
HEADER_BYTES = 1 + KEY_ID_BYTES + NONCE_BYTES


class VaultError(Exception):
    """A sealed value cannot be opened: wrong or missing key, or tampered data. Never carries plaintext."""


def key_id_of(raw_key: bytes) -> bytes:
    return hashlib.sha256(raw_key).digest()[:KEY_ID_BYTES]


class Vault:
    """Seals and opens small secrets with a ring of AES-256-GCM keys."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise VaultError("the vault needs at least one key")
        self._ciphers: dict[bytes, AESGCM] = {}
        for index, key in enumerate(keys):
            raw = base64.urlsafe_b64decode(key.encode())
            if len(raw) != 32:
                raise VaultError(f"encryption key {index} is not 32 bytes")
            key_id = key_id_of(raw)
            if index == 0:
                self.primary_key_id = key_id
            self._ciphers.setdefault(key_id, AESGCM(raw))

    def __repr__(self) -> str:
        return f"Vault(primary={self.primary_key_id.hex()}, keys={len(self._ciphers)})"

    def seal(self, plaintext: bytes, *, context: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self.primary_key_id].encrypt(nonce, plaintext, context.encode())
        return FORMAT_VERSION + self.primary_key_id + nonce + sealed

    def open(self, token: bytes, *, context: str) -> bytes:
        if len(token) <= HEADER_BYTES or token[:1] != FORMAT_VERSION:
            raise VaultError("not a sealed secret (unknown format)")
        key_id, nonce = token[1 : 1 + KEY_ID_BYTES], token[1 + KEY_ID_BYTES : HEADER_BYTES]
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise VaultError(
                f"secret sealed with key {key_id.hex()}, which is not in DETOUR_ACCESS_ENCRYPTION_KEYS"
            )
        try:
            return cipher.decrypt(nonce, token[HEADER_BYTES:], context.encode())
        except InvalidTag:
            raise VaultError(f"sealed secret failed authentication with key {key_id.hex()} (tampered or moved)") from None

    def sealed_with_primary(self, token: bytes) -> bool:
        return token[1 : 1 + KEY_ID_BYTES] == self.primary_key_id

    def reseal(self, token: bytes, *, context: str) -> bytes:
        """The same secret sealed with the primary key (rotation)."""
        return self.seal(self.open(token, context=context), context=context)


@lru_cache(maxsize=8)
def _vault(keys: tuple[str, ...]) -> Vault:
    return Vault(keys)


def vault_for(settings: Settings) -> Vault:
    """The vault for these settings, built once per key ring."""
    return _vault(tuple(settings.access_encryption_keys))
