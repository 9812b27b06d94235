"""Webhook secrets live sealed at rest (the access vault's cipher and keys): the column is ciphertext, the signatures
still verify with the standardwebhooks verifier, secret rotation and key rotation keep working, and the migration
seals the plaintext secrets an existing database holds."""
import asyncio
import base64
import os
from dataclasses import replace

import sqlalchemy as sa
from sqlalchemy import text

from app import migrate
from app.db import create_engine
from app.integrations.dispatcher import WebhookDispatcher
from app.integrations.webhook_secrets import rekey, secret_context
from app.vault import Vault
from tests.delivery_exceptions.test_mutations import report
from tests.factories import gql
from tests.integrations.test_webhooks import ROTATE, clock, hooks, http, receiver, setup  # noqa: F401  (fixtures)


def new_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


async def stored(runtime, endpoint_id: str) -> dict:  # noqa: ANN001
    async with runtime.engine.connect() as connection:
        row = (await connection.execute(text("SELECT * FROM webhook_endpoint WHERE id = :id"), {"id": int(endpoint_id)})).mappings().one()
    return dict(row)


async def test_the_secret_is_ciphertext_at_rest_and_deliveries_still_verify(http, hooks, receiver):  # noqa: F811
    # given an endpoint created over GraphQL, whose whsec_ secret was shown once
    factory, fleet, created = await setup(http, hooks, receiver)
    secret = created["secret"]

    # when its row is read as stored, and an event is delivered
    row = await stored(hooks, created["endpoint"]["id"])
    await report(http, factory.token(fleet.driver), fleet.stops[0].id)
    dispatcher = WebhookDispatcher(hooks)
    await dispatcher.run_once()
    await dispatcher.aclose()

    # then no column holds the secret (nor its key material), the sealed value opens only for its tenant,
    # and the receiver verifies the signature with the secret it was given
    assert secret.startswith("whsec_") and "secret" not in row and "previous_secret" not in row
    sealed = bytes(row["secret_sealed"])
    assert secret.encode() not in sealed and base64.b64decode(secret.removeprefix("whsec_")) not in sealed
    vault = Vault(hooks.settings.access_encryption_keys)
    assert vault.open(sealed, context=secret_context(fleet.tenant.id)).decode() == secret
    assert [r.verified for r in receiver.received] == [{secret: True}]


async def test_a_rotated_secret_keeps_the_previous_one_sealed_too(http, hooks, receiver):  # noqa: F811
    # given an endpoint
    factory, fleet, created = await setup(http, hooks, receiver)

    # when its secret is rotated
    rotated = (await gql(http, ROTATE, {"input": {"id": created["endpoint"]["id"]}}, token=factory.token(fleet.supervisor)))
    new_secret = rotated["data"]["rotateWebhookSecret"]["secret"]
    row = await stored(hooks, created["endpoint"]["id"])

    # then both the new and the previous secret are ciphertext that opens to what the supervisor was shown
    vault, context = Vault(hooks.settings.access_encryption_keys), secret_context(fleet.tenant.id)
    assert new_secret != created["secret"]
    assert vault.open(bytes(row["secret_sealed"]), context=context).decode() == new_secret
    assert vault.open(bytes(row["previous_secret_sealed"]), context=context).decode() == created["secret"]
    assert created["secret"].encode() not in bytes(row["previous_secret_sealed"])


async def test_a_new_vault_key_reseals_the_secrets_and_signing_goes_on_without_the_old_key(http, hooks, receiver):  # noqa: F811
    # given an endpoint sealed with the current key, and a new key put first in the ring
    factory, fleet, created = await setup(http, hooks, receiver)
    old, new = hooks.settings.access_encryption_keys[0], new_key()
    both = replace(hooks, settings=hooks.settings.model_copy(update={"access_encryption_keys": [new, old]}))

    # when the rekey runs, and later the old key is dropped from the ring
    report_ = await rekey(both)
    only_new = replace(hooks, settings=hooks.settings.model_copy(update={"access_encryption_keys": [new]}))
    await report(http, factory.token(fleet.driver), fleet.stops[0].id)
    dispatcher = WebhookDispatcher(only_new)
    await dispatcher.run_once()
    await dispatcher.aclose()

    # then the endpoint was re-sealed with the new key (a rerun has nothing left), and the delivery still verifies
    assert (report_.checked, report_.resealed) == (1, 1)
    assert (await rekey(both)).resealed == 0
    assert Vault([new]).sealed_with_primary(bytes((await stored(hooks, created["endpoint"]["id"]))["secret_sealed"]))
    assert [r.verified for r in receiver.received] == [{created["secret"]: True}]


async def test_the_migration_seals_existing_plaintext_secrets_and_downgrade_opens_them(tmp_path):
    # given a database at the integrations revision with an endpoint whose secrets are stored in plaintext
    url, key = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}", new_key()
    await asyncio.to_thread(migrate.upgrade, url, "integrations_0008")
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(
                "INSERT INTO tenant (id, slug, name, currency, reattempt_base_cost_cents, reattempt_cost_per_km_cents, timezone, active, "
                "oidc_subject_claim, created_at) VALUES (7, 'acme', 'Acme', 'EUR', 450, 35, 'UTC', 1, 'sub', '2026-12-01 09:00:00')"
            ))
            await connection.execute(text(
                "INSERT INTO webhook_endpoint (id, tenant_id, url, description, event_types, secret, previous_secret, enabled, created_at) "
                "VALUES (1, 7, 'https://wms.example/hooks', 'WMS', '[]', 'whsec_current', 'whsec_previous', 1, '2026-12-01 09:00:00')"
            ))

        # when the migrations run to head with the deployment's key ring
        await asyncio.to_thread(migrate.upgrade, url, "head", encryption_keys=[key])
        async with engine.connect() as connection:
            row = (await connection.execute(text("SELECT * FROM webhook_endpoint"))).mappings().one()
            columns = {c["name"] for c in await connection.run_sync(lambda c: sa.inspect(c).get_columns("webhook_endpoint"))}

        # then the plaintext columns are gone and the sealed ones open (for tenant 7 only) to the same secrets
        vault = Vault([key])
        assert "secret" not in columns and "previous_secret" not in columns
        assert vault.open(bytes(row["secret_sealed"]), context=secret_context(7)) == b"whsec_current"
        assert vault.open(bytes(row["previous_secret_sealed"]), context=secret_context(7)) == b"whsec_previous"
        assert b"whsec_current" not in bytes(row["secret_sealed"])

        # when it is downgraded again
        await asyncio.to_thread(migrate.downgrade, url, "integrations_0008", encryption_keys=[key])
        async with engine.connect() as connection:
            back = (await connection.execute(text("SELECT secret, previous_secret FROM webhook_endpoint"))).one()

        # then the plaintext is back, nothing lost
        assert tuple(back) == ("whsec_current", "whsec_previous")
    finally:
        await engine.dispose()
