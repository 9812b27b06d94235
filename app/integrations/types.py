"""GraphQL types of integrator keys and trackers (secrets appear only in the payload that minted them)."""
from datetime import datetime

import strawberry

from app.api.common import MutationError
from app.integrations.models import ApiKey, GpsDevice


@strawberry.type(name="ApiKey", description="An integrator API key; the secret itself is shown once, at creation.")
class ApiKeyType:
    id: strawberry.ID
    name: str
    prefix: str = strawberry.field(description="The key's first characters, to recognise it (e.g. dtr_live_ab12cd).")
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None = strawberry.field(description="Updated at most once a minute.")
    revoked_at: datetime | None

    @classmethod
    def from_row(cls, row: ApiKey) -> "ApiKeyType":
        return cls(
            id=strawberry.ID(str(row.id)), name=row.name, prefix=row.prefix, scopes=list(row.scopes), created_at=row.created_at,
            expires_at=row.expires_at, last_used_at=row.last_used_at, revoked_at=row.revoked_at,
        )


@strawberry.type
class CreateApiKeyPayload:
    api_key: ApiKeyType | None = None
    secret: str | None = strawberry.field(default=None, description="The key to send as `Authorization: Bearer`; never shown again.")
    errors: list[MutationError] = strawberry.field(default_factory=list)


@strawberry.type(name="GpsDevice", description="A GPS tracker whose positions count as one driver's.")
class GpsDeviceType:
    id: strawberry.ID
    identifier: str
    driver_id: strawberry.ID

    @classmethod
    def from_row(cls, row: GpsDevice) -> "GpsDeviceType":
        return cls(id=strawberry.ID(str(row.id)), identifier=row.identifier, driver_id=strawberry.ID(str(row.driver_id)))


@strawberry.type
class RegisterGpsDevicePayload:
    device: GpsDeviceType | None = None
    token: str | None = strawberry.field(default=None, description="The device token (Bearer header or ?token=); never shown again.")
    errors: list[MutationError] = strawberry.field(default_factory=list)
