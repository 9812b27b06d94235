"""Trackers over HTTP: Traccar JSON forwarding and OsmAnd (query string and JSON) move the driver on the map."""
from datetime import timedelta

import pytest

from tests.factories import gql

REGISTER = """
mutation Register($input: RegisterGpsDeviceInput!) {
  registerGpsDevice(input: $input) { token device { id identifier driverId } errors { code field } }
}
"""
POSITIONS = "query($depot: ID!) { driverPositions(depotId: $depot) { driverId recordedAt lat lon speedMps headingDeg } }"


async def register(client, factory, fleet, identifier="tracker-1"):
    result = await gql(client, REGISTER, {"input": {"driverId": str(fleet.driver.id), "identifier": identifier}}, token=factory.token(fleet.supervisor))
    return result["data"]["registerGpsDevice"]


async def shown(client, factory, fleet):
    return (await gql(client, POSITIONS, {"depot": str(fleet.depot.id)}, token=factory.token(fleet.dispatcher)))["data"]["driverPositions"]


def traccar(at, lat, lon, *, unique_id="tracker-1", speed_knots=10.0):
    return {
        "position": {"deviceId": 7, "fixTime": at.isoformat(), "serverTime": "2000-01-01T00:00:00Z", "latitude": lat,
                     "longitude": lon, "speed": speed_knots, "course": 90.0, "accuracy": 6.0},
        "device": {"id": 7, "uniqueId": unique_id, "name": "Van 1"},
    }


async def test_a_traccar_post_moves_the_driver_with_device_time_and_knots(client, factory, runtime):
    # given a tracker registered for the driver
    fleet = await factory.fleet(stops=1)
    device = await register(client, factory, fleet)
    at = runtime.clock.now() - timedelta(minutes=1)

    # when Traccar forwards a position (its server time is ancient: the device's fix time must win)
    response = await client.post("/gps/traccar", json=traccar(at, 52.361, 4.881), headers={"Authorization": f"Bearer {device['token']}"})

    # then the dispatcher's map shows the driver there, at the device time, speed in m/s
    assert response.status_code == 200 and response.json() == {"stored": 1, "duplicates": 0}
    [position] = await shown(client, factory, fleet)
    assert (position["driverId"], position["lat"], position["lon"]) == (str(fleet.driver.id), 52.361, 4.881)
    assert position["recordedAt"].startswith(at.isoformat()[:19])
    assert position["speedMps"] == pytest.approx(5.1444, abs=1e-3)


async def test_an_older_or_repeated_fix_does_not_move_the_driver_back(client, factory, runtime):
    fleet = await factory.fleet(stops=1)
    headers = {"Authorization": f"Bearer {(await register(client, factory, fleet))['token']}"}
    now = runtime.clock.now()
    await client.post("/gps/traccar", json=traccar(now - timedelta(minutes=1), 52.30, 4.80), headers=headers)

    stale = await client.post("/gps/traccar", json=traccar(now - timedelta(minutes=5), 52.99, 4.99), headers=headers)
    repeat = await client.post("/gps/traccar", json=traccar(now - timedelta(minutes=1), 52.30, 4.80), headers=headers)

    assert stale.json() == {"stored": 1, "duplicates": 0} and repeat.json() == {"stored": 0, "duplicates": 1}
    assert [(p["lat"], p["lon"]) for p in await shown(client, factory, fleet)] == [(52.30, 4.80)]


async def test_osmand_query_string_and_json(client, factory, runtime):
    # given a tracker speaking OsmAnd (token in the query string, as the Traccar Client app can only set a URL)
    fleet = await factory.fleet(stops=1)
    token = (await register(client, factory, fleet, identifier="phone-9"))["token"]
    first = runtime.clock.now() - timedelta(minutes=2)
    second = first + timedelta(minutes=1)

    # when it sends the query-string form (speed in knots), then the JSON form (speed in m/s)
    query = await client.get("/gps/osmand", params={"id": "phone-9", "token": token, "lat": "52.31", "lon": "4.82",
                                                    "timestamp": str(int(first.timestamp())), "speed": "20", "bearing": "45"})
    after_query = await shown(client, factory, fleet)
    body = {"device_id": "phone-9", "location": {"timestamp": second.isoformat(), "coords": {"latitude": 52.32, "longitude": 4.83, "speed": 3.0, "heading": 180}}}
    as_json = await client.post(f"/gps/osmand?token={token}", json=body)

    # then both are stored and the JSON fix, newer, is the last position
    assert query.status_code == 200 and as_json.status_code == 200
    assert after_query[0]["speedMps"] == pytest.approx(10.2889, abs=1e-3) and after_query[0]["headingDeg"] == 45
    [position] = await shown(client, factory, fleet)
    assert (position["lat"], position["speedMps"], position["headingDeg"]) == (52.32, 3.0, 180)


async def test_bad_tokens_foreign_devices_and_bad_fixes_are_refused(client, factory, runtime):
    fleet = await factory.fleet(stops=1)
    token = (await register(client, factory, fleet))["token"]
    at = runtime.clock.now()
    headers = {"Authorization": f"Bearer {token}"}

    unknown = await client.post("/gps/traccar", json=traccar(at, 52.3, 4.8), headers={"Authorization": "Bearer dtr_gps_nope"})
    other_device = await client.post("/gps/traccar", json=traccar(at, 52.3, 4.8, unique_id="someone-else"), headers=headers)
    off_the_map = await client.post("/gps/traccar", json=traccar(at, 123.0, 4.8), headers=headers)
    future = await client.post("/gps/traccar", json=traccar(at + timedelta(hours=1), 52.3, 4.8), headers=headers)
    not_json = await client.post("/gps/traccar", content=b"{", headers=headers)

    assert (unknown.status_code, other_device.status_code, off_the_map.status_code, future.status_code, not_json.status_code) == (401, 403, 400, 400, 400)
    assert token not in unknown.text + other_device.text + off_the_map.text
    assert await shown(client, factory, fleet) == []


async def test_a_device_maps_only_to_a_driver_of_the_tenant(client, factory):
    a, b = await factory.fleet(stops=1, slug="a"), await factory.fleet(stops=1, slug="b")

    foreign = await gql(client, REGISTER, {"input": {"driverId": str(b.driver.id), "identifier": "x"}}, token=factory.token(a.supervisor))
    dispatcher = await gql(client, REGISTER, {"input": {"driverId": str(a.driver.id), "identifier": "x"}}, token=factory.token(a.dispatcher))

    assert foreign["data"]["registerGpsDevice"]["errors"][0]["code"] == "NOT_FOUND"
    assert dispatcher["errors"][0]["extensions"]["code"] == "FORBIDDEN"
