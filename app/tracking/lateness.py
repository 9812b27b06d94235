"""Running late: which stops will miss their windows, with hysteresis so a wobbling ETA does not flap."""
from datetime import datetime, timedelta

from app.delivery_exceptions.models import DeliveryException, ExceptionKind
from app.events import StopsRunningLate
from app.routes.models import Route, Stop
from app.runtime import UnitOfWork
from app.tracking.eta import LiveEta, StopLive
from app.tracking.system_reports import open_system_exception

RUNNING_LATE = "RUNNING_LATE"


def update_lateness(*, etas: list[LiveEta], states: dict[int, StopLive], now: datetime, margin: timedelta, clear: timedelta) -> list[int]:
    """Mark stops late when the ETA passes window end minus the margin; clear only well inside the window.

    Returns the stops that are late and whose lateness nobody has acted on yet.
    """
    unhandled: list[int] = []
    for item in etas:
        state = states[item.stop.id]
        if not state.late and item.eta > item.stop.window_end - margin:
            state.late, state.late_since = True, now
        elif state.late and item.eta <= item.stop.window_end - margin - clear:
            state.late = False  # late_handled stays: a stop gets one RUNNING_LATE exception, not one per wobble
        if state.late and not state.late_handled:
            unhandled.append(item.stop.id)
    return unhandled


def remember_eta_30(*, etas: list[LiveEta], states: dict[int, StopLive], now: datetime) -> None:
    """Keep the ETA given when arrival was first 30 minutes or less away: the one ETA accuracy is measured on."""
    for item in etas:
        state = states[item.stop.id]
        if state.eta_30 is None and item.eta - now <= timedelta(minutes=30):
            state.eta_30, state.eta_30_at = item.eta, now


async def act_on_lateness(uow: UnitOfWork, *, route: Route, etas: list[LiveEta], states: dict[int, StopLive], late_ids: list[int]) -> None:
    """One late stop: its exception now. Several: one replan proposal first (StopsRunningLate)."""
    if not late_ids:
        return
    for stop_id in late_ids:
        states[stop_id].late_handled = True
    if len(late_ids) >= uow.settings.late_replan_min_stops:
        await uow.emit(StopsRunningLate(tenant_id=route.tenant_id, route_id=route.id, stop_ids=tuple(late_ids)))
        return
    by_id = {item.stop.id: item for item in etas}
    for stop_id in late_ids:
        stop = await uow.session.get(Stop, stop_id)
        await open_running_late(uow, route=route, stop=stop, eta=by_id[stop_id].eta)


async def open_running_late(uow: UnitOfWork, *, route: Route, stop: Stop, eta: datetime | None) -> DeliveryException | None:
    """The stop's DELAYED / RUNNING_LATE exception (once per stop); outreach reacts to ExceptionReported."""
    when = f" (live ETA {eta:%H:%M} UTC, window ends {stop.window_end:%H:%M} UTC)" if eta else ""
    return await open_system_exception(
        uow, stop=stop, route=route, kind=ExceptionKind.DELAYED, reason_code=RUNNING_LATE,
        description=f"Live ETA says the driver will miss the time window{when}.", key=f"running-late-{stop.id}",
    )
