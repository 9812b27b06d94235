"""Key rotation: re-seal every access secret with the primary key, batch by batch (`detour access-rekey`)."""
from dataclasses import dataclass

from sqlmodel import SQLModel, col, select

from app.access.crypto import tenant_context, vault_for
from app.access.models import AccessGrant, AccessProfile
from app.runtime import Runtime, unit_of_work

SEALED_COLUMNS: tuple[tuple[type[SQLModel], str], ...] = ((AccessProfile, "secrets_sealed"), (AccessGrant, "code_sealed"))


@dataclass
class RekeyReport:
    checked: int = 0
    resealed: int = 0


async def rekey(runtime: Runtime, *, batch_size: int = 200) -> RekeyReport:
    """Re-seal what an older key sealed; rows already on the primary key are left alone, so a rerun is cheap."""
    if batch_size < 1:
        raise ValueError("the batch size must be at least 1")
    vault = vault_for(runtime.settings)
    report = RekeyReport()
    for model, column in SEALED_COLUMNS:
        last_id = 0
        while True:
            async with unit_of_work(runtime) as uow:
                # FOR UPDATE (PostgreSQL) so a profile edited meanwhile is not overwritten with its old secrets.
                query = select(model).where(col(model.id) > last_id).order_by(col(model.id)).limit(batch_size).with_for_update()
                rows = list((await uow.session.exec(query)).all())
                for row in rows:
                    report.checked += 1
                    token = getattr(row, column)
                    if token and not vault.sealed_with_primary(token):
                        setattr(row, column, vault.reseal(token, context=tenant_context(row.tenant_id)))
                        uow.session.add(row)
                        report.resealed += 1
            if len(rows) < batch_size:
                break
            last_id = rows[-1].id
    return report
