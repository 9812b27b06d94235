"""Both day-planning engines answer the same small interface on a small instance: windows, capacities and shifts hold."""
import os
from dataclasses import replace
from importlib.util import find_spec

import pytest

from app.config import DayPlanEngine
from app.replanning.engines import ENGINES, PYVRP, available, solve_with
from app.replanning.solver import JobSpec, Problem, UnassignedReason, VehicleCost, VehicleSpec
from tests.conftest import client_for
from tests.factories import Factory, gql
from tests.planning.helpers import DAY, PLAN, depot_day, frozen, import_unassigned, stop, stops_by_ref

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
MINUTE = 60


def engine_param(engine: str):  # noqa: ANN201
    """PyVRP is an optional extra: skipped where it is not installed, except in CI (which installs the test extra)."""
    missing = engine == PYVRP and find_spec("pyvrp") is None and not IN_CI
    return pytest.param(engine, marks=pytest.mark.skipif(missing, reason="PyVRP is not installed (pip install 'detour[pyvrp]')"))


ENGINE_PARAMS = [engine_param(e) for e in ENGINES]


def small_day() -> Problem:
    """A depot (0), six stops on a line 5 minutes apart, two vans of 3 parcels; stop 6 opens after every shift ends."""
    n = 8
    durations = [[abs(i - j) * 5 * MINUTE for j in range(n)] for i in range(n)]
    distances = [[abs(i - j) * 2000 for j in range(n)] for i in range(n)]
    jobs = [JobSpec(100 + i, i, service=2 * MINUTE, time_windows=((0, 3 * 3600),), demand=(1,)) for i in range(1, 6)]
    jobs.append(JobSpec(106, 6, service=MINUTE, time_windows=((20 * 3600, 21 * 3600),), demand=(1,)))
    jobs.append(JobSpec(107, 7, service=MINUTE, time_windows=((0, 3 * 3600),), demand=(4,)))  # fits no van
    vans = [VehicleSpec(v, 0, 0, 0, 8 * 3600, capacity=(3,), costs=VehicleCost(per_hour=3000, per_km=40)) for v in (1, 2)]
    return Problem(vans, jobs, durations, distances, exploration_level=5, timeout_ms=500)


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_each_engine_plans_a_small_day_within_windows_capacities_and_shifts(engine):
    # given a small day whose five ordinary stops fit two vans, one stop opening after the shifts, one too heavy for any van
    problem = small_day()
    jobs = {job.id: job for job in problem.jobs}

    # when the engine solves it
    plan = solve_with(engine, problem)

    # then the five ordinary stops are served once each, inside their windows and the shifts, no van over capacity ...
    served = [step for route in plan.routes for step in route.steps]
    assert sorted(step.job_id for step in served) == [101, 102, 103, 104, 105]
    for step in served:
        opens, closes = jobs[step.job_id].time_windows[0]
        assert opens <= step.service_start <= closes and step.arrival <= step.service_start < step.departure
    for route in plan.routes:
        assert sum(jobs[s.job_id].demand[0] for s in route.steps) <= 3
        assert all(s.departure <= 8 * 3600 for s in route.steps)
    # ... the others are left out with the reason that rules them out, and the plan is priced by the cost model
    assert {(u.job_id, u.reason) for u in plan.unassigned} == {
        (106, UnassignedReason.TIME_WINDOW_UNREACHABLE), (107, UnassignedReason.CAPACITY_EXCEEDED),
    }
    assert plan.cost > 0 and plan.distance and plan.distance >= 2 * 5 * 2000


def test_an_engine_that_is_not_installed_is_refused_when_the_settings_are_read():
    # given the engines, and PyVRP's presence on this machine
    # when the settings name each engine
    # then VROOM is always there, and PyVRP is accepted exactly when it is installed
    assert available("vroom")
    assert available(PYVRP) is (find_spec("pyvrp") is not None)
    with pytest.raises(ValueError):
        solve_with("cplex", small_day())


@pytest.mark.usefixtures("solver_pool")
@pytest.mark.parametrize("engine", ENGINE_PARAMS)
async def test_plan_routes_uses_the_engine_the_settings_choose(runtime, engine):
    # given the day-plan engine set by DETOUR_DAY_PLAN_ENGINE, and a depot day with four stops
    settings = runtime.settings.model_copy(update={"day_plan_engine": DayPlanEngine(engine), "day_plan_solver_timeout_seconds": 3.0})
    clocked = replace(frozen(runtime), settings=settings)
    factory = Factory(clocked)
    day = await depot_day(factory, capacities=(10,))
    async with client_for(clocked) as client:
        await import_unassigned(client, factory.token(day.fleet.integrator), [stop(f"S{i}", i) for i in range(4)])

        # when a supervisor plans the day
        planned = (await gql(client, PLAN, {"input": {"depotId": str(day.fleet.depot.id), "serviceDate": DAY.isoformat()}},
                             token=factory.token(day.fleet.supervisor)))["data"]["planRoutes"]

    # then that engine planned it, every stop within its window
    assert planned["errors"] == [] and planned["proposal"]["engine"] == engine
    stops = (await stops_by_ref(clocked)).values()
    assert all(s.route_id is not None and s.window_start <= s.planned_eta <= s.window_end for s in stops)


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_when_not_every_stop_fits_each_engine_serves_what_fits_and_says_why_for_the_rest(engine):
    # given the small day with one van of 3 parcels for its five ordinary stops
    day = small_day()
    problem = replace(day, vehicles=day.vehicles[:1])

    # when the engine solves it
    plan = solve_with(engine, problem)

    # then three stops are served and the other two are left out for want of room
    served = [step.job_id for route in plan.routes for step in route.steps]
    assert len(served) == 3 and set(served) <= {101, 102, 103, 104, 105}
    reasons = {u.job_id: u.reason for u in plan.unassigned}
    assert sorted(r for j, r in reasons.items() if j < 106) == [UnassignedReason.NO_FEASIBLE_SLOT] * 2
