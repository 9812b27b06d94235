"""Opening hours of a pickup point are JSON: any shape that is not {"mon": [["HH:MM", "HH:MM"]], …} is INVALID_INPUT."""
import pytest

from app.alternatives.models import PickupPoint
from tests.alternatives.helpers import rows
from tests.factories import gql

SAVE = """
mutation($input: SavePickupPointInput!) { savePickupPoint(input: $input) { pickupPoint { id } errors { code field } } }
"""


@pytest.mark.parametrize("hours", [{"mon": 5}, {"mon": True}, {"mon": [5]}, {"mon": [[8, 20]]}, [["08:00", "20:00"]], "08:00-20:00"])
async def test_opening_hours_of_the_wrong_shape_are_refused(client, factory, runtime, hours):
    # given a dispatcher (found probing the shapes the schema fuzzer draws: {"mon": 5} was iterated and failed as INTERNAL_ERROR)
    fleet = await factory.fleet(stops=0)
    point = {"kind": "LOCKER", "name": "Locker 1", "address": "Station 1", "lat": 52.37, "lon": 4.89, "capacity": 10, "openingHours": hours}

    # when they save a pickup point whose opening hours have the wrong shape
    result = await gql(client, SAVE, {"input": point}, token=factory.token(fleet.dispatcher))

    # then it is refused, naming openingHours, and nothing is saved
    assert result.get("errors") is None, result
    assert result["data"]["savePickupPoint"] == {"pickupPoint": None, "errors": [{"code": "INVALID_INPUT", "field": "openingHours"}]}
    assert await rows(runtime, PickupPoint) == []
