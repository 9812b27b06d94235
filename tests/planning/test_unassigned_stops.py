"""A stop imported without a route breaks nothing: drivers, edits, analytics and live ETAs pass it by until it is planned."""
from datetime import timedelta

import pytest
from sqlmodel import select

from app.analytics.models import StopFact
from tests.conftest import client_for
from tests.factories import Factory, gql
from tests.planning.helpers import DAY, NOW, PLAN, ROOT, depot_day, frozen, import_unassigned, stop, stops_by_ref

pytestmark = pytest.mark.usefixtures("solver_pool")


def document(name: str) -> str:
    return next(ROOT.rglob(f"{name}.graphql")).read_text()


async def facts(runtime) -> dict[int, StopFact]:  # noqa: ANN001
    async with runtime.sessionmaker() as session:
        return {f.stop_id: f for f in (await session.exec(select(StopFact))).all()}


async def test_an_unassigned_stop_is_left_alone_until_planned_and_then_belongs_to_its_route(runtime):
    # given a depot day with one routed stop and one stop without a route
    clocked = frozen(runtime)
    factory = Factory(clocked)
    day = await depot_day(factory, capacities=(10,))
    fleet = day.fleet
    routed = {"externalRef": "R1", "driverRef": None, "stops": [stop("ON-ROUTE", 1)]}
    driver = factory.token(fleet.driver)
    dispatcher = factory.token(fleet.dispatcher)
    period = {"from": (NOW - timedelta(days=1)).isoformat(), "to": (NOW + timedelta(days=3)).isoformat(), "depotId": str(fleet.depot.id)}
    async with client_for(clocked) as client:
        await import_unassigned(client, factory.token(fleet.integrator), [stop("WAITING", 2)], routes=[routed])
        waiting = (await stops_by_ref(clocked))["WAITING"]

        # when the driver reads their route and reports on the waiting stop, a dispatcher cancels and moves it,
        # and the analytics dashboard is read
        my_route = await gql(client, document("MyRoute"), {"date": DAY.isoformat()}, token=driver)
        report = await gql(client, document("ReportException"), {"input": {"stopId": str(waiting.id), "kind": "CUSTOMER_ABSENT",
                                                                               "reasonCode": "NO_ANSWER", "idempotencyKey": "w-1"}}, token=driver)
        cancel = await gql(client, document("CancelStop"), {"input": {"stopId": str(waiting.id), "expectedVersion": 1}}, token=dispatcher)
        routes = (await stops_by_ref(clocked))["ON-ROUTE"].route_id
        move = await gql(client, document("MoveStop"), {"input": {"stopId": str(waiting.id), "expectedVersion": 1,
                                                                     "targetRouteId": str(routes), "targetExpectedVersion": 1}}, token=dispatcher)
        dashboard = await gql(client, document("AnalyticsDashboard"), {"filter": period}, token=dispatcher)
        before = (await facts(clocked))[waiting.id]

        # and a supervisor plans the day, naming the driver
        vehicles = [{"vehicleId": str(day.vans[0].id), "driverId": str(fleet.driver.id)}]
        planned = await gql(client, PLAN, {"input": {"depotId": str(fleet.depot.id), "serviceDate": DAY.isoformat(), "vehicles": vehicles}},
                            token=factory.token(fleet.supervisor))

    # then before planning the driver has no route that day and nothing could be done to the waiting stop ...
    assert "errors" not in my_route and my_route["data"]["myRoute"] is None
    assert report["data"]["reportException"]["errors"][0]["code"] == "NOT_FOUND"
    assert cancel["data"]["cancelStop"]["errors"][0]["code"] == "INVALID_INPUT"
    assert move["data"]["moveStop"]["errors"][0]["code"] == "INVALID_INPUT"
    assert "errors" not in dashboard, dashboard
    # ... its analytics row belonged to the depot with no driver, and once planned it follows the route's driver
    assert (before.depot_id, before.driver_id) == (fleet.depot.id, None)
    assert planned["data"]["planRoutes"]["errors"] == []
    after = (await facts(clocked))[waiting.id]
    assert (after.depot_id, after.driver_id) == (fleet.depot.id, fleet.driver.id)
    planned_stop = (await stops_by_ref(clocked))["WAITING"]
    assert planned_stop.route_id is not None and planned_stop.planned_eta is not None and planned_stop.version == 2


async def test_re_importing_a_planned_stop_without_a_route_keeps_it_on_the_route_planRoutes_gave_it(runtime):
    # given a stop imported without a route and planned onto a van
    clocked = frozen(runtime)
    factory = Factory(clocked)
    day = await depot_day(factory, capacities=(10,))
    integrator = factory.token(day.fleet.integrator)
    async with client_for(clocked) as client:
        await import_unassigned(client, integrator, [stop("S0", 0)])
        await gql(client, PLAN, {"input": {"depotId": str(day.fleet.depot.id), "serviceDate": DAY.isoformat()}}, token=factory.token(day.fleet.supervisor))
        route_id = (await stops_by_ref(clocked))["S0"].route_id

        # when the integrator sends the same file again
        again = await import_unassigned(client, integrator, [stop("S0", 0)])

    # then nothing changes: the stop stays where the day plan put it
    assert (again["stopsUnchanged"], again["stopsUpdated"], again["stopsCreated"]) == (1, 0, 0)
    assert (await stops_by_ref(clocked))["S0"].route_id == route_id
