"""GraphQL types of alternatives, neighbours, safe places, pickup points and the approval policy."""
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from app.alternatives.models import (
    Alternative,
    AlternativeKind,
    AlternativeStatus,
    DecisionOutcome,
    Neighbor,
    NeighborStatus,
    PickupPoint,
    PickupPointKind,
    ProposerKind,
    SafePlace,
    TenantPolicy,
)
from app.api.context import Info
from app.api.lazy import lazy_type
from app.tenants.types import UserType

StopRef = Annotated["StopType", strawberry.lazy("app.routes.types")]  # noqa: F821
ExceptionRef = Annotated["DeliveryExceptionType", strawberry.lazy("app.delivery_exceptions.types")]  # noqa: F821

AlternativeKindType = strawberry.enum(AlternativeKind, name="AlternativeKind", description="How the delivery is completed instead.")
AlternativeStatusType = strawberry.enum(AlternativeStatus, name="AlternativeStatus")
ProposerKindType = strawberry.enum(ProposerKind, name="ProposerKind", description="Who proposed an alternative.")
DecisionOutcomeType = strawberry.enum(
    DecisionOutcome, name="PolicyDecision", description="What the tenant's policy required for a proposal."
)
NeighborStatusType = strawberry.enum(NeighborStatus, name="NeighborStatus")
PickupPointKindType = strawberry.enum(PickupPointKind, name="PickupPointKind")


async def _user(info: Info, user_id: int | None) -> UserType | None:
    if user_id is None:
        return None
    user = await info.context.loaders.user.load(user_id)
    return UserType.from_row(user) if user else None


@strawberry.type(name="Neighbor", description="Someone a customer consents to receive parcels for them.")
class NeighborType:
    id: strawberry.ID
    name: str
    address: str
    unit: str
    phone: str = strawberry.field(description="E.164.")
    status: NeighborStatusType
    consent_from_outreach: bool = strawberry.field(description="Named by the customer in an answer to outreach.")
    verified_at: datetime | None
    revoked_at: datetime | None
    version: int

    @classmethod
    def from_row(cls, row: Neighbor) -> "NeighborType":
        return cls(
            id=strawberry.ID(str(row.id)), name=row.name, address=row.address, unit=row.unit, phone=row.phone,
            status=row.status, consent_from_outreach=row.consent_from_outreach, verified_at=row.verified_at,
            revoked_at=row.revoked_at, version=row.version,
        )


@strawberry.type(name="PickupPoint", description="A locker or counter that keeps parcels for customers to collect.")
class PickupPointType:
    id: strawberry.ID
    kind: PickupPointKindType
    name: str
    address: str
    lat: float
    lon: float
    timezone: str
    opening_hours: JSON = strawberry.field(description='Local hours per weekday: {"mon": [["08:00", "20:00"]], …}.')
    capacity: int = strawberry.field(description="Parcels it can hold.")
    reserved: int = strawberry.field(description="Parcels redirected to it and not yet collected.")
    active: bool
    version: int

    @classmethod
    def from_row(cls, row: PickupPoint) -> "PickupPointType":
        return cls(
            id=strawberry.ID(str(row.id)), kind=row.kind, name=row.name, address=row.address, lat=row.lat, lon=row.lon,
            timezone=row.timezone, opening_hours=row.opening_hours, capacity=row.capacity, reserved=row.reserved,
            active=row.active, version=row.version,
        )


@strawberry.type(name="SafePlace", description="Where the customer agreed in advance that parcels may be left.")
class SafePlaceType:
    instructions: str
    updated_at: datetime

    @classmethod
    def from_row(cls, row: SafePlace) -> "SafePlaceType":
        return cls(instructions=row.instructions, updated_at=row.updated_at)


@strawberry.type(name="AlternativePolicy", description="The tenant's approval rules for alternatives.")
class AlternativePolicyType:
    rules: JSON = strawberry.field(
        description="enabledKinds, dispatcherMayApprove, customerSelfService, valueLimitCents, signatureNeedsSupervisor, "
        "autoApprove {preselectedSafePlace, pickupPointAfterLastAttempt}, maxAttempts."
    )
    version: int = strawberry.field(description="0 until the tenant first saves its own rules.")
    updated_at: datetime | None

    @classmethod
    def from_row(cls, rules: dict, row: TenantPolicy | None) -> "AlternativePolicyType":
        return cls(rules=rules, version=row.version if row else 0, updated_at=row.updated_at if row else None)


@strawberry.type(name="Alternative", description="A way to complete an excepted delivery: proposed, decided, executed.")
class AlternativeType:
    id: strawberry.ID
    kind: AlternativeKindType
    status: AlternativeStatusType
    details: JSON = strawberry.field(description="The kind's details, e.g. windowStart/windowEnd, instructions, address.")
    proposed_by: ProposerKindType
    proposed_at: datetime
    decision: DecisionOutcomeType = strawberry.field(description="What the policy required when it was proposed.")
    decision_rule: str = strawberry.field(description="The policy rule that decided, e.g. customer_choice, value_limit.")
    decided_at: datetime | None
    rejection_reason: str | None
    executed_at: datetime | None
    proof: JSON = strawberry.field(description="How the handover was confirmed: method and signature/photo references.")
    version: int = strawberry.field(description="Send it back as expectedVersion when approving or rejecting.")
    row: strawberry.Private[Alternative]

    @classmethod
    def from_row(cls, row: Alternative) -> "AlternativeType":
        return cls(
            id=strawberry.ID(str(row.id)), kind=row.kind, status=row.status, details=row.details,
            proposed_by=row.proposed_by, proposed_at=row.proposed_at, decision=row.decision,
            decision_rule=row.decision_rule, decided_at=row.decided_at, rejection_reason=row.rejection_reason,
            executed_at=row.executed_at, proof=row.proof, version=row.version, row=row,
        )

    @strawberry.field
    async def exception(self, info: Info) -> ExceptionRef:
        return lazy_type(ExceptionRef).from_row(await info.context.loaders.exception.load(self.row.exception_id))

    @strawberry.field
    async def stop(self, info: Info) -> StopRef:
        return lazy_type(StopRef).from_row(await info.context.loaders.stop.load(self.row.stop_id))

    @strawberry.field
    async def neighbor(self, info: Info) -> NeighborType | None:
        if self.row.neighbor_id is None:
            return None
        row = await info.context.loaders.neighbor.load(self.row.neighbor_id)
        return NeighborType.from_row(row) if row else None

    @strawberry.field
    async def pickup_point(self, info: Info) -> PickupPointType | None:
        if self.row.pickup_point_id is None:
            return None
        row = await info.context.loaders.pickup_point.load(self.row.pickup_point_id)
        return PickupPointType.from_row(row) if row else None

    @strawberry.field(description="The person who proposed it; null for customers and rules.")
    async def proposed_by_user(self, info: Info) -> UserType | None:
        return await _user(info, self.row.proposed_by_user_id)

    @strawberry.field(description="The person who approved or rejected it; null when the policy approved it.")
    async def decided_by(self, info: Info) -> UserType | None:
        return await _user(info, self.row.decided_by_user_id)
