"""Dispatchers' day-of edits: thin resolvers over app/planning/edits.py."""
import strawberry

from app.api.common import MutationError, as_changed, as_payload, parse_id, payload_type
from app.api.context import Info
from app.auth.permissions import IsStaff
from app.customers.service import CustomerData
from app.planning import edits
from app.planning.plan import PlanParcel, PlanStop
from app.planning.schema import PlanStopInput
from app.routes.types import RouteType

RouteEditPayload = payload_type("RouteEditPayload", "route", RouteType, description="The route at its new version, or why nothing changed.")


@strawberry.input(description="A new stop for a route; position 0 is first (default: last).")
class AddStopInput:
    route_id: strawberry.ID
    expected_version: int
    stop: PlanStopInput
    position: int | None = None


@strawberry.input(description="Move a pending stop to another route of the same day.")
class MoveStopInput:
    stop_id: strawberry.ID
    expected_version: int = strawberry.field(description="The version of the route the stop is on now.")
    target_route_id: strawberry.ID
    target_expected_version: int
    position: int | None = None


@strawberry.input(description="Take a pending stop off its route; its parcels are held at the depot.")
class CancelStopInput:
    stop_id: strawberry.ID
    expected_version: int = strawberry.field(description="The version of the stop's route.")


@strawberry.input(description="Give a route another driver and/or vehicle.")
class ReassignRouteInput:
    route_id: strawberry.ID
    expected_version: int
    driver_id: strawberry.ID | None = None
    vehicle_id: strawberry.ID | None = None


@strawberry.type
class MoveStopPayload:
    source: RouteType | None = None
    target: RouteType | None = None
    errors: list[MutationError] = strawberry.field(default_factory=list)


def _stop(s: PlanStopInput) -> PlanStop:
    return PlanStop(
        external_ref=s.external_ref, address=s.address, lat=s.lat, lon=s.lon, window_start=s.time_window.start,
        window_end=s.time_window.end, service_seconds=s.service_seconds,
        customer=CustomerData(external_ref=s.customer.external_ref, name=s.customer.name, phone=s.customer.phone,
                              email=s.customer.email, language=s.customer.language),
        parcels=[PlanParcel(p.barcode, p.declared_value_cents, p.signature_required) for p in s.parcels],
    )


@strawberry.type
class DayEditMutation:
    @strawberry.mutation(permission_classes=[IsStaff], description="Add a stop to a route (a new route version).")
    async def add_stop(self, info: Info, input: AddStopInput) -> RouteEditPayload:
        return await as_changed(RouteEditPayload, lambda: edits.add_stop(
            info.context.runtime, info.context.viewer, route_id=parse_id(input.route_id, "route", "routeId"),
            expected_version=input.expected_version, stop=_stop(input.stop), position=input.position,
        ))

    @strawberry.mutation(permission_classes=[IsStaff], description="Move a pending stop between routes (both get a new version).")
    async def move_stop(self, info: Info, input: MoveStopInput) -> MoveStopPayload:
        async def work() -> MoveStopPayload:
            moved = await edits.move_stop(
                info.context.runtime, info.context.viewer, stop_id=parse_id(input.stop_id, "stop", "stopId"),
                source_version=input.expected_version, target_route_id=parse_id(input.target_route_id, "route", "targetRouteId"),
                target_version=input.target_expected_version, position=input.position,
            )
            return MoveStopPayload(source=RouteType.from_row(moved.source), target=RouteType.from_row(moved.target))

        return await as_payload(MoveStopPayload, work)

    @strawberry.mutation(permission_classes=[IsStaff], description="Cancel a pending stop (a new route version).")
    async def cancel_stop(self, info: Info, input: CancelStopInput) -> RouteEditPayload:
        return await as_changed(RouteEditPayload, lambda: edits.cancel_stop(
            info.context.runtime, info.context.viewer, stop_id=parse_id(input.stop_id, "stop", "stopId"),
            expected_version=input.expected_version,
        ))

    @strawberry.mutation(permission_classes=[IsStaff], description="Reassign a route's driver or vehicle (a new route version).")
    async def reassign_route(self, info: Info, input: ReassignRouteInput) -> RouteEditPayload:
        return await as_changed(RouteEditPayload, lambda: edits.reassign_route(
            info.context.runtime, info.context.viewer, route_id=parse_id(input.route_id, "route", "routeId"),
            expected_version=input.expected_version,
            driver_id=parse_id(input.driver_id, "driver", "driverId") if input.driver_id else None,
            vehicle_id=parse_id(input.vehicle_id, "vehicle", "vehicleId") if input.vehicle_id else None,
        ))
