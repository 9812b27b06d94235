"""GraphQL types of delivery exceptions and their timeline."""
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from app.api.context import Info
from app.api.lazy import lazy_type
from app.delivery_exceptions.models import (
    DeliveryException,
    EventType,
    ExceptionEvent,
    ExceptionKind,
    ExceptionStatus,
    ResolutionOutcome,
    ResolutionStep,
)
from app.tenants.types import DepotType, UserType

StopRef = Annotated["StopType", strawberry.lazy("app.routes.types")]  # noqa: F821
RouteRef = Annotated["RouteType", strawberry.lazy("app.routes.types")]  # noqa: F821
NotificationRef = Annotated["NotificationType", strawberry.lazy("app.outreach.types")]  # noqa: F821
CustomerResponseRef = Annotated["CustomerResponseType", strawberry.lazy("app.outreach.types")]  # noqa: F821

ExceptionKindType = strawberry.enum(ExceptionKind, name="ExceptionKind", description="What went wrong at the stop.")
ExceptionStatusType = strawberry.enum(ExceptionStatus, name="ExceptionStatus")
ResolutionOutcomeType = strawberry.enum(ResolutionOutcome, name="ResolutionOutcome")
EventTypeType = strawberry.enum(EventType, name="ExceptionEventType")
ResolutionStepType = strawberry.enum(
    ResolutionStep, name="ResolutionStep", description="Identify → analyse → communicate → correct → document."
)


@strawberry.type(name="ExceptionEvent", description="One step of an exception's timeline; never rewritten.")
class ExceptionEventType:
    id: strawberry.ID = strawberry.field(description="Monotonic: also the cursor to resume a subscription after.")
    type: EventTypeType
    step: ResolutionStepType
    occurred_at: datetime
    actor_role: str | None
    payload: JSON
    row: strawberry.Private[ExceptionEvent]

    @classmethod
    def from_row(cls, row: ExceptionEvent) -> "ExceptionEventType":
        return cls(
            id=strawberry.ID(str(row.id)), type=row.type, step=row.step, occurred_at=row.occurred_at,
            actor_role=row.actor_role, payload=row.payload, row=row,
        )

    @strawberry.field
    async def actor(self, info: Info) -> UserType | None:
        if self.row.actor_id is None:
            return None
        user = await info.context.loaders.user.load(self.row.actor_id)
        return UserType.from_row(user) if user else None

    @strawberry.field(name="exceptionId")
    def exception_id(self) -> strawberry.ID:
        return strawberry.ID(str(self.row.exception_id))


@strawberry.type(name="DeliveryException", description="A delivery that could not be completed as planned.")
class DeliveryExceptionType:
    id: strawberry.ID
    kind: ExceptionKindType
    reason_code: str
    description: str
    status: ExceptionStatusType
    reported_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    resolution_outcome: ResolutionOutcomeType | None
    resolution_note: str | None
    failure_cost_cents: int | None = strawberry.field(description="Cost of the failed attempt, set at resolution.")
    failed_attempt_number: int | None
    version: int = strawberry.field(description="Send it back as expectedVersion when changing the exception.")
    row: strawberry.Private[DeliveryException]

    @classmethod
    def from_row(cls, row: DeliveryException) -> "DeliveryExceptionType":
        return cls(
            id=strawberry.ID(str(row.id)), kind=row.kind, reason_code=row.reason_code, description=row.description,
            status=row.status, reported_at=row.reported_at, acknowledged_at=row.acknowledged_at,
            resolved_at=row.resolved_at, resolution_outcome=row.resolution_outcome, resolution_note=row.resolution_note,
            failure_cost_cents=row.failure_cost_cents, failed_attempt_number=row.failed_attempt_number,
            version=row.version, row=row,
        )

    @strawberry.field
    async def stop(self, info: Info) -> StopRef:
        return lazy_type(StopRef).from_row(await info.context.loaders.stop.load(self.row.stop_id))

    @strawberry.field
    async def route(self, info: Info) -> RouteRef:
        return lazy_type(RouteRef).from_row(await info.context.loaders.route.load(self.row.route_id))

    @strawberry.field
    async def depot(self, info: Info) -> DepotType:
        return DepotType.from_row(await info.context.loaders.depot.load(self.row.depot_id))

    @strawberry.field
    async def reported_by(self, info: Info) -> UserType | None:
        user = await info.context.loaders.user.load(self.row.reported_by_id)
        return UserType.from_row(user) if user else None

    @strawberry.field
    async def assignee(self, info: Info) -> UserType | None:
        if self.row.assignee_id is None:
            return None
        user = await info.context.loaders.user.load(self.row.assignee_id)
        return UserType.from_row(user) if user else None

    @strawberry.field(description="Every step so far, oldest first.")
    async def timeline(self, info: Info) -> list[ExceptionEventType]:
        return [ExceptionEventType.from_row(e) for e in await info.context.loaders.events_by_exception.load(self.row.id)]

    @strawberry.field(description="Messages to the customer about this exception, oldest first (sent, failed, suppressed…).")
    async def notifications(self, info: Info) -> list[NotificationRef]:
        return [lazy_type(NotificationRef).from_row(n) for n in await info.context.loaders.notifications_by_exception.load(self.row.id)]

    @strawberry.field(description="What the customer answered (SMS reply, link page, app), oldest first.")
    async def customer_responses(self, info: Info) -> list[CustomerResponseRef]:
        rows = await info.context.loaders.customer_responses_by_exception.load(self.row.id)
        return [lazy_type(CustomerResponseRef).from_row(r) for r in rows]
