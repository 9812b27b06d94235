"""importRoutePlan: write a checked plan idempotently by external refs, all or nothing, and tell the drivers."""
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy import insert
from sqlmodel import col, select

from app.analytics.models import insert_stop_facts
from app.customers.models import Customer
from app.customers.service import CustomerData
from app.planning.geocode import geocode_plan
from app.planning.plan import MAX_STOPS_PER_IMPORT, ImportSummary, PlanParcel, PlanRoute, PlanStop, RoutePlan
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
    touched: dict[int, list[Stop]] = {}  # route id -> its stops that changed (a stop moved away counts on its old route)
    in_plan = {s.external_ref for s in plan.all_stops()}
    groups = [(route_ids[r.external_ref], r.stops) for r in plan.routes] + [(None, plan.unassigned)]
    for done, (route_id, planned_stops) in enumerate(groups, start=1):
        for sequence, planned_stop in enumerate(planned_stops):
            stop = existing.stops.get(planned_stop.external_ref)
            values = _stop_values(planned_stop, sequence, route_id, customer_ids)
            if route_id is None:
                summary.stops_unassigned += 1
                if stop is not None and stop.route_id is not None:  # planRoutes put it on a route already: it stays there
                    values = {k: v for k, v in values.items() if k not in ("route_id", "sequence")}
                else:
                    values |= {"depot_id": checked.depot.id, "service_date": plan.service_date}
            if stop is None:
                new_stops.append({**values, "tenant_id": tenant_id, "external_ref": planned_stop.external_ref,
                                  "status": StopStatus.PENDING, "attempts": 0, "version": 1})
                parcel_stops.append((planned_stop.external_ref, planned_stop))
                summary.stops_created += 1
                continue
            previous_route = stop.route_id
            parcels_changed = _startable(stop) and _parcels_differ(planned_stop, stop, existing)
            if _update_stop(stop, values, summary, parcels_changed=parcels_changed):
                if parcels_changed:
                    parcel_stops.append((planned_stop.external_ref, planned_stop))
                for affected in {previous_route, stop.route_id} - {None}:
                    touched.setdefault(affected, []).append(stop)
                session.add(stop)
        if progress and route_id is not None:
            progress(done, len(plan.routes))
    for stop in existing.route_stops:
        if stop.external_ref not in in_plan and stop.status is StopStatus.PENDING and not stop.attempts:
            stop.status, stop.version = StopStatus.SKIPPED, stop.version + 1
            touched.setdefault(stop.route_id, []).append(stop)
            session.add(stop)
            summary.stops_removed += 1
    stop_ids = {ref: s.id for ref, s in existing.stops.items()} | await _add_stops(session, new_stops)
    await _write_parcels(session, tenant_id, parcel_stops, stop_ids, existing, summary)
    await session.flush()
    created = {route_ids[r["external_ref"]] for r in new_routes}
    await _bump_routes(uow, plan, checked, existing, {k: v for k, v in touched.items() if k not in created}, stop_ids, summary)
    summary.route_ids = [route_ids[r.external_ref] for r in plan.routes]


async def _add_stops(session: Any, rows: list[dict[str, Any]]) -> dict[str, int]:
    """New stops in bulk, with their analytics fact rows (a bulk insert passes the session hook that writes them)."""
    ids = await _insert(session, Stop, rows)
    created = [SimpleNamespace(**row, id=ids[row["external_ref"]]) for row in rows]
    await session.run_sync(lambda sync: insert_stop_facts(sync.connection(), created))
    return ids


async def _bump_routes(
    uow: UnitOfWork, plan: RoutePlan, checked: CheckedPlan, existing: "_Existing", touched: dict[int, list[Stop]],
    stop_ids: dict[str, int], summary: ImportSummary,
) -> None:
    """A new version and a route change for every existing route the import changed, including routes a stop left."""
    session = uow.session
    by_id = {r.id: r for r in existing.routes.values()}
    missing = sorted(set(touched) - set(by_id))
    if missing:  # routes outside the plan that a stop moved away from
        by_id |= {r.id: r for r in (await session.exec(select(Route).where(col(Route.id).in_(missing)))).all()}
    planned = {route_id: p for p in plan.routes if (route_id := getattr(existing.routes.get(p.external_ref), "id", None))}
    for route_id, route in sorted(by_id.items()):
        changed_route = route_id in planned and _assign(route, planned[route_id], checked)
        if route_id not in touched and not changed_route:
            summary.routes_unchanged += 1
            continue
        summary.routes_updated += 1
        route.version += 1
        route.updated_at = uow.clock.now()
        session.add(route)
        await session.flush()
        ids = sorted({stop_ids[s.external_ref] if s.id is None else s.id for s in touched.get(route_id, [])})
        await record_route_change(uow, route=route, kind=RouteChangeKind.ROUTE_UPDATED, stop_ids=ids, payload={"reason": "IMPORT"})


@dataclass
class _Existing:
    routes: dict[str, Route]
    stops: dict[str, Stop]
    route_stops: list[Stop]
    parcels: dict[str, Parcel]  # by barcode: the plan's barcodes and every parcel of the plan's existing stops

    def parcels_of(self, stop_id: int) -> list[Parcel]:
        return [p for p in self.parcels.values() if p.stop_id == stop_id]


async def _existing(session: Any, tenant_id: int, plan: RoutePlan) -> _Existing:
    """What the plan's refs already name, in five queries."""
    refs = [r.external_ref for r in plan.routes]
    routes = (await session.exec(
        select(Route).where(Route.tenant_id == tenant_id, Route.service_date == plan.service_date, col(Route.external_ref).in_(refs))
    )).all()
    stop_refs = [s.external_ref for s in plan.all_stops()]
    stops = (await session.exec(select(Stop).where(Stop.tenant_id == tenant_id, col(Stop.external_ref).in_(stop_refs)))).all()
    route_stops = (await session.exec(select(Stop).where(col(Stop.route_id).in_([r.id for r in routes] or [-1])))).all()
    barcodes = sorted({p.barcode for s in plan.all_stops() for p in s.parcels})
    parcels = (await session.exec(select(Parcel).where(Parcel.tenant_id == tenant_id, col(Parcel.barcode).in_(barcodes)))).all()
    held = (await session.exec(select(Parcel).where(Parcel.tenant_id == tenant_id, col(Parcel.stop_id).in_([s.id for s in stops] or [-1])))).all()
    return _Existing(
        routes={r.external_ref: r for r in routes}, stops={s.external_ref: s for s in stops},
        route_stops=list(route_stops), parcels={p.barcode: p for p in (*held, *parcels)},
    )


def _startable(stop: Stop) -> bool:
    return stop.status is StopStatus.PENDING and not stop.attempts


def _parcel_values(stop_id: int, p: PlanParcel) -> dict[str, Any]:
    return {"stop_id": stop_id, "declared_value_cents": p.declared_value_cents, "signature_required": p.signature_required,
            "status": ParcelStatus.ON_ROUTE}


def _parcels_differ(planned: PlanStop, stop: Stop, existing: _Existing) -> bool:
    """True when the plan adds, changes or drops a parcel of the stop (a parcel-only change is a change)."""
    wanted = {p.barcode: _parcel_values(stop.id, p) for p in planned.parcels}
    have = {p.barcode: {k: getattr(p, k) for k in ("stop_id", "declared_value_cents", "signature_required", "status")}
            for p in existing.parcels_of(stop.id) if p.status is ParcelStatus.ON_ROUTE}
    return wanted != have


async def _write_parcels(
    session: Any, tenant_id: int, parcel_stops: list[tuple[str, PlanStop]], stop_ids: dict[str, int],
    existing: _Existing, summary: ImportSummary,
) -> None:
    """The stops' parcels as the plan lists them: new ones inserted, changed ones updated, dropped ones held at the depot."""
    rows = []
    for ref, planned_stop in parcel_stops:
        stop_id = stop_ids[ref]
        listed = {p.barcode for p in planned_stop.parcels}
        for p in planned_stop.parcels:
            values = _parcel_values(stop_id, p)
            parcel = existing.parcels.get(p.barcode)
            if parcel is None:
                rows.append({**values, "tenant_id": tenant_id, "barcode": p.barcode})
            elif any(getattr(parcel, k) != v for k, v in values.items()):
                for k, v in values.items():
                    setattr(parcel, k, v)
                session.add(parcel)
                summary.parcels_updated += 1
        for parcel in existing.parcels_of(stop_id):
            if parcel.barcode not in listed and parcel.status is ParcelStatus.ON_ROUTE:
                parcel.status = ParcelStatus.HELD
                session.add(parcel)
                summary.parcels_removed += 1
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


def _stop_values(planned: PlanStop, sequence: int, route_id: int | None, customer_ids: dict[str, int]) -> dict[str, Any]:
    return {
        "address": planned.address, "lat": planned.lat, "lon": planned.lon, "window_start": planned.window_start,
        "window_end": planned.window_end, "service_seconds": planned.service_seconds,
        "customer_id": customer_ids[planned.customer.external_ref], "sequence": sequence, "route_id": route_id,
    }


def _update_stop(stop: Stop, values: dict[str, Any], summary: ImportSummary, *, parcels_changed: bool = False) -> bool:
    """Apply the plan to an existing stop (its parcels too); one already attempted is never rewritten. True when it changed."""
    if not parcels_changed and all(getattr(stop, k) == v for k, v in values.items()):
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
