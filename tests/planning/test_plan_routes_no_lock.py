"""planRoutes solves with no transaction open: the tenant's other writers commit meanwhile, and a change it missed is a conflict."""
import asyncio
import time
from dataclasses import replace

import pytest

from tests.conftest import client_for
from tests.factories import Factory, gql
from tests.planning.helpers import DAY, PLAN, day_routes, depot_day, frozen, import_unassigned, stop, stops_by_ref

pytestmark = pytest.mark.usefixtures("solver_pool")
SLOW_SOLVE_SECONDS = 1.5


class SlowPool:
    """The real pool behind a solve that takes 1.5 s; `started` is set once a solve is under way."""

    def __init__(self, pool) -> None:  # noqa: ANN001
        self.pool, self.started = pool, asyncio.Event()

    async def solve(self, problem, *, timeout_s, **kwargs):  # noqa: ANN001, ANN003, ANN201
        self.started.set()
        await asyncio.sleep(SLOW_SOLVE_SECONDS)  # stands for the solver's CPU time in the process pool
        return await self.pool.solve(problem, timeout_s=timeout_s, **kwargs)


async def test_an_import_commits_while_the_day_is_solved_and_the_plan_then_refuses_the_changed_stop(runtime):
    # given a depot day with three stops to plan, and a solver that takes 1.5 s
    slow = SlowPool(runtime.solver_pool)
    clocked = replace(frozen(runtime), solver_pool=slow)
    factory = Factory(clocked)
    day = await depot_day(factory, capacities=(10,))
    integrator = factory.token(day.fleet.integrator)
    stops = [stop(f"S{i}", i) for i in range(3)]
    async with client_for(clocked) as client:
        await import_unassigned(client, integrator, stops)

        # when a supervisor plans the day, and while it is being solved the integrator moves one stop's window
        planning = asyncio.create_task(gql(client, PLAN, {"input": {"depotId": str(day.fleet.depot.id), "serviceDate": DAY.isoformat()}},
                                           token=factory.token(day.fleet.supervisor)))
        await asyncio.wait_for(slow.started.wait(), timeout=10)
        began = time.perf_counter()
        changed = {**stops[0], "serviceSeconds": 300}
        summary = await asyncio.wait_for(import_unassigned(client, integrator, [changed, *stops[1:]]), timeout=SLOW_SOLVE_SECONDS)
        took = time.perf_counter() - began
        planned = (await planning)["data"]["planRoutes"]

    # then the import committed before the solve was done (no lock held over it) ...
    print(f"import committed in {took * 1000:.1f} ms while the day was solved")
    assert summary["stopsUpdated"] == 1
    # ... and the plan, computed from what it had read, is refused whole: nothing was written
    assert planned["errors"][0]["code"] == "VERSION_CONFLICT" and planned["routes"] == []
    assert await day_routes(clocked) == []
    assert all(s.route_id is None for s in (await stops_by_ref(clocked)).values())
