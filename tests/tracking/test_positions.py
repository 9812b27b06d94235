"""GPS batches from the phone: out of order and duplicates tolerated, bad fixes refused whole; the map shows what comes next."""
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from app.clock import FrozenClock
from app.routes.models import Stop
from tests.conftest import client_for
from tests.factories import Factory, gql

REPORT = "mutation($input: ReportPositionsInput!) { reportPositions(input: $input) { stored duplicates errors { code field } } }"
POSITIONS = "query($depot: ID!) { driverPositions(depotId: $depot) { driverId recordedAt lat lon } }"
MAP = """query($depot: ID!) { driverPositions(depotId: $depot) {
  driverId nextStop { routeId stopId sequence plannedEta liveEta liveEtaAt windowEnd } } }"""
T0 = datetime(2026, 12, 1, 23, 50, tzinfo=UTC)  # late: the depot's day and the UTC day differ an hour later in Amsterdam


def fix(minutes_ago: float, lat: float = 52.37, lon: float = 4.89) -> dict:
    return {"recordedAt": (T0 - timedelta(minutes=minutes_ago)).isoformat(), "lat": lat, "lon": lon, "accuracyM": 5}


@pytest.fixture
def clocked(runtime):  # noqa: ANN001, ANN201
    return replace(runtime, clock=FrozenClock(T0))


@pytest.fixture
def factory(clocked):  # noqa: ANN001, ANN201
    return Factory(clocked)


@pytest.fixture
async def client(clocked):  # noqa: ANN001, ANN201
    async with client_for(clocked) as http:
        yield http


async def test_out_of_order_and_duplicate_fixes_keep_the_newest_as_last_position(client, factory):
    # given a batch out of order, then a retry of part of it and an older fix
    fleet = await factory.fleet(stops=1)
    driver = factory.token(fleet.driver)
    newest, middle, oldest = fix(1, lat=52.30), fix(2, lat=52.31), fix(3, lat=52.32)
    first = (await gql(client, REPORT, {"input": {"positions": [middle, newest, oldest, middle]}}, token=driver))["data"]["reportPositions"]
    second = (await gql(client, REPORT, {"input": {"positions": [oldest, fix(10, lat=52.99)]}}, token=driver))["data"]["reportPositions"]

    # then each fix is stored once and the map shows the newest
    assert (first["stored"], first["duplicates"]) == (3, 1)
    assert (second["stored"], second["duplicates"]) == (1, 1)
    shown = (await gql(client, POSITIONS, {"depot": str(fleet.depot.id)}, token=factory.token(fleet.dispatcher)))["data"]["driverPositions"]
    assert [(p["driverId"], p["lat"]) for p in shown] == [(str(fleet.driver.id), 52.30)]


async def test_one_bad_fix_refuses_the_batch(client, factory):
    fleet = await factory.fleet(stops=1)
    driver = factory.token(fleet.driver)

    result = (await gql(client, REPORT, {"input": {"positions": [fix(1), fix(2, lat=123.0)]}}, token=driver))["data"]["reportPositions"]

    assert result["errors"][0] == {"code": "INVALID_INPUT", "field": "positions[1]"}
    shown = (await gql(client, POSITIONS, {"depot": str(fleet.depot.id)}, token=factory.token(fleet.dispatcher)))["data"]["driverPositions"]
    assert shown == []


async def test_other_tenants_map_is_empty(client, factory):
    a, b = await factory.fleet(stops=1, slug="a"), await factory.fleet(stops=1, slug="b")
    await gql(client, REPORT, {"input": {"positions": [fix(1)]}}, token=factory.token(a.driver))
    shown = (await gql(client, POSITIONS, {"depot": str(a.depot.id)}, token=factory.token(b.dispatcher)))["data"]["driverPositions"]
    assert shown == []


async def test_the_map_shows_each_drivers_next_stop_with_its_planned_and_live_eta(client, factory, clocked):
    # given a route whose first stop is already delivered, and a driver who has not reported yet
    fleet = await factory.fleet(stops=3)
    async with clocked.sessionmaker() as session, session.begin():
        delivered = await session.get(Stop, fleet.stops[0].id)
        delivered.status = "DELIVERED"
    dispatcher = factory.token(fleet.dispatcher)
    assert (await gql(client, MAP, {"depot": str(fleet.depot.id)}, token=dispatcher))["data"]["driverPositions"] == []

    # when the driver reports a fix
    assert (await gql(client, REPORT, {"input": {"positions": [fix(0)]}}, token=factory.token(fleet.driver)))["data"]["reportPositions"]["errors"] == []
    [shown] = (await gql(client, MAP, {"depot": str(fleet.depot.id)}, token=dispatcher))["data"]["driverPositions"]

    # then the map shows the second stop as next, with its planned ETA and the live ETA computed from the fix
    async with clocked.sessionmaker() as session:
        second = await session.get(Stop, fleet.stops[1].id)
    nxt = shown["nextStop"]
    assert (nxt["routeId"], nxt["stopId"], nxt["sequence"]) == (str(fleet.route.id), str(second.id), second.sequence)
    assert second.live_eta is not None and datetime.fromisoformat(nxt["liveEta"]) == second.live_eta
    assert datetime.fromisoformat(nxt["liveEtaAt"]) == T0
    assert nxt["plannedEta"] == (second.planned_eta.isoformat() if second.planned_eta else None)
    assert datetime.fromisoformat(nxt["windowEnd"]) == second.window_end
