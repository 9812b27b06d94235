"""GraphQL types of imports and vehicles."""
import strawberry

from app.planning.plan import ImportSummary, RowErrorCode
from app.routes.models import Vehicle

ImportRowErrorCode = strawberry.enum(RowErrorCode, name="ImportRowErrorCode", description="Why a row of a route plan was refused.")


@strawberry.type(description="One bad value of a route plan: where (`routes[0].stops[2]`, or `row 7` of a file), which field, why.")
class ImportRowError:
    path: str
    field: str
    code: ImportRowErrorCode
    message: str


@strawberry.type(name="ImportSummary", description="What an import created, updated or left as it was.")
class ImportSummaryType:
    routes_created: int
    routes_updated: int
    routes_unchanged: int
    stops_created: int
    stops_updated: int
    stops_unchanged: int
    stops_started_kept: int = strawberry.field(description="Changed in the plan but already attempted: left as they are.")
    stops_removed: int = strawberry.field(description="Pending stops no longer in the plan: skipped.")
    customers_created: int
    customers_updated: int
    parcels_created: int
    parcels_updated: int
    parcels_removed: int = strawberry.field(description="Parcels of a pending stop no longer in the plan: held at the depot.")
    stops_unassigned: int = strawberry.field(description="Stops of the plan without a route, waiting for planRoutes.")
    route_ids: list[strawberry.ID]

    @classmethod
    def from_summary(cls, s: ImportSummary) -> "ImportSummaryType":
        values = {k: v for k, v in s.__dict__.items() if k != "route_ids"}
        return cls(**values, route_ids=[strawberry.ID(str(i)) for i in s.route_ids])


@strawberry.type(name="Vehicle", description="A vehicle of a depot.")
class VehicleType:
    id: strawberry.ID
    external_ref: str | None
    label: str
    capacity: int = strawberry.field(description="Parcels it carries.")
    skills: list[str]
    active: bool

    @classmethod
    def from_row(cls, row: Vehicle) -> "VehicleType":
        return cls(id=strawberry.ID(str(row.id)), external_ref=row.external_ref, label=row.label, capacity=row.capacity,
                   skills=list(row.skills), active=row.active)
