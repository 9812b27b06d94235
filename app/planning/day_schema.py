"""planRoutes and its preview for supervisors: thin resolvers over app/planning/day_plan.py."""
from datetime import date, datetime

import strawberry

from app.api.common import MutationError, as_payload, parse_id
from app.api.context import Info
from app.auth.permissions import MayPlanDays
from app.planning import day_plan
from app.planning.day_problem import DayProposal, DayRoute
from app.planning.schema import TimeWindowInput
from app.replanning.types import PlannedStopType, UnassignedStopType
from app.routes.types import RouteType


@strawberry.input(description="A vehicle to plan on, the driver who takes it, and its shift (default 07:00-21:00 in the depot's time zone).")
class PlanVehicleInput:
    vehicle_id: strawberry.ID
    driver_id: strawberry.ID | None = None
    shift: TimeWindowInput | None = None


@strawberry.input(description="A depot's day: its stops imported without a route are planned onto the vehicles.")
class PlanRoutesInput:
    depot_id: strawberry.ID
    service_date: date
    vehicles: list[PlanVehicleInput] | None = strawberry.field(
        default=None, description="Default: every active vehicle of the depot without a route that day, no driver, the default shift.",
    )


@strawberry.type(description="One vehicle's route in a day plan.")
class DayPlanRoute:
    vehicle_id: strawberry.ID
    vehicle_label: str
    driver_id: strawberry.ID | None
    shift_start: datetime
    shift_end: datetime
    stops: list[PlannedStopType] = strawberry.field(description="In driving order, with planned ETAs.")
    drive_seconds: int
    distance_meters: int | None

    @classmethod
    def from_route(cls, route: DayRoute) -> "DayPlanRoute":
        v = route.vehicle
        return cls(
            vehicle_id=strawberry.ID(str(v.vehicle_id)), vehicle_label=v.label,
            driver_id=strawberry.ID(str(v.driver_id)) if v.driver_id else None, shift_start=v.shift_start, shift_end=v.shift_end,
            stops=[PlannedStopType.from_proposed(s, None) for s in route.stops], drive_seconds=route.duration_seconds,
            distance_meters=route.distance_m,
        )


@strawberry.type(description="A day plan: routes per vehicle, and the stops no vehicle can serve with why.")
class DayPlanProposal:
    depot_id: strawberry.ID
    service_date: date
    engine: str = strawberry.field(description="vroom or pyvrp (DETOUR_DAY_PLAN_ENGINE).")
    routes: list[DayPlanRoute]
    unassigned: list[UnassignedStopType] = strawberry.field(description="They stay without a route (sequence 0).")
    cost: int = strawberry.field(description="The solver's cost: cents under the depot's cost model, else travel seconds.")

    @classmethod
    def from_proposal(cls, proposal: DayProposal) -> "DayPlanProposal":
        return cls(
            depot_id=strawberry.ID(str(proposal.snapshot.depot_id)), service_date=proposal.snapshot.service_date, engine=proposal.engine,
            routes=[DayPlanRoute.from_route(r) for r in proposal.routes],
            unassigned=[UnassignedStopType.from_unassigned(u) for u in proposal.unassigned], cost=proposal.cost,
        )


@strawberry.type
class PlanRoutesPayload:
    routes: list[RouteType] = strawberry.field(default_factory=list, description="The new routes, each at version 1.")
    proposal: DayPlanProposal | None = None
    unassigned: list[UnassignedStopType] = strawberry.field(default_factory=list)
    errors: list[MutationError] = strawberry.field(default_factory=list)


@strawberry.type(description="A day plan, or why none could be computed.")
class DayPlanPreviewResult:
    proposal: DayPlanProposal | None = None
    errors: list[MutationError] = strawberry.field(default_factory=list)


def _arguments(input: PlanRoutesInput) -> dict:
    vehicles = None if input.vehicles is None else [
        day_plan.VehicleRequest(
            parse_id(v.vehicle_id, "vehicle", "vehicles"), parse_id(v.driver_id, "driver", "vehicles") if v.driver_id else None,
            v.shift.start if v.shift else None, v.shift.end if v.shift else None,
        )
        for v in input.vehicles
    ]
    return {"depot_id": parse_id(input.depot_id, "depot", "depotId"), "service_date": input.service_date, "vehicles": vehicles}


@strawberry.type
class DayPlanQuery:
    @strawberry.field(permission_classes=[MayPlanDays], description="Supervisors: the routes planRoutes would build now; nothing is written.")
    async def preview_plan_routes(self, info: Info, input: PlanRoutesInput) -> DayPlanPreviewResult:
        async def work() -> DayPlanPreviewResult:
            proposal = await day_plan.preview_day_plan(info.context.runtime, info.context.viewer, **_arguments(input))
            return DayPlanPreviewResult(proposal=DayPlanProposal.from_proposal(proposal))

        return await as_payload(DayPlanPreviewResult, work)


@strawberry.type
class DayPlanMutation:
    @strawberry.mutation(
        permission_classes=[MayPlanDays],
        description="Supervisors: plan the depot's stops imported without a route onto its vehicles (time windows, capacities, "
        "shifts), as new routes at version 1 with planned ETAs; stops no vehicle can serve stay unassigned, with why.",
    )
    async def plan_routes(self, info: Info, input: PlanRoutesInput) -> PlanRoutesPayload:
        async def work() -> PlanRoutesPayload:
            planned = await day_plan.plan_routes(info.context.runtime, info.context.viewer, **_arguments(input))
            return PlanRoutesPayload(
                routes=[RouteType.from_row(r) for r in planned.routes], proposal=DayPlanProposal.from_proposal(planned.proposal),
                unassigned=[UnassignedStopType.from_unassigned(u) for u in planned.proposal.unassigned],
            )

        return await as_payload(PlanRoutesPayload, work)
