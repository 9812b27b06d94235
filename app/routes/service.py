"""Reading routes and stops, and recording delivery attempts."""
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth.principal import Principal
from app.clock import current_time
from app.errors import DomainError, ErrorCode, not_found
from app.routes.models import (
    AttemptOutcome,
    DeliveryAttempt,
    Parcel,
    ParcelStatus,
    Route,
    Stop,
    StopStatus,
    Vehicle,
)
from app.realtime.ordering import serialize_event_writers
from app.routes.permissions import may_drive_route, may_see_route
from app.tenants.models import Depot

COMPLETED_STOP_STATUSES = frozenset({StopStatus.DELIVERED, StopStatus.RESCHEDULED, StopStatus.SKIPPED})


async def get_visible_route(*, session: AsyncSession, principal: Principal, route_id: int) -> Route | None:
    """The route when the caller may see it, else None (another tenant's route does not exist for them)."""
    route = await session.get(Route, route_id)
    return route if route is not None and may_see_route(principal, route) else None


async def get_visible_stop(
    *, session: AsyncSession, principal: Principal, stop_id: int, for_update: bool = False
) -> tuple[Stop, Route] | None:
    """A stop with its route when the caller may see the route; `for_update` locks the stop row (PostgreSQL)."""
    query = select(Stop, Route).join(Route, Route.id == Stop.route_id).where(Stop.id == stop_id)
    if for_update:
        await serialize_event_writers(session, principal.tenant_id)  # the one lock order: see app/realtime/ordering.py
        query = query.with_for_update(of=Stop)
    row = (await session.exec(query)).first()
    if row is None or not may_see_route(principal, row[1]):
        return None
    return row[0], row[1]


async def get_drivable_stop(*, session: AsyncSession, principal: Principal, stop_id: int) -> tuple[Stop, Route]:
    """A stop on the calling driver's own route, locked for the change, or a typed error."""
    found = await get_visible_stop(session=session, principal=principal, stop_id=stop_id, for_update=True)
    if found is None:
        raise not_found("stop", "stopId")
    if not may_drive_route(principal, found[1]):
        raise DomainError(ErrorCode.FORBIDDEN, "only the driver assigned to this route can report on it", field="stopId")
    return found


async def route_for_driver_day(
    *, session: AsyncSession, principal: Principal, day: date | None
) -> tuple[Route, Depot, Vehicle | None] | None:
    """The driver's route on `day` (today in the route's depot time zone when no day is given), with its depot and vehicle."""
    now = current_time()
    days = [day] if day else [(now + timedelta(days=d)).date() for d in (-1, 0, 1)]
    rows = await session.exec(
        select(Route, Depot, Vehicle)
        .join(Depot, Depot.id == Route.depot_id)
        .outerjoin(Vehicle, (col(Vehicle.id) == Route.vehicle_id) & (col(Vehicle.tenant_id) == principal.tenant_id))
        .where(Route.driver_id == principal.user_id, Route.tenant_id == principal.tenant_id, Depot.tenant_id == principal.tenant_id)
        .where(col(Route.service_date).in_(days))
        .order_by(col(Route.id))
    )
    for route, depot, vehicle in rows.all():
        if day or route.service_date == now.astimezone(ZoneInfo(depot.timezone)).date():
            return route, depot, vehicle
    return None


async def bump_route_version(*, session: AsyncSession, route: Route) -> None:
    route.version += 1
    route.updated_at = current_time()
    session.add(route)


async def set_parcels_status(*, session: AsyncSession, stop_id: int, status: ParcelStatus) -> None:
    await session.exec(update(Parcel).where(col(Parcel.stop_id) == stop_id).values(status=status))


async def add_attempt(
    *,
    session: AsyncSession,
    stop: Stop,
    driver_id: int,
    outcome: AttemptOutcome,
    attempted_at: datetime,
    position: tuple[float, float, float | None] | None,
    idempotency_key: str | None = None,
    fingerprint: str | None = None,
) -> DeliveryAttempt:
    """Append the next attempt on a stop and move the stop and its parcels accordingly."""
    if stop.status in COMPLETED_STOP_STATUSES:
        raise DomainError(ErrorCode.STOP_ALREADY_COMPLETED, f"the stop is already {stop.status.value}", field="stopId")
    stop.attempts += 1
    stop.version += 1
    stop.status = StopStatus.DELIVERED if outcome is AttemptOutcome.DELIVERED else StopStatus.FAILED
    lat, lon, accuracy = position if position else (None, None, None)
    attempt = DeliveryAttempt(
        tenant_id=stop.tenant_id,
        stop_id=stop.id,
        driver_id=driver_id,
        attempt_number=stop.attempts,
        outcome=outcome,
        attempted_at=attempted_at,
        lat=lat,
        lon=lon,
        accuracy_m=accuracy,
        idempotency_key=idempotency_key,
        request_fingerprint=fingerprint,
    )
    session.add_all([stop, attempt])
    if outcome is AttemptOutcome.DELIVERED:
        await set_parcels_status(session=session, stop_id=stop.id, status=ParcelStatus.DELIVERED)
    await session.flush()
    return attempt


async def find_attempt_by_key(*, session: AsyncSession, driver_id: int, idempotency_key: str) -> DeliveryAttempt | None:
    rows = await session.exec(
        select(DeliveryAttempt).where(
            DeliveryAttempt.driver_id == driver_id, DeliveryAttempt.idempotency_key == idempotency_key
        )
    )
    return rows.first()
