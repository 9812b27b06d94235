"""Integrator keys and GPS trackers, administered by supervisors."""
from datetime import datetime

import strawberry

from app.api.common import as_changed, as_payload, parse_id, payload_type
from app.api.context import Info
from app.integrations import api_keys, flows
from app.integrations.permissions import IsSupervisor
from app.integrations.webhook_schema import WebhookMutation, WebhookQuery
from app.integrations.types import ApiKeyType, CreateApiKeyPayload, GpsDeviceType, RegisterGpsDevicePayload

RevokeApiKeyPayload = payload_type("RevokeApiKeyPayload", "api_key", ApiKeyType)


@strawberry.input
class CreateApiKeyInput:
    name: str = strawberry.field(description="What the key is for, e.g. 'WMS Rotterdam'.")
    scopes: list[str] = strawberry.field(description="e.g. exceptions:read, routes:write, customers:write, webhooks:manage, analytics:read.")
    expires_at: datetime | None = None


@strawberry.input
class RevokeApiKeyInput:
    id: strawberry.ID


@strawberry.input
class RegisterGpsDeviceInput:
    driver_id: strawberry.ID
    identifier: str = strawberry.field(description="The tracker's own id: Traccar uniqueId or OsmAnd id.")


@strawberry.type
class IntegrationQuery(WebhookQuery):
    @strawberry.field(permission_classes=[IsSupervisor], description="Supervisor: the tenant's API keys, newest first.")
    async def api_keys(self, info: Info) -> list[ApiKeyType]:
        rows = await api_keys.list_keys(session=info.context.session, tenant_id=info.context.viewer.tenant_id)
        return [ApiKeyType.from_row(r) for r in rows]


@strawberry.type
class IntegrationMutation(WebhookMutation):
    @strawberry.mutation(permission_classes=[IsSupervisor], description="Supervisor: mint an integrator API key (the secret is shown once).")
    async def create_api_key(self, info: Info, input: CreateApiKeyInput) -> CreateApiKeyPayload:
        async def work() -> CreateApiKeyPayload:
            minted = await flows.create_api_key(
                info.context.runtime, info.context.viewer, name=input.name, scopes=input.scopes, expires_at=input.expires_at
            )
            return CreateApiKeyPayload(api_key=ApiKeyType.from_row(minted.key), secret=minted.secret)

        return await as_payload(CreateApiKeyPayload, work)

    @strawberry.mutation(permission_classes=[IsSupervisor], description="Supervisor: revoke an API key; it stops working at once.")
    async def revoke_api_key(self, info: Info, input: RevokeApiKeyInput) -> RevokeApiKeyPayload:
        return await as_changed(RevokeApiKeyPayload, lambda: flows.revoke_api_key(
            info.context.runtime, info.context.viewer, key_id=parse_id(input.id, "API key")
        ))

    @strawberry.mutation(permission_classes=[IsSupervisor], description="Supervisor: map a GPS tracker to a driver (the token is shown once).")
    async def register_gps_device(self, info: Info, input: RegisterGpsDeviceInput) -> RegisterGpsDevicePayload:
        async def work() -> RegisterGpsDevicePayload:
            device, token = await flows.register_gps_device(
                info.context.runtime, info.context.viewer, driver_id=parse_id(input.driver_id, "driver", "driverId"), identifier=input.identifier
            )
            return RegisterGpsDevicePayload(device=GpsDeviceType.from_row(device), token=token)

        return await as_payload(RegisterGpsDevicePayload, work)
