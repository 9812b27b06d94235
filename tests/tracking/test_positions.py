"""GPS batches from the phone: out of order and duplicates tolerated, bad fixes refused whole."""
from datetime import UTC, datetime, timedelta

from tests.factories import gql

REPORT = "mutation($input: ReportPositionsInput!) { reportPositions(input: $input) { stored duplicates errors { code field } } }"
POSITIONS = "query($depot: ID!) { driverPositions(depotId: $depot) { driverId recordedAt lat lon } }"


def fix(minutes_ago: float, lat: float = 52.37, lon: float = 4.89) -> dict:
    return {"recordedAt": (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat(), "lat": lat, "lon": lon, "accuracyM": 5}


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
