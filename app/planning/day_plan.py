"""planRoutes: a depot's unassigned stops of a day onto its vehicles, solved with no transaction open, stored as version 1."""
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth.principal import Principal, may_see_depot
from app.errors import DomainError, ErrorCode, invalid, not_found
from app.planning.day_problem import DayProposal, DayRoute, DaySnapshot, FleetVehicle, build_day_problem, day_proposal
from app.planning.plan import MAX_STOPS_PER_IMPORT
from app.realtime.models import RouteChangeKind
from app.realtime.ordering import serialize_event_writers
from app.realtime.route_events import record_route_change
from app.replanning.flows import SOLVER_SHARE_OF_TIMEOUT, matrix_provider
from app.replanning.matrix import MatrixError
from app.replanning.models import RoutePlan
from app.replanning.pool import SolverTimeout, SolverUnavailable, default_pool
from app.replanning.problem_builder import StopSnapshot, with_matrix
from app.replanning.solver import ProblemError, VehicleCost
from app.routes.models import Parcel, ParcelStatus, Route, RouteStatus, Stop, StopStatus, Vehicle
from app.runtime import Runtime, unit_of_work
from app.tenants.models import Depot, Role, User

DAY_PLAN_REASON = "DAY_PLAN"
# A shift nobody named: the working day in the depot's time zone.
DEFAULT_SHIFT = (time(7, 0), time(21, 0))


@dataclass(frozen=True)
class VehicleRequest:
    """A vehicle to plan on, the driver who takes it and its shift (None: the default shift of the depot's day)."""

    vehicle_id: int
    driver_id: int | None = None
    shift_start: datetime | None = None
    shift_end: datetime | None = None


@dataclass(frozen=True)
class DayPlanned:
    """The routes written (version 1, one per vehicle that got stops) and the proposal they came from."""

    routes: list[Route]
    plan_ids: list[int]
    proposal: DayProposal


async def preview_day_plan(
    runtime: Runtime, principal: Principal, *, depot_id: int, service_date: date, vehicles: list[VehicleRequest] | None,
) -> DayProposal:
    """The routes planRoutes would write now; nothing is written."""
    async with runtime.sessionmaker() as session:
        snapshot = await read_day(session=session, principal=principal, depot_id=depot_id, service_date=service_date,
                                  vehicles=vehicles, now=runtime.clock.now())
    return await propose_day(runtime, snapshot)


async def plan_routes(
    runtime: Runtime, principal: Principal, *, depot_id: int, service_date: date, vehicles: list[VehicleRequest] | None,
) -> DayPlanned:
    """Read the day, solve in the pool between two short transactions, write the routes if nothing moved meanwhile."""
    async with runtime.sessionmaker() as session:
        snapshot = await read_day(session=session, principal=principal, depot_id=depot_id, service_date=service_date,
                                  vehicles=vehicles, now=runtime.clock.now())
    proposal = await propose_day(runtime, snapshot)
    async with unit_of_work(runtime) as uow:
        await serialize_event_writers(uow.session, snapshot.tenant_id)  # before row locks: see app/realtime/ordering.py
        await _ensure_unchanged(uow.session, snapshot)
        routes, plan_ids = [], []
        for day_route in proposal.routes:
            route = Route(
                tenant_id=snapshot.tenant_id, depot_id=snapshot.depot_id, driver_id=day_route.vehicle.driver_id,
                vehicle_id=day_route.vehicle.vehicle_id, service_date=snapshot.service_date, status=RouteStatus.PLANNED,
                version=1, updated_at=uow.clock.now(),
            )
            uow.session.add(route)
            await uow.session.flush()
            for planned in day_route.stops:
                stop = await uow.session.get(Stop, planned.stop_id)
                stop.route_id, stop.sequence, stop.planned_eta, stop.version = route.id, planned.sequence, planned.eta, stop.version + 1
                uow.session.add(stop)
            plan = RoutePlan(
                tenant_id=route.tenant_id, route_id=route.id, version=1, created_by=principal.user_id, reason=DAY_PLAN_REASON,
                cost=max(0, day_route_cost(proposal, day_route)), duration_seconds=day_route.duration_seconds,
                distance_m=day_route.distance_m, plan=plan_document(proposal, day_route),
            )
            uow.session.add(plan)
            await uow.session.flush()
            await record_route_change(uow, route=route, kind=RouteChangeKind.ROUTE_REPLANNED, stop_ids=[s.stop_id for s in day_route.stops],
                                      payload={"reason": DAY_PLAN_REASON, "planId": plan.id})
            routes.append(route)
            plan_ids.append(plan.id)
    return DayPlanned(routes, plan_ids, proposal)


async def propose_day(runtime: Runtime, snapshot: DaySnapshot) -> DayProposal:
    """Solve the day with the configured engine in the solver pool; any failure to plan is REPLANNING_FAILED."""
    settings = runtime.settings
    engine = settings.day_plan_engine.value
    seconds = settings.day_plan_solver_timeout_seconds
    problem, closed = build_day_problem(
        snapshot, exploration_level=settings.day_plan_exploration_level, timeout_ms=max(1, int(seconds * 1000 * SOLVER_SHARE_OF_TIMEOUT)),
    )
    try:
        matrix = await (runtime.matrix or matrix_provider(settings)).matrix(snapshot.points())
        plan = await (runtime.solver_pool or default_pool()).solve(with_matrix(problem, matrix), timeout_s=seconds, engine=engine)
    except (MatrixError, ProblemError, SolverTimeout, SolverUnavailable) as error:
        raise DomainError(ErrorCode.REPLANNING_FAILED, f"the day could not be planned: {error}", field="depotId") from None
    return day_proposal(snapshot, plan, closed, engine)


def day_route_cost(proposal: DayProposal, day_route: DayRoute) -> int:
    """The route's share of the plan's cost, by its drive time (the solvers report the cost of the whole plan)."""
    total = sum(r.duration_seconds for r in proposal.routes) or 1
    return round(proposal.cost * day_route.duration_seconds / total)


def plan_document(proposal: DayProposal, day_route: DayRoute) -> dict[str, Any]:
    snapshot = proposal.snapshot
    return {
        "reason": DAY_PLAN_REASON, "engine": proposal.engine, "basedOnVersion": 0, "departure": snapshot.departure.isoformat(),
        "shift": {"start": day_route.vehicle.shift_start.isoformat(), "end": day_route.vehicle.shift_end.isoformat()},
        "start": {"lat": snapshot.depot[0], "lon": snapshot.depot[1], "source": "DEPOT"},
        "stops": [{"stopId": s.stop_id, "sequence": s.sequence, "arrival": s.arrival.isoformat(), "eta": s.eta.isoformat(),
                   "departure": s.departure.isoformat()} for s in day_route.stops],
        "unassigned": [{"stopId": u.stop_id, "reason": u.reason.value, "detail": u.detail} for u in proposal.unassigned],
        "durationSeconds": day_route.duration_seconds, "distanceMeters": day_route.distance_m,
    }


async def read_day(
    *, session: AsyncSession, principal: Principal, depot_id: int, service_date: date, vehicles: list[VehicleRequest] | None,
    now: datetime,
) -> DaySnapshot:
    """The depot's pending stops without a route on that day, and the vehicles to plan them on, as plain values."""
    depot = await session.get(Depot, depot_id)
    if depot is None or depot.tenant_id != principal.tenant_id or not may_see_depot(principal, depot.id):
        raise not_found("depot", "depotId")
    stops = (await session.exec(
        select(Stop).where(Stop.tenant_id == depot.tenant_id, Stop.depot_id == depot.id, Stop.service_date == service_date,
                           col(Stop.route_id).is_(None), Stop.status == StopStatus.PENDING).order_by(col(Stop.id))
    )).all()
    if not stops:
        raise invalid("the depot has no unassigned stops on that day", "serviceDate")
    if len(stops) > MAX_STOPS_PER_IMPORT:
        raise invalid(f"{len(stops)} unassigned stops: plan at most {MAX_STOPS_PER_IMPORT} at a time", "serviceDate")
    fleet = await _fleet(session, depot, service_date, vehicles, now)
    carried = await _parcels(session, depot.tenant_id, [s.id for s in stops])
    return DaySnapshot(
        tenant_id=depot.tenant_id, depot_id=depot.id, service_date=service_date, depot=(depot.lat, depot.lon),
        departure=min(v.shift_start for v in fleet), vehicles=tuple(fleet),
        stops=tuple(StopSnapshot(s.id, s.sequence, s.lat, s.lon, s.window_start, s.window_end, s.service_seconds, carried.get(s.id, 0),
                                 s.planned_eta, s.version, s.customer_id) for s in stops),
        costs=depot_costs(depot),
    )


def depot_costs(depot: Depot) -> VehicleCost | None:
    """The depot's cost model for the solver: per hour and per km in cents; None when the depot has none."""
    if depot.cost_per_hour_cents is None and depot.cost_per_km_cents is None:
        return None
    return VehicleCost(per_hour=depot.cost_per_hour_cents or 0, per_km=depot.cost_per_km_cents or 0)


async def _fleet(session: AsyncSession, depot: Depot, day: date, requests: list[VehicleRequest] | None, now: datetime) -> list[FleetVehicle]:
    busy = set((await session.exec(select(Route.vehicle_id).where(
        Route.tenant_id == depot.tenant_id, Route.service_date == day, col(Route.vehicle_id).is_not(None),
        Route.status != RouteStatus.CANCELLED))).all())
    if requests is None:
        rows = (await session.exec(select(Vehicle).where(Vehicle.depot_id == depot.id, Vehicle.active).order_by(col(Vehicle.id)))).all()
        requests = [VehicleRequest(v.id) for v in rows if v.id not in busy]
        if not requests:
            raise invalid("the depot has no active vehicle without a route on that day", "vehicles")
    if len({r.vehicle_id for r in requests}) != len(requests):
        raise invalid("a vehicle is named twice", "vehicles")
    drivers = [r.driver_id for r in requests if r.driver_id is not None]
    if len(set(drivers)) != len(drivers):
        raise invalid("a driver is named twice", "vehicles")
    driving = set((await session.exec(select(Route.driver_id).where(
        Route.tenant_id == depot.tenant_id, Route.service_date == day, col(Route.driver_id).in_(drivers or [-1]),
        Route.status != RouteStatus.CANCELLED))).all())
    zone = ZoneInfo(depot.timezone)
    fleet = []
    for request in requests:
        vehicle = await session.get(Vehicle, request.vehicle_id)
        if vehicle is None or vehicle.tenant_id != depot.tenant_id or vehicle.depot_id != depot.id or not vehicle.active:
            raise not_found("vehicle", "vehicles")
        if vehicle.id in busy:
            raise DomainError(ErrorCode.INVALID_INPUT, f"vehicle {vehicle.label!r} already has a route on that day", field="vehicles")
        if request.driver_id is not None:
            driver = await session.get(User, request.driver_id)
            if driver is None or driver.tenant_id != depot.tenant_id or driver.role is not Role.DRIVER or not driver.active:
                raise not_found("driver", "vehicles")
            if driver.id in driving:
                raise DomainError(ErrorCode.INVALID_INPUT, f"driver {driver.name!r} already has a route on that day", field="vehicles")
        start = request.shift_start or datetime.combine(day, DEFAULT_SHIFT[0], zone)
        end = request.shift_end or datetime.combine(day, DEFAULT_SHIFT[1], zone)
        if end <= start:
            raise invalid("a shift must end after it starts", "vehicles")
        if end <= now:
            raise invalid(f"the shift of {vehicle.label!r} is over", "vehicles")
        fleet.append(FleetVehicle(vehicle.id, vehicle.label, vehicle.capacity, request.driver_id, max(start, now), end))
    return fleet


async def _parcels(session: AsyncSession, tenant_id: int, stop_ids: list[int]) -> dict[int, int]:
    """Parcels to load per stop: one unit of vehicle capacity each."""
    rows = await session.exec(
        select(Parcel.stop_id, func.count()).where(Parcel.tenant_id == tenant_id, col(Parcel.stop_id).in_(stop_ids),
                                                  Parcel.status == ParcelStatus.ON_ROUTE).group_by(Parcel.stop_id)
    )
    return dict(rows.all())


async def _ensure_unchanged(session: AsyncSession, snapshot: DaySnapshot) -> None:
    """VERSION_CONFLICT when a stop was changed or planned, or a vehicle got a route, while the day was being solved."""
    ids = [s.id for s in snapshot.stops]
    rows = (await session.exec(select(Stop).where(col(Stop.id).in_(ids)).with_for_update())).all()
    current = {s.id: (s.version, s.route_id, s.status) for s in rows}
    if current != {s.id: (s.version, None, StopStatus.PENDING) for s in snapshot.stops}:
        raise _conflict("the depot's unassigned stops changed while the day was being planned")
    vehicle_ids = [v.vehicle_id for v in snapshot.vehicles]
    taken = (await session.exec(select(Route.id).where(
        Route.tenant_id == snapshot.tenant_id, Route.service_date == snapshot.service_date, col(Route.vehicle_id).in_(vehicle_ids),
        Route.status != RouteStatus.CANCELLED))).first()
    if taken is not None:
        raise _conflict("a vehicle got a route while the day was being planned")


def _conflict(message: str) -> DomainError:
    return DomainError(ErrorCode.VERSION_CONFLICT, f"{message}; plan again", field="depotId")
