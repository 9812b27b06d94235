"""GraphQL types of the access vault: profiles show only what exists, codes appear only in a reveal."""
from datetime import datetime
from typing import NewType

import strawberry
from graphql import GraphQLError

from app.access.crypto import AccessSecrets
from app.access.models import (
    AccessAction,
    AccessAuditEntry,
    AccessGrant,
    AccessOutcome,
    AccessProfile,
    ProvidedBy,
    RefusalReason,
)
from app.api.context import Info
from app.customers.types import CustomerType
from app.tenants.types import UserType



def _parse_secret(value: object) -> str:
    # graphql-core quotes a rejected value in its error (and strawberry logs it): refuse without the value.
    if isinstance(value, str):
        return value
    raise GraphQLError("a secret must be sent as a string (a number would lose its leading zeros)")


SecretText = NewType("SecretText", str)
# Registered in the schema's StrawberryConfig.scalar_map (app/api/schema.py).
ACCESS_SCALARS = {
    SecretText: strawberry.scalar(
        name="SecretText", serialize=str, parse_value=_parse_secret,
        description="A code or instruction for the vault: a string, never echoed back in errors or logs.",
    ),
}

ProvidedByType = strawberry.enum(ProvidedBy, name="AccessProvidedBy", description="Who gave Detour the access information.")
AccessActionType = strawberry.enum(AccessAction, name="AccessAction")
AccessOutcomeType = strawberry.enum(AccessOutcome, name="AccessOutcome")
RefusalReasonType = strawberry.enum(
    RefusalReason, name="AccessRefusalReason", description="The first reveal rule that said no."
)


@strawberry.type(name="AccessProfile", description="How to get into an address or building. Codes are write-only here.")
class AccessProfileType:
    id: strawberry.ID
    label: str
    address: str
    lat: float | None
    lon: float | None
    provided_by: ProvidedByType
    valid_from: datetime | None
    valid_until: datetime | None
    has_gate_code: bool
    has_entry_code: bool
    has_instructions: bool
    digital_key_provider: str | None = strawberry.field(description="The lock service holding the digital key, if any.")
    version: int = strawberry.field(description="Send it back as expectedVersion when updating.")
    updated_at: datetime
    row: strawberry.Private[AccessProfile]

    @classmethod
    def from_row(cls, row: AccessProfile) -> "AccessProfileType":
        return cls(
            id=strawberry.ID(str(row.id)), label=row.label, address=row.address, lat=row.lat, lon=row.lon,
            provided_by=row.provided_by, valid_from=row.valid_from, valid_until=row.valid_until,
            has_gate_code=row.has_gate_code, has_entry_code=row.has_entry_code, has_instructions=row.has_instructions,
            digital_key_provider=row.digital_key_provider, version=row.version, updated_at=row.updated_at, row=row,
        )

    @strawberry.field(description="Set when the profile is personal to one customer.")
    async def customer(self, info: Info) -> CustomerType | None:
        if self.row.customer_id is None:
            return None
        customer = await info.context.loaders.customer.load(self.row.customer_id)
        return CustomerType.from_row(customer) if customer else None


@strawberry.type(name="AccessCodes", description="Revealed to the stop's driver at the door; never stored on the phone.")
class AccessCodesType:
    gate_code: str | None
    entry_code: str | None
    instructions: str | None
    one_time_code: str | None = strawberry.field(description="A dispatcher's one-time code; spent by this reveal.")
    profile_label: str | None
    has_digital_key: bool

    @classmethod
    def from_reveal(cls, secrets: AccessSecrets | None, one_time_code: str | None, profile: AccessProfile | None) -> "AccessCodesType":
        def clear(name: str) -> str | None:
            value = getattr(secrets, name) if secrets else None
            return value.get_secret_value() if value else None

        return cls(
            gate_code=clear("gate_code"), entry_code=clear("entry_code"), instructions=clear("instructions"),
            one_time_code=one_time_code, profile_label=profile.label if profile else None,
            has_digital_key=bool(profile and profile.has_digital_key),
        )


@strawberry.type(name="AccessAuditEntry", description="One reveal, refusal, unlock or change: who, when, where, why.")
class AccessAuditEntryType:
    id: strawberry.ID
    action: AccessActionType
    outcome: AccessOutcomeType
    refusal_reason: RefusalReasonType | None
    occurred_at: datetime
    actor_role: str
    lat: float | None = strawberry.field(description="The driver's GPS fix the decision used.")
    lon: float | None
    distance_m: float | None = strawberry.field(description="Metres between that fix and the stop.")
    fix_recorded_at: datetime | None
    detail: str
    row: strawberry.Private[AccessAuditEntry]

    @classmethod
    def from_row(cls, row: AccessAuditEntry) -> "AccessAuditEntryType":
        return cls(
            id=strawberry.ID(str(row.id)), action=row.action, outcome=row.outcome, refusal_reason=row.refusal_reason,
            occurred_at=row.occurred_at, actor_role=row.actor_role, lat=row.lat, lon=row.lon, distance_m=row.distance_m,
            fix_recorded_at=row.fix_recorded_at, detail=row.detail, row=row,
        )

    @strawberry.field(description="Null when the customer acted through self-service.")
    async def actor(self, info: Info) -> UserType | None:
        if self.row.actor_id is None:
            return None
        user = await info.context.loaders.user.load(self.row.actor_id)
        return UserType.from_row(user) if user else None


@strawberry.type(name="AccessGrant", description="A one-time permission for the stop's driver; spent on use or at expiry.")
class AccessGrantType:
    id: strawberry.ID
    stop_id: strawberry.ID
    expires_at: datetime
    has_code: bool
    note: str
    row: strawberry.Private[AccessGrant]

    @classmethod
    def from_row(cls, row: AccessGrant) -> "AccessGrantType":
        return cls(
            id=strawberry.ID(str(row.id)), stop_id=strawberry.ID(str(row.stop_id)), expires_at=row.expires_at,
            has_code=row.code_sealed is not None, note=row.note, row=row,
        )

    @strawberry.field
    async def driver(self, info: Info) -> UserType | None:
        user = await info.context.loaders.user.load(self.row.driver_id)
        return UserType.from_row(user) if user else None
