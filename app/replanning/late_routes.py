"""A route running late: one replan proposal for the dispatcher, then exceptions only for the stops it cannot save."""
import logging

from app.errors import DomainError
from app.events import StopsRunningLate
from app.realtime.models import RouteChangeKind
from app.realtime.route_events import record_route_change
from app.replanning import service
from app.replanning.flows import Proposal, plan_document, propose_for
from app.routes.models import Route, Stop
from app.runtime import Runtime, unit_of_work
from app.tracking.lateness import open_running_late
from app.tracking.models import LateRouteProposal

log = logging.getLogger(__name__)
LATE_REASON = "RUNNING_LATE"


def _kept(proposal: Proposal) -> tuple[set[int], set[int]]:
    """(stops the proposal serves inside their window, stops it serves late or cannot serve)."""
    windows = {stop.id: stop.window_end for stop in proposal.snapshot.remaining}
    kept = {step.stop_id for step in proposal.route.planned if step.stop_id in windows and step.eta <= windows[step.stop_id]}
    return kept, set(windows) - kept


async def propose_replan_for_late_stops(runtime: Runtime, event: StopsRunningLate) -> None:
    """After-commit handler: preview a replan from the driver's fix, store it for the dispatcher, open what it misses."""
    async with runtime.sessionmaker() as session:
        route = await session.get(Route, event.route_id)
        if route is None:
            return
        snapshot = await service.read_snapshot(session=session, route=route, now=runtime.clock.now(), require_remaining=False)
        live = {stop.id: stop for stop in snapshot.remaining}
        kept_now = 0
        for stop_id in live:
            row = await session.get(Stop, stop_id)
            kept_now += bool(row.live_eta and row.live_eta <= row.window_end)
    proposal: Proposal | None = None
    if snapshot.remaining:
        try:
            proposal = Proposal(snapshot, await propose_for(snapshot, runtime.settings, runtime.solver_pool, runtime.matrix))
        except DomainError as error:
            log.warning("no replan proposal for a late route", extra={"routeId": route.id, "code": error.code.value})
    kept, missed = _kept(proposal) if proposal else (set(), set(event.stop_ids))
    still_late = [stop_id for stop_id in event.stop_ids if stop_id in missed or stop_id not in live]
    async with unit_of_work(runtime) as uow:
        route = await uow.session.get(Route, event.route_id)
        row = LateRouteProposal(
            tenant_id=route.tenant_id, route_id=route.id, based_on_version=snapshot.version, late_stop_ids=list(event.stop_ids),
            still_late_stop_ids=still_late, windows_kept_now=kept_now, windows_kept_replanned=len(kept),
            minutes_saved=round((proposal.route.previous_duration_seconds - proposal.route.duration_seconds) / 60) if proposal else 0,
            plan=plan_document(proposal, reason=LATE_REASON, settings=runtime.settings) if proposal else {},
        )
        uow.session.add(row)
        await uow.session.flush()
        # staff following the route (routeUpdates) hear of the proposal; the stops it cannot save open exceptions below
        await record_route_change(
            uow, route=route, kind=RouteChangeKind.ROUTE_UPDATED, stop_ids=list(event.stop_ids),
            payload={"lateRouteProposalId": row.id, "stillLateStopIds": still_late},
        )
        for stop_id in still_late:
            stop = await uow.session.get(Stop, stop_id)
            await open_running_late(uow, route=route, stop=stop, eta=stop.live_eta)
