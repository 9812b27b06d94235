"""After a day-of edit commits, the solver orders the route again as its next version: version-checked, one retry."""
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select, update

from app.realtime.models import RouteEvent
from app.replanning.models import RoutePlan
from app.replanning.pool import SolverUnavailable
from app.routes.models import Route, Stop
from tests.conftest import client_for
from tests.factories import Factory, gql
from tests.planning.helpers import frozen

pytestmark = pytest.mark.usefixtures("solver_pool")
ADD_STOP = (Path(__file__).resolve().parents[2] / "graphql" / "dispatcher" / "AddStop.graphql").read_text()


class CountingPool:
    """The real pool; `before_solve` runs before each solve (a concurrent writer, a crash)."""

    def __init__(self, pool, before_solve=None) -> None:  # noqa: ANN001
        self.pool, self.before_solve, self.calls = pool, before_solve, 0

    async def solve(self, problem, *, timeout_s, **kwargs):  # noqa: ANN001, ANN003, ANN201
        self.calls += 1
        if self.before_solve:
            await self.before_solve(self.calls)
        return await self.pool.solve(problem, timeout_s=timeout_s, **kwargs)


def new_stop(runtime, lat: float, lon: float) -> dict:  # noqa: ANN001
    start = runtime.clock.now() + timedelta(minutes=30)
    return {"externalRef": "added-1", "address": "Halfway 1", "lat": lat, "lon": lon,
            "timeWindow": {"start": start.isoformat(), "end": (start + timedelta(hours=4)).isoformat()},
            "customer": {"externalRef": "added-c", "name": "Added Customer", "phone": "+31612345670"}}


async def route_state(runtime, route_id: int) -> tuple[Route, list[Stop], list[RoutePlan], list[RouteEvent]]:  # noqa: ANN001
    async with runtime.sessionmaker() as session:
        route = await session.get(Route, route_id)
        stops = list((await session.exec(select(Stop).where(Stop.route_id == route_id).order_by(Stop.sequence))).all())
        plans = list((await session.exec(select(RoutePlan).where(RoutePlan.route_id == route_id))).all())
        events = list((await session.exec(select(RouteEvent).where(RouteEvent.route_id == route_id).order_by(RouteEvent.id))).all())
    return route, stops, plans, events


async def edit_with(runtime, pool):  # noqa: ANN001, ANN201
    """A 4-stop route on a line, and a stop added without a position that lies between its first two stops."""
    clocked = replace(frozen(runtime), solver_pool=pool)
    factory = Factory(clocked)
    fleet = await factory.fleet(stops=4)
    first, second = fleet.stops[0], fleet.stops[1]
    variables = {"input": {"routeId": str(fleet.route.id), "expectedVersion": 1,
                           "stop": new_stop(clocked, (first.lat + second.lat) / 2, (first.lon + second.lon) / 2)}}
    async with client_for(clocked) as client:
        added = (await gql(client, ADD_STOP, variables, token=factory.token(fleet.dispatcher)))["data"]["addStop"]
    return clocked, fleet, added


async def test_a_stop_added_without_a_position_is_placed_by_the_solver_as_the_next_version(runtime):
    # given a route on a line, and a dispatcher adding a stop halfway between its first two stops, position left open
    pool = CountingPool(runtime.solver_pool)

    # when the edit commits
    clocked, fleet, added = await edit_with(runtime, pool)

    # then the edit is version 2 and the solver's order version 3, which the dispatcher gets back, with the stop second
    route, stops, plans, events = await route_state(clocked, fleet.route.id)
    assert added["errors"] == [] and added["route"]["version"] == 3 == route.version
    assert [s.address for s in stops][:2] == [fleet.stops[0].address, "Halfway 1"]
    assert [(p.version, p.reason) for p in plans] == [(3, "EDIT_STOP_ADDED")]
    assert [(e.route_version, e.payload["reason"]) for e in events] == [(2, "STOP_ADDED"), (3, "EDIT_STOP_ADDED")]
    assert all(s.planned_eta is not None for s in stops)


async def test_a_route_changed_during_the_solve_is_solved_once_more_on_fresh_data(runtime):
    # given a solver during whose first solve another writer moves the route to a new version
    async def concurrent_writer(call: int) -> None:
        if call == 1:
            async with runtime.sessionmaker() as session, session.begin():
                await session.exec(update(Route).values(version=Route.version + 1))

    pool = CountingPool(runtime.solver_pool, concurrent_writer)

    # when the dispatcher's edit commits and is re-solved
    clocked, fleet, added = await edit_with(runtime, pool)

    # then the first write met a newer version and was not written; the retry solved the fresh route and was
    route, _, plans, events = await route_state(clocked, fleet.route.id)
    assert pool.calls == 2
    assert [(p.version, p.reason) for p in plans] == [(4, "EDIT_STOP_ADDED")] and route.version == 4
    assert not any(e.payload.get("replan") == "NOT_WRITTEN" for e in events)


async def test_when_the_solver_fails_the_edit_stands_and_the_driver_is_told_why(runtime):
    # given a solver whose worker dies
    async def crash(call: int) -> None:
        raise SolverUnavailable("worker stopped")

    pool = CountingPool(runtime.solver_pool, crash)

    # when the dispatcher's edit commits
    clocked, fleet, added = await edit_with(runtime, pool)

    # then the edit's version stands (the stop appended last) and a route change says the re-solve was not written
    route, stops, plans, events = await route_state(clocked, fleet.route.id)
    assert added["errors"] == [] and route.version == 2 and stops[-1].address == "Halfway 1" and plans == []
    assert events[-1].payload == {"edit": "STOP_ADDED", "replan": "NOT_WRITTEN", "reason": "REPLANNING_FAILED", "kept": "RESEQUENCED_ORDER"}
