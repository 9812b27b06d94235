"""The access vault: gate codes, entry codes and digital keys sealed per tenant with the platform cipher (app/vault.py)."""
import json
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from app.vault import HEADER_BYTES, KEY_ID_BYTES, NONCE_BYTES, Vault, VaultError, key_id_of, vault_for

__all__ = ["HEADER_BYTES", "KEY_ID_BYTES", "NONCE_BYTES", "AccessSecrets", "Vault", "VaultError", "key_id_of", "open_secrets",
           "seal_secrets", "tenant_context", "vault_for"]


def tenant_context(tenant_id: int) -> str:
    return f"detour.access.v1.tenant.{tenant_id}"


@dataclass(frozen=True)
class AccessSecrets:
    """What the vault keeps for a profile; SecretStr keeps it out of repr, str and logs."""

    gate_code: SecretStr | None = None
    entry_code: SecretStr | None = None
    instructions: SecretStr | None = None
    digital_key_id: SecretStr | None = None

    def to_json(self) -> bytes:
        values = {name: getattr(self, name) for name in self.__dataclass_fields__}
        return json.dumps({k: v.get_secret_value() for k, v in values.items() if v is not None}).encode()

    @classmethod
    def from_json(cls, data: bytes) -> "AccessSecrets":
        values: dict[str, Any] = json.loads(data)
        return cls(**{k: SecretStr(v) for k, v in values.items() if k in cls.__dataclass_fields__})

    def replace(self, **changes: str | None) -> "AccessSecrets":
        """A copy where each given field is set (a string) or cleared (None)."""
        values = {name: getattr(self, name) for name in self.__dataclass_fields__}
        values.update({k: SecretStr(v) if v else None for k, v in changes.items()})
        return AccessSecrets(**values)

    @property
    def is_empty(self) -> bool:
        return all(getattr(self, name) is None for name in self.__dataclass_fields__)


def seal_secrets(vault: Vault, secrets: AccessSecrets, *, tenant_id: int) -> bytes:
    return vault.seal(secrets.to_json(), context=tenant_context(tenant_id))


def open_secrets(vault: Vault, token: bytes, *, tenant_id: int) -> AccessSecrets:
    return AccessSecrets.from_json(vault.open(token, context=tenant_context(tenant_id)))
