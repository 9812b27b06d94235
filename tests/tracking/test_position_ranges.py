"""reportPositions refuses fixes no phone can take: latitude beyond ±90, longitude beyond ±180, negative accuracy."""
import pytest

from tests.factories import gql

POSITIONS = "mutation P($p: [PositionFixInput!]!) { reportPositions(input: {positions: $p}) { stored errors { code field } } }"


@pytest.mark.parametrize("fix", [
    {"lat": 90.5, "lon": 4.0}, {"lat": -91.0, "lon": 4.0}, {"lat": 52.0, "lon": 181.0}, {"lat": 52.0, "lon": -180.5},
    {"lat": 1e308, "lon": 4.0}, {"lat": 52.0, "lon": 4.0, "accuracyM": -1.0},
])
async def test_impossible_fixes_are_refused_and_nothing_is_stored(client, factory, fix):
    # given a driver
    fleet = await factory.fleet(stops=1)
    # when the phone sends an impossible fix (the time is fine and offset-aware)
    result = await gql(client, POSITIONS, {"p": [{"recordedAt": "2026-01-01T09:00:00Z", **fix}]}, token=factory.token(fleet.driver))
    # then a typed refusal and nothing stored
    payload = result["data"]["reportPositions"]
    assert payload["stored"] == 0 and [e["code"] for e in payload["errors"]] == ["INVALID_INPUT"]


async def test_the_edges_of_the_ranges_are_accepted(client, factory):
    # given a driver
    fleet = await factory.fleet(stops=1)
    edges = [{"recordedAt": f"2026-01-01T09:00:0{i}Z", "lat": lat, "lon": lon, "accuracyM": 0.0}
             for i, (lat, lon) in enumerate([(90.0, 180.0), (-90.0, -180.0)])]
    # when
    result = await gql(client, POSITIONS, {"p": edges}, token=factory.token(fleet.driver))
    # then
    assert result["data"]["reportPositions"] == {"stored": 2, "errors": []}
