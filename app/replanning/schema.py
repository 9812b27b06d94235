"""Replanning for dispatchers: preview a new order, or apply it as a new route version."""
import strawberry

from app.api.common import as_payload, parse_id
from app.api.context import Info
from app.auth.permissions import IsStaff
from app.errors import invalid
from app.replanning import flows
from app.replanning.types import (
    RebalanceRoutesPayload,
    ReplanPreviewResult,
    ReplanProposalType,
    ReplanRoutePayload,
    UnassignedStopType,
)
from app.routes.types import RouteType


@strawberry.input
class ReplanRouteInput:
    route_id: strawberry.ID
    expected_version: int = strawberry.field(description="The route version you looked at; a newer one is a VERSION_CONFLICT.")
    serving_stop_id: strawberry.ID | None = strawberry.field(
        default=None, description="The stop the driver is serving now, kept first. By default: a stop within 50 m of the driver's last fix.",
    )


@strawberry.input(description="A route and the version you looked at.")
class RouteVersionInput:
    route_id: strawberry.ID
    expected_version: int


@strawberry.input
class RebalanceRoutesInput:
    routes: list[RouteVersionInput] = strawberry.field(
        description="2 to 20 routes of one depot and day that have not left the depot (status PLANNED).",
    )


@strawberry.type
class ReplanningQuery:
    @strawberry.field(permission_classes=[IsStaff], description="Dispatchers: the order and ETAs a replan would give now; nothing is written.")
    async def preview_replan(self, info: Info, route_id: strawberry.ID, serving_stop_id: strawberry.ID | None = None) -> ReplanPreviewResult:
        async def work() -> ReplanPreviewResult:
            proposal = await flows.preview_replan(
                info.context.runtime, info.context.viewer, route_id=parse_id(route_id, "route", "routeId"),
                serving_stop_id=parse_id(serving_stop_id, "stop", "servingStopId") if serving_stop_id else None,
            )
            return ReplanPreviewResult(proposal=ReplanProposalType.from_proposal(proposal))

        return await as_payload(ReplanPreviewResult, work)


@strawberry.type
class ReplanningMutation:
    @strawberry.mutation(
        permission_classes=[IsStaff],
        description="Dispatchers: re-order the route's remaining stops from the driver's position as a new route version.",
    )
    async def replan_route(self, info: Info, input: ReplanRouteInput) -> ReplanRoutePayload:
        async def work() -> ReplanRoutePayload:
            replanned = await flows.replan_route(
                info.context.runtime, info.context.viewer, route_id=parse_id(input.route_id, "route", "routeId"),
                expected_version=input.expected_version,
                serving_stop_id=parse_id(input.serving_stop_id, "stop", "servingStopId") if input.serving_stop_id else None,
            )
            proposal = ReplanProposalType.from_proposal(replanned.proposal)
            return ReplanRoutePayload(
                route=RouteType.from_row(replanned.route), plan_id=strawberry.ID(str(replanned.plan.id)), proposal=proposal,
                unassigned=[UnassignedStopType.from_unassigned(u) for u in replanned.proposal.route.unassigned],
            )

        return await as_payload(ReplanRoutePayload, work)

    @strawberry.mutation(
        permission_classes=[IsStaff],
        description="Dispatchers: share the remaining stops of routes still at the depot out again across their vans.",
    )
    async def rebalance_routes(self, info: Info, input: RebalanceRoutesInput) -> RebalanceRoutesPayload:
        async def work() -> RebalanceRoutesPayload:
            expected = {parse_id(r.route_id, "route", "routes"): r.expected_version for r in input.routes}
            if len(expected) != len(input.routes):
                raise invalid("a route is named twice", "routes")
            replanned = await flows.rebalance_routes(info.context.runtime, info.context.viewer, expected_versions=expected)
            return RebalanceRoutesPayload(
                routes=[RouteType.from_row(r.route) for r in replanned],
                proposals=[ReplanProposalType.from_proposal(r.proposal) for r in replanned],
                moved_stops=sum(1 for r in replanned for stop_id in r.proposal.route.sequences if stop_id not in _own_stops(r)),
                unassigned=[UnassignedStopType.from_unassigned(u) for r in replanned for u in r.proposal.route.unassigned],
            )

        return await as_payload(RebalanceRoutesPayload, work)


def _own_stops(replanned: flows.Replanned) -> set[int]:
    """The stops the route had when it was read."""
    snapshot = replanned.proposal.snapshot
    return {stop.id for stop in (*snapshot.completed, *snapshot.remaining)}
