"""importRoutePlan: write a checked plan idempotently by external refs, all or nothing, and tell the drivers."""
from collections.abc import Callable

from sqlmodel import col, select

from app.customers.models import Customer
from app.customers.service import CustomerData
from app.planning.plan import MAX_STOPS_PER_IMPORT, ImportSummary, PlanRoute, PlanStop, RoutePlan
from app.planning.validation import CheckedPlan, check_plan
from app.realtime.models import RouteChangeKind
from app.realtime.route_events import record_route_change
from app.routes.models import Parcel, Route, RouteStatus, Stop, StopStatus
from app.runtime import Runtime, UnitOfWork, unit_of_work

Progress = Callable[[int, int], None]  # (routes written, routes in the plan)


class _DryRun(Exception):
    """Raised inside the unit of work so a dry run rolls everything back."""


async def import_route_plan(
    runtime: Runtime, *, tenant_id: int, plan: RoutePlan, dry_run: bool = False,
    max_stops: int | None = MAX_STOPS_PER_IMPORT, progress: Progress | None = None,
) -> ImportSummary:
    """Create or update the plan's routes, stops, parcels and customers; PlanRejected (nothing written) on bad rows."""
    summary = ImportSummary()
    try:
        async with unit_of_work(runtime) as uow:
            checked = await check_plan(session=uow.session, tenant_id=tenant_id, plan=plan, max_stops=max_stops)
            await apply_plan(uow, tenant_id=tenant_id, checked=checked, summary=summary, progress=progress)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return summary


async def _upsert_customers(uow: UnitOfWork, tenant_id: int, customers: dict[str, CustomerData], summary: ImportSummary) -> dict[str, int]:
    session = uow.session
    rows = await session.exec(select(Customer).where(Customer.tenant_id == tenant_id, col(Customer.external_ref).in_(sorted(customers))))
    existing = {c.external_ref: c for c in rows.all()}
    for ref, data in customers.items():
        customer = existing.get(ref)
        values = {**data.__dict__, "preferred_channels": list(data.preferred_channels)}
        if customer is None:
            customer = existing[ref] = Customer(tenant_id=tenant_id, **values)
            summary.customers_created += 1
        elif any(getattr(customer, k) != v for k, v in values.items()):
            summary.customers_updated += 1
            for k, v in values.items():
                setattr(customer, k, v)
        else:
            continue
        session.add(customer)
    await session.flush()
    return {ref: c.id for ref, c in existing.items()}


async def apply_plan(
    uow: UnitOfWork, *, tenant_id: int, checked: CheckedPlan, summary: ImportSummary, progress: Progress | None = None,
) -> None:
    session, plan = uow.session, checked.plan
    customer_ids = await _upsert_customers(uow, tenant_id, checked.customers, summary)
    refs = [r.external_ref for r in plan.routes]
    routes = {
        r.external_ref: r for r in (await session.exec(
            select(Route).where(Route.tenant_id == tenant_id, Route.service_date == plan.service_date, col(Route.external_ref).in_(refs))
        )).all()
    }
    stop_refs = [s.external_ref for r in plan.routes for s in r.stops]
    stops = {s.external_ref: s for s in (await session.exec(select(Stop).where(Stop.tenant_id == tenant_id, col(Stop.external_ref).in_(stop_refs)))).all()}
    route_stops = {
        s.id: s for s in (await session.exec(select(Stop).where(col(Stop.route_id).in_([r.id for r in routes.values()] or [-1])))).all()
    }
    barcodes = {b for r in plan.routes for s in r.stops for b in (p.barcode for p in s.parcels)}
    parcels = {p.barcode: p for p in (await session.exec(select(Parcel).where(Parcel.tenant_id == tenant_id, col(Parcel.barcode).in_(sorted(barcodes))))).all()}
    new_parcels: list[tuple[Stop, PlanStop]] = []
    changes: list[tuple[Route, list[Stop], bool]] = []
    for planned in plan.routes:
        route = routes.get(planned.external_ref)
        created = route is None
        if created:
            route = Route(tenant_id=tenant_id, depot_id=checked.depot.id, service_date=plan.service_date, external_ref=planned.external_ref)
        changed_route = _assign(route, planned, checked)
        session.add(route)
        await session.flush()
        touched: list[Stop] = []
        kept_ids: set[int] = set()
        for sequence, planned_stop in enumerate(planned.stops):
            stop = stops.get(planned_stop.external_ref)
            if stop is not None and stop.id is not None:
                kept_ids.add(stop.id)
            _write_stop(route, stop, planned_stop, sequence, customer_ids, summary, new_parcels, touched)
        for stop in route_stops.values():
            if stop.route_id == route.id and stop.id not in kept_ids and stop.status is StopStatus.PENDING:
                stop.status, stop.version = StopStatus.SKIPPED, stop.version + 1
                touched.append(stop)
                summary.stops_removed += 1
        changes.append((route, touched, created or changed_route))
        summary.route_ids.append(route.id)
        if progress:
            progress(len(changes), len(plan.routes))
    session.add_all([s for _, touched, _ in changes for s in touched])
    await session.flush()
    for stop, planned_stop in new_parcels:
        for p in planned_stop.parcels:
            parcel = parcels.get(p.barcode) or Parcel(tenant_id=tenant_id, stop_id=stop.id, barcode=p.barcode)
            if parcel.id is None:
                summary.parcels_created += 1
            parcel.stop_id, parcel.declared_value_cents, parcel.signature_required = stop.id, p.declared_value_cents, p.signature_required
            session.add(parcel)
    await session.flush()
    for route, touched, changed_route in changes:
        created = route.external_ref not in routes
        if created:
            summary.routes_created += 1
        elif touched or changed_route:
            summary.routes_updated += 1
            route.version += 1
            route.updated_at = uow.clock.now()
            session.add(route)
            await session.flush()
            await record_route_change(uow, route=route, kind=RouteChangeKind.ROUTE_UPDATED, stop_ids=sorted(s.id for s in touched),
                                      payload={"reason": "IMPORT"})
        else:
            summary.routes_unchanged += 1


def _assign(route: Route, planned: PlanRoute, checked: CheckedPlan) -> bool:
    """Driver and vehicle from the plan; True when they changed on an existing route."""
    driver = checked.drivers[planned.driver_ref].id if planned.driver_ref else None
    vehicle = checked.vehicles[planned.vehicle_ref].id if planned.vehicle_ref else None
    changed = route.id is not None and (route.driver_id, route.vehicle_id) != (driver, vehicle) and route.status is RouteStatus.PLANNED
    if route.id is None or route.status is RouteStatus.PLANNED:
        route.driver_id, route.vehicle_id = driver, vehicle
    return changed


def _write_stop(
    route: Route, stop: Stop | None, planned: PlanStop, sequence: int, customer_ids: dict[str, int],
    summary: ImportSummary, new_parcels: list[tuple[Stop, PlanStop]], touched: list[Stop],
) -> None:
    """Create, update or keep one stop; a stop already attempted is never rewritten."""
    values = {
        "address": planned.address, "lat": planned.lat, "lon": planned.lon, "window_start": planned.window_start,
        "window_end": planned.window_end, "service_seconds": planned.service_seconds,
        "customer_id": customer_ids[planned.customer.external_ref], "sequence": sequence, "route_id": route.id,
    }
    if stop is None:
        stop = Stop(tenant_id=route.tenant_id, external_ref=planned.external_ref, **values)
        summary.stops_created += 1
        touched.append(stop)
        new_parcels.append((stop, planned))
        return
    if all(getattr(stop, k) == v for k, v in values.items()):
        summary.stops_unchanged += 1
        return
    if stop.status is not StopStatus.PENDING or stop.attempts:
        summary.stops_started_kept += 1
        return
    for k, v in values.items():
        setattr(stop, k, v)
    stop.version += 1
    summary.stops_updated += 1
    touched.append(stop)
    new_parcels.append((stop, planned))
