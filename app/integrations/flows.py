"""Integration work with a unit of work: key authentication, key and device administration, tracker positions."""
from datetime import datetime

from app.auth.principal import Principal
from app.integrations import api_keys, devices
from app.integrations.api_keys import MintedKey
from app.integrations.models import ApiKey, GpsDevice
from app.runtime import Runtime, unit_of_work
from app.tenants.models import Role
from app.tracking import flows as tracking_flows
from app.tracking.service import Fix


async def authenticate_api_key(runtime: Runtime, secret: str) -> Principal:
    """The principal of an API key; its last-used time is committed in its own short transaction."""
    async with unit_of_work(runtime) as uow:
        return await api_keys.authenticate_key(session=uow.session, secret=secret)


async def create_api_key(runtime: Runtime, principal: Principal, *, name: str, scopes: list[str], expires_at: datetime | None) -> MintedKey:
    async with unit_of_work(runtime) as uow:
        return await api_keys.create_key(
            session=uow.session, tenant_id=principal.tenant_id, created_by=principal.user_id, name=name, scopes=scopes, expires_at=expires_at,
        )


async def revoke_api_key(runtime: Runtime, principal: Principal, *, key_id: int) -> ApiKey:
    async with unit_of_work(runtime) as uow:
        return await api_keys.revoke_key(session=uow.session, tenant_id=principal.tenant_id, key_id=key_id)


async def register_gps_device(runtime: Runtime, principal: Principal, *, driver_id: int, identifier: str) -> tuple[GpsDevice, str]:
    async with unit_of_work(runtime) as uow:
        return await devices.register_device(session=uow.session, tenant_id=principal.tenant_id, driver_id=driver_id, identifier=identifier)


async def device_by_token(runtime: Runtime, token: str) -> GpsDevice | None:
    async with runtime.sessionmaker() as session:
        return await devices.device_for_token(session=session, token=token)


async def report_device_positions(runtime: Runtime, device: GpsDevice, fixes: list[Fix]) -> tuple[int, int]:
    """Positions from a tracker count as its driver's, through the same ingestion as reportPositions."""
    driver = Principal(user_id=device.driver_id, tenant_id=device.tenant_id, role=Role.DRIVER, scopes=frozenset())
    return await tracking_flows.report_positions(runtime, driver, fixes)
