"""GraphQL types of routes, stops, parcels and attempts; relations resolve through DataLoaders."""
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from app.api.context import Info
from app.api.lazy import lazy_type
from app.api.loaders import selected_field_names, then
from app.customers.types import CustomerType
from app.routes.models import AttemptOutcome, DeliveryAttempt, Parcel, ParcelStatus, Route, RouteStatus, Stop, StopStatus
from app.tenants.types import DepotType, UserType

if TYPE_CHECKING:
    from app.delivery_exceptions.types import DeliveryExceptionType

ExceptionRef = Annotated["DeliveryExceptionType", strawberry.lazy("app.delivery_exceptions.types")]

RouteStatusType = strawberry.enum(RouteStatus, name="RouteStatus")
StopStatusType = strawberry.enum(StopStatus, name="StopStatus")
ParcelStatusType = strawberry.enum(ParcelStatus, name="ParcelStatus")
AttemptOutcomeType = strawberry.enum(AttemptOutcome, name="AttemptOutcome")


@strawberry.type(name="TimeWindow", description="When the customer expects the delivery.")
class TimeWindowType:
    start: datetime
    end: datetime


@strawberry.type(name="Parcel")
class ParcelType:
    id: strawberry.ID
    barcode: str
    declared_value_cents: int
    signature_required: bool
    status: ParcelStatusType

    @classmethod
    def from_row(cls, row: Parcel) -> "ParcelType":
        return cls(
            id=strawberry.ID(str(row.id)), barcode=row.barcode, declared_value_cents=row.declared_value_cents,
            signature_required=row.signature_required, status=row.status,
        )


@strawberry.type(name="DeliveryAttempt", description="One try at handing a stop's parcels over.")
class DeliveryAttemptType:
    id: strawberry.ID
    attempt_number: int
    outcome: AttemptOutcomeType
    attempted_at: datetime
    lat: float | None
    lon: float | None

    @classmethod
    def from_row(cls, row: DeliveryAttempt) -> "DeliveryAttemptType":
        return cls(
            id=strawberry.ID(str(row.id)), attempt_number=row.attempt_number, outcome=row.outcome,
            attempted_at=row.attempted_at, lat=row.lat, lon=row.lon,
        )


@strawberry.type(name="Stop", description="A place on a route where parcels are handed over.")
class StopType:
    id: strawberry.ID
    sequence: int
    address: str
    lat: float
    lon: float
    time_window: TimeWindowType
    planned_eta: datetime | None = strawberry.field(description="When service starts according to the route's plan.")
    live_eta: datetime | None = strawberry.field(description="When service starts according to the driver's last GPS fix; null before the first fix.")
    live_eta_at: datetime | None = strawberry.field(description="When liveEta was computed.")
    service_seconds: int
    status: StopStatusType
    attempts: int = strawberry.field(description="Attempts made so far; 1 and delivered is a first-time success.")
    version: int
    row: strawberry.Private[Stop]

    @classmethod
    def from_row(cls, row: Stop) -> "StopType":
        return cls(
            id=strawberry.ID(str(row.id)), sequence=row.sequence, address=row.address, lat=row.lat, lon=row.lon,
            time_window=TimeWindowType(start=row.window_start, end=row.window_end), planned_eta=row.planned_eta,
            live_eta=row.live_eta, live_eta_at=row.live_eta_at,
            service_seconds=row.service_seconds, status=row.status, attempts=row.attempts, version=row.version, row=row,
        )

    # Relation fields are sync: when the route's `stops` read them up front they resolve at once, else through the loader.
    @strawberry.field
    def customer(self, info: Info) -> CustomerType:
        return then(info.context.loaders.customer.load(self.row.customer_id), CustomerType.from_row)

    @strawberry.field
    def parcels(self, info: Info) -> list[ParcelType]:
        return then(info.context.loaders.parcels_by_stop.load(self.row.id), _parcel_types)

    @strawberry.field(name="deliveryAttempts")
    def delivery_attempts(self, info: Info) -> list[DeliveryAttemptType]:
        return then(info.context.loaders.attempts_by_stop.load(self.row.id), _attempt_types)

    @strawberry.field(description="The exception being worked on this stop, if any.")
    def open_exception(self, info: Info) -> ExceptionRef | None:
        return then(info.context.loaders.open_exceptions_by_stop.load(self.row.id), _last_exception)

    @strawberry.field(description="The route the stop is on; null while it waits for planRoutes.")
    async def route(self, info: Info) -> "RouteType | None":
        if self.row.route_id is None:
            return None
        return RouteType.from_row(await info.context.loaders.route.load(self.row.route_id))


def _parcel_types(rows: list[Parcel]) -> list[ParcelType]:
    return [ParcelType.from_row(p) for p in rows]


def _attempt_types(rows: list[DeliveryAttempt]) -> list[DeliveryAttemptType]:
    return [DeliveryAttemptType.from_row(a) for a in rows]


def _last_exception(rows: list) -> "DeliveryExceptionType | None":
    return lazy_type(ExceptionRef).from_row(rows[-1]) if rows else None


# A stop field → the loader that `Route.stops` reads up front for every stop when the field is selected.
STOP_RELATIONS = {"parcels": "parcels_by_stop", "deliveryAttempts": "attempts_by_stop", "openException": "open_exceptions_by_stop"}


@strawberry.type(name="Route", description="One driver's day from one depot.")
class RouteType:
    id: strawberry.ID
    service_date: date
    status: RouteStatusType
    version: int = strawberry.field(description="Grows with every change; send it back as expectedVersion.")
    updated_at: datetime
    row: strawberry.Private[Route]

    @classmethod
    def from_row(cls, row: Route) -> "RouteType":
        return cls(
            id=strawberry.ID(str(row.id)), service_date=row.service_date, status=row.status, version=row.version,
            updated_at=row.updated_at, row=row,
        )

    @strawberry.field(description="The route's stops in driving order.")
    async def stops(self, info: Info) -> list[StopType]:
        # One statement per relation level, up front: the stops with their customers, then each selected list for all stops.
        loaders = info.context.loaders
        pairs = await loaders.stops_with_customers_by_route.load(self.row.id)
        loaders.prime("customer", (customer for _, customer in pairs))
        ids = [stop.id for stop, _ in pairs]
        for name in selected_field_names(info) & STOP_RELATIONS.keys():
            await getattr(loaders, STOP_RELATIONS[name]).load_many(ids)
        return [StopType.from_row(stop) for stop, _ in pairs]

    @strawberry.field
    def depot(self, info: Info) -> DepotType:
        return then(info.context.loaders.depot.load(self.row.depot_id), DepotType.from_row)

    @strawberry.field
    async def driver(self, info: Info) -> UserType | None:
        if self.row.driver_id is None:
            return None
        user = await info.context.loaders.user.load(self.row.driver_id)
        return UserType.from_row(user) if user else None

    @strawberry.field(description="Vehicle label, e.g. a plate or fleet number.")
    def vehicle_label(self, info: Info) -> str | None:
        if self.row.vehicle_id is None:
            return None
        return then(info.context.loaders.vehicle.load(self.row.vehicle_id), _label)


def _label(vehicle: object) -> str | None:
    return getattr(vehicle, "label", None)
