"""Integration work with a unit of work: key authentication, key and device administration, tracker positions."""
from datetime import datetime, timedelta

from app.auth.principal import Principal
from app.integrations import api_keys, devices, webhooks
from app.integrations.catalogue import WEBHOOK_CHANNEL
from app.integrations.webhook_models import WebhookEndpoint
from app.realtime.bus import Notice
from app.integrations.api_keys import MintedKey
from app.integrations.models import ApiKey, GpsDevice
from app.runtime import Runtime, unit_of_work
from app.tenants.models import Role
from app.tracking import flows as tracking_flows
from app.tracking.service import Fix
from app.vault import vault_for


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


async def create_webhook_endpoint(
    runtime: Runtime, principal: Principal, *, url: str, event_types: list[str], description: str,
) -> tuple[WebhookEndpoint, str]:
    async with unit_of_work(runtime) as uow:
        return await webhooks.create_endpoint(
            session=uow.session, vault=vault_for(runtime.settings), tenant_id=principal.tenant_id, url=url, event_types=event_types, description=description,
            allow_private=runtime.settings.webhook_allow_private_addresses,
        )


async def rotate_webhook_secret(runtime: Runtime, principal: Principal, *, endpoint_id: int) -> tuple[WebhookEndpoint, str]:
    async with unit_of_work(runtime) as uow:
        endpoint = await webhooks.get_endpoint(session=uow.session, tenant_id=principal.tenant_id, endpoint_id=endpoint_id)
        secret = webhooks.rotate_secret(
            vault_for(runtime.settings), endpoint, overlap=timedelta(hours=runtime.settings.webhook_secret_overlap_hours),
        )
        uow.session.add(endpoint)
        return endpoint, secret


async def set_webhook_endpoint_enabled(runtime: Runtime, principal: Principal, *, endpoint_id: int, enabled: bool) -> WebhookEndpoint:
    async with unit_of_work(runtime) as uow:
        endpoint = await webhooks.get_endpoint(session=uow.session, tenant_id=principal.tenant_id, endpoint_id=endpoint_id)
        webhooks.set_enabled(endpoint, enabled, "disabled by a person")
        uow.session.add(endpoint)
        return endpoint


async def replay_webhooks(
    runtime: Runtime, principal: Principal, *, endpoint_id: int, message_id: int | None, since: datetime | None, until: datetime | None,
) -> int:
    async with unit_of_work(runtime) as uow:
        queued = await webhooks.replay(
            session=uow.session, tenant_id=principal.tenant_id, endpoint_id=endpoint_id, message_id=message_id, since=since, until=until,
        )
        uow.notify(Notice(WEBHOOK_CHANNEL, {"replayed": queued}))
        return queued
