"""The vault: ciphertext at rest, loud failures with the wrong key, rotation and the re-encrypt command."""
import asyncio
import base64
import dataclasses
import os

import pytest
from pydantic import ValidationError
from sqlalchemy import text

from app import cli
from app.config import get_settings
from app.access import flows
from app.access.crypto import AccessSecrets, Vault, VaultError, open_secrets, seal_secrets, tenant_context
from app.access.models import AccessProfile
from app.access.rotation import rekey
from app.config import DEFAULT_ACCESS_KEY, Settings
from tests.access.conftest import DIGITAL_KEY_ID, ENTRY_CODE, GATE_CODE, INSTRUCTIONS, add_profile, place_driver, principal_of
from tests.access.test_reveal import REVEAL
from tests.conftest import client_for
from tests.factories import gql


def new_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def with_keys(runtime, keys: list[str]):  # noqa: ANN001, ANN201
    """The same database and bus, another key ring."""
    return dataclasses.replace(runtime, settings=runtime.settings.model_copy(update={"access_encryption_keys": keys}))


async def stored_secrets(runtime, profile_id: int) -> bytes:  # noqa: ANN001
    async with runtime.engine.connect() as connection:
        return (await connection.execute(text("SELECT secrets_sealed FROM access_profile WHERE id = :id"), {"id": profile_id})).scalar_one()


def test_a_sealed_value_opens_only_with_its_key_and_its_tenant():
    # given a secret sealed for tenant 1
    vault = Vault([new_key()])
    token = vault.seal(b"4711", context=tenant_context(1))

    # then it is not the plaintext, and it opens again
    assert b"4711" not in token
    assert vault.open(token, context=tenant_context(1)) == b"4711"
    # and another key or another tenant fails loudly
    with pytest.raises(VaultError, match="not in DETOUR_ACCESS_ENCRYPTION_KEYS"):
        Vault([new_key()]).open(token, context=tenant_context(1))
    with pytest.raises(VaultError, match="failed authentication"):
        vault.open(token, context=tenant_context(2))
    # and a flipped byte is detected
    tampered = token[:-1] + bytes([token[-1] ^ 1])
    with pytest.raises(VaultError, match="failed authentication"):
        vault.open(tampered, context=tenant_context(1))


def test_secrets_never_show_in_repr_or_str():
    # given secrets and a sealed row
    secrets = AccessSecrets().replace(gate_code=GATE_CODE, digital_key_id=DIGITAL_KEY_ID)
    row = AccessProfile(tenant_id=1, label="x", address="y", address_key="y", provided_by="DISPATCHER",
                        secrets_sealed=seal_secrets(Vault([new_key()]), secrets, tenant_id=1))

    # then neither the dataclass nor the row shows a code
    for text_form in (repr(secrets), str(secrets), repr(row), str(row)):
        assert GATE_CODE not in text_form and DIGITAL_KEY_ID not in text_form
    assert "secrets_sealed" not in repr(row)


def test_production_refuses_the_embedded_key_and_malformed_keys():
    # when production runs with the embedded default key
    with pytest.raises(ValidationError, match="embedded default key"):
        Settings(mode="production", jwt_secret="x" * 40, link_secret="y" * 40, access_encryption_keys=[new_key(), DEFAULT_ACCESS_KEY])
    # then a proper key ring is accepted, and a malformed key is refused in any mode
    assert Settings(mode="production", jwt_secret="x" * 40, link_secret="y" * 40, access_encryption_keys=new_key()).mode == "production"
    with pytest.raises(ValidationError, match="32-byte key") as refused:
        Settings(access_encryption_keys="not-a-key-but-a-secret")
    # and the refusal does not print what it was given
    assert "not-a-key-but-a-secret" not in str(refused.value)


async def test_the_database_holds_ciphertext_not_the_code(factory, runtime):
    # given a profile stored through the flow
    fleet = await factory.fleet(stops=1)
    profile = await add_profile(runtime, fleet.dispatcher, fleet.stops[0], digital_key=True)

    # when the raw column is read
    raw = await stored_secrets(runtime, profile.id)

    # then no secret is in it, and it opens to all of them
    for secret in (GATE_CODE, ENTRY_CODE, INSTRUCTIONS, DIGITAL_KEY_ID):
        assert secret.encode() not in raw
    opened = open_secrets(Vault(runtime.settings.access_encryption_keys), raw, tenant_id=fleet.tenant.id)
    assert opened.gate_code.get_secret_value() == GATE_CODE and opened.digital_key_id.get_secret_value() == DIGITAL_KEY_ID


async def test_a_wrong_key_fails_loudly_on_reveal(factory, runtime, caplog):
    # given a profile sealed with the current key, and a process configured with another one
    fleet = await factory.fleet(stops=1)
    stop = fleet.stops[0]
    await add_profile(runtime, fleet.dispatcher, stop)
    await place_driver(runtime, fleet.driver, stop)
    rekeyed = with_keys(runtime, [new_key()])

    # when the driver asks for the code
    with pytest.raises(VaultError, match="not in DETOUR_ACCESS_ENCRYPTION_KEYS"):
        await flows.reveal_access_code(rekeyed, principal_of(fleet.driver), stop_id=stop.id, position=None)

    # then over GraphQL it is an internal error, logged with the reason, never the code
    async with client_for(rekeyed) as client:
        body = await gql(client, REVEAL, {"input": {"stopId": str(stop.id)}}, token=factory.token(fleet.driver))
    assert body["errors"][0]["extensions"]["code"] == "INTERNAL_ERROR"
    assert "not in DETOUR_ACCESS_ENCRYPTION_KEYS" in caplog.text and GATE_CODE not in caplog.text


async def test_rotation_old_key_still_decrypts_and_rekey_moves_everything_to_the_new_key(factory, runtime):
    # given profiles and a grant sealed with the old key
    old_key, new = runtime.settings.access_encryption_keys[0], new_key()
    fleet = await factory.fleet(stops=3)
    profiles = [await add_profile(runtime, fleet.dispatcher, stop) for stop in fleet.stops]
    await flows.grant_access(runtime, principal_of(fleet.dispatcher), stop_id=fleet.stops[0].id, code="9911", ttl_minutes=5, note="")

    # when the new key is put first, the old one kept
    rotating = with_keys(runtime, [new, old_key])

    # then old secrets still open
    raw = await stored_secrets(runtime, profiles[0].id)
    assert open_secrets(Vault([new, old_key]), raw, tenant_id=fleet.tenant.id).gate_code.get_secret_value() == GATE_CODE

    # when the re-encrypt command runs (twice: the second run has nothing left to do)
    first = await rekey(rotating, batch_size=2)
    second = await rekey(rotating, batch_size=2)

    # then every sealed value moved to the new key, and the old key can be dropped
    assert (first.checked, first.resealed) == (4, 4)
    assert (second.checked, second.resealed) == (4, 0)
    for profile in profiles:
        raw = await stored_secrets(runtime, profile.id)
        assert open_secrets(Vault([new]), raw, tenant_id=fleet.tenant.id).entry_code.get_secret_value() == ENTRY_CODE
        with pytest.raises(VaultError):
            open_secrets(Vault([old_key]), raw, tenant_id=fleet.tenant.id)


async def test_the_cli_rekey_command_reencrypts(factory, runtime, monkeypatch, capsys):
    # given a profile sealed with the old key and the CLI configured with a new first key
    old_key, new = runtime.settings.access_encryption_keys[0], new_key()
    fleet = await factory.fleet(stops=1)
    profile = await add_profile(runtime, fleet.dispatcher, fleet.stops[0])
    monkeypatch.setenv("DETOUR_DATABASE_URL", runtime.settings.database_url)
    monkeypatch.setenv("DETOUR_ACCESS_ENCRYPTION_KEYS", f"{new},{old_key}")
    get_settings.cache_clear()

    # when `detour access-rekey` runs (in a thread: the command starts its own event loop)
    try:
        code = await asyncio.to_thread(cli.main, ["access-rekey"])
    finally:
        get_settings.cache_clear()

    # then it reports the work and the row is sealed with the new key
    assert code == 0 and "1 re-encrypted" in capsys.readouterr().out
    raw = await stored_secrets(runtime, profile.id)
    assert Vault([new]).sealed_with_primary(raw)
