"""Turn a route's remaining stops into a solver Problem, and the solver's Plan back into stop orders and ETAs."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from app.replanning.matrix import Point, TravelMatrix
from app.replanning.solver import JobSpec, Plan, PlannedStep, Problem, UnassignedReason, VehicleSpec

VEHICLE_ID = 0
START_INDEX, DEPOT_INDEX, FIRST_STOP_INDEX = 0, 1, 2
# The shift lasts this long after the last window closes: windows, not the shift, are what bind a route.
SHIFT_SECONDS = 24 * 3600


@dataclass(frozen=True)
class StopSnapshot:
    """What the solver needs of one stop, read in one go so solving can happen outside the transaction."""

    id: int
    sequence: int
    lat: float
    lon: float
    window_start: datetime
    window_end: datetime
    service_seconds: int
    parcels: int
    planned_eta: datetime | None
    version: int
    customer_id: int


@dataclass(frozen=True)
class RouteSnapshot:
    """A route as it stood when read: where the driver is, when they leave, what is done and what remains."""

    route_id: int
    tenant_id: int
    version: int
    capacity: int | None
    depot: Point
    start: Point
    start_source: str
    departure: datetime
    completed: tuple[StopSnapshot, ...]
    remaining: tuple[StopSnapshot, ...]
    serving_stop_id: int | None

    def points(self) -> list[Point]:
        """Matrix locations: the driver's start, the depot, then every remaining stop in current order."""
        return [self.start, self.depot, *((stop.lat, stop.lon) for stop in self.remaining)]


@dataclass(frozen=True)
class ProposedStop:
    """A remaining stop's place in the new order; eta is when service starts (after any wait for the window)."""

    stop_id: int
    sequence: int
    arrival: datetime
    eta: datetime
    departure: datetime


@dataclass(frozen=True)
class UnassignedStop:
    """A remaining stop the plan cannot serve, and why; it keeps a place at the end of the route."""

    stop_id: int
    sequence: int
    reason: UnassignedReason
    detail: str


@dataclass(frozen=True)
class ProposedRoute:
    """The new order of the whole route (completed stops first, unchanged) with travel totals before and after."""

    planned: tuple[ProposedStop, ...]
    unassigned: tuple[UnassignedStop, ...]
    sequences: dict[int, int]
    duration_seconds: int
    previous_duration_seconds: int
    distance_m: int | None
    cost: int


def build_problem(snapshot: RouteSnapshot, *, exploration_level: int, timeout_ms: int | None) -> tuple[Problem, list[UnassignedStop]]:
    """The single-vehicle problem of the remaining stops, and the stops ruled out before solving (window closed)."""
    jobs, closed = [], []
    for index, stop in enumerate(snapshot.remaining, start=FIRST_STOP_INDEX):
        job = job_for(stop, index, snapshot.departure, serving=stop.id == snapshot.serving_stop_id, with_demand=snapshot.capacity is not None)
        (jobs if isinstance(job, JobSpec) else closed).append(job)
    capacity = (snapshot.capacity,) if snapshot.capacity is not None else ()
    vehicle = VehicleSpec(VEHICLE_ID, START_INDEX, DEPOT_INDEX, 0, shift_end_for(jobs), capacity=capacity)
    pinned = {VEHICLE_ID: snapshot.serving_stop_id} if snapshot.serving_stop_id in {job.id for job in jobs} else {}
    current_order = {VEHICLE_ID: tuple(job.id for job in jobs)}  # remaining stops are read in sequence order
    problem = Problem(
        [vehicle], jobs, [[0]], pinned_first=pinned, exploration_level=exploration_level, timeout_ms=timeout_ms,
        initial_routes=current_order,
    )
    return problem, closed


def job_for(stop: StopSnapshot, index: int, departure: datetime, *, serving: bool, with_demand: bool) -> JobSpec | UnassignedStop:
    """The stop as a solver job at matrix `index`, or an UnassignedStop when its window closed before departure."""
    opens, closes = _offset(departure, stop.window_start), _offset(departure, stop.window_end)
    if closes < 0 and not serving:
        detail = f"its window closed at {stop.window_end.isoformat()}, before the replanning"
        return UnassignedStop(stop.id, 0, UnassignedReason.TIME_WINDOW_UNREACHABLE, detail)
    # The stop being served is reached already: its window no longer constrains the plan.
    windows = () if serving else ((max(0, opens), closes),)
    demand = (stop.parcels,) if with_demand else ()
    return JobSpec(stop.id, index, service=stop.service_seconds, time_windows=windows, demand=demand)


def shift_end_for(jobs: list[JobSpec]) -> int:
    """A shift long enough for every window, however far ahead (a route planned for tomorrow), and the way back."""
    return max((window[1] for job in jobs for window in job.time_windows), default=0) + SHIFT_SECONDS


def with_matrix(problem: Problem, matrix: TravelMatrix) -> Problem:
    """The same problem over the given travel matrix."""
    return Problem(
        problem.vehicles, problem.jobs, matrix.durations, matrix.distances, pinned_first=problem.pinned_first,
        exploration_level=problem.exploration_level, threads=problem.threads, timeout_ms=problem.timeout_ms,
        initial_routes=problem.initial_routes,
    )


def current_order_seconds(snapshot: RouteSnapshot, durations: list[list[int]]) -> int:
    """Travel seconds of the remaining stops in their current order, from the start back to the depot."""
    order = [START_INDEX, *range(FIRST_STOP_INDEX, FIRST_STOP_INDEX + len(snapshot.remaining)), DEPOT_INDEX]
    return sum(durations[a][b] for a, b in zip(order, order[1:]))


def propose(snapshot: RouteSnapshot, plan: Plan, closed: list[UnassignedStop], durations: list[list[int]]) -> ProposedRoute:
    """Map a single-vehicle plan onto the route."""
    return assemble(
        snapshot, steps=[step for route in plan.routes for step in route.steps], reasons=unassigned_reasons(plan, closed),
        duration=plan.duration, previous=current_order_seconds(snapshot, durations), distance=plan.distance, cost=plan.cost,
    )


def unassigned_reasons(plan: Plan, closed: list[UnassignedStop]) -> dict[int, tuple[UnassignedReason, str]]:
    """Why each stop left out of the plan was left out, whether before solving or by the solver."""
    return {u.job_id: (u.reason, u.detail) for u in plan.unassigned} | {u.stop_id: (u.reason, u.detail) for u in closed}


def assemble(
    snapshot: RouteSnapshot, *, steps: list[PlannedStep], reasons: dict[int, tuple[UnassignedReason, str]], duration: int,
    previous: int, distance: int | None, cost: int,
) -> ProposedRoute:
    """The route's new order: completed stops keep their relative order first, planned stops next, its left-out stops last."""

    def moment(seconds: int) -> datetime:
        return snapshot.departure + timedelta(seconds=seconds)

    left_out = [stop for stop in snapshot.remaining if stop.id in reasons]
    order = [stop.id for stop in sorted(snapshot.completed, key=lambda s: s.sequence)]
    order += [step.job_id for step in steps] + [stop.id for stop in left_out]
    sequences = {stop_id: position for position, stop_id in enumerate(order, start=1)}
    planned = tuple(
        ProposedStop(step.job_id, sequences[step.job_id], moment(step.arrival), moment(step.service_start), moment(step.departure))
        for step in steps
    )
    unassigned = tuple(UnassignedStop(stop.id, sequences[stop.id], *reasons[stop.id]) for stop in left_out)
    return ProposedRoute(
        planned=planned, unassigned=unassigned, sequences=sequences, duration_seconds=duration,
        previous_duration_seconds=previous, distance_m=distance, cost=cost,
    )


def _offset(origin: datetime, moment: datetime) -> int:
    """Whole seconds from origin to moment (negative when moment is earlier)."""
    return int((moment - origin).total_seconds())
