"""Webhook signing secrets at rest: sealed with the platform vault (the access codes' keys), bound to the tenant.

`detour access-rekey` re-seals them with the first key, as it does access codes, so a retired key can be dropped.
"""
import base64
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select

from app.integrations.webhook_models import WebhookEndpoint
from app.runtime import Runtime, unit_of_work
from app.vault import Vault, vault_for

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def secret_context(tenant_id: int) -> str:
    return f"detour.webhooks.v1.tenant.{tenant_id}"


def seal(vault: Vault, secret: str, *, tenant_id: int) -> bytes:
    return vault.seal(secret.encode(), context=secret_context(tenant_id))


def unseal(vault: Vault, sealed: bytes, *, tenant_id: int) -> str:
    return vault.open(sealed, context=secret_context(tenant_id)).decode()


def set_new_secret(vault: Vault, endpoint: WebhookEndpoint) -> str:
    """Seal a fresh secret into the endpoint; returns it (shown to the caller once, never stored in plaintext)."""
    secret = new_secret()
    endpoint.secret_sealed = seal(vault, secret, tenant_id=endpoint.tenant_id)
    return secret


def signing_secrets(vault: Vault, endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The secrets that sign now: the current one, and the previous one until its overlap ends."""
    live = [endpoint.secret_sealed]
    if endpoint.previous_secret_sealed and endpoint.previous_secret_until and endpoint.previous_secret_until > now:
        live.append(endpoint.previous_secret_sealed)
    return [unseal(vault, sealed, tenant_id=endpoint.tenant_id) for sealed in live]


@dataclass
class RekeyReport:
    checked: int = 0
    resealed: int = 0


async def rekey(runtime: Runtime, *, batch_size: int = 200) -> RekeyReport:
    """Re-seal what an older key sealed, batch by batch; endpoints already on the primary key are left alone."""
    if batch_size < 1:
        raise ValueError("the batch size must be at least 1")
    vault, report, last_id = vault_for(runtime.settings), RekeyReport(), 0
    while True:
        async with unit_of_work(runtime) as uow:
            query = select(WebhookEndpoint).where(col(WebhookEndpoint.id) > last_id).order_by(col(WebhookEndpoint.id))
            rows = list((await uow.session.exec(query.limit(batch_size).with_for_update())).all())
            for row in rows:
                report.checked += 1
                context = secret_context(row.tenant_id)
                changed = False
                for column in ("secret_sealed", "previous_secret_sealed"):
                    token = getattr(row, column)
                    if token and not vault.sealed_with_primary(token):
                        setattr(row, column, vault.reseal(token, context=context))
                        changed = True
                if changed:
                    uow.session.add(row)
                    report.resealed += 1
        if len(rows) < batch_size:
            return report
        last_id = rows[-1].id
