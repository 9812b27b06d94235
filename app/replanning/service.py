"""Reading a route for replanning and writing a new route version from a proposal; no commits, no I/O beyond the DB."""
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth.principal import Principal
from app.clock import current_time
from app.errors import DomainError, ErrorCode, invalid, not_found
from app.geo import haversine_km
from app.replanning.models import RoutePlan
from app.replanning.permissions import may_replan_route
from app.replanning.problem_builder import ProposedRoute, RouteSnapshot, StopSnapshot
from app.routes.models import Parcel, ParcelStatus, Route, RouteStatus, Stop, StopStatus, Vehicle
from app.routes.permissions import may_see_route
from app.routes.service import COMPLETED_STOP_STATUSES
from app.tenants.models import Depot
from app.tracking.models import DriverLastPosition

# A fix older than this says where the driver was, not where they are: start from the depot instead.
POSITION_MAX_AGE = timedelta(hours=2)
# Standing this close to a pending stop means the driver is serving it.
SERVING_RADIUS_KM = 0.05
PARCELS_NOT_CARRIED = (ParcelStatus.DELIVERED, ParcelStatus.RETURNED)
CLOSED_ROUTE_STATUSES = frozenset({RouteStatus.COMPLETED, RouteStatus.CANCELLED})
MAX_REBALANCED_ROUTES = 20


@dataclass(frozen=True)
class EtaChange:
    """A planned stop whose ETA moved by at least the notification threshold."""

    stop_id: int
    customer_id: int
    previous: datetime
    current: datetime

    @property
    def minutes(self) -> int:
        return round((self.current - self.previous).total_seconds() / 60)


async def get_replannable_route(*, session: AsyncSession, principal: Principal, route_id: int) -> Route:
    """The route when the caller may replan it; another tenant's or depot's route does not exist for them."""
    route = await session.get(Route, route_id)
    if route is None or not may_see_route(principal, route):
        raise not_found("route", "routeId")
    if not may_replan_route(principal, route):
        raise DomainError(ErrorCode.FORBIDDEN, "only dispatchers and supervisors can replan a route", field="routeId")
    return route


async def get_rebalanceable_routes(*, session: AsyncSession, principal: Principal, route_ids: list[int]) -> list[Route]:
    """Two or more routes of one depot that have not left it yet: only then are the parcels still there to share out."""
    if len(set(route_ids)) != len(route_ids) or not 2 <= len(route_ids) <= MAX_REBALANCED_ROUTES:
        raise invalid(f"name 2 to {MAX_REBALANCED_ROUTES} different routes", "routes")
    routes = [await get_replannable_route(session=session, principal=principal, route_id=route_id) for route_id in route_ids]
    if len({(route.depot_id, route.service_date) for route in routes}) != 1:
        raise invalid("the routes must leave from the same depot on the same day", "routes")
    started = [route.id for route in routes if route.status is not RouteStatus.PLANNED]
    if started:
        raise DomainError(
            ErrorCode.INVALID_TRANSITION, f"routes {started} have left the depot: their parcels are in the vans", field="routes",
        )
    return routes


async def read_snapshot(
    *, session: AsyncSession, route: Route, now: datetime, serving_stop_id: int | None = None, require_remaining: bool = True,
) -> RouteSnapshot:
    """Everything the solver needs, as plain values; refuses closed routes and unknown serving stops."""
    if route.status in CLOSED_ROUTE_STATUSES:
        raise DomainError(ErrorCode.INVALID_TRANSITION, f"a {route.status.value} route cannot be replanned", field="routeId")
    query = select(Stop).where(Stop.route_id == route.id, Stop.tenant_id == route.tenant_id).order_by(col(Stop.sequence), col(Stop.id))
    stops = (await session.exec(query)).all()
    carried = await _parcels_per_stop(session=session, tenant_id=route.tenant_id, stop_ids=[s.id for s in stops])
    snapshots = [_stop_snapshot(stop, carried.get(stop.id, 0)) for stop in stops]
    completed = tuple(s for s, stop in zip(snapshots, stops) if stop.status in COMPLETED_STOP_STATUSES)
    remaining = tuple(s for s, stop in zip(snapshots, stops) if stop.status not in COMPLETED_STOP_STATUSES)
    if require_remaining and not remaining:
        raise invalid("the route has no remaining stops to plan", "routeId")
    depot = await session.get(Depot, route.depot_id)
    vehicle = await session.get(Vehicle, route.vehicle_id) if route.vehicle_id else None
    fix = await session.get(DriverLastPosition, route.driver_id) if route.driver_id else None
    use_fix = fix is not None and fix.tenant_id == route.tenant_id and fix.recorded_at >= now - POSITION_MAX_AGE
    start, source = ((fix.lat, fix.lon), "GPS") if use_fix else ((depot.lat, depot.lon), "DEPOT")
    if serving_stop_id is not None and serving_stop_id not in {s.id for s in remaining}:
        raise invalid("the serving stop is not a remaining stop of this route", "servingStopId")
    if serving_stop_id is None and use_fix:
        # Only a pending stop: standing at one that just failed means the driver is leaving it.
        pending = {stop.id for stop in stops if stop.status is StopStatus.PENDING}
        serving_stop_id = _stop_at(start, [s for s in remaining if s.id in pending])
    return RouteSnapshot(
        route_id=route.id, tenant_id=route.tenant_id, version=route.version,
        capacity=vehicle.capacity if vehicle and vehicle.tenant_id == route.tenant_id else None,
        depot=(depot.lat, depot.lon), start=start, start_source=source, departure=now,
        completed=completed, remaining=remaining, serving_stop_id=serving_stop_id,
    )


@dataclass(frozen=True)
class NewVersion:
    """One route's new version as written: the route, its stored plan, and the ETAs that moved."""

    route: Route
    plan: RoutePlan
    eta_changes: list[EtaChange]


async def write_new_versions(
    *, session: AsyncSession, proposals: list[tuple[RouteSnapshot, ProposedRoute, dict[str, Any]]], created_by: int | None,
    reason: str, eta_threshold: timedelta,
) -> list[NewVersion]:
    """Apply each (snapshot, proposal, plan document) as its route's next version, or VERSION_CONFLICT when any moved on.

    A stop planned on another route than its own moves to it (rebalancing).
    """
    routes = [await _bump_version(session=session, snapshot=snapshot) for snapshot, _, _ in proposals]
    tenant_id = proposals[0][0].tenant_id
    rows = await session.exec(select(Stop).where(col(Stop.route_id).in_([r.id for r in routes]), Stop.tenant_id == tenant_id))
    stops = {stop.id: stop for stop in rows.all()}
    read = {s.id: s.version for snapshot, _, _ in proposals for s in (*snapshot.completed, *snapshot.remaining)}
    if {stop_id: stop.version for stop_id, stop in stops.items()} != read:
        raise _conflict("the route's stops changed while it was being replanned")
    written = []
    for route, (_, proposal, document) in zip(routes, proposals):
        changes = _apply(session=session, stops=stops, route_id=route.id, proposal=proposal, eta_threshold=eta_threshold)
        row = RoutePlan(
            tenant_id=route.tenant_id, route_id=route.id, version=route.version, created_by=created_by, reason=reason[:40],
            cost=proposal.cost, duration_seconds=proposal.duration_seconds, distance_m=proposal.distance_m, plan=document,
        )
        session.add(row)
        written.append(NewVersion(route, row, changes))
    await session.flush()
    return written


async def _bump_version(*, session: AsyncSession, snapshot: RouteSnapshot) -> Route:
    """Advance the route's version only if it is still the one read (atomic on both databases)."""
    bumped = await session.exec(
        update(Route)
        .where(col(Route.id) == snapshot.route_id, col(Route.tenant_id) == snapshot.tenant_id, col(Route.version) == snapshot.version)
        .values(version=snapshot.version + 1, updated_at=current_time())
        .execution_options(synchronize_session=False)
    )
    if bumped.rowcount != 1:
        raise _conflict("the route changed while it was being replanned")
    return await session.get(Route, snapshot.route_id, populate_existing=True)


def _apply(
    *, session: AsyncSession, stops: dict[int, Stop], route_id: int, proposal: ProposedRoute, eta_threshold: timedelta,
) -> list[EtaChange]:
    """Write the proposal's route, sequences and ETAs onto the stops; return the ETAs that moved past the threshold."""
    etas = {p.stop_id: p.eta for p in proposal.planned} | {u.stop_id: None for u in proposal.unassigned}
    changes = []
    for stop_id, sequence in proposal.sequences.items():
        stop = stops[stop_id]
        eta = etas.get(stop_id, stop.planned_eta)
        if stop.planned_eta is not None and eta is not None and abs(eta - stop.planned_eta) >= eta_threshold:
            changes.append(EtaChange(stop_id, stop.customer_id, stop.planned_eta, eta))
        if (stop.route_id, stop.sequence, stop.planned_eta) != (route_id, sequence, eta):
            stop.route_id, stop.sequence, stop.planned_eta, stop.version = route_id, sequence, eta, stop.version + 1
            session.add(stop)
    return changes


async def _parcels_per_stop(*, session: AsyncSession, tenant_id: int, stop_ids: list[int]) -> dict[int, int]:
    """Parcels still in the van per stop: one unit of vehicle capacity each."""
    if not stop_ids:
        return {}
    query = (
        select(Parcel.stop_id, func.count())
        .where(Parcel.tenant_id == tenant_id, col(Parcel.stop_id).in_(stop_ids), col(Parcel.status).not_in(PARCELS_NOT_CARRIED))
        .group_by(Parcel.stop_id)
    )
    return {stop_id: count for stop_id, count in (await session.exec(query)).all()}


def _stop_snapshot(stop: Stop, parcels: int) -> StopSnapshot:
    return StopSnapshot(
        id=stop.id, sequence=stop.sequence, lat=stop.lat, lon=stop.lon, window_start=stop.window_start,
        window_end=stop.window_end, service_seconds=stop.service_seconds, parcels=parcels,
        planned_eta=stop.planned_eta, version=stop.version, customer_id=stop.customer_id,
    )


def _stop_at(position: tuple[float, float], stops: list[StopSnapshot]) -> int | None:
    """The nearest of the stops within the serving radius of the position, if any."""
    nearest = min(stops, key=lambda s: haversine_km(*position, s.lat, s.lon), default=None)
    return nearest.id if nearest and haversine_km(*position, nearest.lat, nearest.lon) <= SERVING_RADIUS_KM else None


def _conflict(message: str) -> DomainError:
    return DomainError(ErrorCode.VERSION_CONFLICT, f"{message}; reload and retry", field="expectedVersion")
