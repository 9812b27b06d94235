"""Queries and mutations of alternatives: thin resolvers over the flows."""
from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from app.alternatives import flows, handover, neighbors, pickup_points, setup_flows
from app.alternatives import service as alternatives
from app.alternatives.handover import HandoverProof
from app.alternatives.models import ProposerKind
from app.alternatives.permissions import IsSupervisor
from app.alternatives.pickup_points import PickupPointData
from app.alternatives.types import (
    AlternativeKindType,
    AlternativePolicyType,
    AlternativeType,
    NeighborType,
    PickupPointKindType,
    PickupPointType,
    SafePlaceType,
)
from app.api.common import MutationError, as_payload, parse_id, payload_type, as_changed
from app.api.context import Info
from app.auth.permissions import IsAuthenticated, IsDriver, IsDriverOrStaff, IsStaff
from app.delivery_exceptions import service as exceptions
from app.errors import DomainError, invalid


@strawberry.input(description="Propose an alternative for the stop's open exception; fill the fields its kind needs.")
class ProposeAlternativeInput:
    stop_id: strawberry.ID
    kind: AlternativeKindType
    expected_exception_version: int | None = strawberry.field(default=None, description="Refuse if the exception changed.")
    on_behalf_of_customer: bool = strawberry.field(default=False, description="Staff recording the customer's own choice.")
    window_start: datetime | None = strawberry.field(default=None, description="RESCHEDULE")
    window_end: datetime | None = strawberry.field(default=None, description="RESCHEDULE")
    neighbor_id: strawberry.ID | None = strawberry.field(default=None, description="NEIGHBOR_HANDOVER: a consented neighbour")
    instructions: str | None = strawberry.field(default=None, description="SECURE_DROPOFF: where it is left")
    pickup_point_id: strawberry.ID | None = strawberry.field(default=None, description="PICKUP_POINT")
    address: str | None = strawberry.field(default=None, description="ADDRESS_CORRECTION")
    lat: float | None = strawberry.field(default=None, description="ADDRESS_CORRECTION")
    lon: float | None = strawberry.field(default=None, description="ADDRESS_CORRECTION")
    reason: str | None = strawberry.field(default=None, description="RETURN_TO_DEPOT")

    def details(self) -> dict[str, Any]:
        values = {
            "windowStart": self.window_start, "windowEnd": self.window_end, "neighborId": self.neighbor_id,
            "instructions": self.instructions, "pickupPointId": self.pickup_point_id, "address": self.address,
            "lat": self.lat, "lon": self.lon, "reason": self.reason,
        }
        return {key: value for key, value in values.items() if value is not None}


@strawberry.input
class DecideAlternativeInput:
    id: strawberry.ID
    expected_version: int


@strawberry.input
class RejectAlternativeInput:
    id: strawberry.ID
    expected_version: int
    reason: str


@strawberry.input(description="The neighbour's one-time code, or their name with a signature or photo reference.")
class ConfirmHandoverInput:
    id: strawberry.ID = strawberry.field(description="The approved alternative.")
    code: str | None = None
    receiver_name: str | None = None
    signature_ref: str | None = strawberry.field(default=None, description="Reference of the stored signature image.")
    photo_ref: str | None = strawberry.field(default=None, description="Reference of the stored photo (required for a drop-off).")


@strawberry.input
class AddNeighborInput:
    customer_id: strawberry.ID
    name: str
    address: str
    phone: str
    unit: str = ""


@strawberry.input
class VerifyNeighborInput:
    id: strawberry.ID
    code: str


@strawberry.input
class NeighborRefInput:
    id: strawberry.ID


@strawberry.input
class RevokeNeighborInput:
    id: strawberry.ID
    expected_version: int


@strawberry.input(description="Set the customer's safe place; null instructions remove it.")
class SetSafePlaceInput:
    customer_id: strawberry.ID
    instructions: str | None = None


@strawberry.input(description="Create a pickup point (no id) or change one (id and expectedVersion).")
class SavePickupPointInput:
    kind: PickupPointKindType
    name: str
    address: str
    lat: float
    lon: float
    capacity: int
    opening_hours: JSON
    timezone: str = "UTC"
    depot_id: strawberry.ID | None = None
    active: bool = True
    id: strawberry.ID | None = None
    expected_version: int | None = None


@strawberry.input
class UpdateAlternativePolicyInput:
    rules: JSON
    expected_version: int = strawberry.field(description="The version you read; 0 when the tenant never saved rules.")


AlternativePayload = payload_type("AlternativePayload", "alternative", AlternativeType, description="The changed alternative, or why nothing changed.")


NeighborPayload = payload_type("NeighborPayload", "neighbor", NeighborType)


SafePlacePayload = payload_type("SafePlacePayload", "safe_place", SafePlaceType)


PickupPointPayload = payload_type("PickupPointPayload", "pickup_point", PickupPointType)


AlternativePolicyPayload = payload_type("AlternativePolicyPayload", "policy", AlternativePolicyType)


@strawberry.type
class AlternativeQuery:
    @strawberry.field(permission_classes=[IsAuthenticated], description="The alternatives of an exception you may see, oldest first.")
    async def alternatives(self, info: Info, exception_id: strawberry.ID) -> list[AlternativeType]:
        try:
            exc_id = parse_id(exception_id, "exception", "exceptionId")
        except DomainError:
            return []
        viewer = info.context.viewer
        if await exceptions.get_visible(session=info.context.session, principal=viewer, exception_id=exc_id) is None:
            return []
        rows = await alternatives.list_for_exception(session=info.context.session, tenant_id=viewer.tenant_id, exception_id=exc_id)
        return [AlternativeType.from_row(r) for r in rows]

    @strawberry.field(permission_classes=[IsStaff], description="The neighbours a customer listed, with their consent status.")
    async def customer_neighbors(self, info: Info, customer_id: strawberry.ID) -> list[NeighborType]:
        rows = await neighbors.list_for_customer(
            session=info.context.session, tenant_id=info.context.viewer.tenant_id, customer_id=parse_id(customer_id, "customer")
        )
        return [NeighborType.from_row(r) for r in rows]

    @strawberry.field(permission_classes=[IsStaff], description="The safe place a customer chose in advance, if any.")
    async def customer_safe_place(self, info: Info, customer_id: strawberry.ID) -> SafePlaceType | None:
        row = await neighbors.safe_place(
            session=info.context.session, tenant_id=info.context.viewer.tenant_id, customer_id=parse_id(customer_id, "customer")
        )
        return SafePlaceType.from_row(row) if row else None

    @strawberry.field(permission_classes=[IsDriverOrStaff], description="Pickup points, optionally of one depot.")
    async def pickup_points(self, info: Info, depot_id: strawberry.ID | None = None, active_only: bool = True) -> list[PickupPointType]:
        rows = await pickup_points.list_all(
            session=info.context.session, tenant_id=info.context.viewer.tenant_id,
            depot_id=parse_id(depot_id, "depot", "depotId") if depot_id else None, active_only=active_only,
        )
        return [PickupPointType.from_row(r) for r in rows]

    @strawberry.field(permission_classes=[IsStaff], description="The tenant's approval rules (the defaults until saved).")
    async def alternative_policy(self, info: Info) -> AlternativePolicyType:
        rules, row = await alternatives.load_policy(session=info.context.session, tenant_id=info.context.viewer.tenant_id)
        return AlternativePolicyType.from_row(rules.to_data(), row)


@strawberry.type
class AlternativeMutation:
    @strawberry.mutation(permission_classes=[IsDriverOrStaff], description="Propose an alternative; the policy may approve it at once.")
    async def propose_alternative(self, info: Info, input: ProposeAlternativeInput) -> AlternativePayload:
        async def work() -> AlternativePayload:
            viewer = info.context.viewer
            alt = await flows.propose_alternative(
                info.context.runtime, tenant_id=viewer.tenant_id, stop_id=parse_id(input.stop_id, "stop", "stopId"),
                kind=input.kind, actor=viewer, details=input.details(),
                proposed_by=ProposerKind.CUSTOMER if input.on_behalf_of_customer else alternatives.proposer_for(viewer),
                expected_exception_version=input.expected_exception_version,
            )
            return AlternativePayload(alternative=AlternativeType.from_row(alt))

        return await as_payload(AlternativePayload, work)

    @strawberry.mutation(permission_classes=[IsStaff], description="Approve a proposal the policy left to you; it is carried out at once.")
    async def approve_alternative(self, info: Info, input: DecideAlternativeInput) -> AlternativePayload:
        return await as_changed(AlternativePayload, lambda: flows.approve_alternative(
            info.context.runtime, info.context.viewer, alternative_id=parse_id(input.id, "alternative"),
            expected_version=input.expected_version,
        ))

    @strawberry.mutation(permission_classes=[IsStaff], description="Turn a proposal down, with a reason.")
    async def reject_alternative(self, info: Info, input: RejectAlternativeInput) -> AlternativePayload:
        return await as_changed(AlternativePayload, lambda: flows.reject_alternative(
            info.context.runtime, info.context.viewer, alternative_id=parse_id(input.id, "alternative"),
            expected_version=input.expected_version, reason=input.reason,
        ))

    @strawberry.mutation(permission_classes=[IsDriver], description="Driver: the approved neighbour handover or drop-off is done.")
    async def confirm_handover(self, info: Info, input: ConfirmHandoverInput) -> AlternativePayload:
        async def work() -> AlternativePayload:
            proof = HandoverProof(
                code=input.code, receiver_name=input.receiver_name, signature_ref=input.signature_ref, photo_ref=input.photo_ref
            )
            alt = await handover.confirm_handover(
                info.context.runtime, info.context.viewer, alternative_id=parse_id(input.id, "alternative"), proof=proof
            )
            return AlternativePayload(alternative=AlternativeType.from_row(alt))

        return await as_payload(AlternativePayload, work)

    @strawberry.mutation(permission_classes=[IsStaff], description="Add a neighbour to a customer's list; they get a code by SMS.")
    async def add_neighbor(self, info: Info, input: AddNeighborInput) -> NeighborPayload:
        return await as_changed(NeighborPayload, lambda: setup_flows.add_neighbor(
            info.context.runtime, info.context.viewer, customer_id=parse_id(input.customer_id, "customer", "customerId"),
            name=input.name, address=input.address, phone=input.phone, unit=input.unit,
        ))

    @strawberry.mutation(permission_classes=[IsStaff], description="Enter the code the neighbour received; consent is then verified.")
    async def verify_neighbor(self, info: Info, input: VerifyNeighborInput) -> NeighborPayload:
        return await as_changed(NeighborPayload, lambda: setup_flows.verify_neighbor(
            info.context.runtime, tenant_id=info.context.viewer.tenant_id, neighbor_id=parse_id(input.id, "neighbor"),
            code=input.code,
        ))

    @strawberry.mutation(permission_classes=[IsStaff], description="Send the neighbour a new code; earlier ones stop working.")
    async def resend_neighbor_code(self, info: Info, input: NeighborRefInput) -> NeighborPayload:
        return await as_changed(NeighborPayload, lambda: setup_flows.resend_neighbor_code(
            info.context.runtime, info.context.viewer, neighbor_id=parse_id(input.id, "neighbor")
        ))

    @strawberry.mutation(permission_classes=[IsStaff], description="The customer withdraws consent for this neighbour.")
    async def revoke_neighbor(self, info: Info, input: RevokeNeighborInput) -> NeighborPayload:
        return await as_changed(NeighborPayload, lambda: setup_flows.revoke_neighbor(
            info.context.runtime, info.context.viewer, neighbor_id=parse_id(input.id, "neighbor"),
            expected_version=input.expected_version,
        ))

    @strawberry.mutation(permission_classes=[IsStaff], description="Record (or remove) the customer's chosen safe place.")
    async def set_safe_place(self, info: Info, input: SetSafePlaceInput) -> SafePlacePayload:
        return await as_changed(SafePlacePayload, lambda: setup_flows.set_safe_place(
            info.context.runtime, info.context.viewer, customer_id=parse_id(input.customer_id, "customer", "customerId"),
            instructions=input.instructions,
        ))

    @strawberry.mutation(permission_classes=[IsStaff], description="Create or change a pickup point.")
    async def save_pickup_point(self, info: Info, input: SavePickupPointInput) -> PickupPointPayload:
        async def work() -> PickupPointPayload:
            hours = input.opening_hours
            if not isinstance(hours, dict):
                raise invalid("openingHours is an object of weekdays", "openingHours")
            data = PickupPointData(
                kind=input.kind, name=input.name, address=input.address, lat=input.lat, lon=input.lon,
                capacity=input.capacity, opening_hours=hours, timezone=input.timezone, active=input.active,
                depot_id=parse_id(input.depot_id, "depot", "depotId") if input.depot_id else None,
            )
            row = await setup_flows.save_pickup_point(
                info.context.runtime, info.context.viewer, data=data, expected_version=input.expected_version,
                pickup_point_id=parse_id(input.id, "pickup point") if input.id else None,
            )
            return PickupPointPayload(pickup_point=PickupPointType.from_row(row))

        return await as_payload(PickupPointPayload, work)

    @strawberry.mutation(permission_classes=[IsSupervisor], description="Supervisor: replace the tenant's approval rules.")
    async def update_alternative_policy(self, info: Info, input: UpdateAlternativePolicyInput) -> AlternativePolicyPayload:
        async def work() -> AlternativePolicyPayload:
            if not isinstance(input.rules, dict):
                raise invalid("rules is an object", "rules")
            row = await setup_flows.update_policy(
                info.context.runtime, info.context.viewer, rules=input.rules, expected_version=input.expected_version
            )
            return AlternativePolicyPayload(policy=AlternativePolicyType.from_row(row.rules, row))

        return await as_payload(AlternativePolicyPayload, work)
