"""planRoutes: a depot's stops imported without a route are planned onto its vans, within windows, capacities and shifts."""
from datetime import timedelta

import pytest
from sqlmodel import select

from app.realtime.models import RouteChangeKind, RouteEvent
from app.replanning.models import RoutePlan
from app.routes.models import Parcel, Stop
from tests.conftest import client_for
from tests.factories import Factory, gql
from tests.planning.helpers import DAY, NINE, PLAN, PREVIEW, day_routes, depot_day, frozen, import_unassigned, stop, stops_by_ref

pytestmark = pytest.mark.usefixtures("solver_pool")


@pytest.fixture
def clocked(runtime):  # noqa: ANN001, ANN201
    return frozen(runtime)


async def test_a_supervisor_plans_the_day_and_stops_no_van_can_serve_are_listed_with_why(clocked):
    # given a depot with two vans of 6 parcels, 8 serviceable stops imported without a route, one stop whose window
    # closes before any shift starts and one stop of 7 parcels that fits no van
    factory = Factory(clocked)
    day = await depot_day(factory, capacities=(6, 6))
    fleet = day.fleet
    early = NINE.replace(hour=4)
    stops = [stop(f"S{i}", i, parcels=1 + i % 2) for i in range(8)]
    stops += [stop("EARLY", 20, start=early, hours=1), stop("HEAVY", 21, parcels=7)]
    async with client_for(clocked) as client:
        summary = await import_unassigned(client, factory.token(fleet.integrator), stops)
        supervisor = factory.token(fleet.supervisor)
        vehicles = [
            {"vehicleId": str(day.vans[0].id), "driverId": str(fleet.driver.id),
             "shift": {"start": NINE.replace(hour=8).isoformat(), "end": NINE.replace(hour=16).isoformat()}},
            {"vehicleId": str(day.vans[1].id)},  # the default shift: 07:00-21:00 in the depot's zone
        ]
        variables = {"input": {"depotId": str(fleet.depot.id), "serviceDate": DAY.isoformat(), "vehicles": vehicles}}

        # when the supervisor previews the plan, then plans the day
        preview = (await gql(client, PREVIEW, variables, token=supervisor))["data"]["previewPlanRoutes"]
        routes_after_preview = await day_routes(clocked)
        planned = (await gql(client, PLAN, variables, token=supervisor))["data"]["planRoutes"]

    # then the preview wrote nothing, and the plan created one route per van at version 1 ...
    assert summary["stopsUnassigned"] == 10 and summary["stopsCreated"] == 10
    assert preview["errors"] == [] and routes_after_preview == []
    assert planned["errors"] == [], planned
    assert [(r["version"], r["status"]) for r in planned["routes"]] == [(1, "PLANNED"), (1, "PLANNED")]
    # ... serving every stop that can be served, each once, with its ETA inside its window and the van's shift
    rows = await stops_by_ref(clocked)
    served = [s for s in rows.values() if s.route_id is not None]
    assert sorted(s.external_ref for s in served) == [f"S{i}" for i in range(8)]
    for s in served:
        assert s.window_start <= s.planned_eta <= s.window_end, s.external_ref
    routes = await day_routes(clocked)
    first = next(r for r in routes if r.vehicle_id == day.vans[0].id)
    assert first.driver_id == fleet.driver.id
    assert all(NINE.replace(hour=8) <= s.planned_eta <= NINE.replace(hour=16) for s in served if s.route_id == first.id)
    # ... loading no van beyond its capacity, in sequence order from 1
    async with clocked.sessionmaker() as session:
        parcels = (await session.exec(select(Parcel))).all()
        events = (await session.exec(select(RouteEvent).order_by(RouteEvent.id))).all()
        plans = (await session.exec(select(RoutePlan))).all()
    load = {r.id: sum(1 for p in parcels if rows_by_id(rows)[p.stop_id].route_id == r.id) for r in routes}
    assert all(amount <= 6 for amount in load.values()), load
    for r in routes:
        assert sorted(s.sequence for s in served if s.route_id == r.id) == list(range(1, 1 + sum(s.route_id == r.id for s in served)))
    # ... the stops no van can serve stay without a route, each with its reason
    assert {(u["stop"]["address"], u["reason"], u["stop"]["route"]) for u in planned["unassigned"]} == {
        ("Straat 20", "TIME_WINDOW_UNREACHABLE", None), ("Straat 21", "CAPACITY_EXCEEDED", None),
    }
    assert rows["EARLY"].route_id is None and rows["HEAVY"].route_id is None
    # ... and each driver hears of their new route, whose plan is stored as version 1
    assert [(e.kind, e.route_version, e.payload["reason"]) for e in events] == [(RouteChangeKind.ROUTE_REPLANNED, 1, "DAY_PLAN")] * 2
    assert sorted((p.route_id, p.version, p.reason) for p in plans) == sorted((r.id, 1, "DAY_PLAN") for r in routes)


def rows_by_id(rows: dict[str, Stop]) -> dict[int, Stop]:
    return {s.id: s for s in rows.values()}


async def test_planning_is_for_supervisors_and_refuses_what_cannot_be_planned(clocked):
    # given a depot day with three stops imported without a route
    factory = Factory(clocked)
    day = await depot_day(factory, capacities=(10,))
    fleet = day.fleet
    variables = {"input": {"depotId": str(fleet.depot.id), "serviceDate": DAY.isoformat()}}
    async with client_for(clocked) as client:
        await import_unassigned(client, factory.token(fleet.integrator), [stop(f"S{i}", i) for i in range(3)])

        # when a dispatcher plans it, a supervisor plans another day, names a van twice, and then plans it twice
        dispatcher = await gql(client, PLAN, variables, token=factory.token(fleet.dispatcher))
        supervisor = factory.token(fleet.supervisor)
        empty_day = await gql(client, PLAN, {"input": {**variables["input"], "serviceDate": (DAY + timedelta(days=1)).isoformat()}}, token=supervisor)
        twice = {"vehicles": [{"vehicleId": str(day.vans[0].id)}, {"vehicleId": str(day.vans[0].id)}]}
        named_twice = await gql(client, PLAN, {"input": {**variables["input"], **twice}}, token=supervisor)
        first = await gql(client, PLAN, variables, token=supervisor)
        second = await gql(client, PLAN, variables, token=supervisor)

    # then only the first supervisor's plan was written; the rest say why with a stable code
    assert dispatcher["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert empty_day["data"]["planRoutes"]["errors"][0]["code"] == "INVALID_INPUT"
    assert named_twice["data"]["planRoutes"]["errors"][0]["code"] == "INVALID_INPUT"
    assert first["data"]["planRoutes"]["errors"] == [] and len(first["data"]["planRoutes"]["routes"]) == 1
    assert second["data"]["planRoutes"]["errors"][0]["code"] == "INVALID_INPUT"  # nothing left to plan
    assert len(await day_routes(clocked)) == 1


async def test_another_tenant_cannot_plan_or_preview_a_depot_it_does_not_own(clocked):
    # given two tenants, the first with stops to plan
    factory = Factory(clocked)
    day = await depot_day(factory)
    other = await factory.fleet(stops=0)
    variables = {"input": {"depotId": str(day.fleet.depot.id), "serviceDate": DAY.isoformat()}}
    async with client_for(clocked) as client:
        await import_unassigned(client, factory.token(day.fleet.integrator), [stop("S0", 0)])

        # when the other tenant's supervisor previews and plans the first tenant's depot
        preview = (await gql(client, PREVIEW, variables, token=factory.token(other.supervisor)))["data"]["previewPlanRoutes"]
        planned = (await gql(client, PLAN, variables, token=factory.token(other.supervisor)))["data"]["planRoutes"]

    # then the depot does not exist for them, and nothing is written
    assert preview["errors"][0]["code"] == "NOT_FOUND" and preview["proposal"] is None
    assert planned["errors"][0]["code"] == "NOT_FOUND"
    assert await day_routes(clocked) == []
