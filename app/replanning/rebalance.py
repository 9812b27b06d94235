"""Rebalancing: the remaining stops of several routes of one depot shared out again across their vans."""
from __future__ import annotations

import math

from app.replanning.matrix import Point
from app.replanning.problem_builder import (
    ProposedRoute,
    RouteSnapshot,
    UnassignedStop,
    assemble,
    job_for,
    shift_end_for,
    unassigned_reasons,
)
from app.replanning.solver import JobSpec, Plan, Problem, VehicleSpec

DEPOT_INDEX = 0
WORKLOAD_SLACK = 1.5  # a van may take up to 1.5 times the average number of stops


def fleet_points(snapshots: list[RouteSnapshot]) -> list[Point]:
    """Matrix locations: the shared depot, then every route's remaining stops, route after route."""
    return [snapshots[0].depot, *((stop.lat, stop.lon) for snapshot in snapshots for stop in snapshot.remaining)]


def build_fleet_problem(
    snapshots: list[RouteSnapshot], *, exploration_level: int, timeout_ms: int | None,
) -> tuple[Problem, list[UnassignedStop]]:
    """One vehicle per route, all from and back to the depot, each starting from its route's current order."""
    jobs: list[JobSpec] = []
    closed: list[UnassignedStop] = []
    current_orders: dict[int, tuple[int, ...]] = {}
    index = DEPOT_INDEX
    for snapshot in snapshots:
        order = []
        for stop in snapshot.remaining:
            index += 1
            job = job_for(stop, index, snapshot.departure, serving=False, with_demand=True)
            if isinstance(job, JobSpec):
                jobs.append(job)
                order.append(job.id)
            else:
                closed.append(job)
        current_orders[snapshot.route_id] = tuple(order)
    # A route without a vehicle has no known capacity: it can take every parcel.
    everything = sum(job.demand[0] for job in jobs)
    shift_end = shift_end_for(jobs)
    # Travel time alone would pile every stop onto one van; a cap on stops per van keeps the work shared.
    max_jobs = math.ceil(len(jobs) / len(snapshots) * WORKLOAD_SLACK)
    vehicles = [
        VehicleSpec(
            s.route_id, DEPOT_INDEX, DEPOT_INDEX, 0, shift_end, capacity=(everything if s.capacity is None else s.capacity,),
            max_jobs=max_jobs,
        )
        for s in snapshots
    ]
    problem = Problem(vehicles, jobs, [[0]], exploration_level=exploration_level, timeout_ms=timeout_ms, initial_routes=current_orders)
    return problem, closed


def propose_fleet(
    snapshots: list[RouteSnapshot], plan: Plan, closed: list[UnassignedStop], durations: list[list[int]],
) -> dict[int, ProposedRoute]:
    """Each route's new order: the stops its van now serves; a stop left out stays on its own route, last."""
    reasons = unassigned_reasons(plan, closed)
    planned = {route.vehicle_id: route for route in plan.routes}
    proposals, index = {}, DEPOT_INDEX
    for snapshot in snapshots:
        indexes = list(range(index + 1, index + 1 + len(snapshot.remaining)))
        index += len(snapshot.remaining)
        order = [DEPOT_INDEX, *indexes, DEPOT_INDEX] if indexes else []
        route = planned.get(snapshot.route_id)
        proposals[snapshot.route_id] = assemble(
            snapshot, steps=list(route.steps) if route else [], reasons=reasons,
            duration=route.duration if route else 0, previous=sum(durations[a][b] for a, b in zip(order, order[1:])),
            distance=route.distance if route else None, cost=route.duration if route else 0,
        )
    return proposals
