"""Day-of edits by dispatchers: add, move or cancel a stop, reassign a route; each a new route version on routeUpdates.

Adding (without a chosen position), moving and cancelling a stop also ask for a re-solve (RouteEdited): after the
edit commits, the replanning handler orders the route again as its next version, version-checked, with one retry.
"""
from dataclasses import dataclass

from sqlmodel import col, select

from app.auth.principal import Principal
from app.customers.service import upsert as upsert_customer
from app.events import RouteEdited
from app.errors import DomainError, ErrorCode, ensure_version, invalid, not_found
from app.planning.plan import PlanStop
from app.realtime.models import RouteChangeKind
from app.realtime.ordering import serialize_event_writers
from app.realtime.route_events import record_route_change
from app.routes.models import Parcel, Route, RouteStatus, Stop, StopStatus, Vehicle
from app.routes.permissions import may_see_route
from app.runtime import Runtime, UnitOfWork, unit_of_work
from app.tenants.models import Role, User

CLOSED_ROUTES = frozenset({RouteStatus.COMPLETED, RouteStatus.CANCELLED})


async def _route(uow: UnitOfWork, principal: Principal, route_id: int, expected_version: int, field: str = "routeId") -> Route:
    """The route, locked, when the dispatcher may edit it and has seen its current version."""
    await serialize_event_writers(uow.session, principal.tenant_id)  # before row locks: see app/realtime/ordering.py
    route = (await uow.session.exec(select(Route).where(Route.id == route_id).with_for_update())).first()
    if route is None or not may_see_route(principal, route):
        raise not_found("route", field)
    if route.status in CLOSED_ROUTES:
        raise DomainError(ErrorCode.INVALID_TRANSITION, f"the route is {route.status.value}", field=field)
    ensure_version(current=route.version, expected=expected_version, what="the route")
    return route


def _on_a_route(stop: Stop) -> int:
    """The stop's route id; a stop still waiting for planRoutes has none to edit."""
    if stop.route_id is None:
        raise invalid("the stop is not on a route yet: planRoutes puts it on one", "stopId")
    return stop.route_id


async def _stops(uow: UnitOfWork, route_id: int) -> list[Stop]:
    return list((await uow.session.exec(select(Stop).where(Stop.route_id == route_id).order_by(col(Stop.sequence)))).all())


async def _changed(
    uow: UnitOfWork, route: Route, stops: list[Stop], kind: RouteChangeKind, stop_ids: list[int], reason: str, *, replan: bool = False,
) -> None:
    """The edit as the route's next version; with `replan`, the solver orders the route again once this commits."""
    for sequence, stop in enumerate(stops):
        stop.sequence = sequence
    uow.session.add_all([*stops, route])
    route.version += 1
    route.updated_at = uow.clock.now()
    await uow.session.flush()
    await record_route_change(uow, route=route, kind=kind, stop_ids=stop_ids, payload={"reason": reason})
    if replan:
        await uow.emit(RouteEdited(route.tenant_id, route_id=route.id, reason=reason))


async def _latest(runtime: Runtime, *routes: Route) -> list[Route]:
    """The routes as they stand now: a re-solve after the commit may have written a newer version."""
    async with runtime.sessionmaker() as session:
        return [await session.get(Route, route.id) for route in routes]


def _pending(stop: Stop) -> None:
    if stop.status is not StopStatus.PENDING or stop.attempts:
        raise DomainError(ErrorCode.STOP_ALREADY_COMPLETED, "the stop has already been attempted", field="stopId")


def _position(position: int | None, stops: list[Stop]) -> int:
    if position is None:
        return len(stops)
    if not 0 <= position <= len(stops):
        raise invalid(f"position is 0 to {len(stops)}", "position")
    return position


async def add_stop(runtime: Runtime, principal: Principal, *, route_id: int, expected_version: int, stop: PlanStop, position: int | None) -> Route:
    """Insert a new stop (customer upserted by ref) at `position` (default: last)."""
    if stop.lat is None or stop.lon is None:
        raise invalid("lat and lon are required (no geocoder is configured)", "lat")
    if stop.window_end <= stop.window_start:
        raise invalid("the time window must end after it starts", "timeWindow")
    async with unit_of_work(runtime) as uow:
        route = await _route(uow, principal, route_id, expected_version)
        customer, _ = await upsert_customer(session=uow.session, tenant_id=route.tenant_id, data=stop.customer)
        stops = await _stops(uow, route.id)
        new = Stop(
            tenant_id=route.tenant_id, route_id=route.id, sequence=0, customer_id=customer.id, address=stop.address, lat=stop.lat,
            lon=stop.lon, window_start=stop.window_start, window_end=stop.window_end, service_seconds=stop.service_seconds,
            external_ref=stop.external_ref or None,
        )
        uow.session.add(new)
        await uow.session.flush()
        uow.session.add_all([Parcel(tenant_id=route.tenant_id, stop_id=new.id, barcode=p.barcode, declared_value_cents=p.declared_value_cents,
                                    signature_required=p.signature_required) for p in stop.parcels])
        stops.insert(_position(position, stops), new)
        # A stop placed where the dispatcher chose stays there; one appended is put where the solver finds best.
        await _changed(uow, route, stops, RouteChangeKind.ROUTE_UPDATED, [new.id], "STOP_ADDED", replan=position is None)
    return (await _latest(runtime, route))[0]


@dataclass(frozen=True)
class MoveResult:
    source: Route
    target: Route


async def move_stop(
    runtime: Runtime, principal: Principal, *, stop_id: int, source_version: int, target_route_id: int, target_version: int,
    position: int | None,
) -> MoveResult:
    """Move a pending stop to another route of the same day; both routes get a new version."""
    async with unit_of_work(runtime) as uow:
        stop = await uow.session.get(Stop, stop_id)
        if stop is None or stop.tenant_id != principal.tenant_id:
            raise not_found("stop", "stopId")
        source = await _route(uow, principal, _on_a_route(stop), source_version, "stopId")
        if target_route_id == source.id:
            raise invalid("the stop is already on this route; pick another", "targetRouteId")
        target = await _route(uow, principal, target_route_id, target_version, "targetRouteId")
        if target.service_date != source.service_date:
            raise invalid("both routes must be on the same service date", "targetRouteId")
        _pending(stop)
        remaining = [s for s in await _stops(uow, source.id) if s.id != stop.id]
        arriving = await _stops(uow, target.id)
        arriving.insert(_position(position, arriving), stop)
        stop.route_id, stop.version = target.id, stop.version + 1
        await _changed(uow, source, remaining, RouteChangeKind.ROUTE_UPDATED, [stop.id], "STOP_MOVED_OUT", replan=True)
        await _changed(uow, target, arriving, RouteChangeKind.ROUTE_UPDATED, [stop.id], "STOP_MOVED_IN", replan=position is None)
    return MoveResult(*await _latest(runtime, source, target))


async def cancel_stop(runtime: Runtime, principal: Principal, *, stop_id: int, expected_version: int) -> Route:
    """Take a pending stop off its route (SKIPPED, parcels HELD at the depot); nothing is deleted."""
    async with unit_of_work(runtime) as uow:
        stop = await uow.session.get(Stop, stop_id)
        if stop is None or stop.tenant_id != principal.tenant_id:
            raise not_found("stop", "stopId")
        route = await _route(uow, principal, _on_a_route(stop), expected_version, "stopId")
        _pending(stop)
        stop.status, stop.version = StopStatus.SKIPPED, stop.version + 1
        for parcel in (await uow.session.exec(select(Parcel).where(Parcel.stop_id == stop.id))).all():
            parcel.status = parcel.status.HELD
            uow.session.add(parcel)
        await _changed(uow, route, await _stops(uow, route.id), RouteChangeKind.STOP_UPDATED, [stop.id], "STOP_CANCELLED", replan=True)
    return (await _latest(runtime, route))[0]


async def reassign_route(
    runtime: Runtime, principal: Principal, *, route_id: int, expected_version: int, driver_id: int | None, vehicle_id: int | None,
) -> Route:
    """Give the route another driver and/or vehicle of the tenant (None: keep the current one)."""
    if driver_id is None and vehicle_id is None:
        raise invalid("name a driver or a vehicle", "driverId")
    async with unit_of_work(runtime) as uow:
        route = await _route(uow, principal, route_id, expected_version)
        if driver_id is not None:
            driver = await uow.session.get(User, driver_id)
            if driver is None or driver.tenant_id != route.tenant_id or driver.role is not Role.DRIVER or not driver.active:
                raise not_found("driver", "driverId")
            route.driver_id = driver.id
        if vehicle_id is not None:
            vehicle = await uow.session.get(Vehicle, vehicle_id)
            if vehicle is None or vehicle.tenant_id != route.tenant_id or not vehicle.active:
                raise not_found("vehicle", "vehicleId")
            route.vehicle_id = vehicle.id
        await _changed(uow, route, await _stops(uow, route.id), RouteChangeKind.ROUTE_UPDATED, [], "REASSIGNED")
        return route
