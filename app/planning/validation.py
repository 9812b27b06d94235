"""Check a whole route plan before anything is written, collecting every bad row."""
import re
from dataclasses import dataclass, field, replace

from sqlmodel.ext.asyncio.session import AsyncSession

from app.customers.service import CustomerData, validate as validate_customer
from app.errors import DomainError
from app.planning.plan import MAX_STOPS_PER_IMPORT, PlanRejected, PlanStop, RowError, RowErrorCode, RoutePlan
from app.routes.models import Vehicle
from app.tenants.models import Depot, Role, User
from app.tenants.service import by_ref, refs_map

_CUSTOMER_FIELDS = {"externalRef": "customer.externalRef", "name": "customer.name", "phone": "customer.phone", "email": "customer.email"}


@dataclass
class CheckedPlan:
    """A plan whose references resolve: the depot, and drivers and vehicles by ref."""

    plan: RoutePlan
    depot: Depot
    drivers: dict[str, User] = field(default_factory=dict)
    vehicles: dict[str, Vehicle] = field(default_factory=dict)
    customers: dict[str, CustomerData] = field(default_factory=dict)


def _position(error: RowError) -> tuple[int, ...]:
    """Errors in file order: `row 7` and `routes[1].stops[3]` sort by their numbers."""
    return tuple(int(n) for n in re.findall(r"\d+", error.path)) or (-1,)


def _check_stop(stop: PlanStop, errors: list[RowError]) -> CustomerData | None:
    def bad(field_name: str, code: RowErrorCode, message: str) -> None:
        errors.append(RowError(stop.path, field_name, code, message))

    if not stop.external_ref.strip() or len(stop.external_ref) > 100:
        bad("externalRef", RowErrorCode.REQUIRED, "a stop needs an externalRef of 1 to 100 characters")
    if not stop.address.strip() or len(stop.address) > 500:
        bad("address", RowErrorCode.REQUIRED, "an address of 1 to 500 characters is required")
    if stop.lat is None or stop.lon is None:
        if not any(e.path == stop.path and e.code is RowErrorCode.NO_COORDINATES for e in errors):  # the geocoder said why
            bad("lat", RowErrorCode.NO_COORDINATES, "no coordinates and no geocoder is configured: send lat and lon")
    elif not (-90 <= stop.lat <= 90 and -180 <= stop.lon <= 180):
        bad("lat", RowErrorCode.INVALID, "lat/lon are out of range")
    if stop.window_end <= stop.window_start:
        bad("timeWindow", RowErrorCode.INVALID, "the time window must end after it starts")
    if not 0 <= stop.service_seconds <= 4 * 3600:
        bad("serviceSeconds", RowErrorCode.INVALID, "serviceSeconds is 0 to 14400")
    for parcel in stop.parcels:
        if not parcel.barcode.strip() or len(parcel.barcode) > 64:
            bad("parcels.barcode", RowErrorCode.REQUIRED, "a parcel needs a barcode of 1 to 64 characters")
        if parcel.declared_value_cents < 0:
            bad("parcels.declaredValueCents", RowErrorCode.INVALID, "declaredValueCents cannot be negative")
    try:
        return validate_customer(stop.customer)
    except DomainError as error:
        bad(_CUSTOMER_FIELDS.get(error.field or "", f"customer.{error.field}"), RowErrorCode.INVALID, error.message)
        return None


async def check_plan(
    *, session: AsyncSession, tenant_id: int, plan: RoutePlan, max_stops: int | None = MAX_STOPS_PER_IMPORT,
) -> CheckedPlan:
    """The plan with its references resolved, or PlanRejected listing every bad row."""
    errors: list[RowError] = list(plan.errors)
    depot = await by_ref(session=session, model=Depot, tenant_id=tenant_id, external_ref=plan.depot_ref)
    if depot is None or not depot.active:
        errors.append(RowError("plan", "depotRef", RowErrorCode.UNKNOWN_REF, f"no active depot with externalRef {plan.depot_ref!r}"))
    stops = plan.all_stops()
    if max_stops is not None and len(stops) > max_stops:
        raise PlanRejected([RowError("plan", "routes", RowErrorCode.TOO_MANY_STOPS, f"{len(stops)} stops: send at most {max_stops} per call")])
    drivers = await refs_map(session=session, model=User, tenant_id=tenant_id, refs={r.driver_ref for r in plan.routes if r.driver_ref})
    vehicles = await refs_map(session=session, model=Vehicle, tenant_id=tenant_id, refs={r.vehicle_ref for r in plan.routes if r.vehicle_ref})
    seen_routes: set[str] = set()
    seen_stops: set[str] = set()
    seen_barcodes: set[str] = set()
    customers: dict[str, CustomerData] = {}
    for route in plan.routes:
        if not route.external_ref.strip():
            errors.append(RowError(route.path, "externalRef", RowErrorCode.REQUIRED, "a route needs an externalRef"))
        elif route.external_ref in seen_routes:
            errors.append(RowError(route.path, "externalRef", RowErrorCode.DUPLICATE_REF, f"route {route.external_ref!r} appears twice"))
        seen_routes.add(route.external_ref)
        driver = drivers.get(route.driver_ref or "")
        if route.driver_ref and (driver is None or not driver.active or driver.role is not Role.DRIVER):
            errors.append(RowError(route.path, "driverRef", RowErrorCode.UNKNOWN_REF, f"no active driver with externalRef {route.driver_ref!r}"))
        vehicle = vehicles.get(route.vehicle_ref or "")
        if route.vehicle_ref and (vehicle is None or not vehicle.active or (depot and vehicle.depot_id != depot.id)):
            errors.append(RowError(route.path, "vehicleRef", RowErrorCode.UNKNOWN_REF, f"no active vehicle {route.vehicle_ref!r} at this depot"))
    for stop in stops:
        customer = _check_stop(stop, errors)
        if stop.external_ref in seen_stops:
            errors.append(RowError(stop.path, "externalRef", RowErrorCode.DUPLICATE_REF, f"stop {stop.external_ref!r} appears twice"))
        seen_stops.add(stop.external_ref)
        for parcel in stop.parcels:
            if parcel.barcode in seen_barcodes:
                errors.append(RowError(stop.path, "parcels.barcode", RowErrorCode.DUPLICATE_REF, f"parcel {parcel.barcode!r} appears twice"))
            seen_barcodes.add(parcel.barcode)
        if customer is not None:
            stop.customer = customer
            customers[customer.external_ref] = replace(customer)
    if errors:
        raise PlanRejected(sorted(errors, key=_position))
    return CheckedPlan(plan=plan, depot=depot, drivers=drivers, vehicles=vehicles, customers=customers)
