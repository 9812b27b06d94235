"""Storing GPS fixes and reading the last known position per driver."""
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
import sqlalchemy as sa
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.clock import current_time
from app.errors import invalid
from app.routes.models import Route, RouteStatus, Stop, StopStatus
from app.tenants.models import Depot, Role, User, UserDepot
from app.tracking.models import DriverLastPosition, DriverPosition, LateRouteProposal

MAX_BATCH = 500
MAX_CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Fix:
    recorded_at: datetime
    lat: float
    lon: float
    accuracy_m: float | None = None
    speed_mps: float | None = None
    heading_deg: float | None = None


def validate_fixes(fixes: list[Fix]) -> list[Fix]:
    """Check the whole batch before anything is written; returns it oldest first without exact duplicates."""
    if not fixes:
        raise invalid("send at least one position", "positions")
    if len(fixes) > MAX_BATCH:
        raise invalid(f"send at most {MAX_BATCH} positions per call", "positions")
    latest_allowed = current_time() + MAX_CLOCK_SKEW
    for index, fix in enumerate(fixes):
        where = f"positions[{index}]"
        if not (-90 <= fix.lat <= 90 and -180 <= fix.lon <= 180):
            raise invalid(f"{where}: latitude or longitude out of range", where)
        if fix.recorded_at > latest_allowed:
            raise invalid(f"{where}: recordedAt is in the future", where)
        if (fix.accuracy_m is not None and fix.accuracy_m < 0) or (fix.speed_mps is not None and fix.speed_mps < 0):
            raise invalid(f"{where}: accuracy and speed cannot be negative", where)
        if fix.heading_deg is not None and not 0 <= fix.heading_deg <= 360:
            raise invalid(f"{where}: heading is 0 to 360 degrees", where)
    unique = {fix.recorded_at: fix for fix in fixes}
    return sorted(unique.values(), key=lambda f: f.recorded_at)


def _insert(session: AsyncSession):  # noqa: ANN202
    return pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert


async def store_fixes(*, session: AsyncSession, tenant_id: int, driver_id: int, fixes: list[Fix]) -> int:
    """Insert the fixes, skipping ones already stored, and move the last position forward; returns how many were new."""
    insert = _insert(session)
    rows = [
        {"tenant_id": tenant_id, "driver_id": driver_id, "recorded_at": f.recorded_at, "lat": f.lat, "lon": f.lon,
         "accuracy_m": f.accuracy_m, "speed_mps": f.speed_mps, "heading_deg": f.heading_deg, "received_at": current_time()}
        for f in fixes
    ]
    statement = insert(DriverPosition).values(rows).on_conflict_do_nothing(index_elements=["driver_id", "recorded_at"])
    result = await session.exec(statement.returning(DriverPosition.id))
    stored = len(result.all())
    newest = fixes[-1]
    last = {"driver_id": driver_id, "tenant_id": tenant_id, "recorded_at": newest.recorded_at, "lat": newest.lat,
            "lon": newest.lon, "accuracy_m": newest.accuracy_m, "speed_mps": newest.speed_mps, "heading_deg": newest.heading_deg}
    upsert = insert(DriverLastPosition).values(last)
    await session.exec(
        upsert.on_conflict_do_update(
            index_elements=["driver_id"],
            set_={k: upsert.excluded[k] for k in last if k != "driver_id"},
            where=DriverLastPosition.recorded_at < upsert.excluded.recorded_at,
        )
    )
    return stored


async def last_positions_for_depot(*, session: AsyncSession, tenant_id: int, depot_id: int, day: datetime) -> list[DriverLastPosition]:
    """The newest fix of each driver working for the depot (linked to it, or driving one of its routes that day)."""
    on_route = select(Route.driver_id).where(Route.depot_id == depot_id, Route.service_date == day.date())
    linked = select(UserDepot.user_id).where(UserDepot.depot_id == depot_id)
    query = (
        select(DriverLastPosition)
        .join(User, User.id == DriverLastPosition.driver_id)
        .where(DriverLastPosition.tenant_id == tenant_id, User.role == Role.DRIVER)
        .where(or_(col(DriverLastPosition.driver_id).in_(on_route), col(DriverLastPosition.driver_id).in_(linked)))
        .order_by(col(DriverLastPosition.driver_id))
    )
    return list((await session.exec(query)).all())


@dataclass(frozen=True)
class NextStop:
    """The next pending stop of the route a driver is driving, with its planned and live ETA (for the live map)."""

    route_id: int
    stop_id: int
    sequence: int
    planned_eta: datetime | None
    live_eta: datetime | None
    live_eta_at: datetime | None
    window_end: datetime


async def next_stops(*, session: AsyncSession, tenant_id: int, depot_id: int, day: datetime, driver_ids: list[int]) -> dict[int, NextStop]:
    """Each driver's next stop on the depot's route they drive that day (in progress first), in one query."""
    if not driver_ids:
        return {}
    first_pending = (
        select(sa.func.min(Stop.sequence)).where(Stop.route_id == Route.id, Stop.status == StopStatus.PENDING)
        .correlate(Route).scalar_subquery()
    )
    rows = await session.exec(
        select(Route.driver_id, Route.id, Stop.id, Stop.sequence, Stop.planned_eta, Stop.live_eta, Stop.live_eta_at, Stop.window_end)
        .join(Stop, sa.and_(Stop.route_id == Route.id, Stop.status == StopStatus.PENDING, Stop.sequence == first_pending))
        .where(Route.tenant_id == tenant_id, Route.depot_id == depot_id, Route.service_date == day.date())
        .where(col(Route.status).in_([RouteStatus.IN_PROGRESS, RouteStatus.PLANNED]), col(Route.driver_id).in_(driver_ids))
        .order_by(col(Route.status), col(Route.id), col(Stop.id))
    )
    found: dict[int, NextStop] = {}
    for driver_id, *values in rows.all():
        found.setdefault(driver_id, NextStop(*values))
    return found


async def driving_route_id(*, session: AsyncSession, tenant_id: int, driver_id: int) -> int | None:
    """The route the driver is driving today (in its depot's time zone): in progress first, else planned."""
    now = current_time()
    days = [(now + timedelta(days=d)).date() for d in (-1, 0, 1)]
    rows = await session.exec(
        select(Route, Depot).join(Depot, Depot.id == Route.depot_id)
        .where(Route.tenant_id == tenant_id, Route.driver_id == driver_id, col(Route.service_date).in_(days))
        .where(col(Route.status).in_([RouteStatus.IN_PROGRESS, RouteStatus.PLANNED]))
        .order_by(col(Route.status), col(Route.id))
    )
    today = [route for route, depot in rows.all() if route.service_date == now.astimezone(ZoneInfo(depot.timezone)).date()]
    today.sort(key=lambda route: route.status is not RouteStatus.IN_PROGRESS)
    return today[0].id if today else None


async def late_proposals(*, session: AsyncSession, tenant_id: int, route_id: int) -> list[LateRouteProposal]:
    """The replan proposals offered for a route because it ran late, newest first."""
    rows = await session.exec(
        select(LateRouteProposal).where(LateRouteProposal.tenant_id == tenant_id, LateRouteProposal.route_id == route_id)
        .order_by(col(LateRouteProposal.id).desc())
    )
    return list(rows.all())
