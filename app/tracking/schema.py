"""GPS fixes in from drivers, last positions out to the dispatcher's map."""
from datetime import datetime
from zoneinfo import ZoneInfo

import strawberry

from app.api.common import MutationError, as_payload, parse_id
from app.api.context import Info
from app.auth import scopes
from app.auth.permissions import RequiresScope, IsDriver, IsStaff, IsStaffOrIntegrator
from app.auth.principal import may_see_depot
from app.tracking import flows, service
from app.tracking.service import Fix
from app.routes.service import get_visible_route
from app.tracking.types import DriverPositionType, LateRouteProposalType


@strawberry.input(description="One GPS fix, as the phone recorded it.")
class PositionFixInput:
    recorded_at: datetime
    lat: float
    lon: float
    accuracy_m: float | None = None
    speed_mps: float | None = None
    heading_deg: float | None = None


@strawberry.input
class ReportPositionsInput:
    positions: list[PositionFixInput] = strawberry.field(description="Up to 500 fixes, in any order; repeats are ignored.")


@strawberry.type
class ReportPositionsPayload:
    stored: int = 0
    duplicates: int = strawberry.field(default=0, description="Fixes already stored by an earlier call.")
    errors: list[MutationError] = strawberry.field(default_factory=list)


@strawberry.type
class TrackingQuery:
    @strawberry.field(permission_classes=[IsStaffOrIntegrator, RequiresScope(scopes.POSITIONS_READ)], description="Last known position of each driver of a depot today, with the next stop and its planned and live ETA.")
    async def driver_positions(self, info: Info, depot_id: strawberry.ID) -> list[DriverPositionType]:
        depot = await info.context.loaders.depot.load(parse_id(depot_id, "depot", "depotId"))
        if depot is None or not may_see_depot(info.context.viewer, depot.id):
            return []
        local_day = info.context.runtime.clock.now().astimezone(ZoneInfo(depot.timezone))
        session, tenant_id = info.context.session, info.context.viewer.tenant_id
        rows = await service.last_positions_for_depot(session=session, tenant_id=tenant_id, depot_id=depot.id, day=local_day)
        ahead = await service.next_stops(session=session, tenant_id=tenant_id, depot_id=depot.id, day=local_day, driver_ids=[r.driver_id for r in rows])
        return [DriverPositionType.from_row(r, ahead.get(r.driver_id)) for r in rows]

    @strawberry.field(permission_classes=[IsStaff], description="Replans offered because the route runs late, newest first.")
    async def late_route_proposals(self, info: Info, route_id: strawberry.ID) -> list[LateRouteProposalType]:
        session, viewer = info.context.session, info.context.viewer
        route = await get_visible_route(session=session, principal=viewer, route_id=parse_id(route_id, "route", "routeId"))
        if route is None:
            return []
        rows = await service.late_proposals(session=session, tenant_id=viewer.tenant_id, route_id=route.id)
        return [LateRouteProposalType.from_row(r) for r in rows]


@strawberry.type
class TrackingMutation:
    @strawberry.mutation(permission_classes=[IsDriver], description="Driver: a batch of GPS fixes from the phone.")
    async def report_positions(self, info: Info, input: ReportPositionsInput) -> ReportPositionsPayload:
        async def work() -> ReportPositionsPayload:
            fixes = [
                Fix(recorded_at=p.recorded_at, lat=p.lat, lon=p.lon, accuracy_m=p.accuracy_m, speed_mps=p.speed_mps, heading_deg=p.heading_deg)
                for p in input.positions
            ]
            stored, duplicates = await flows.report_positions(info.context.runtime, info.context.viewer, fixes)
            return ReportPositionsPayload(stored=stored, duplicates=duplicates)

        return await as_payload(ReportPositionsPayload, work)
