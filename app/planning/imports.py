"""importRoutePlan: write a checked plan idempotently by external refs, all or nothing, and tell the drivers."""
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert
from sqlmodel import col, select

from app.customers.models import Customer
from app.customers.service import CustomerData
from app.planning.geocode import geocode_plan
from app.planning.plan import MAX_STOPS_PER_IMPORT, ImportSummary, PlanRoute, PlanStop, RoutePlan
from app.planning.validation import CheckedPlan, check_plan
from app.realtime.models import RouteChangeKind
from app.realtime.route_events import record_route_change
from app.routes.models import Parcel, ParcelStatus, Route, RouteStatus, Stop, StopStatus
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
    await geocode_plan(plan, runtime.geocoder)  # slow HTTP before the transaction, never inside it
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
    """Customers by external ref: new ones inserted in bulk, changed ones updated; returns ids by ref."""
    session = uow.session
    rows = await session.exec(select(Customer).where(Customer.tenant_id == tenant_id, col(Customer.external_ref).in_(sorted(customers))))
    existing = {c.external_ref: c for c in rows.all()}
    new_rows = []
    for ref, data in customers.items():
        values = {**data.__dict__, "preferred_channels": list(data.preferred_channels)}
        customer = existing.get(ref)
        if customer is None:
            new_rows.append({**values, "tenant_id": tenant_id, "created_at": uow.clock.now()})
        elif any(getattr(customer, k) != v for k, v in values.items()):
            summary.customers_updated += 1
            for k, v in values.items():
                setattr(customer, k, v)
            session.add(customer)
    summary.customers_created = len(new_rows)
    return {ref: c.id for ref, c in existing.items()} | await _insert(session, Customer, new_rows)


async def _insert(session: Any, model: type, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Bulk insert in a few statements (not one per row); returns ids by external ref."""
    if not rows:
        return {}
    result = await session.exec(insert(model).returning(model.id, model.external_ref), params=rows)
    return {ref: id_ for id_, ref in result.all()}


async def apply_plan(
    uow: UnitOfWork, *, tenant_id: int, checked: CheckedPlan, summary: ImportSummary, progress: Progress | None = None,
) -> None:
    session, plan = uow.session, checked.plan
    customer_ids = await _upsert_customers(uow, tenant_id, checked.customers, summary)
    existing = await _existing(session, tenant_id, plan)
    new_routes = [
        {"tenant_id": tenant_id, "depot_id": checked.depot.id, "service_date": plan.service_date, "external_ref": r.external_ref,
         "driver_id": _ids(r, checked)[0], "vehicle_id": _ids(r, checked)[1], "status": RouteStatus.PLANNED, "version": 1,
         "updated_at": uow.clock.now()}
        for r in plan.routes if r.external_ref not in existing.routes
    ]
    route_ids = {ref: r.id for ref, r in existing.routes.items()} | await _insert(session, Route, new_routes)
    summary.routes_created = len(new_routes)
    new_stops: list[dict[str, Any]] = []
    parcel_stops: list[tuple[str, PlanStop]] = []  # (stop ref, planned stop) whose parcels are written
    touched: dict[str, list[Stop]] = {ref: [] for ref in route_ids}
    for done, planned in enumerate(plan.routes, start=1):
        route_id = route_ids[planned.external_ref]
        for sequence, planned_stop in enumerate(planned.stops):
            values = _stop_values(planned_stop, sequence, route_id, customer_ids)
            stop = existing.stops.get(planned_stop.external_ref)
            if stop is None:
                new_stops.append({**values, "tenant_id": tenant_id, "external_ref": planned_stop.external_ref,
                                  "status": StopStatus.PENDING, "attempts": 0, "version": 1})
                parcel_stops.append((planned_stop.external_ref, planned_stop))
                summary.stops_created += 1
            elif _update_stop(stop, values, summary):
                touched[planned.external_ref].append(stop)
                parcel_stops.append((planned_stop.external_ref, planned_stop))
        kept = {s.external_ref for s in planned.stops}
        for stop in existing.route_stops:
            if stop.route_id == route_id and stop.external_ref not in kept and stop.status is StopStatus.PENDING:
                stop.status, stop.version = StopStatus.SKIPPED, stop.version + 1
                touched[planned.external_ref].append(stop)
                summary.stops_removed += 1
        if progress:
            progress(done, len(plan.routes))
    stop_ids = {ref: s.id for ref, s in existing.stops.items()} | await _insert(session, Stop, new_stops)
    session.add_all([s for stops in touched.values() for s in stops])
    await _write_parcels(session, tenant_id, parcel_stops, stop_ids, existing.parcels, summary)
    await session.flush()
    for planned in plan.routes:
        route = existing.routes.get(planned.external_ref)
        if route is None:
            continue
        changed_route = _assign(route, planned, checked)
        if not touched[planned.external_ref] and not changed_route:
            summary.routes_unchanged += 1
            continue
        summary.routes_updated += 1
        route.version += 1
        route.updated_at = uow.clock.now()
        session.add(route)
        await session.flush()
        ids = sorted({stop_ids[s.external_ref] if s.id is None else s.id for s in touched[planned.external_ref]})
        await record_route_change(uow, route=route, kind=RouteChangeKind.ROUTE_UPDATED, stop_ids=ids, payload={"reason": "IMPORT"})
    summary.route_ids = [route_ids[r.external_ref] for r in plan.routes]


@dataclass
class _Existing:
    routes: dict[str, Route]
    stops: dict[str, Stop]
    route_stops: list[Stop]
    parcels: dict[str, Parcel]


async def _existing(session: Any, tenant_id: int, plan: RoutePlan) -> _Existing:
    """What the plan's refs already name, in four queries."""
    refs = [r.external_ref for r in plan.routes]
    routes = (await session.exec(
        select(Route).where(Route.tenant_id == tenant_id, Route.service_date == plan.service_date, col(Route.external_ref).in_(refs))
    )).all()
    stop_refs = [s.external_ref for r in plan.routes for s in r.stops]
    stops = (await session.exec(select(Stop).where(Stop.tenant_id == tenant_id, col(Stop.external_ref).in_(stop_refs)))).all()
    route_stops = (await session.exec(select(Stop).where(col(Stop.route_id).in_([r.id for r in routes] or [-1])))).all()
    barcodes = sorted({p.barcode for r in plan.routes for s in r.stops for p in s.parcels})
    parcels = (await session.exec(select(Parcel).where(Parcel.tenant_id == tenant_id, col(Parcel.barcode).in_(barcodes)))).all()
    return _Existing(
        routes={r.external_ref: r for r in routes}, stops={s.external_ref: s for s in stops},
        route_stops=list(route_stops), parcels={p.barcode: p for p in parcels},
    )


async def _write_parcels(
    session: Any, tenant_id: int, parcel_stops: list[tuple[str, PlanStop]], stop_ids: dict[str, int],
    parcels: dict[str, Parcel], summary: ImportSummary,
) -> None:
    rows = []
    for ref, planned_stop in parcel_stops:
        for p in planned_stop.parcels:
            values = {"stop_id": stop_ids[ref], "declared_value_cents": p.declared_value_cents, "signature_required": p.signature_required}
            parcel = parcels.get(p.barcode)
            if parcel is None:
                rows.append({**values, "tenant_id": tenant_id, "barcode": p.barcode, "status": ParcelStatus.ON_ROUTE})
            else:
                for k, v in values.items():
                    setattr(parcel, k, v)
                session.add(parcel)
    if rows:
        await session.exec(insert(Parcel), params=rows)
    summary.parcels_created += len(rows)


def _ids(planned: PlanRoute, checked: CheckedPlan) -> tuple[int | None, int | None]:
    driver = checked.drivers[planned.driver_ref].id if planned.driver_ref else None
    vehicle = checked.vehicles[planned.vehicle_ref].id if planned.vehicle_ref else None
    return driver, vehicle


def _assign(route: Route, planned: PlanRoute, checked: CheckedPlan) -> bool:
    """Driver and vehicle from the plan, while the route has not started; True when they changed."""
    wanted = _ids(planned, checked)
    if route.status is not RouteStatus.PLANNED or (route.driver_id, route.vehicle_id) == wanted:
        return False
    route.driver_id, route.vehicle_id = wanted
    return True


def _stop_values(planned: PlanStop, sequence: int, route_id: int, customer_ids: dict[str, int]) -> dict[str, Any]:
    return {
        "address": planned.address, "lat": planned.lat, "lon": planned.lon, "window_start": planned.window_start,
        "window_end": planned.window_end, "service_seconds": planned.service_seconds,
        "customer_id": customer_ids[planned.customer.external_ref], "sequence": sequence, "route_id": route_id,
    }


def _update_stop(stop: Stop, values: dict[str, Any], summary: ImportSummary) -> bool:
    """Apply the plan to an existing stop; one already attempted is never rewritten. True when it changed."""
    if all(getattr(stop, k) == v for k, v in values.items()):
        summary.stops_unchanged += 1
        return False
    if stop.status is not StopStatus.PENDING or stop.attempts:
        summary.stops_started_kept += 1
        return False
    for k, v in values.items():
        setattr(stop, k, v)
    stop.version += 1
    summary.stops_updated += 1
    return True
