"""Dispatchers edit the day: add, move and cancel stops, reassign routes; each is a new version the drivers hear of."""
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from app.realtime.models import RouteEvent
from app.routes.models import Parcel, ParcelStatus, Route, RouteStatus, Stop, StopStatus, Vehicle
from tests.factories import gql

pytestmark = pytest.mark.usefixtures("solver_pool")  # moving and cancelling re-solve the routes after the commit

ROOT = Path(__file__).resolve().parents[2] / "graphql" / "dispatcher"


def doc(name: str) -> str:
    return (ROOT / f"{name}.graphql").read_text()


async def second_route(factory, fleet) -> Route:  # noqa: ANN001
    async with factory.runtime.sessionmaker() as session, session.begin():
        route = Route(tenant_id=fleet.tenant.id, depot_id=fleet.depot.id, service_date=fleet.route.service_date, status=RouteStatus.PLANNED)
        session.add(route)
    return route


async def events(factory) -> list[tuple[int, int, str]]:  # noqa: ANN001
    async with factory.runtime.sessionmaker() as session:
        rows = (await session.exec(select(RouteEvent).order_by(RouteEvent.id))).all()
    return [(e.route_id, e.route_version, e.payload["reason"]) for e in rows]


async def test_a_dispatcher_adds_moves_cancels_and_reassigns(client, factory, count_statements):
    # given a depot with a 3-stop route in progress and an empty second route, and its dispatcher
    fleet = await factory.fleet(stops=3)
    other = await second_route(factory, fleet)
    token = factory.token(fleet.dispatcher)
    start = factory.runtime.clock.now() + timedelta(hours=1)
    new_stop = {"externalRef": "late-1", "address": "Late street 1", "lat": 52.38, "lon": 4.84,
                "timeWindow": {"start": start.isoformat(), "end": (start + timedelta(hours=2)).isoformat()},
                "customer": {"externalRef": "late-c", "name": "Late Customer", "phone": "+31612345678"},
                "parcels": [{"barcode": "LATE-1"}]}

    # when they add a stop first on the route
    count_statements.active = True
    added = (await gql(client, doc("AddStop"), {"input": {"routeId": str(fleet.route.id), "expectedVersion": 1, "stop": new_stop, "position": 0}}, token=token))["data"]["addStop"]
    count_statements.active = False
    # and move the stop that was first to the other route
    moved = (await gql(client, doc("MoveStop"), {"input": {"stopId": str(fleet.stops[0].id), "expectedVersion": 2,
                                                             "targetRouteId": str(other.id), "targetExpectedVersion": 1}}, token=token))["data"]["moveStop"]
    # and cancel the last stop, and give the second route the fleet's vehicle
    cancelled = (await gql(client, doc("CancelStop"), {"input": {"stopId": str(fleet.stops[2].id), "expectedVersion": 4}}, token=token))["data"]["cancelStop"]
    async with factory.runtime.sessionmaker() as session:
        vehicle = (await session.exec(select(Vehicle).where(Vehicle.tenant_id == fleet.tenant.id))).first()
    reassigned = (await gql(client, doc("ReassignRoute"), {"input": {"routeId": str(other.id), "expectedVersion": 3, "vehicleId": str(vehicle.id)}}, token=token))["data"]["reassignRoute"]

    # then each edit produced the next route version, in order, with a route change for the drivers; moving and
    # cancelling were re-solved after the commit as one more version each (a stop added at a chosen position was not)
    assert added["errors"] == [] and added["route"]["version"] == 2
    assert added["route"]["stops"][0]["address"] == "Late street 1" and len(added["route"]["stops"]) == 4
    assert (moved["source"]["version"], moved["target"]["version"]) == (4, 3)
    assert [s["id"] for s in moved["target"]["stops"]] == [str(fleet.stops[0].id)]
    assert cancelled["route"]["version"] == 6
    assert next(s for s in cancelled["route"]["stops"] if s["id"] == str(fleet.stops[2].id))["status"] == "SKIPPED"
    assert reassigned["route"] == {"id": str(other.id), "version": 4, "vehicleLabel": vehicle.label}
    assert await events(factory) == [
        (fleet.route.id, 2, "STOP_ADDED"), (fleet.route.id, 3, "STOP_MOVED_OUT"), (other.id, 2, "STOP_MOVED_IN"),
        (fleet.route.id, 4, "EDIT_STOP_MOVED_OUT"), (other.id, 3, "EDIT_STOP_MOVED_IN"),
        (fleet.route.id, 5, "STOP_CANCELLED"), (fleet.route.id, 6, "EDIT_STOP_CANCELLED"), (other.id, 4, "REASSIGNED"),
    ]
    async with factory.runtime.sessionmaker() as session:
        held = (await session.exec(select(Parcel).where(Parcel.stop_id == fleet.stops[2].id))).all()
    assert held and all(p.status is ParcelStatus.HELD for p in held)
    assert count_statements.count <= 25, count_statements.count


async def test_a_stale_version_or_an_attempted_stop_is_refused(client, factory):
    # given a route whose first stop was attempted
    fleet = await factory.fleet(stops=2)
    async with factory.runtime.sessionmaker() as session, session.begin():
        stop = await session.get(Stop, fleet.stops[0].id)
        stop.status, stop.attempts = StopStatus.FAILED, 1
        session.add(stop)
    token = factory.token(fleet.dispatcher)

    # when a dispatcher cancels with an old version, then cancels the attempted stop
    stale = (await gql(client, doc("CancelStop"), {"input": {"stopId": str(fleet.stops[1].id), "expectedVersion": 7}}, token=token))["data"]["cancelStop"]
    attempted = (await gql(client, doc("CancelStop"), {"input": {"stopId": str(fleet.stops[0].id), "expectedVersion": 1}}, token=token))["data"]["cancelStop"]
    by_driver = await gql(client, doc("CancelStop"), {"input": {"stopId": str(fleet.stops[1].id), "expectedVersion": 1}}, token=factory.token(fleet.driver))

    # then nothing changes and each says why
    assert stale["errors"][0]["code"] == "VERSION_CONFLICT"
    assert attempted["errors"][0]["code"] == "STOP_ALREADY_COMPLETED"
    assert by_driver["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await events(factory) == []
