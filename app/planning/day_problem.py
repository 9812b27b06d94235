"""A depot's day as a solver Problem (unassigned stops onto the day's vehicles), and the Plan back as routes with ETAs."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from app.replanning.matrix import Point
from app.replanning.problem_builder import ProposedStop, StopSnapshot, UnassignedStop, job_for, unassigned_reasons
from app.replanning.solver import JobSpec, Plan, Problem, VehicleCost, VehicleSpec

DEPOT_INDEX = 0


@dataclass(frozen=True)
class FleetVehicle:
    """A vehicle of the day, the driver who takes it (if named) and the shift it works."""

    vehicle_id: int
    label: str
    capacity: int
    driver_id: int | None
    shift_start: datetime
    shift_end: datetime


@dataclass(frozen=True)
class DaySnapshot:
    """A depot's day as read: its unassigned stops and vehicles, and the moment offsets count from."""

    tenant_id: int
    depot_id: int
    service_date: date
    depot: Point
    departure: datetime  # the earliest shift start (never before the moment of planning)
    vehicles: tuple[FleetVehicle, ...]
    stops: tuple[StopSnapshot, ...]
    costs: VehicleCost | None  # the depot's cost model; None: travel seconds

    def points(self) -> list[Point]:
        """Matrix locations: the depot, then every stop."""
        return [self.depot, *((stop.lat, stop.lon) for stop in self.stops)]


@dataclass(frozen=True)
class DayRoute:
    """One vehicle's planned route: its stops in driving order with ETAs, and its totals."""

    vehicle: FleetVehicle
    stops: tuple[ProposedStop, ...]
    duration_seconds: int
    distance_m: int | None


@dataclass(frozen=True)
class DayProposal:
    """The day's routes (vehicles with no stop are left out) and the stops no vehicle can serve, with why."""

    snapshot: DaySnapshot
    routes: tuple[DayRoute, ...]
    unassigned: tuple[UnassignedStop, ...]
    cost: int
    engine: str


def build_day_problem(snapshot: DaySnapshot, *, exploration_level: int, timeout_ms: int | None) -> tuple[Problem, list[UnassignedStop]]:
    """Every vehicle from and back to the depot inside its shift, carrying parcels up to its capacity."""
    jobs: list[JobSpec] = []
    closed: list[UnassignedStop] = []
    for index, stop in enumerate(snapshot.stops, start=DEPOT_INDEX + 1):
        job = job_for(stop, index, snapshot.departure, serving=False, with_demand=True)
        (jobs if isinstance(job, JobSpec) else closed).append(job)
    vehicles = [
        VehicleSpec(
            v.vehicle_id, DEPOT_INDEX, DEPOT_INDEX, _offset(snapshot.departure, v.shift_start), _offset(snapshot.departure, v.shift_end),
            capacity=(v.capacity,), costs=snapshot.costs,
        )
        for v in snapshot.vehicles
    ]
    return Problem(vehicles, jobs, [[0]], exploration_level=exploration_level, timeout_ms=timeout_ms), closed


def day_proposal(snapshot: DaySnapshot, plan: Plan, closed: list[UnassignedStop], engine: str) -> DayProposal:
    """The plan as routes of the day: sequences from 1, times as moments."""

    def moment(seconds: int) -> datetime:
        return snapshot.departure + timedelta(seconds=seconds)

    vehicles = {v.vehicle_id: v for v in snapshot.vehicles}
    routes = tuple(
        DayRoute(
            vehicles[route.vehicle_id],
            tuple(ProposedStop(s.job_id, n, moment(s.arrival), moment(s.service_start), moment(s.departure))
                  for n, s in enumerate(route.steps, start=1)),
            route.duration, route.distance,
        )
        for route in plan.routes if route.steps
    )
    reasons = unassigned_reasons(plan, closed)
    unassigned = tuple(UnassignedStop(stop.id, 0, *reasons[stop.id]) for stop in snapshot.stops if stop.id in reasons)
    return DayProposal(snapshot, routes, unassigned, plan.cost, engine)


def _offset(origin: datetime, moment: datetime) -> int:
    return max(0, int((moment - origin).total_seconds()))
