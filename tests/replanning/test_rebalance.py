"""Rebalancing routes still at the depot: a stop moves to the van that passes by it, as new versions of both routes."""
from datetime import timedelta

import pytest
from sqlmodel import col, select

from app.customers.models import Customer
from app.clock import current_time as utcnow
from app.replanning.flows import REBALANCE_REASON
from app.replanning.models import RoutePlan
from app.routes.models import Parcel, Route, RouteStatus, Stop, Vehicle
from tests.factories import gql

pytestmark = pytest.mark.usefixtures("solver_pool")

REBALANCE = """
mutation Rebalance($input: RebalanceRoutesInput!) {
  rebalanceRoutes(input: $input) {
    routes { id version stops { id sequence plannedEta } }
    proposals { routeId basedOnVersion stops { sequence stop { id } } }
    movedStops
    unassigned { reason stop { id } }
    errors { code message field }
  }
}
"""
# The depot (52.3889, 4.8371) lies between the two clusters.
WEST = [(52.386 + i * 0.002, 4.790) for i in range(3)]
EAST = [(52.386 + i * 0.002, 4.885) for i in range(3)]


async def add_route(runtime, fleet, positions, *, status=RouteStatus.PLANNED) -> tuple[Route, list[Stop]]:
    """Another route from the fleet's depot, with its own van, one customer and two parcels per stop."""
    start = utcnow() - timedelta(hours=1)
    async with runtime.sessionmaker() as session, session.begin():
        vehicle = Vehicle(tenant_id=fleet.tenant.id, depot_id=fleet.depot.id, label="VAN-B", capacity=100)
        session.add(vehicle)
        await session.flush()
        route = Route(
            tenant_id=fleet.tenant.id, depot_id=fleet.depot.id, vehicle_id=vehicle.id, service_date=fleet.route.service_date, status=status,
        )
        session.add(route)
        await session.flush()
        stops = []
        for sequence, (lat, lon) in enumerate(positions, start=1):
            customer = Customer(tenant_id=fleet.tenant.id, name=f"B{sequence}", phone=f"+3161299{sequence:04d}", timezone="Europe/Amsterdam")
            session.add(customer)
            await session.flush()
            stop = Stop(
                tenant_id=fleet.tenant.id, route_id=route.id, sequence=sequence, customer_id=customer.id, address=f"B {sequence}",
                lat=lat, lon=lon, window_start=start, window_end=start + timedelta(hours=10),
                planned_eta=start + timedelta(hours=2, minutes=10 * sequence),
            )
            session.add(stop)
            await session.flush()
            session.add_all([Parcel(tenant_id=fleet.tenant.id, stop_id=stop.id, barcode=f"B-{stop.id}-{p}") for p in range(2)])
            stops.append(stop)
    return route, stops


async def set_planned(runtime, route_id: int) -> None:
    async with runtime.sessionmaker() as session, session.begin():
        (await session.get(Route, route_id)).status = RouteStatus.PLANNED


async def stops_by_route(runtime, route_ids) -> dict[int, list[int]]:
    """Each route's stop ids in sequence order."""
    async with runtime.sessionmaker() as session:
        rows = (await session.exec(select(Stop).where(col(Stop.route_id).in_(route_ids)).order_by(col(Stop.sequence)))).all()
    return {route_id: [s.id for s in rows if s.route_id == route_id] for route_id in route_ids}


async def test_a_stop_on_the_wrong_side_of_town_moves_to_the_van_that_goes_there(client, factory, runtime):
    # given two routes still at the depot: A in the west with one stray stop in the east, B in the east
    fleet = await factory.fleet(stops=0)
    await set_planned(runtime, fleet.route.id)
    route_a, stops_a = await add_route(runtime, fleet, [*WEST, EAST[1]])
    route_b, stops_b = await add_route(runtime, fleet, [EAST[0], EAST[2]])
    stray = stops_a[-1]
    variables = {"input": {"routes": [
        {"routeId": str(route_a.id), "expectedVersion": 1}, {"routeId": str(route_b.id), "expectedVersion": 1},
    ]}}

    # when the dispatcher rebalances them
    result = await gql(client, REBALANCE, variables, token=factory.token(fleet.dispatcher))

    # then the stray stop is on route B now, both routes have a new version and a stored plan
    payload = result["data"]["rebalanceRoutes"]
    assert payload["errors"] == [] and payload["unassigned"] == []
    assert payload["movedStops"] == 1
    assert [(r["id"], r["version"]) for r in payload["routes"]] == [(str(route_a.id), 2), (str(route_b.id), 2)]
    order = await stops_by_route(runtime, [route_a.id, route_b.id])
    assert sorted(order[route_a.id]) == sorted(s.id for s in stops_a[:-1])
    assert sorted(order[route_b.id]) == sorted([stray.id, *(s.id for s in stops_b)])
    async with runtime.sessionmaker() as session:
        plans = (await session.exec(select(RoutePlan).order_by(col(RoutePlan.route_id)))).all()
    assert [(p.route_id, p.version, p.reason) for p in plans] == [(route_a.id, 2, REBALANCE_REASON), (route_b.id, 2, REBALANCE_REASON)]


async def test_routes_that_left_the_depot_or_moved_on_are_refused_and_nothing_is_written(client, factory, runtime):
    # given an IN_PROGRESS route (the factory's) and a planned one
    fleet = await factory.fleet(stops=2)
    route_b, _ = await add_route(runtime, fleet, EAST)
    token = factory.token(fleet.dispatcher)
    before = await stops_by_route(runtime, [fleet.route.id, route_b.id])

    # when the dispatcher tries to rebalance them, and then two planned routes with a stale version
    started = await gql(client, REBALANCE, {"input": {"routes": [
        {"routeId": str(fleet.route.id), "expectedVersion": 1}, {"routeId": str(route_b.id), "expectedVersion": 1},
    ]}}, token=token)
    await set_planned(runtime, fleet.route.id)
    stale = await gql(client, REBALANCE, {"input": {"routes": [
        {"routeId": str(fleet.route.id), "expectedVersion": 1}, {"routeId": str(route_b.id), "expectedVersion": 7},
    ]}}, token=token)

    # then
    assert [e["code"] for e in started["data"]["rebalanceRoutes"]["errors"]] == ["INVALID_TRANSITION"]
    assert [e["code"] for e in stale["data"]["rebalanceRoutes"]["errors"]] == ["VERSION_CONFLICT"]
    assert await stops_by_route(runtime, [fleet.route.id, route_b.id]) == before
    async with runtime.sessionmaker() as session:
        assert (await session.exec(select(RoutePlan))).all() == []
