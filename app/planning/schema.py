"""importRoutePlan for integrators, and vehicles for administrators."""
from datetime import date, datetime

import strawberry

from app.api.common import MutationError, as_payload
from app.api.context import Info
from app.auth.permissions import IsAdministrator, MayImportPlans
from app.customers.service import CustomerData
from app.errors import DomainError, ErrorCode
from app.planning.fleet import create_vehicle
from app.planning.imports import import_route_plan
from app.planning.plan import ImportSummary, PlanParcel, PlanRejected, PlanRoute, PlanStop, RoutePlan
from app.planning.types import ImportRowError, ImportSummaryType, VehicleType
from app.runtime import unit_of_work
from app.tenants.models import Depot
from app.tenants.service import by_ref


@strawberry.input(description="When the customer can receive the parcels (ISO 8601 with an offset).")
class TimeWindowInput:
    start: datetime
    end: datetime


@strawberry.input(description="The customer, upserted by externalRef (your CRM's id).")
class PlanCustomerInput:
    external_ref: str
    name: str
    phone: str | None = strawberry.field(default=None, description="International format; stored in E.164.")
    email: str | None = None
    language: str = "en"


@strawberry.input
class PlanParcelInput:
    barcode: str
    declared_value_cents: int = 0
    signature_required: bool = False


@strawberry.input(description="One stop; lat/lon are required unless a geocoder is configured.")
class PlanStopInput:
    external_ref: str
    address: str
    time_window: TimeWindowInput
    customer: PlanCustomerInput
    lat: float | None = None
    lon: float | None = None
    service_seconds: int = 180
    parcels: list[PlanParcelInput] = strawberry.field(default_factory=list)


@strawberry.input(description="One route of the day; its stops are driven in the order given.")
class PlanRouteInput:
    external_ref: str
    stops: list[PlanStopInput]
    driver_ref: str | None = None
    vehicle_ref: str | None = None


@strawberry.input(description="A day's plan for one depot, at most 2,000 stops per call.")
class ImportRoutePlanInput:
    service_date: date
    depot_ref: str
    routes: list[PlanRouteInput]
    unassigned_stops: list[PlanStopInput] = strawberry.field(
        default_factory=list, description="Stops without a route yet: planRoutes puts them on the depot's vehicles.",
    )
    dry_run: bool = strawberry.field(default=False, description="Validate and count; write nothing.")


@strawberry.type(description="The import's counts, or every bad row (then nothing was written).")
class ImportRoutePlanPayload:
    summary: ImportSummaryType | None = None
    row_errors: list[ImportRowError] = strawberry.field(default_factory=list)
    errors: list[MutationError] = strawberry.field(default_factory=list)


@strawberry.input
class CreateVehicleInput:
    depot_ref: str
    external_ref: str
    label: str
    capacity: int = 150
    skills: list[str] = strawberry.field(default_factory=list)


@strawberry.type
class CreateVehiclePayload:
    vehicle: VehicleType | None = None
    errors: list[MutationError] = strawberry.field(default_factory=list)


def plan_stop(s: PlanStopInput, path: str = "") -> PlanStop:
    """A stop input as the import and the day-of edits take it."""
    return PlanStop(
        external_ref=s.external_ref, address=s.address, lat=s.lat, lon=s.lon, window_start=s.time_window.start,
        window_end=s.time_window.end, service_seconds=s.service_seconds,
        customer=CustomerData(external_ref=s.customer.external_ref, name=s.customer.name, phone=s.customer.phone,
                              email=s.customer.email, language=s.customer.language),
        parcels=[PlanParcel(p.barcode, p.declared_value_cents, p.signature_required) for p in s.parcels],
        path=path,
    )


def to_plan(input: ImportRoutePlanInput) -> RoutePlan:
    routes = [
        PlanRoute(
            external_ref=route.external_ref, driver_ref=route.driver_ref, vehicle_ref=route.vehicle_ref, path=f"routes[{r}]",
            stops=[plan_stop(s, f"routes[{r}].stops[{i}]") for i, s in enumerate(route.stops)],
        )
        for r, route in enumerate(input.routes)
    ]
    unassigned = [plan_stop(s, f"unassignedStops[{i}]") for i, s in enumerate(input.unassigned_stops)]
    return RoutePlan(service_date=input.service_date, depot_ref=input.depot_ref, routes=routes, unassigned=unassigned)


@strawberry.type
class PlanningMutation:
    @strawberry.mutation(
        permission_classes=[MayImportPlans],
        description="Create or update a day's routes, stops, parcels and customers by your external refs: all or nothing, "
        "idempotent (the same plan twice changes nothing), changed routes get a new version pushed to their driver.",
    )
    async def import_route_plan(self, info: Info, input: ImportRoutePlanInput) -> ImportRoutePlanPayload:
        async def work() -> ImportRoutePlanPayload:
            try:
                summary: ImportSummary = await import_route_plan(
                    info.context.runtime, tenant_id=info.context.viewer.tenant_id, plan=to_plan(input), dry_run=input.dry_run,
                )
            except PlanRejected as rejected:
                return ImportRoutePlanPayload(
                    row_errors=[ImportRowError(path=e.path, field=e.field, code=e.code, message=e.message) for e in rejected.errors],
                    errors=[MutationError(code=ErrorCode.INVALID_INPUT, message=str(rejected), field="routes")],
                )
            return ImportRoutePlanPayload(summary=ImportSummaryType.from_summary(summary))

        return await as_payload(ImportRoutePlanPayload, work)

    @strawberry.mutation(permission_classes=[IsAdministrator], description="Add a vehicle to a depot.")
    async def create_vehicle(self, info: Info, input: CreateVehicleInput) -> CreateVehiclePayload:
        async def work() -> CreateVehiclePayload:
            tenant_id = info.context.viewer.tenant_id
            async with unit_of_work(info.context.runtime) as uow:
                depot = await by_ref(session=uow.session, model=Depot, tenant_id=tenant_id, external_ref=input.depot_ref)
                if depot is None:
                    raise DomainError(ErrorCode.NOT_FOUND, "depot not found", field="depotRef")
                vehicle = await create_vehicle(
                    session=uow.session, tenant_id=tenant_id, depot_id=depot.id, label=input.label, capacity=input.capacity,
                    skills=tuple(input.skills), external_ref=input.external_ref,
                )
            return CreateVehiclePayload(vehicle=VehicleType.from_row(vehicle))

        return await as_payload(CreateVehiclePayload, work)
