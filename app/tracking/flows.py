"""Positions from the driver's phone: store, then wake the live map."""
from app.auth.principal import Principal
from app.realtime.bus import Notice
from app.runtime import Runtime, unit_of_work
from app.tracking import service
from app.tracking.service import Fix


def positions_channel(tenant_id: int) -> str:
    return f"detour.t{tenant_id}.positions"


async def report_positions(runtime: Runtime, principal: Principal, fixes: list[Fix]) -> tuple[int, int]:
    """Store a batch (out of order and duplicates tolerated); returns (stored, ignored as duplicates)."""
    ordered = service.validate_fixes(fixes)
    async with unit_of_work(runtime) as uow:
        stored = await service.store_fixes(session=uow.session, tenant_id=principal.tenant_id, driver_id=principal.user_id, fixes=ordered)
        newest = ordered[-1]
        uow.notify(Notice(positions_channel(principal.tenant_id), {"driverId": principal.user_id, "recordedAt": newest.recorded_at.isoformat()}))
    return stored, len(fixes) - stored
