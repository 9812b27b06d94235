"""Replanning with side effects: read the route, solve outside the transaction, write a new version, tell people."""
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import lru_cache
import logging
from typing import Any

from app.auth.principal import Principal
from app.config import Settings
from app.customers.models import Customer
from app.events import AlternativeExecuted, RouteChanged, RouteEdited
from app.errors import DomainError, ErrorCode, ensure_version, invalid, not_found
from app.outreach.flows import enqueue_sms
from app.outreach.service import local_time
from app.realtime.bus import Notice, route_channel
from app.realtime.models import RouteChangeKind
from app.realtime.route_events import record_route_change
from app.replanning import service
from app.replanning.matrix import MatrixError, MatrixProvider, Point, matrix_provider_from_settings
from app.replanning.models import RoutePlan
from app.replanning.pool import SolverPool, SolverTimeout, SolverUnavailable, default_pool
from app.replanning.problem_builder import ProposedRoute, RouteSnapshot, build_problem, propose, with_matrix
from app.replanning.service import EtaChange
from app.replanning.rebalance import build_fleet_problem, fleet_points, propose_fleet
from app.replanning.solver import Plan, Problem, ProblemError
from app.routes.models import Route
from app.runtime import Runtime, UnitOfWork, unit_of_work

log = logging.getLogger(__name__)

ETA_PURPOSE = "ETA_CHANGED"
ALTERNATIVE_REASON = "ALTERNATIVE_APPROVED"
EDIT_REASON_PREFIX = "EDIT_"  # + STOP_ADDED, STOP_MOVED_IN, ...: a day-of edit re-solved
REPLAN_RETRIES_ON_CONFLICT = 1
# No remaining stops, or a closed route: the approval stands and there is no order to change.
NOTHING_TO_PLAN = frozenset({ErrorCode.INVALID_INPUT, ErrorCode.INVALID_TRANSITION})
REBALANCE_REASON = "DEPOT_REBALANCE"
# VROOM returns its best plan so far at this share of the time limit, leaving the rest for the process hop.
SOLVER_SHARE_OF_TIMEOUT = 0.75


@dataclass(frozen=True)
class Proposal:
    """A plan for a route that has not been written: what was read, and what the solver proposes."""

    snapshot: RouteSnapshot
    route: ProposedRoute


@dataclass(frozen=True)
class Replanned:
    """The route's new version, its stored plan and the proposal it came from."""

    route: Route
    plan: RoutePlan
    proposal: Proposal


@lru_cache(maxsize=8)
def _cached_provider(osrm_url: str | None, speed_kmh: float, cache_entries: int) -> MatrixProvider:
    """One cached provider per configuration, so matrices are reused across replans."""
    return matrix_provider_from_settings(osrm_url, speed_kmh, cache_entries)


def matrix_provider(settings: Settings) -> MatrixProvider:
    """The travel-time source the settings choose (OSRM when DETOUR_OSRM_URL is set)."""
    return _cached_provider(settings.osrm_url, settings.average_speed_kmh, settings.matrix_cache_entries)


async def propose_for(
    snapshot: RouteSnapshot, settings: Settings, pool: SolverPool | None = None, matrix: MatrixProvider | None = None,
) -> ProposedRoute:
    """Solve the snapshot in the solver pool; any failure to plan is a REPLANNING_FAILED error."""
    problem, closed = build_problem(snapshot, **_search_limits(settings))
    plan, durations = await _solve(problem, snapshot.points(), settings, pool, matrix)
    return propose(snapshot, plan, closed, durations)


async def propose_fleet_for(
    snapshots: list[RouteSnapshot], settings: Settings, pool: SolverPool | None = None, matrix: MatrixProvider | None = None,
) -> dict[int, ProposedRoute]:
    """Solve several routes of one depot together, at day-planning limits (nobody left out for lack of search time)."""
    problem, closed = build_fleet_problem(snapshots, **_search_limits(settings, day_plan=True))
    plan, durations = await _solve(problem, fleet_points(snapshots), settings, pool, matrix, timeout_s=settings.day_plan_solver_timeout_seconds)
    return propose_fleet(snapshots, plan, closed, durations)


def _search_limits(settings: Settings, *, day_plan: bool = False) -> dict[str, int]:
    """VROOM's exploration level and its own time limit, inside the pool's: the fast replan's, or day planning's."""
    seconds = settings.day_plan_solver_timeout_seconds if day_plan else settings.replan_solver_timeout_seconds
    level = settings.day_plan_exploration_level if day_plan else settings.replan_exploration_level
    return {"exploration_level": level, "timeout_ms": max(1, int(seconds * 1000 * SOLVER_SHARE_OF_TIMEOUT))}


async def _solve(
    problem: Problem, points: list[Point], settings: Settings, pool: SolverPool | None, matrices: MatrixProvider | None,
    *, timeout_s: float | None = None,
) -> tuple[Plan, list[list[int]]]:
    """The plan over the points' travel matrix, and the matrix's durations; failures become REPLANNING_FAILED."""
    try:
        matrix = await (matrices or matrix_provider(settings)).matrix(points)
        solving = with_matrix(problem, matrix)
        plan = await (pool or default_pool()).solve(solving, timeout_s=timeout_s or settings.replan_solver_timeout_seconds)
    except (MatrixError, ProblemError, SolverTimeout, SolverUnavailable) as error:
        raise DomainError(ErrorCode.REPLANNING_FAILED, f"the route could not be replanned: {error}", field="routeId") from None
    return plan, matrix.durations


async def preview_replan(
    runtime: Runtime, principal: Principal, *, route_id: int, serving_stop_id: int | None = None, now: datetime | None = None,
) -> Proposal:
    """The order and ETAs a replan would give now, without writing anything."""
    async with runtime.sessionmaker() as session:
        route = await service.get_replannable_route(session=session, principal=principal, route_id=route_id)
        snapshot = await service.read_snapshot(session=session, route=route, now=now or runtime.clock.now(), serving_stop_id=serving_stop_id)
    return Proposal(snapshot, await propose_for(snapshot, runtime.settings, runtime.solver_pool, runtime.matrix))


async def replan_route(
    runtime: Runtime, principal: Principal, *, route_id: int, expected_version: int, serving_stop_id: int | None = None,
    reason: str = "DISPATCHER_REQUEST", now: datetime | None = None,
) -> Replanned:
    """Replan the remaining stops as a new route version; the solve runs between two short transactions."""
    async with runtime.sessionmaker() as session:
        route = await service.get_replannable_route(session=session, principal=principal, route_id=route_id)
        ensure_version(current=route.version, expected=expected_version, what="the route")
        snapshot = await service.read_snapshot(session=session, route=route, now=now or runtime.clock.now(), serving_stop_id=serving_stop_id)
    proposal = Proposal(snapshot, await propose_for(snapshot, runtime.settings, runtime.solver_pool, runtime.matrix))
    async with unit_of_work(runtime) as uow:
        return await write_proposal(uow, runtime.settings, proposal, created_by=principal.user_id, reason=reason)


async def rebalance_routes(
    runtime: Runtime, principal: Principal, *, expected_versions: dict[int, int], now: datetime | None = None,
) -> list[Replanned]:
    """Share the remaining stops of routes that have not left the depot out again across their vans, as new versions."""
    moment = now or runtime.clock.now()
    async with runtime.sessionmaker() as session:
        routes = await service.get_rebalanceable_routes(session=session, principal=principal, route_ids=list(expected_versions))
        snapshots = []
        for route in routes:
            ensure_version(current=route.version, expected=expected_versions[route.id], what=f"route {route.id}")
            snapshot = await service.read_snapshot(session=session, route=route, now=moment, require_remaining=False)
            # The vans are still at the depot, whatever a driver's phone reported last.
            snapshots.append(replace(snapshot, start=snapshot.depot, start_source="DEPOT", serving_stop_id=None))
    if not any(snapshot.remaining for snapshot in snapshots):
        raise invalid("the routes have no remaining stops to share out", "routes")
    proposals = await propose_fleet_for(snapshots, runtime.settings, runtime.solver_pool, runtime.matrix)
    async with unit_of_work(runtime) as uow:
        return await write_proposals(
            uow, runtime.settings, [Proposal(s, proposals[s.route_id]) for s in snapshots], created_by=principal.user_id,
            reason=REBALANCE_REASON,
        )


async def replan_after_alternative(runtime: Runtime, event: AlternativeExecuted) -> None:
    """After-commit handler: solve the route an executed alternative changed, outside any lock, as a new version.

    The approving transaction already re-sequenced the route, so the driver is never left without an order: when
    the route changes meanwhile the solve is tried once more on fresh data, and when that or the solver fails,
    the re-sequenced order stands and a ROUTE_UPDATED route event says why.
    """
    if event.replan:
        await replan_after_change(runtime, route_id=event.route_id, reason=ALTERNATIVE_REASON, context={"alternativeId": event.alternative_id})


async def replan_after_edit(runtime: Runtime, event: RouteEdited) -> None:
    """After-commit handler: a dispatcher's day-of edit is re-solved as the route's next version, like an alternative."""
    if event.replan:
        await replan_after_change(runtime, route_id=event.route_id, reason=f"{EDIT_REASON_PREFIX}{event.reason}", context={"edit": event.reason})


async def replan_after_change(runtime: Runtime, *, route_id: int, reason: str, context: dict[str, Any]) -> None:
    """Solve the route again as a version-checked new version: one retry on a conflict; otherwise the order stands, said why."""
    for attempt in range(1 + REPLAN_RETRIES_ON_CONFLICT):
        try:
            await replan_by_system(runtime, route_id=route_id, reason=reason)
            return
        except DomainError as error:
            if error.code in NOTHING_TO_PLAN:
                return
            if error.code is ErrorCode.VERSION_CONFLICT and attempt < REPLAN_RETRIES_ON_CONFLICT:
                continue
            log.warning("replan after a change not written", extra={"routeId": route_id, "code": error.code.value, "reason": reason})
            await _record_kept_order(runtime, route_id=route_id, context=context, why=error.code.value)
            return


async def replan_by_system(runtime: Runtime, *, route_id: int, reason: str) -> Replanned:
    """Read the route, solve in the pool with no transaction open, write a version-checked new version."""
    async with runtime.sessionmaker() as session:
        route = await session.get(Route, route_id)
        if route is None:
            raise not_found("route", "routeId")
        snapshot = await service.read_snapshot(session=session, route=route, now=runtime.clock.now())
    proposal = Proposal(snapshot, await propose_for(snapshot, runtime.settings, runtime.solver_pool, runtime.matrix))
    async with unit_of_work(runtime) as uow:
        return await write_proposal(uow, runtime.settings, proposal, created_by=None, reason=reason)


async def _record_kept_order(runtime: Runtime, *, route_id: int, context: dict[str, Any], why: str) -> None:
    async with unit_of_work(runtime) as uow:
        route = await uow.session.get(Route, route_id)
        await record_route_change(
            uow, route=route, kind=RouteChangeKind.ROUTE_UPDATED, stop_ids=[],
            payload={**context, "replan": "NOT_WRITTEN", "reason": why, "kept": "RESEQUENCED_ORDER"},
        )


async def write_proposal(
    uow: UnitOfWork, settings: Settings, proposal: Proposal, *, created_by: int | None, reason: str, announce: bool = True,
) -> Replanned:
    """Store the proposal as the next route version and queue ETA messages; announce it (event + notices) unless the caller does."""
    [replanned] = await write_proposals(uow, settings, [proposal], created_by=created_by, reason=reason, announce=announce)
    return replanned


async def write_proposals(
    uow: UnitOfWork, settings: Settings, proposals: list[Proposal], *, created_by: int | None, reason: str, announce: bool = True,
) -> list[Replanned]:
    """Store each proposal as its route's next version (all or none), message moved ETAs, announce each route."""
    documents = [plan_document(proposal, reason=reason, settings=settings) for proposal in proposals]
    written = await service.write_new_versions(
        session=uow.session, proposals=[(p.snapshot, p.route, d) for p, d in zip(proposals, documents)],
        created_by=created_by, reason=reason, eta_threshold=timedelta(minutes=settings.replan_eta_notify_minutes),
    )
    for new, proposal, document in zip(written, proposals, documents):
        notified = await _notify_moved_etas(uow, new.route, new.eta_changes)
        new.plan.plan = {**document, "etaChanges": [_eta_change_json(change, change.stop_id in notified) for change in new.eta_changes]}
        uow.session.add(new.plan)
    await uow.session.flush()
    if announce:
        for new, proposal in zip(written, proposals):
            await _announce(uow, new, proposal, reason)
    return [Replanned(new.route, new.plan, proposal) for new, proposal in zip(written, proposals)]


async def _announce(uow: UnitOfWork, new: service.NewVersion, proposal: Proposal, reason: str) -> None:
    """The route event the driver's routeUpdates streams, and the notice on the route channel."""
    route, plan_id = new.route, new.plan.id
    completed = {stop.id for stop in proposal.snapshot.completed}
    # Every stop that got a new place or ETA, including any that moved to another route.
    touched = sorted({stop.id for stop in proposal.snapshot.remaining} | (proposal.route.sequences.keys() - completed))
    await record_route_change(
        uow, route=route, kind=RouteChangeKind.ROUTE_REPLANNED, stop_ids=touched, payload={"planId": plan_id, "reason": reason},
    )
    notice = {"type": "ROUTE_REPLANNED", "routeId": route.id, "version": route.version, "planId": plan_id}
    uow.notify(Notice(route_channel(route.tenant_id, route.id), notice))
    await uow.emit(RouteChanged(
        tenant_id=route.tenant_id, route_id=route.id, change=RouteChangeKind.ROUTE_REPLANNED.value, stop_ids=tuple(touched),
        version=route.version, plan_id=plan_id, reason=reason,
    ))


def plan_document(proposal: Proposal, *, reason: str, settings: Settings) -> dict[str, Any]:
    """The stored plan: where it started, the order and times, what was left out and why, and the totals."""
    snapshot, route = proposal.snapshot, proposal.route
    return {
        "reason": reason,
        "basedOnVersion": snapshot.version,
        "departure": snapshot.departure.isoformat(),
        "start": {"lat": snapshot.start[0], "lon": snapshot.start[1], "source": snapshot.start_source},
        "servingStopId": snapshot.serving_stop_id,
        "stops": [
            {
                "stopId": s.stop_id, "sequence": s.sequence, "arrival": s.arrival.isoformat(), "eta": s.eta.isoformat(),
                "departure": s.departure.isoformat(),
            }
            for s in route.planned
        ],
        "unassigned": [{"stopId": u.stop_id, "sequence": u.sequence, "reason": u.reason.value, "detail": u.detail} for u in route.unassigned],
        "durationSeconds": route.duration_seconds,
        "previousDurationSeconds": route.previous_duration_seconds,
        "distanceMeters": route.distance_m,
        "cost": route.cost,
        "matrix": "OSRM" if settings.osrm_url else "HAVERSINE",
        "explorationLevel": settings.replan_exploration_level,
    }


async def _notify_moved_etas(uow: UnitOfWork, route: Route, changes: list[EtaChange]) -> set[int]:
    """Queue an SMS for each customer whose ETA moved; returns the stops whose customer was messaged."""
    notified = set()
    for change in changes:
        customer = await uow.session.get(Customer, change.customer_id)
        if customer is None or customer.tenant_id != route.tenant_id or not customer.phone:
            continue
        text = f"Update on your delivery: the driver now expects to reach you around {local_time(customer, change.current):%H:%M}."
        await enqueue_sms(
            uow, tenant_id=route.tenant_id, to_phone=customer.phone, text=text, purpose=ETA_PURPOSE,
            customer_id=customer.id, stop_id=change.stop_id,
        )
        notified.add(change.stop_id)
    return notified


def _eta_change_json(change: EtaChange, notified: bool) -> dict[str, Any]:
    return {
        "stopId": change.stop_id, "customerId": change.customer_id, "from": change.previous.isoformat(),
        "to": change.current.isoformat(), "minutes": change.minutes, "notified": notified,
    }
