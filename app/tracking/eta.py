"""Live ETAs: from the driver's last fix along the route's current order, with service times and windows."""
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.geo import haversine_km
from app.routes.models import Route, Stop, StopStatus
from app.tracking.models import DriverLastPosition, RouteLiveState


@dataclass(frozen=True)
class LiveEta:
    """When service at a stop starts (after any wait for its window), and how far the driver is from it now."""

    stop: Stop
    arrival: datetime
    eta: datetime
    distance_m: float

    @property
    def late_seconds(self) -> float:
        return (self.eta - self.stop.window_end).total_seconds()


async def remaining_stops(*, session: AsyncSession, route_id: int) -> list[Stop]:
    """The route's pending stops in driving order."""
    rows = await session.exec(
        select(Stop).where(Stop.route_id == route_id, Stop.status == StopStatus.PENDING).order_by(col(Stop.sequence))
    )
    return list(rows.all())


async def stops_done(*, session: AsyncSession, route_id: int) -> int:
    rows = await session.exec(select(sa.func.count()).select_from(Stop).where(Stop.route_id == route_id, Stop.status != StopStatus.PENDING))
    return int(rows.one())


async def is_throttled(*, session: AsyncSession, route_id: int, now: datetime, interval: timedelta) -> bool:
    """Computed less than `interval` ago and no stop completed since (one query, no lock)."""
    done = select(sa.func.count()).select_from(Stop).where(Stop.route_id == route_id, Stop.status != StopStatus.PENDING).scalar_subquery()
    row = (await session.exec(
        select(RouteLiveState.computed_at, RouteLiveState.stops_done, done).where(RouteLiveState.route_id == route_id)
    )).first()
    return row is not None and row[1] == row[2] and now - row[0] < interval


async def last_fix(*, session: AsyncSession, driver_id: int) -> DriverLastPosition | None:
    return await session.get(DriverLastPosition, driver_id)


async def compute_live_etas(matrix, *, fix: tuple[float, float], stops: list[Stop], now: datetime) -> list[LiveEta]:  # noqa: ANN001
    """Drive the current order from the fix: arrive, wait for the window to open, serve, go on.

    The matrix over the stops alone is stable between fixes (the provider caches it); only the first leg,
    from the moving fix, is asked for each time.
    """
    if not stops:
        return []
    points = [(s.lat, s.lon) for s in stops]
    # A fix never repeats: asked past the cache (CachedMatrix.inner), it does not evict the routes' stop matrices.
    first_leg = (await getattr(matrix, "inner", matrix).matrix([fix, points[0]])).durations[0][1]
    legs = (await matrix.matrix(points)).durations if len(points) > 1 else [[0]]
    result: list[LiveEta] = []
    clock = now + timedelta(seconds=first_leg)
    for index, stop in enumerate(stops):
        if index:
            clock += timedelta(seconds=legs[index - 1][index])
        start = max(clock, stop.window_start)
        distance = haversine_km(fix[0], fix[1], stop.lat, stop.lon) * 1000
        result.append(LiveEta(stop=stop, arrival=clock, eta=start, distance_m=distance))
        clock = start + timedelta(seconds=stop.service_seconds)
    return result


def store_live_etas(*, session: AsyncSession, etas: list[LiveEta], now: datetime, moved: timedelta) -> list[int]:
    """Write each stop's live ETA; returns the stops whose ETA moved by at least `moved` (or had none)."""
    changed: list[int] = []
    for item in etas:
        stop = item.stop
        if stop.live_eta is None or abs(stop.live_eta - item.eta) >= moved:
            changed.append(stop.id)
        stop.live_eta, stop.live_eta_at = item.eta, now
        session.add(stop)
    return changed


async def route_for_update(*, session: AsyncSession, route_id: int) -> Route | None:
    return (await session.exec(select(Route).where(Route.id == route_id).with_for_update())).first()
