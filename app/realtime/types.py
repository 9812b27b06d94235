"""GraphQL types of the live route stream."""
from datetime import datetime
from enum import StrEnum

import strawberry

from app.api.context import Info
from app.delivery_exceptions.types import ExceptionEventType
from app.routes.types import StopType


class RouteUpdateKind(StrEnum):
    STOP_UPDATED = "STOP_UPDATED"
    ETAS_UPDATED = "ETAS_UPDATED"
    ROUTE_REPLANNED = "ROUTE_REPLANNED"
    ROUTE_UPDATED = "ROUTE_UPDATED"
    EXCEPTION_EVENT = "EXCEPTION_EVENT"


RouteUpdateKindType = strawberry.enum(
    RouteUpdateKind, name="RouteUpdateKind", description="What changed on the route; EXCEPTION_EVENT carries `exceptionEvent`."
)


@strawberry.type(name="RouteUpdate", description="One change to a route: its stops, their ETAs, a new version, or an exception on it.")
class RouteUpdateType:
    cursor: str = strawberry.field(description="Pass it as `after` to resume right after this update, losing nothing.")
    kind: RouteUpdateKindType
    route_id: strawberry.ID
    route_version: int | None = strawberry.field(description="The route's version after the change; null for exception events.")
    occurred_at: datetime
    exception_event: ExceptionEventType | None
    stop_ids: strawberry.Private[list[int]]

    @strawberry.field(description="The changed stops as they are now (empty for exception events).")
    async def stops(self, info: Info) -> list[StopType]:
        rows = await info.context.loaders.stop.load_many(self.stop_ids)
        return [StopType.from_row(row) for row in rows if row is not None]
