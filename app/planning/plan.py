"""A day's route plan as an integrator or a file sends it, and the per-row errors that refuse it."""
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from app.customers.service import CustomerData

MAX_STOPS_PER_IMPORT = 2000


class RowErrorCode(StrEnum):
    REQUIRED = "REQUIRED"
    INVALID = "INVALID"
    UNKNOWN_REF = "UNKNOWN_REF"
    DUPLICATE_REF = "DUPLICATE_REF"
    NO_COORDINATES = "NO_COORDINATES"
    TOO_MANY_STOPS = "TOO_MANY_STOPS"


@dataclass(frozen=True)
class RowError:
    """One bad value: where it is (`routes[0].stops[2]` or `row 7`), which field, and why."""

    path: str
    field: str
    code: RowErrorCode
    message: str


@dataclass(frozen=True)
class PlanParcel:
    barcode: str
    declared_value_cents: int = 0
    signature_required: bool = False


@dataclass
class PlanStop:
    external_ref: str
    address: str
    customer: CustomerData
    window_start: datetime
    window_end: datetime
    lat: float | None = None
    lon: float | None = None
    service_seconds: int = 180
    parcels: list[PlanParcel] = field(default_factory=list)
    path: str = ""  # where the stop came from, for its errors


@dataclass
class PlanRoute:
    external_ref: str
    stops: list[PlanStop]
    driver_ref: str | None = None
    vehicle_ref: str | None = None
    path: str = ""


@dataclass
class RoutePlan:
    service_date: date
    depot_ref: str
    routes: list[PlanRoute]
    errors: list[RowError] = field(default_factory=list)  # found while reading the file or input
    unassigned: list[PlanStop] = field(default_factory=list)  # stops without a route: planRoutes puts them on one

    def all_stops(self) -> list[PlanStop]:
        return [stop for route in self.routes for stop in route.stops] + self.unassigned


@dataclass
class ImportSummary:
    routes_created: int = 0
    routes_updated: int = 0
    routes_unchanged: int = 0
    stops_created: int = 0
    stops_updated: int = 0
    stops_unchanged: int = 0
    stops_started_kept: int = 0  # changed in the plan, but already attempted: left as they are
    stops_removed: int = 0
    customers_created: int = 0
    customers_updated: int = 0
    parcels_created: int = 0
    parcels_updated: int = 0
    parcels_removed: int = 0  # on a pending stop, no longer in the plan: held at the depot
    stops_unassigned: int = 0  # stops of the plan without a route (new or still waiting for planRoutes)
    route_ids: list[int] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.routes_created or self.routes_updated or self.customers_created or self.customers_updated)


class PlanRejected(Exception):
    """The plan has bad rows: nothing was written; every bad row is named."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} bad value(s) in the route plan")
        self.errors = errors
