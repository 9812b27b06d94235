"""The optional day-planning engine: the same Problem → Plan function as solver.solve, solved with PyVRP.

PyVRP (iterated local search) finds cheaper whole-day plans than VROOM at the same time budget
(bench/day_plan.py), but knows no pinned first stop, skills or starting routes: it is for planning a
depot's day from scratch, never for the fast replan. Installed with the `pyvrp` extra. Every job is
required first; only when that search finds no feasible plan is it run again with optional jobs.
"""
from __future__ import annotations

import itertools

import numpy as np

from app.replanning.solver import (
    Plan,
    PlannedRoute,
    PlannedStep,
    Problem,
    ProblemError,
    VehicleSpec,
    _as_matrix,
    _explain_unassigned,
    _padded,
    _reachable_directly,
    _validate_entities,
)

# PyVRP costs are integers: with a cost model an edge costs thousandths of a cent (per second: per_hour / 3.6,
# per metre: per_km), small enough that its penalties for a bent constraint can outweigh them.
COST_SCALE = 1000
# Room for the penalties to grow past any prize, so a plan that bends a window or a load is never the best one.
MAX_PENALTY = 1e12
DEFAULT_SECONDS = 1.0
# When not every job fits, the second search (jobs optional, each worth a prize) gets this share of the time limit.
OPTIONAL_SHARE = 0.2


def solve(problem: Problem) -> Plan:
    """Solve with PyVRP; when not every job fits, the jobs that cannot be served are left out (and explained)."""
    durations = _as_matrix(problem.durations, "durations")
    distances = None if problem.distances is None else _as_matrix(problem.distances, "distances")
    dimensions = _validate_entities(problem, len(durations))
    if problem.pinned_first or any(job.skills for job in problem.jobs) or any(v.skills or v.max_jobs is not None for v in problem.vehicles):
        raise ProblemError("the PyVRP engine plans days from scratch: no pinned stops, skills or job caps")
    if any(len(job.time_windows) > 1 for job in problem.jobs):
        raise ProblemError("the PyVRP engine takes at most one time window per job")
    if len({v.costs for v in problem.vehicles}) > 1:
        raise ProblemError("the PyVRP engine takes one cost model for all vehicles")
    metres = distances if distances is not None else np.zeros_like(durations)
    costs = problem.vehicles[0].costs if problem.vehicles else None
    # The objective is VROOM's: travel only (seconds, or the cost model's cents), never waiting or service time.
    edge_cost = durations if costs is None else np.rint(durations * (costs.per_hour / 3.6) + metres * costs.per_km).astype(np.int64)
    # A job no vehicle could take alone (too far in time, too heavy) is left out before solving: PyVRP would rather
    # bend a constraint than give up a prize, and _explain_unassigned names the reason.
    servable = [job for job in problem.jobs if any(_fits(v, job, durations, dimensions) for v in problem.vehicles)]
    seconds = problem.timeout_ms / 1000 if problem.timeout_ms else DEFAULT_SECONDS
    best, types = _search(problem, servable, durations, edge_cost, dimensions, seconds, optional=False)
    if not best.is_feasible():
        best, types = _search(problem, servable, durations, edge_cost, dimensions, seconds * OPTIONAL_SHARE, optional=True)
    if not best.is_feasible():
        raise ProblemError("PyVRP found no feasible plan within its time limit")
    routes, cost = [], 0
    for route in best.routes():
        vehicle = types[route.vehicle_type()].pop(0)
        steps = tuple(
            PlannedStep(servable[a.idx].id, a.start_time - a.wait_duration, a.start_time, a.end_time)
            for a in route.schedule() if a.is_client()
        )
        legs = [vehicle.start_index, *(jobs_index(servable, a.idx) for a in route.schedule() if a.is_client())]
        legs += [vehicle.end_index] if vehicle.end_index is not None else []
        travelled = int(sum(metres[a, b] for a, b in zip(legs, legs[1:])))
        routes.append(PlannedRoute(vehicle.id, steps, int(route.travel_duration()), travelled if distances is not None else None))
        cost += route.distance_cost() + route.fixed_vehicle_cost()
    served = {step.job_id for route in routes for step in route.steps}
    unassigned = tuple(_explain_unassigned(job, problem.vehicles, durations, dimensions) for job in problem.jobs if job.id not in served)
    total_distance = sum(r.distance for r in routes) if distances is not None else None
    plan_cost = round(cost / COST_SCALE) if costs is not None else int(cost)
    return Plan(tuple(routes), unassigned, plan_cost, sum(r.duration for r in routes), total_distance)


def jobs_index(servable: list, client: int) -> int:  # noqa: ANN001
    return servable[client].location_index


def _search(problem: Problem, servable: list, durations: np.ndarray, edge_cost: np.ndarray, dimensions: int, seconds: float,
            *, optional: bool) -> tuple:
    """One PyVRP search; returns the best solution and, per vehicle type, the vehicles it stands for."""
    from pyvrp import Model, PenaltyParams, SolveParams
    from pyvrp.stop import MaxRuntime

    model = Model()
    locations = [model.add_location(x=0, y=0) for _ in range(len(durations))]
    depots = {index: model.add_depot(locations[index]) for index in sorted(_depot_indexes(problem.vehicles))}
    # Vehicles alike (place, shift, capacity) are one type with several available: the search is much faster so.
    groups: dict[tuple, list[VehicleSpec]] = {}
    for vehicle in problem.vehicles:
        key = (vehicle.start_index, vehicle.end_index, vehicle.shift_start, vehicle.shift_end, vehicle.capacity)
        groups.setdefault(key, []).append(vehicle)
    types = []
    for (start, end, early, late, _), vehicles in groups.items():
        fixed = vehicles[0].costs.fixed * COST_SCALE if vehicles[0].costs else 0
        model.add_vehicle_type(
            num_available=len(vehicles), capacity=_padded(vehicles[0].capacity, dimensions, 2**40) if dimensions else [],
            start_depot=depots[start], end_depot=depots[start if end is None else end], fixed_cost=fixed,
            tw_early=early, tw_late=late, unit_distance_cost=1, unit_duration_cost=0,
        )
        types.append(list(vehicles))
    prize = 2 * (2 * int(edge_cost.max(initial=0)) + 1) * max(1, len(servable))
    for job in servable:
        early, late = job.time_windows[0] if job.time_windows else (0, 2**40)
        model.add_client(
            locations[job.location_index], delivery=_padded(job.demand, dimensions, 0) if dimensions else [],
            service_duration=job.service, tw_early=early, tw_late=late, prize=prize if optional else 0, required=not optional,
        )
    for (i, a), (j, b) in itertools.permutations(enumerate(locations), 2):
        model.add_edge(a, b, distance=int(edge_cost[i, j]), duration=int(durations[i, j]))
    params = SolveParams(penalty=PenaltyParams(max_penalty=MAX_PENALTY))
    result = model.solve(stop=MaxRuntime(max(0.05, seconds)), display=False, seed=1, collect_stats=False, params=params)
    return result.best, types


def _fits(vehicle: VehicleSpec, job, durations: np.ndarray, dimensions: int) -> bool:  # noqa: ANN001
    room = _padded(vehicle.capacity, dimensions, 2**40)
    demand = _padded(job.demand, dimensions, 0)
    return all(d <= c for d, c in zip(demand, room)) and _reachable_directly(vehicle, job, durations)


def _depot_indexes(vehicles: list[VehicleSpec] | tuple[VehicleSpec, ...]) -> set[int]:
    return {v.start_index for v in vehicles} | {v.end_index for v in vehicles if v.end_index is not None}
