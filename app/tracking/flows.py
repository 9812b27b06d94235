"""Positions from the driver's phone: store, wake the live map, then act on the live ETAs they give."""
import dataclasses
from datetime import timedelta

from app.auth.principal import Principal
from app.events import LiveEtasUpdated, PositionsReported
from app.realtime.bus import Notice
from app.realtime.models import RouteChangeKind
from app.realtime.route_events import record_route_change
from app.routes.models import RouteStatus
from app.runtime import Runtime, unit_of_work
from app.tracking import eta as live, service
from app.tracking.lateness import act_on_lateness, remember_eta_30, update_lateness
from app.tracking.proximity import announce_approaches
from app.tracking.service import Fix

DRIVING = (RouteStatus.PLANNED, RouteStatus.IN_PROGRESS)


def positions_channel(tenant_id: int) -> str:
    return f"detour.t{tenant_id}.positions"


async def report_positions(runtime: Runtime, principal: Principal, fixes: list[Fix]) -> tuple[int, int]:
    """Store a batch (out of order and duplicates tolerated); returns (stored, ignored as duplicates)."""
    ordered = service.validate_fixes(fixes)
    async with unit_of_work(runtime) as uow:
        # reads first: on SQLite the write lock is taken at the first insert and held to the commit
        route_id = await service.driving_route_id(session=uow.session, tenant_id=principal.tenant_id, driver_id=principal.user_id)
        due = route_id is not None and runtime.settings.live_eta_enabled and await _etas_due(runtime, uow.session, route_id, principal.user_id, ordered[-1])
        stored = await service.store_fixes(session=uow.session, tenant_id=principal.tenant_id, driver_id=principal.user_id, fixes=ordered)
        newest = ordered[-1]
        uow.notify(Notice(positions_channel(principal.tenant_id), {"driverId": principal.user_id, "recordedAt": newest.recorded_at.isoformat()}))
        await uow.emit(PositionsReported(tenant_id=principal.tenant_id, driver_id=principal.user_id, route_id=route_id, accepted=stored, eta_due=due))
    return stored, len(fixes) - stored


async def _etas_due(runtime: Runtime, session, route_id: int, driver_id: int, newest: Fix) -> bool:  # noqa: ANN001
    """Whether this batch should recompute the route's ETAs, judged from its newest fix (not stored yet)."""
    state = await live.progress(session=session, route_id=route_id, driver_id=driver_id)
    if state.fix_at is None or newest.recorded_at > state.fix_at:
        state = dataclasses.replace(state, fix=(newest.lat, newest.lon), fix_at=newest.recorded_at)
    return state.is_due(now=runtime.clock.now(), **_coalescing(runtime.settings))


def _coalescing(settings) -> dict:  # noqa: ANN001
    """How often a route's ETAs may be recomputed: the interval, and for a driver who barely moved, the max interval."""
    return {
        "interval": timedelta(seconds=settings.live_eta_interval_seconds), "min_move_m": settings.live_eta_min_move_m,
        "max_interval": timedelta(seconds=max(settings.live_eta_max_interval_seconds, settings.live_eta_interval_seconds)),
    }


async def update_live_etas(runtime: Runtime, event: PositionsReported) -> None:
    """After-commit handler: the batch is stored; recompute the live ETAs of the driver's route and act on them."""
    if event.route_id is not None and event.eta_due and runtime.settings.live_eta_enabled:
        await on_positions_reported(runtime, tenant_id=event.tenant_id, driver_id=event.driver_id, route_id=event.route_id)


async def on_positions_reported(runtime: Runtime, *, tenant_id: int, driver_id: int, route_id: int) -> list[int]:
    """Recompute the route's live ETAs (throttled per route, forced by a completed stop) and act on them.

    In its own unit of work: store planned-vs-live ETAs and stream the ones that moved (routeUpdates, and a wake-up
    for the live map), open RUNNING_LATE exceptions or one replan proposal for late stops, tell outreach of an
    approached stop. Returns the stops whose ETA moved (empty when throttled).
    """
    settings = runtime.settings
    async with unit_of_work(runtime) as uow:
        session, now = uow.session, uow.clock.now()
        route = await live.route_for_update(session=session, route_id=route_id)
        if route is None or route.tenant_id != tenant_id or route.driver_id != driver_id or route.status not in DRIVING:
            return []
        state = await live.progress(session=session, route_id=route_id, driver_id=driver_id)
        if state.fix is None or not state.is_due(now=now, **_coalescing(settings)):
            return []  # another process computed it while this one waited for the route's lock
        await live.mark_computed(session=session, route=route, now=now, stops_done=state.stops_done, fix=state.fix)
        stops, states, new = await live.pending_stops(session=session, route=route)
        before = {stop_id: row.row() for stop_id, row in states.items()}
        etas = await live.compute_live_etas(runtime.matrix, fix=state.fix, stops=stops, now=now)
        moved = await live.store_live_etas(session=session, etas=etas, now=now, moved=timedelta(seconds=settings.live_eta_publish_change_seconds))
        if etas:  # integrations announce the stops whose ETA moved enough (eta.changed webhooks)
            await uow.emit(LiveEtasUpdated(tenant_id=tenant_id, route_id=route_id, stop_ids=tuple(item.stop.id for item in etas)))
        if moved:
            await record_route_change(
                uow, route=route, kind=RouteChangeKind.ETAS_UPDATED, stop_ids=moved, payload={"source": "GPS", "fixAt": state.fix_at.isoformat()},
            )
            uow.notify(Notice(positions_channel(tenant_id), {"driverId": driver_id, "etasAt": now.isoformat()}))
        remember_eta_30(etas=etas, states=states, now=now)
        late = update_lateness(
            etas=etas, states=states, now=now, margin=timedelta(minutes=settings.late_margin_minutes),
            clear=timedelta(minutes=settings.late_clear_minutes),
        )
        await act_on_lateness(uow, route=route, etas=etas, states=states, late_ids=late)
        await announce_approaches(uow, route=route, etas=etas, states=states, now=now)
        await live.store_states(session=session, states=[row for stop_id, row in states.items() if stop_id in new or row.row() != before[stop_id]])
        return moved
