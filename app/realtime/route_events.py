"""Record a change to a route inside the writer's transaction, and announce it once that commits."""
from typing import Any

from app.realtime.bus import Notice, route_channel
from app.realtime.models import RouteChangeKind, RouteEvent
from app.routes.models import Route
from app.runtime import UnitOfWork


async def record_route_change(
    uow: UnitOfWork, *, route: Route, kind: RouteChangeKind, stop_ids: list[int], payload: dict[str, Any] | None = None
) -> RouteEvent:
    """Append a route event (the driver's resume cursor) and queue its notice; call after bumping route.version."""
    event = RouteEvent(
        tenant_id=route.tenant_id, depot_id=route.depot_id, route_id=route.id, kind=kind, route_version=route.version,
        stop_ids=stop_ids, payload=payload or {},
    )
    uow.session.add(event)
    await uow.session.flush()
    uow.notify(
        Notice(route_channel(route.tenant_id, route.id), {"type": kind.value, "routeEventId": event.id, "routeVersion": route.version, "stopIds": stop_ids})
    )
    return event
