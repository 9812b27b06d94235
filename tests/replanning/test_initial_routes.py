"""Starting VROOM from the current order (infeasible parts left for the search), and capping jobs per vehicle."""
import numpy as np

from app.replanning.initial_routes import feasible_order
from app.replanning.solver import JobSpec, Problem, VehicleSpec, solve
from tests.replanning.test_solver import assert_plan_feasible, line_matrix

# Depot at 0, jobs at 10, 20, 30, 40 on a line.
POSITIONS = [0, 10, 20, 30, 40]


def problem_with(order: tuple[int, ...], jobs: list[JobSpec], capacity: tuple[int, ...] = ()) -> Problem:
    van = VehicleSpec(1, 0, 0, 0, 1000, capacity=capacity)
    return Problem([van], jobs, line_matrix(POSITIONS), initial_routes={1: order}, exploration_level=1)


def test_a_late_job_in_the_starting_order_is_skipped_and_the_rest_kept_in_order():
    # given an order that reaches job 1 (window closes at 15) only after job 4 (at 40)
    jobs = {1: JobSpec(1, 1, time_windows=((0, 15),)), 2: JobSpec(2, 2), 4: JobSpec(4, 4)}

    # when
    kept = feasible_order(
        (4, 1, 2), jobs, start_index=0, end_index=0, clock=0, shift_end=1000, capacity=[], skills=frozenset(),
        demand_of=lambda job: [], durations=np.asarray(line_matrix(POSITIONS)),
    )

    # then
    assert kept == [4, 2]


def test_an_overloading_job_is_skipped_from_the_starting_order():
    # given room for 3 parcels and jobs of 2, 2 and 1
    jobs = {1: JobSpec(1, 1, demand=(2,)), 2: JobSpec(2, 2, demand=(2,)), 3: JobSpec(3, 3, demand=(1,))}

    # when
    kept = feasible_order(
        (1, 2, 3), jobs, start_index=0, end_index=0, clock=0, shift_end=1000, capacity=[3], skills=frozenset(),
        demand_of=lambda job: list(job.demand), durations=np.asarray(line_matrix(POSITIONS)),
    )

    # then
    assert kept == [1, 3]


def test_an_infeasible_starting_order_still_gives_a_complete_feasible_plan():
    # given a starting order that misses job 1's window
    jobs = [JobSpec(1, 1, time_windows=((0, 15),)), JobSpec(2, 2), JobSpec(3, 3), JobSpec(4, 4)]
    problem = problem_with((4, 3, 2, 1), jobs)

    # when
    plan = solve(problem)

    # then every job is served, job 1 in its window
    assert_plan_feasible(problem, plan)
    assert plan.unassigned == () and plan.routes[0].steps[0].job_id == 1


def test_a_starting_order_is_improved_not_just_returned():
    # given a zig-zag starting order on a line
    jobs = [JobSpec(i, i) for i in range(1, 5)]
    problem = problem_with((3, 1, 4, 2), jobs)

    # when
    plan = solve(problem)

    # then the search straightens it out: out and back, 80
    assert_plan_feasible(problem, plan)
    assert plan.duration == 80


def test_a_cap_on_jobs_per_vehicle_shares_the_work_even_when_one_van_could_do_it_all():
    # given two vans at the depot, four jobs one van could serve in one sweep, and at most two jobs per van
    vans = [VehicleSpec(v, 0, 0, 0, 1000, max_jobs=2) for v in (1, 2)]
    problem = Problem(vans, [JobSpec(i, i) for i in range(1, 5)], line_matrix(POSITIONS), initial_routes={1: (1, 2, 3, 4)})

    # when
    plan = solve(problem)

    # then
    assert_plan_feasible(problem, plan)
    assert sorted(len(route.steps) for route in plan.routes) == [2, 2] and plan.unassigned == ()
