"""Behaviour of the pure route solver: constraints honoured, nothing dropped, bad input refused."""

import pytest

from app.replanning.solver import (
    JobSpec,
    Plan,
    Problem,
    ProblemError,
    UnassignedReason,
    VehicleSpec,
    solve,
)


def line_matrix(positions: list[int], scale: int = 1) -> list[list[int]]:
    """Travel matrix for points on a line: |a - b| * scale."""
    return [[abs(a - b) * scale for b in positions] for a in positions]


def assert_plan_feasible(problem: Problem, plan: Plan) -> None:
    """Replay every route on the matrix: travel, waiting, windows, shift, capacity and totals add up."""
    jobs = {job.id: job for job in problem.jobs}
    vehicles = {vehicle.id: vehicle for vehicle in problem.vehicles}
    d, m = problem.durations, problem.distances
    for route in plan.routes:
        vehicle = vehicles[route.vehicle_id]
        here, clock, travel, metres = vehicle.start_index, vehicle.shift_start, 0, 0
        for step in route.steps:
            job = jobs[step.job_id]
            travel += d[here][job.location_index]
            metres += m[here][job.location_index] if m else 0
            assert step.arrival >= clock + d[here][job.location_index]
            assert step.service_start >= step.arrival
            assert any(start <= step.service_start <= end for start, end in job.time_windows or [(0, 10**12)])
            assert step.departure == step.service_start + job.service
            here, clock = job.location_index, step.departure
        if vehicle.end_index is not None:
            travel += d[here][vehicle.end_index]
            metres += m[here][vehicle.end_index] if m else 0
            clock += d[here][vehicle.end_index]
        assert clock <= vehicle.shift_end
        assert route.duration == travel
        assert route.distance == (metres if m else None)
        if vehicle.capacity:
            load = [sum(jobs[s.job_id].demand[k] for s in route.steps) for k in range(len(vehicle.capacity))]
            assert all(used <= cap for used, cap in zip(load, vehicle.capacity))
    assert plan.duration == sum(route.duration for route in plan.routes)
    served = [step.job_id for route in plan.routes for step in route.steps]
    unassigned = [item.job_id for item in plan.unassigned]
    assert sorted(served + unassigned) == sorted(jobs), "every job is either routed or reported unassigned"


def windows_missed_in_input_order(problem: Problem) -> list[int]:
    """Serve the jobs in input order with the first vehicle; return the jobs served too late."""
    vehicle, d = problem.vehicles[0], problem.durations
    here, clock, missed = vehicle.start_index, vehicle.shift_start, []
    for job in problem.jobs:
        clock += d[here][job.location_index]
        start, end = job.time_windows[0]
        clock = max(clock, start)
        if clock > end:
            missed.append(job.id)
        here, clock = job.location_index, clock + job.service
    return missed


def test_time_windows_are_respected_even_when_the_input_order_violates_them():
    # given: stops on a line 10, 20, 30 from the depot; the far one must be served first
    durations = line_matrix([0, 10, 20, 30])
    jobs = [
        JobSpec(1, 1, service=5, time_windows=((100, 150),)),
        JobSpec(2, 2, service=5, time_windows=((60, 90),)),
        JobSpec(3, 3, service=5, time_windows=((30, 40),)),
    ]
    vehicle = VehicleSpec(7, start_index=0, end_index=0, shift_start=0, shift_end=1000)
    problem = Problem([vehicle], jobs, durations)
    assert windows_missed_in_input_order(problem) == [2, 3]

    # when
    plan = solve(problem)

    # then
    assert not plan.unassigned
    assert [step.job_id for step in plan.routes[0].steps] == [3, 2, 1]
    assert_plan_feasible(problem, plan)


def test_capacity_is_respected_by_splitting_the_load_across_vehicles():
    # given: 20 units of demand and two vans of 10
    durations = line_matrix([0, 1, 2, 3, 4, 5])
    jobs = [JobSpec(100 + i, i, demand=(4, 1)) for i in range(1, 6)]
    vans = [VehicleSpec(v, 0, 0, 0, 1000, capacity=(10, 5)) for v in (1, 2)]
    problem = Problem(vans, jobs, durations, distances=line_matrix([0, 1, 2, 3, 4, 5], scale=100))

    # when
    plan = solve(problem)

    # then: a single van would carry 20 > 10, so both are used, and only two jobs fit in each
    assert len(plan.routes) == 2
    assert sorted(len(route.steps) for route in plan.routes) == [2, 2]
    assert [item.job_id for item in plan.unassigned] == [plan.unassigned[0].job_id]
    assert plan.unassigned[0].reason is UnassignedReason.NO_FEASIBLE_SLOT
    assert plan.distance == sum(route.distance for route in plan.routes)
    assert_plan_feasible(problem, plan)


def test_pinned_job_is_served_first_even_when_a_detour():
    # given: the driver is at the far stop right now; left free, the solver would serve it last
    durations = line_matrix([0, 10, 20, 100])
    jobs = [JobSpec(1, 1, service=2), JobSpec(2, 2, service=2), JobSpec(3, 3, service=2)]
    vehicles = [VehicleSpec(1, 0, None, 0, 10_000), VehicleSpec(2, 0, None, 0, 10_000)]
    free_plan = solve(Problem(vehicles, jobs, durations))
    assert [[s.job_id for s in r.steps] for r in free_plan.routes] == [[1, 2, 3]]

    # when
    problem = Problem(vehicles, jobs, durations, distances=durations, pinned_first={2: 3})
    plan = solve(problem)

    # then
    routes = {route.vehicle_id: route for route in plan.routes}
    assert [s.job_id for s in routes[2].steps][0] == 3
    assert routes[2].steps[0].arrival == 100
    assert [s.job_id for r in plan.routes for s in r.steps].count(3) == 1
    assert plan.cost == sum(route.duration for route in plan.routes)
    assert_plan_feasible(problem, plan)


def test_pinned_job_alone_on_its_route_still_gets_a_route_back_to_the_depot():
    # given: one pinned stop and nothing else to do
    durations = line_matrix([0, 30])
    problem = Problem([VehicleSpec(4, 0, 0, 0, 500)], [JobSpec(9, 1, service=10)], durations, pinned_first={4: 9})

    # when
    plan = solve(problem)

    # then
    assert [(r.vehicle_id, [s.job_id for s in r.steps], r.duration) for r in plan.routes] == [(4, [9], 60)]
    assert_plan_feasible(problem, plan)


def test_each_unassigned_job_is_reported_with_its_reason():
    # given: one van (capacity 10, skill 1, shift 0..1000) and jobs each broken in a different way
    durations = line_matrix([0, 10, 11, 500])
    van = VehicleSpec(1, 0, 0, 0, 1000, capacity=(10,), skills=frozenset({1}))
    jobs = [
        JobSpec(1, 1, demand=(3,), skills=frozenset({1})),  # fine
        JobSpec(2, 1, demand=(50,)),  # too heavy for any vehicle
        JobSpec(3, 1, demand=(1,), skills=frozenset({2})),  # nobody can do it
        JobSpec(4, 3, demand=(1,), time_windows=((0, 100),)),  # 500 s away, closes at 100
        JobSpec(5, 1, service=20, demand=(1,), time_windows=((10, 10),)),  # these two both need t=10/11,
        JobSpec(6, 2, service=20, demand=(1,), time_windows=((11, 11),)),  # one van can only do one
    ]
    problem = Problem([van], jobs, durations)

    # when
    plan = solve(problem)

    # then
    reasons = {item.job_id: item.reason for item in plan.unassigned}
    assert reasons.pop(2) is UnassignedReason.CAPACITY_EXCEEDED
    assert reasons.pop(3) is UnassignedReason.SKILLS_MISSING
    assert reasons.pop(4) is UnassignedReason.TIME_WINDOW_UNREACHABLE
    assert list(reasons.values()) == [UnassignedReason.NO_FEASIBLE_SLOT]
    assert set(reasons) < {5, 6}
    assert all(item.detail for item in plan.unassigned)
    assert_plan_feasible(problem, plan)


def test_without_vehicles_every_job_is_unassigned_not_dropped():
    # given
    problem = Problem([], [JobSpec(1, 0), JobSpec(2, 1)], line_matrix([0, 1]))

    # when
    plan = solve(problem)

    # then
    assert plan.routes == ()
    assert [item.job_id for item in plan.unassigned] == [1, 2]


GOOD_VEHICLE = VehicleSpec(1, 0, 0, 0, 100)
GOOD_VEHICLE_WITH_CAPACITY = VehicleSpec(1, 0, 0, 0, 100, capacity=(5,))


@pytest.mark.parametrize(
    ("vehicles", "jobs", "durations", "extra", "message"),
    [
        ([GOOD_VEHICLE], [JobSpec(1, 1)], [[0, 1], [1, 0], [2, 2]], {}, "square"),
        ([GOOD_VEHICLE], [JobSpec(1, 5)], [[0, 1], [1, 0]], {}, "outside matrix"),
        ([VehicleSpec(1, 0, 9, 0, 100)], [JobSpec(1, 1)], [[0, 1], [1, 0]], {}, "outside matrix"),
        ([GOOD_VEHICLE], [JobSpec(1, 1, time_windows=((50, 10),))], [[0, 1], [1, 0]], {}, "time windows"),
        ([GOOD_VEHICLE], [JobSpec(1, 1, time_windows=((0, 50), (40, 60)))], [[0, 1], [1, 0]], {}, "time windows"),
        ([GOOD_VEHICLE_WITH_CAPACITY], [JobSpec(1, 1, demand=(1, 2))], [[0, 1], [1, 0]], {}, "dimension"),
        ([GOOD_VEHICLE], [JobSpec(1, 1), JobSpec(1, 0)], [[0, 1], [1, 0]], {}, "unique"),
        ([GOOD_VEHICLE], [JobSpec(1, 1)], [[0, -1], [1, 0]], {}, "values"),
        ([GOOD_VEHICLE], [JobSpec(1, 1)], [[0, 1], [1, 0]], {"distances": [[0]]}, "shape"),
        ([GOOD_VEHICLE], [JobSpec(1, 1)], [[0, 1], [1, 0]], {"pinned_first": {1: 42}}, "pinned_first"),
        ([GOOD_VEHICLE], [JobSpec(1, 1)], [[0, 1], [1, 0]], {"exploration_level": 9}, "exploration_level"),
    ],
)
def test_bad_input_is_refused_with_a_clear_problem_error(vehicles, jobs, durations, extra, message):
    # given
    problem = Problem(vehicles, jobs, durations, **extra)

    # when / then
    with pytest.raises(ProblemError, match=message):
        solve(problem)
