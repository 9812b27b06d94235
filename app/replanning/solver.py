"""Route optimisation core: a pure function from a Problem to a Plan, solved with VROOM."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Sequence

import numpy as np
import vroom

from app.replanning.initial_routes import feasible_order, vroom_steps

PROFILE = "car"
MAX_MATRIX_VALUE = int(np.iinfo(np.uint32).max)
UNLIMITED_CAPACITY = 2**40
MAX_JOBS = int(np.iinfo(np.uint32).max)  # VROOM's "no limit" for a vehicle's task count
NO_WINDOW = ((0, 2**40),)


class ProblemError(ValueError):
    """The problem is malformed and cannot be solved."""


class UnassignedReason(str, enum.Enum):
    """Why a job could not be placed in any route."""
    TIME_WINDOW_UNREACHABLE = "TIME_WINDOW_UNREACHABLE"
    CAPACITY_EXCEEDED = "CAPACITY_EXCEEDED"
    SKILLS_MISSING = "SKILLS_MISSING"
    NO_FEASIBLE_SLOT = "NO_FEASIBLE_SLOT"


@dataclass(frozen=True)
class VehicleCost:
    """What using a vehicle costs, in the depot's currency units (cents): fixed, per hour driven and waited, per km."""
    fixed: int = 0
    per_hour: int = 3600
    per_km: int = 0


@dataclass(frozen=True)
class VehicleSpec:
    """A vehicle: matrix indexes of its start/end (None = open end), shift in seconds, capacity, skills."""
    id: int
    start_index: int
    end_index: int | None
    shift_start: int
    shift_end: int
    capacity: tuple[int, ...] = ()
    skills: frozenset[int] = frozenset()
    max_jobs: int | None = None  # at most this many jobs (a workload cap when balancing routes)
    costs: VehicleCost | None = None  # None: cost is travel seconds (VROOM's default)


@dataclass(frozen=True)
class JobSpec:
    """A stop to serve: matrix index, service seconds, windows on the service start, demand, skills."""
    id: int
    location_index: int
    service: int = 0
    time_windows: tuple[tuple[int, int], ...] = ()
    demand: tuple[int, ...] = ()
    priority: int = 0
    skills: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Problem:
    """Vehicles, jobs and square travel matrices (seconds, optional metres) indexed by location."""
    vehicles: Sequence[VehicleSpec]
    jobs: Sequence[JobSpec]
    durations: Sequence[Sequence[int]] | np.ndarray
    distances: Sequence[Sequence[int]] | np.ndarray | None = None
    pinned_first: dict[int, int] = field(default_factory=dict)
    exploration_level: int = 5
    threads: int = 1
    timeout_ms: int | None = None
    # A starting order per vehicle (job ids), e.g. the route being replanned: VROOM improves it rather than
    # building routes from scratch, which is an order of magnitude faster on 100+ stops.
    initial_routes: dict[int, tuple[int, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class PlannedStep:
    """One served job with its arrival, service start (after any waiting) and departure times."""
    job_id: int
    arrival: int
    service_start: int
    departure: int


@dataclass(frozen=True)
class PlannedRoute:
    """The ordered steps of one vehicle; duration is travel seconds, distance travel metres."""
    vehicle_id: int
    steps: tuple[PlannedStep, ...]
    duration: int
    distance: int | None


@dataclass(frozen=True)
class Unassigned:
    """A job left out of the plan, with the most likely reason."""
    job_id: int
    reason: UnassignedReason
    detail: str


@dataclass(frozen=True)
class Plan:
    """Routes, unassigned jobs and totals (cost = travel seconds, VROOM's default, unless vehicles carry costs)."""
    routes: tuple[PlannedRoute, ...]
    unassigned: tuple[Unassigned, ...]
    cost: int
    duration: int
    distance: int | None


@dataclass(frozen=True)
class _PinnedStop:
    """A pinned job served first, and the leg that reaches it from the vehicle start."""
    step: PlannedStep
    location_index: int
    demand: list[int]
    leg_duration: int
    leg_distance: int


def solve(problem: Problem) -> Plan:
    """Solve the problem with VROOM and return a plan covering every job."""
    durations = _as_matrix(problem.durations, "durations")
    distances = None if problem.distances is None else _as_matrix(problem.distances, "distances")
    if distances is not None and distances.shape != durations.shape:
        raise ProblemError(f"distances shape {distances.shape} differs from durations shape {durations.shape}")
    dimensions = _validate_entities(problem, len(durations))
    jobs_by_id = {job.id: job for job in problem.jobs}
    pinned = {
        vehicle.id: _pin(vehicle, jobs_by_id[problem.pinned_first[vehicle.id]], durations, distances, dimensions)
        for vehicle in problem.vehicles
        if vehicle.id in problem.pinned_first
    }
    pinned_job_ids = set(problem.pinned_first.values())
    free_jobs = [job for job in problem.jobs if job.id not in pinned_job_ids]
    solved = {}
    if free_jobs and problem.vehicles:
        solved = _run_vroom(problem, free_jobs, pinned, durations, distances, dimensions)
    routes, cost = [], 0
    for vehicle in problem.vehicles:
        route, route_cost = _route(vehicle, solved.get(vehicle.id), pinned.get(vehicle.id), durations, distances)
        if route is not None:
            routes.append(route)
            cost += route_cost
    served = {step.job_id for route in routes for step in route.steps}
    unassigned = tuple(
        _explain_unassigned(job, problem.vehicles, durations, dimensions)
        for job in problem.jobs
        if job.id not in served
    )
    total_distance = sum(r.distance for r in routes) if distances is not None else None
    return Plan(tuple(routes), unassigned, cost, sum(r.duration for r in routes), total_distance)


def _as_matrix(values: object, name: str) -> np.ndarray:
    """Convert to a square int64 matrix fitting VROOM's uint32 cells, or raise ProblemError."""
    try:
        matrix = np.asarray(values)
    except ValueError as error:
        raise ProblemError(f"{name} matrix is ragged: {error}") from None
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ProblemError(f"{name} matrix must be square, got shape {matrix.shape}")
    if matrix.size and not np.issubdtype(matrix.dtype, np.integer):
        raise ProblemError(f"{name} matrix must contain integers, got dtype {matrix.dtype}")
    matrix = matrix.astype(np.int64)
    if matrix.size and (matrix.min() < 0 or matrix.max() > MAX_MATRIX_VALUE):
        raise ProblemError(f"{name} matrix values must be within 0..{MAX_MATRIX_VALUE}")
    return matrix


def _validate_entities(problem: Problem, size: int) -> int:
    """Check ids, indexes, windows, pins and amounts; return the number of capacity dimensions."""
    if not 0 <= problem.exploration_level <= 5 or problem.threads < 1 or (problem.timeout_ms or 0) < 0:
        raise ProblemError("exploration_level must be 0..5, threads >= 1 and timeout_ms positive when given")
    for kind, items in (("vehicle", problem.vehicles), ("job", problem.jobs)):
        ids = [item.id for item in items]
        if len(set(ids)) != len(ids) or any(i < 0 for i in ids):
            raise ProblemError(f"{kind} ids must be unique non-negative integers")
    for vehicle in problem.vehicles:
        for index in (vehicle.start_index, vehicle.end_index):
            if index is not None and not 0 <= index < size:
                raise ProblemError(f"vehicle {vehicle.id}: location index {index} outside matrix of size {size}")
        if not 0 <= vehicle.shift_start <= vehicle.shift_end:
            raise ProblemError(f"vehicle {vehicle.id}: shift must satisfy 0 <= start <= end")
        if vehicle.max_jobs is not None and vehicle.max_jobs < 0:
            raise ProblemError(f"vehicle {vehicle.id}: max_jobs must be >= 0")
    for job in problem.jobs:
        if not 0 <= job.location_index < size:
            raise ProblemError(f"job {job.id}: location index {job.location_index} outside matrix of size {size}")
        if job.service < 0 or not 0 <= job.priority <= 100:
            raise ProblemError(f"job {job.id}: service must be >= 0 and priority within 0..100")
        bounds = [bound for window in job.time_windows for bound in window]
        if any(b < 0 for b in bounds) or any(a > b for a, b in zip(bounds, bounds[1:])):
            raise ProblemError(f"job {job.id}: time windows must be ordered and non-overlapping, start <= end")
    vehicle_ids, job_ids = {v.id for v in problem.vehicles}, {j.id for j in problem.jobs}
    for vehicle_id, job_id in problem.pinned_first.items():
        if vehicle_id not in vehicle_ids or job_id not in job_ids:
            raise ProblemError(f"pinned_first {vehicle_id} -> {job_id} names an unknown vehicle or job")
    if len(set(problem.pinned_first.values())) != len(problem.pinned_first):
        raise ProblemError("a job cannot be pinned first on two vehicles")
    amounts = [v.capacity for v in problem.vehicles] + [j.demand for j in problem.jobs]
    lengths = {len(amount) for amount in amounts if amount}
    if len(lengths) > 1 or any(value < 0 for amount in amounts for value in amount):
        raise ProblemError(f"capacity/demand must be non-negative with one dimension count, got {sorted(lengths)}")
    return lengths.pop() if lengths else 0


def _padded(amount: tuple[int, ...], dimensions: int, missing: int) -> list[int]:
    """Return the amount with `dimensions` entries, filling an empty one with `missing`."""
    return list(amount) if amount else [missing] * dimensions


def _pin(
    vehicle: VehicleSpec, job: JobSpec, durations: np.ndarray, distances: np.ndarray | None, dimensions: int
) -> _PinnedStop:
    """Serve the pinned job straight from the vehicle start, in its first reachable window."""
    leg = int(durations[vehicle.start_index, job.location_index])
    arrival = vehicle.shift_start + leg
    open_window = next((w for w in job.time_windows or NO_WINDOW if w[1] >= arrival), None)
    service_start = max(arrival, open_window[0]) if open_window else arrival
    step = PlannedStep(job.id, arrival, service_start, service_start + job.service)
    leg_distance = int(distances[vehicle.start_index, job.location_index]) if distances is not None else 0
    return _PinnedStop(step, job.location_index, _padded(job.demand, dimensions, 0), leg, leg_distance)


def _run_vroom(problem: Problem, jobs: list[JobSpec], pinned: dict[int, _PinnedStop], durations: np.ndarray,
               distances: np.ndarray | None, dimensions: int) -> dict[int, dict]:
    """Solve the unpinned jobs with VROOM; pinned vehicles start after their pinned stop."""
    timeout = timedelta(milliseconds=problem.timeout_ms) if problem.timeout_ms else None
    with_initial = bool(problem.initial_routes)
    while True:
        problem_input = _vroom_input(problem, jobs, pinned, durations, distances, dimensions, with_initial)
        try:
            solution = problem_input.solve(
                exploration_level=problem.exploration_level, nb_threads=problem.threads, timeout=timeout
            )
        except vroom._vroom.VroomInputException as error:
            if with_initial and "Infeasible route" in str(error):  # our feasibility check and VROOM's disagree
                with_initial = False
                continue
            raise ProblemError(f"VROOM rejected the problem: {error}") from None
        return {route["vehicle"]: route for route in solution.to_dict().get("routes", [])}


def _vroom_input(problem: Problem, jobs: list[JobSpec], pinned: dict[int, _PinnedStop], durations: np.ndarray,
                 distances: np.ndarray | None, dimensions: int, with_initial: bool) -> vroom.Input:
    """The VROOM input: vehicles (with a feasible initial route when asked), jobs and matrices."""
    jobs_by_id = {job.id: job for job in jobs}
    problem_input = vroom.Input()
    problem_input.set_durations_matrix(PROFILE, durations)
    if distances is not None:
        problem_input.set_distances_matrix(PROFILE, distances)
    for vehicle in problem.vehicles:
        capacity = _padded(vehicle.capacity, dimensions, UNLIMITED_CAPACITY)
        start, shift_start = vehicle.start_index, vehicle.shift_start
        max_jobs = MAX_JOBS if vehicle.max_jobs is None else vehicle.max_jobs
        if vehicle.id in pinned:
            pin = pinned[vehicle.id]
            start, shift_start = pin.location_index, pin.step.departure
            capacity = [max(0, c - d) for c, d in zip(capacity, pin.demand)]
            max_jobs = max(0, max_jobs - 1)
        initial = feasible_order(
            problem.initial_routes.get(vehicle.id, ()) if with_initial else (), jobs_by_id, start_index=start,
            end_index=vehicle.end_index, clock=shift_start, shift_end=vehicle.shift_end, capacity=capacity,
            skills=vehicle.skills, demand_of=lambda job: _padded(job.demand, dimensions, 0), durations=durations,
        )[:max_jobs]
        problem_input.add_vehicle(
            vroom.Vehicle(
                vehicle.id,
                start=start,
                end=vehicle.end_index,
                profile=PROFILE,
                capacity=capacity,
                skills=set(vehicle.skills),
                time_window=vroom.TimeWindow(shift_start, max(shift_start, vehicle.shift_end)),
                steps=vroom_steps(initial, vehicle.end_index is not None),
                max_tasks=max_jobs,
                **({"costs": vroom.VehicleCosts(vehicle.costs.fixed, vehicle.costs.per_hour, vehicle.costs.per_km)} if vehicle.costs else {}),
            )
        )
    for job in jobs:
        problem_input.add_job(
            vroom.Job(
                job.id,
                location=job.location_index,
                default_service=job.service,
                delivery=_padded(job.demand, dimensions, 0),
                skills=set(job.skills),
                priority=job.priority,
                time_windows=[vroom.TimeWindow(start, end) for start, end in job.time_windows],
            )
        )
    return problem_input


def _route(vehicle: VehicleSpec, solved: dict | None, pin: _PinnedStop | None, durations: np.ndarray,
           distances: np.ndarray | None) -> tuple[PlannedRoute | None, int]:
    """Convert one VROOM route (plus any pinned first stop) to a PlannedRoute and its cost."""
    if solved is None and pin is None:
        return None, 0
    steps = [pin.step] if pin else []
    duration = pin.leg_duration if pin else 0
    distance = pin.leg_distance if pin else 0
    cost = duration
    if solved is not None:
        for step in solved["steps"]:
            if step["type"] == "job":
                service_start = step["arrival"] + step["waiting_time"] + step["setup"]
                steps.append(PlannedStep(step["id"], step["arrival"], service_start, service_start + step["service"]))
        duration += solved["duration"]
        distance += solved.get("distance", 0)
        cost += solved["cost"]
    elif pin is not None and vehicle.end_index is not None:
        tail = int(durations[pin.location_index, vehicle.end_index])
        duration, cost = duration + tail, cost + tail
        distance += int(distances[pin.location_index, vehicle.end_index]) if distances is not None else 0
    return PlannedRoute(vehicle.id, tuple(steps), duration, distance if distances is not None else None), cost


def _explain_unassigned(
    job: JobSpec, vehicles: Sequence[VehicleSpec], durations: np.ndarray, dimensions: int
) -> Unassigned:
    """Name the first constraint that rules the job out, checked in order of certainty."""
    if not vehicles:
        return Unassigned(job.id, UnassignedReason.NO_FEASIBLE_SLOT, "no vehicles available")
    demand = _padded(job.demand, dimensions, 0)
    capacities = {v.id: _padded(v.capacity, dimensions, UNLIMITED_CAPACITY) for v in vehicles}
    roomy = [v for v in vehicles if all(d <= c for d, c in zip(demand, capacities[v.id]))]
    if not roomy:
        return Unassigned(job.id, UnassignedReason.CAPACITY_EXCEEDED, f"demand {demand} exceeds every capacity")
    candidates = [v for v in roomy if job.skills <= v.skills]
    if not candidates:
        detail = f"no vehicle with room for demand {demand} has skills {sorted(job.skills)}"
        return Unassigned(job.id, UnassignedReason.SKILLS_MISSING, detail)
    if not any(_reachable_directly(v, job, durations) for v in candidates):
        detail = "no vehicle can reach it from its start within a time window and its shift"
        return Unassigned(job.id, UnassignedReason.TIME_WINDOW_UNREACHABLE, detail)
    return Unassigned(job.id, UnassignedReason.NO_FEASIBLE_SLOT, "feasible alone, but no room in any route")


def _reachable_directly(vehicle: VehicleSpec, job: JobSpec, durations: np.ndarray) -> bool:
    """Tell whether the vehicle can drive straight to the job, serve it in a window and end its shift."""
    arrival = vehicle.shift_start + int(durations[vehicle.start_index, job.location_index])
    to_end = 0 if vehicle.end_index is None else int(durations[job.location_index, vehicle.end_index])
    for window_start, window_end in job.time_windows or NO_WINDOW:
        service_start = max(arrival, window_start)
        if service_start <= window_end and service_start + job.service + to_end <= vehicle.shift_end:
            return True
    return False
