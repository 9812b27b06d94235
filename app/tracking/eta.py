"""Live ETAs: from the driver's last fix along the route's current order, with service times and windows.

The update runs for every due position batch of every driving route, so it reads and writes plain rows (a handful of
statements, no ORM objects per stop): the matrix cache supplies the legs between stops, only the first leg from the
moving fix is asked for each time.
"""
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.geo import haversine_km
from app.routes.models import Route, Stop, StopStatus
from app.tracking.models import DriverLastPosition, RouteLiveState, StopLiveState


@dataclass(frozen=True)
class StopPlan:
    """What the ETA of one pending stop depends on."""

    id: int
    lat: float
    lon: float
    window_start: datetime
    window_end: datetime
    service_seconds: int
    live_eta: datetime | None = None


@dataclass
class StopLive:
    """A stop's live state in memory (a StopLiveState row): what the lateness and proximity rules decide on."""

    stop_id: int
    tenant_id: int
    route_id: int
    late: bool = False
    late_since: datetime | None = None
    late_handled: bool = False
    approached_at: datetime | None = None
    eta_30: datetime | None = None
    eta_30_at: datetime | None = None

    def row(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


STATE_COLUMNS = [f.name for f in fields(StopLive)]


@dataclass(frozen=True)
class LiveEta:
    """When service at a stop starts (after any wait for its window), and how far the driver is from it now."""

    stop: StopPlan
    arrival: datetime
    eta: datetime
    distance_m: float

    @property
    def late_seconds(self) -> float:
        return (self.eta - self.stop.window_end).total_seconds()


@dataclass(frozen=True)
class RouteProgress:
    """The route's last computation (None before the first), its stops done now, and the driver's last fix."""

    computed_at: datetime | None
    stops_done_then: int | None
    stops_done: int
    fix: tuple[float, float] | None
    fix_at: datetime | None
    fix_then: tuple[float, float] | None = None

    def is_due(self, *, now: datetime, interval: timedelta, min_move_m: float = 0, max_interval: timedelta | None = None) -> bool:
        """Never computed or a stop completed since; else `interval` passed and the driver moved `min_move_m`
        since the last computation, or `max_interval` passed (a driver in a jam or at a door still slips)."""
        if self.computed_at is None or self.stops_done_then != self.stops_done:
            return True
        elapsed = now - self.computed_at
        if elapsed < interval:
            return False
        if max_interval is None or elapsed >= max_interval or self.fix is None or self.fix_then is None:
            return True
        return haversine_km(*self.fix_then, *self.fix) * 1000 >= min_move_m


def _done_count(route_id: int):  # noqa: ANN202
    return select(sa.func.count()).select_from(Stop).where(Stop.route_id == route_id, Stop.status != StopStatus.PENDING).scalar_subquery()


async def progress(*, session: AsyncSession, route_id: int, driver_id: int) -> RouteProgress:
    """One read: the route's live state, its completed stops, the driver's last fix."""
    def live(column):  # noqa: ANN001, ANN202
        return select(column).where(RouteLiveState.route_id == route_id).scalar_subquery()

    def last(column):  # noqa: ANN001, ANN202
        return select(column).where(DriverLastPosition.driver_id == driver_id).scalar_subquery()

    query = select(
        live(RouteLiveState.computed_at), live(RouteLiveState.stops_done), _done_count(route_id),
        last(DriverLastPosition.lat), last(DriverLastPosition.lon), last(DriverLastPosition.recorded_at),
        live(RouteLiveState.fix_lat), live(RouteLiveState.fix_lon),
    )
    computed_at, then, done, lat, lon, fix_at, lat_then, lon_then = (await session.exec(query)).one()
    return RouteProgress(
        computed_at, then, int(done), (lat, lon) if lat is not None else None, fix_at, (lat_then, lon_then) if lat_then is not None else None,
    )


async def pending_stops(*, session: AsyncSession, route: Route) -> tuple[list[StopPlan], dict[int, StopLive], set[int]]:
    """The route's pending stops in driving order, each one's live state, and the stops whose state is new (not stored)."""
    rows = await session.exec(
        select(
            Stop.id, Stop.lat, Stop.lon, Stop.window_start, Stop.window_end, Stop.service_seconds, Stop.live_eta,
            *(getattr(StopLiveState, name) for name in STATE_COLUMNS[1:]),
        )
        .outerjoin(StopLiveState, col(StopLiveState.stop_id) == col(Stop.id))
        .where(Stop.route_id == route.id, Stop.status == StopStatus.PENDING)
        .order_by(col(Stop.sequence))
    )
    stops: list[StopPlan] = []
    states: dict[int, StopLive] = {}
    new: set[int] = set()
    for row in rows.all():
        stop = StopPlan(*row[:7])
        stops.append(stop)
        if row[7] is not None:  # tenant_id: set on every stored state
            states[stop.id] = StopLive(stop.id, *row[7:])
        else:
            states[stop.id] = StopLive(stop_id=stop.id, tenant_id=route.tenant_id, route_id=route.id)
            new.add(stop.id)
    return stops, states, new


async def compute_live_etas(matrix, *, fix: tuple[float, float], stops: list[StopPlan], now: datetime) -> list[LiveEta]:  # noqa: ANN001
    """Drive the current order from the fix: arrive, wait for the window to open, serve, go on.

    The legs between stops are stable between fixes (the provider caches them); only the first leg, from the
    moving fix, is asked for each time.
    """
    if not stops:
        return []
    points = [(s.lat, s.lon) for s in stops]
    # A fix never repeats: asked past the cache (CachedMatrix.inner), it does not evict the routes' stop matrices.
    first_leg = (await getattr(matrix, "inner", matrix).matrix([fix, points[0]])).durations[0][1]
    legs = await _legs(matrix, points)
    result: list[LiveEta] = []
    clock = now + timedelta(seconds=first_leg)
    for index, stop in enumerate(stops):
        if index:
            clock += timedelta(seconds=legs[index - 1])
        start = max(clock, stop.window_start)
        distance = haversine_km(fix[0], fix[1], stop.lat, stop.lon) * 1000
        result.append(LiveEta(stop=stop, arrival=clock, eta=start, distance_m=distance))
        clock = start + timedelta(seconds=stop.service_seconds)
    return result


async def _legs(matrix, points: list[tuple[float, float]]) -> list[int]:  # noqa: ANN001
    """Seconds from each point to the next: from the cache's rows when it offers them, else from a full matrix."""
    if len(points) < 2:
        return []
    if hasattr(matrix, "legs"):
        return await matrix.legs(points)
    durations = (await matrix.matrix(points)).durations
    return [durations[i][i + 1] for i in range(len(points) - 1)]


def _insert(session: AsyncSession):  # noqa: ANN202
    return pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert


async def store_live_etas(*, session: AsyncSession, etas: list[LiveEta], now: datetime, moved: timedelta) -> list[int]:
    """Write each stop's live ETA in one statement; returns the stops whose ETA moved by at least `moved` (or had none)."""
    if not etas:
        return []
    changed = [e.stop.id for e in etas if e.stop.live_eta is None or abs(e.stop.live_eta - e.eta) >= moved]
    table = Stop.__table__
    statement = table.update().where(table.c.id == sa.bindparam("stop_id")).values(live_eta=sa.bindparam("eta"), live_eta_at=now)
    await session.exec(statement, params=[{"stop_id": e.stop.id, "eta": e.eta} for e in etas])
    return changed


async def store_states(*, session: AsyncSession, states: list[StopLive]) -> None:
    """Insert or update the given live states in one statement."""
    if not states:
        return
    insert = _insert(session)(StopLiveState.__table__)
    statement = insert.on_conflict_do_update(
        index_elements=["stop_id"], set_={name: insert.excluded[name] for name in STATE_COLUMNS if name != "stop_id"},
    )
    await session.exec(statement, params=[state.row() for state in states])


async def mark_computed(*, session: AsyncSession, route: Route, now: datetime, stops_done: int, fix: tuple[float, float]) -> None:
    """Stamp the route's live state (the throttle every API process reads) with the fix it was computed from."""
    values = {"computed_at": now, "stops_done": stops_done, "fix_lat": fix[0], "fix_lon": fix[1]}
    insert = _insert(session)(RouteLiveState.__table__).values(route_id=route.id, tenant_id=route.tenant_id, **values)
    await session.exec(insert.on_conflict_do_update(index_elements=["route_id"], set_=values))


async def route_for_update(*, session: AsyncSession, route_id: int) -> Route | None:
    return (await session.exec(select(Route).where(Route.id == route_id).with_for_update())).first()
