"""The optional day-planning engine: the same Problem → Plan function as solver.solve, solved with PyVRP.

PyVRP (hybrid genetic search) finds cheaper whole-day plans than VROOM at the same time budget
(bench/day_plan.py), but knows no pinned first stop, skills or starting routes: it is for planning a
depot's day from scratch, never for the fast replan. Installed with the `pyvrp` extra.
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

# PyVRP costs are integers: with a cost model they are thousandths of a cent (per second: per_hour / 3.6, per metre:
# per_km), small enough that its penalties for a bent constraint can outweigh them.
COST_SCALE = 1000
# Room for the penalties to grow past any prize, so a plan that bends a window or a load is never the best one.
MAX_PENALTY = 1e12
DEFAULT_SECONDS = 1.0


def solve(problem: Problem) -> Plan:
    """Solve with PyVRP; a job it cannot serve is left out (and explained) rather than making the plan infeasible."""
    from pyvrp import Model, PenaltyParams, SolveParams
    from pyvrp.stop import MaxRuntime

    durations = _as_matrix(problem.durations, "durations")
    distances = None if problem.distances is None else _as_matrix(problem.distances, "distances")
    dimensions = _validate_entities(problem, len(durations))
    if problem.pinned_first or any(job.skills for job in problem.jobs) or any(v.skills or v.max_jobs is not None for v in problem.vehicles):
        raise ProblemError("the PyVRP engine plans days from scratch: no pinned stops, skills or job caps")
    if any(len(job.time_windows) > 1 for job in problem.jobs):
        raise ProblemError("the PyVRP engine takes at most one time window per job")
    scaled = any(v.costs for v in problem.vehicles)
    metres = distances if distances is not None else np.zeros_like(durations)

    model = Model()
    locations = [model.add_location(x=0, y=0) for _ in range(len(durations))]
    depots = {index: model.add_depot(locations[index]) for index in sorted(_depot_indexes(problem.vehicles))}
    for vehicle in problem.vehicles:
        per_hour, per_km, fixed = _unit_costs(vehicle, scaled)
        end = vehicle.start_index if vehicle.end_index is None else vehicle.end_index
        model.add_vehicle_type(
            num_available=1, capacity=_padded(vehicle.capacity, dimensions, 2**40) if dimensions else [],
            start_depot=depots[vehicle.start_index], end_depot=depots[end], fixed_cost=fixed,
            tw_early=vehicle.shift_start, tw_late=vehicle.shift_end, unit_duration_cost=per_hour, unit_distance_cost=per_km,
            name=str(vehicle.id),
        )
    # A job no vehicle could take alone (too far in time, too heavy) is left out before solving: PyVRP would rather
    # bend a constraint than give up a prize, and _explain_unassigned names the reason.
    servable = [job for job in problem.jobs if any(_fits(v, job, durations, dimensions) for v in problem.vehicles)]
    prize = _prize(problem, durations, metres, scaled)
    for job in servable:
        early, late = job.time_windows[0] if job.time_windows else (0, 2**40)
        model.add_client(
            locations[job.location_index], delivery=_padded(job.demand, dimensions, 0) if dimensions else [],
            service_duration=job.service, tw_early=early, tw_late=late, prize=prize, required=False, name=str(job.id),
        )
    for (i, a), (j, b) in itertools.permutations(enumerate(locations), 2):
        model.add_edge(a, b, distance=int(metres[i, j]), duration=int(durations[i, j]))

    seconds = problem.timeout_ms / 1000 if problem.timeout_ms else DEFAULT_SECONDS
    params = SolveParams(penalty=PenaltyParams(max_penalty=MAX_PENALTY))
    best = model.solve(stop=MaxRuntime(seconds), display=False, seed=1, collect_stats=False, params=params).best
    if not best.is_feasible():
        raise ProblemError("PyVRP found no feasible plan within its time limit")
    routes, cost = [], 0
    for route in best.routes():
        vehicle = problem.vehicles[route.vehicle_type()]
        steps = tuple(
            PlannedStep(servable[a.idx].id, a.start_time - a.wait_duration, a.start_time, a.end_time)
            for a in route.schedule() if a.is_client()
        )
        routes.append(PlannedRoute(vehicle.id, steps, int(route.travel_duration()), int(route.distance()) if distances is not None else None))
        cost += route.distance_cost() + route.duration_cost() + route.fixed_vehicle_cost()
    served = {step.job_id for route in routes for step in route.steps}
    unassigned = tuple(_explain_unassigned(job, problem.vehicles, durations, dimensions) for job in problem.jobs if job.id not in served)
    total_distance = sum(r.distance for r in routes) if distances is not None else None
    plan_cost = round(cost / COST_SCALE) if scaled else int(cost)
    return Plan(tuple(routes), unassigned, plan_cost, sum(r.duration for r in routes), total_distance)


def _fits(vehicle: VehicleSpec, job, durations: np.ndarray, dimensions: int) -> bool:  # noqa: ANN001
    room = _padded(vehicle.capacity, dimensions, 2**40)
    demand = _padded(job.demand, dimensions, 0)
    return all(d <= c for d, c in zip(demand, room)) and _reachable_directly(vehicle, job, durations)


def _depot_indexes(vehicles: list[VehicleSpec] | tuple[VehicleSpec, ...]) -> set[int]:
    return {v.start_index for v in vehicles} | {v.end_index for v in vehicles if v.end_index is not None}


def _unit_costs(vehicle: VehicleSpec, scaled: bool) -> tuple[int, int, int]:
    """(per second, per metre, fixed) in PyVRP's integer units."""
    if not scaled:
        return 1, 0, 0  # travel seconds, as VROOM's default cost
    costs = vehicle.costs
    if costs is None:
        return 1000, 0, 0  # a cent per second, VROOM's default per_hour of 3600
    return round(costs.per_hour / 3.6), costs.per_km, costs.fixed * COST_SCALE


def _prize(problem: Problem, durations: np.ndarray, metres: np.ndarray, scaled: bool) -> int:
    """Worth more than the detour (and an hour's wait) any vehicle would drive to serve one job: serve whoever can be served."""
    per_second = max((_unit_costs(v, scaled)[0] for v in problem.vehicles), default=1)
    per_metre = max((_unit_costs(v, scaled)[1] for v in problem.vehicles), default=0)
    service = max((job.service for job in problem.jobs), default=0)
    detour = per_second * (2 * int(durations.max(initial=0)) + service + 3600) + per_metre * 2 * int(metres.max(initial=0))
    return 2 * detour + 1
