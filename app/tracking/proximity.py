"""Proximity: the driver is about to arrive at a stop (distance or live ETA), told to outreach once per stop."""
from datetime import datetime, timedelta

from app.events import StopApproaching
from app.routes.models import Route
from app.runtime import UnitOfWork
from app.tracking.eta import LiveEta, StopLive


def approaching(*, etas: list[LiveEta], now: datetime, radius_m: float, within: timedelta) -> list[LiveEta]:
    """The stops the driver is near: within the radius, or whose live ETA is at most `within` away."""
    return [item for item in etas if item.distance_m <= radius_m or item.arrival - now <= within]


async def announce_approaches(uow: UnitOfWork, *, route: Route, etas: list[LiveEta], states: dict[int, StopLive], now: datetime) -> list[int]:
    """Emit StopApproaching for each newly approached stop; a stop is approached once."""
    near = approaching(
        etas=etas, now=now, radius_m=uow.settings.proximity_radius_m, within=timedelta(minutes=uow.settings.proximity_eta_minutes),
    )
    announced: list[int] = []
    for item in near:
        state = states[item.stop.id]
        if state.approached_at is not None or route.driver_id is None:
            continue
        state.approached_at = now
        await uow.emit(StopApproaching(
            tenant_id=route.tenant_id, stop_id=item.stop.id, route_id=route.id, driver_id=route.driver_id, eta=item.eta.isoformat(),
        ))
        announced.append(item.stop.id)
    return announced
