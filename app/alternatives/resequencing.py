"""Re-sequencing a route in the approving transaction: the redirected stop goes where it fits best.

This is cheap and runs under the lock; the full VROOM replan runs after the commit (app.replanning handles
AlternativeExecuted) and replaces it with a solved order and ETAs when the route has not changed meanwhile.
"""
from sqlmodel import col, select

from app.geo import haversine_km
from app.routes.models import Route, Stop, StopStatus
from app.runtime import UnitOfWork
from app.tenants.models import Depot


def best_relocation(start: tuple[float, float], stops: list[Stop]) -> list[Stop]:
    """The driver's order with at most one stop moved: the move that saves the most distance.

    Called after a single redirect, that stop is the redirected one, put at its nearest position;
    every other stop keeps its place relative to the rest.
    """
    points = [start, *((s.lat, s.lon) for s in stops)]

    def km(a: tuple[float, float], b: tuple[float, float] | None) -> float:
        return 0.0 if b is None else haversine_km(*a, *b)

    best_saving, best_move = 1e-9, None
    for i in range(1, len(points)):
        before, here, after = points[i - 1], points[i], points[i + 1] if i + 1 < len(points) else None
        removal_gain = km(before, here) + km(here, after) - km(before, after)
        rest = points[:i] + points[i + 1 :]
        for j in range(1, len(rest) + 1):  # insert before rest[j] (or at the end)
            if j == i:
                continue  # its current place
            a, b = rest[j - 1], rest[j] if j < len(rest) else None
            saving = removal_gain - (km(a, here) + km(here, b) - km(a, b))
            if saving > best_saving:
                best_saving, best_move = saving, (i - 1, j - 1)
    if best_move is None:
        return list(stops)
    index, position = best_move
    rest_stops = stops[:index] + stops[index + 1 :]
    return rest_stops[:position] + [stops[index]] + rest_stops[position:]


async def resequence_route(uow: UnitOfWork, route_id: int) -> None:
    """Keep the driver's order, with the one stop that saves the most distance moved to its best place."""
    session = uow.session
    await session.flush()  # sessions do not autoflush: read what the caller changed (a new address)
    route = await session.get(Route, route_id)
    stops = list((await session.exec(select(Stop).where(Stop.route_id == route_id).order_by(col(Stop.sequence)))).all())
    pending = [s for s in stops if s.status is StopStatus.PENDING]
    done = [s for s in stops if s.status is not StopStatus.PENDING and s.attempts > 0]
    depot = await session.get(Depot, route.depot_id)
    start = (done[-1].lat, done[-1].lon) if done else (depot.lat, depot.lon)
    slots = sorted(s.sequence for s in pending)
    for sequence, stop in zip(slots, best_relocation(start, pending)):
        if stop.sequence != sequence:
            stop.sequence = sequence
            stop.version += 1
            session.add(stop)
    await session.flush()
