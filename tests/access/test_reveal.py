"""Reveal rules over HTTP: the stop's driver, today, in the window, at the door — and every decision audited."""
import json
from datetime import timedelta

from app.access.models import AccessGrant
from app.clock import current_time as utcnow
from app.realtime.bus import depot_channel
from app.routes.models import Route
from app.tenants.models import Role, User
from tests.access.conftest import ENTRY_CODE, GATE_CODE, INSTRUCTIONS, add_profile, move_window, place_driver
from tests.factories import gql

REVEAL = """
mutation Reveal($input: RevealAccessCodeInput!) {
  revealAccessCode(input: $input) {
    codes { gateCode entryCode instructions oneTimeCode profileLabel hasDigitalKey }
    refusalReason
    errors { code message field }
  }
}
"""
AUDIT = """
query Audit($stopId: ID!) {
  accessAudit(stopId: $stopId, first: 50) {
    edges { node { action outcome refusalReason actorRole actor { id } distanceM lat lon detail } }
  }
}
"""
GRANT = """
mutation Grant($input: GrantAccessInput!) {
  grantAccess(input: $input) { grant { id hasCode expiresAt driver { id } } errors { code message field } }
}
"""


async def reveal(client, token, stop_id, position=None):  # noqa: ANN001, ANN201
    variables = {"input": {"stopId": str(stop_id), **({"position": position} if position else {})}}
    return (await gql(client, REVEAL, variables, token=token))["data"]["revealAccessCode"]


async def test_driver_at_the_door_in_the_window_gets_the_codes_and_staff_see_the_reveal(client, factory, runtime):
    # given a profile for the first stop and the driver 10 m from the door
    fleet = await factory.fleet(stops=2)
    stop = fleet.stops[0]
    await add_profile(runtime, fleet.dispatcher, stop)
    await place_driver(runtime, fleet.driver, stop, metres_north=10)

    # when the driver asks for the code
    result = await reveal(client, factory.token(fleet.driver), stop.id)

    # then the codes come back
    assert result["errors"] == [] and result["refusalReason"] is None
    assert result["codes"] == {
        "gateCode": GATE_CODE, "entryCode": ENTRY_CODE, "instructions": INSTRUCTIONS, "oneTimeCode": None,
        "profileLabel": "Residence Parkzicht", "hasDigitalKey": False,
    }
    # and the dispatcher sees who revealed it, and from where
    audit = (await gql(client, AUDIT, {"stopId": str(stop.id)}, token=factory.token(fleet.dispatcher)))["data"]["accessAudit"]
    reveal_entry = audit["edges"][0]["node"]
    assert reveal_entry["action"] == "REVEAL" and reveal_entry["outcome"] == "ALLOWED"
    assert reveal_entry["actor"]["id"] == str(fleet.driver.id) and 5 < reveal_entry["distanceM"] < 15


async def test_a_position_sent_with_the_request_counts_as_the_fix(client, factory, runtime):
    # given a profile and no GPS fix stored yet
    fleet = await factory.fleet(stops=1)
    stop = fleet.stops[0]
    await add_profile(runtime, fleet.dispatcher, stop)

    # when the driver sends the phone's position with the request
    result = await reveal(client, factory.token(fleet.driver), stop.id, {"lat": stop.lat, "lon": stop.lon, "accuracyM": 4})

    # then it is used, and the code is revealed
    assert result["codes"]["gateCode"] == GATE_CODE


async def _refusal(client, token, stop_id) -> str:  # noqa: ANN001
    result = await reveal(client, token, stop_id)
    assert result["codes"] is None
    assert [e["code"] for e in result["errors"]] == ["ACCESS_REFUSED"]
    return result["refusalReason"]


async def test_another_driver_of_the_tenant_is_refused_and_audited(client, factory, runtime):
    # given a profile on fleet A's stop and a second driver of the same tenant, at the door too
    fleet = await factory.fleet(stops=1)
    stop = fleet.stops[0]
    await add_profile(runtime, fleet.dispatcher, stop)
    async with runtime.sessionmaker() as session, session.begin():
        intruder = User(tenant_id=fleet.tenant.id, email="intruder@example.test", name="Intruder", role=Role.DRIVER)
        session.add(intruder)
    await place_driver(runtime, intruder, stop)

    # when that driver asks for the code
    reason = await _refusal(client, factory.token(intruder), stop.id)

    # then it is refused as not assigned, and the refusal is on the stop's audit trail
    assert reason == "NOT_ASSIGNED"
    audit = (await gql(client, AUDIT, {"stopId": str(stop.id)}, token=factory.token(fleet.dispatcher)))["data"]["accessAudit"]
    assert audit["edges"][0]["node"]["refusalReason"] == "NOT_ASSIGNED"
    assert audit["edges"][0]["node"]["actor"]["id"] == str(intruder.id)


async def test_a_route_of_another_day_is_refused(client, factory, runtime):
    # given the route was yesterday's
    fleet = await factory.fleet(stops=1, service_date=(utcnow() - timedelta(days=1)).date())
    stop = fleet.stops[0]
    await add_profile(runtime, fleet.dispatcher, stop)
    await place_driver(runtime, fleet.driver, stop)

    # then the driver is refused
    assert await _refusal(client, factory.token(fleet.driver), stop.id) == "NOT_TODAY"


async def test_outside_the_time_window_plus_margin_is_refused_inside_the_margin_allowed(client, factory, runtime):
    # given a window that starts in 3 hours (the margin is 15 minutes)
    fleet = await factory.fleet(stops=1)
    stop = fleet.stops[0]
    await add_profile(runtime, fleet.dispatcher, stop)
    await place_driver(runtime, fleet.driver, stop)
    now = utcnow()
    await move_window(runtime, stop, now + timedelta(hours=3), now + timedelta(hours=5))

    # then the driver is refused
    assert await _refusal(client, factory.token(fleet.driver), stop.id) == "OUTSIDE_TIME_WINDOW"

    # and when the window starts in 10 minutes, the margin lets them in
    await move_window(runtime, stop, now + timedelta(minutes=10), now + timedelta(hours=2))
    assert (await reveal(client, factory.token(fleet.driver), stop.id))["codes"]["gateCode"] == GATE_CODE


async def test_too_far_from_the_address_is_refused(client, factory, runtime):
    # given the driver 800 m away (radius 150 m)
    fleet = await factory.fleet(stops=1)
    stop = fleet.stops[0]
    await add_profile(runtime, fleet.dispatcher, stop)
    await place_driver(runtime, fleet.driver, stop, metres_north=800)

    # then the driver is refused, and the audit says how far they were
    assert await _refusal(client, factory.token(fleet.driver), stop.id) == "TOO_FAR"
    audit = (await gql(client, AUDIT, {"stopId": str(stop.id)}, token=factory.token(fleet.dispatcher)))["data"]["accessAudit"]
    assert 790 < audit["edges"][0]["node"]["distanceM"] < 810


async def test_no_gps_fix_or_an_old_one_is_refused(client, factory, runtime):
    # given no fix at all
    fleet = await factory.fleet(stops=1)
    stop = fleet.stops[0]
    await add_profile(runtime, fleet.dispatcher, stop)
    assert await _refusal(client, factory.token(fleet.driver), stop.id) == "NO_GPS_FIX"

    # when the only fix is 10 minutes old (at most 3 allowed)
    await place_driver(runtime, fleet.driver, stop, age=timedelta(minutes=10))

    # then it is refused as stale
    assert await _refusal(client, factory.token(fleet.driver), stop.id) == "STALE_GPS_FIX"


async def test_a_stop_of_another_tenant_does_not_exist(client, factory, runtime):
    # given a profile on tenant A's stop and tenant B's driver
    fleet = await factory.fleet(stops=1)
    stop = fleet.stops[0]
    await add_profile(runtime, fleet.dispatcher, stop)
    other = await factory.fleet(stops=1)
    await place_driver(runtime, other.driver, stop)

    # when tenant B's driver asks for tenant A's stop
    result = await reveal(client, factory.token(other.driver), stop.id)

    # then the stop does not exist for them, and nothing is revealed
    assert result["codes"] is None and [e["code"] for e in result["errors"]] == ["NOT_FOUND"]
    # and tenant B's dispatcher cannot read tenant A's audit
    audit = (await gql(client, AUDIT, {"stopId": str(stop.id)}, token=factory.token(other.dispatcher)))["data"]["accessAudit"]
    assert audit["edges"] == []


async def test_no_profile_for_the_address_is_a_refusal_that_does_not_count(client, factory, runtime):
    # given no profile anywhere near the stop
    fleet = await factory.fleet(stops=1)
    stop = fleet.stops[0]
    await place_driver(runtime, fleet.driver, stop)

    # then the driver is told there is nothing on file
    assert await _refusal(client, factory.token(fleet.driver), stop.id) == "NO_ACCESS_PROFILE"


async def test_repeated_refusals_rate_limit_the_driver_and_alert_the_depot(client, factory, runtime):
    # given a driver too far away and dispatchers listening on the depot channel
    fleet = await factory.fleet(stops=1)
    stop = fleet.stops[0]
    await add_profile(runtime, fleet.dispatcher, stop)
    await place_driver(runtime, fleet.driver, stop, metres_north=900)
    token = factory.token(fleet.driver)
    limit = runtime.settings.access_refusal_limit

    channel = depot_channel(fleet.tenant.id, fleet.depot.id)
    alerts: list[dict] = []

    def listener(_channel: str, payload: dict) -> None:
        alerts.append(payload)

    await runtime.bus.listen(channel, listener)
    try:
        # when they are refused `limit` times
        reasons = [await _refusal(client, token, stop.id) for _ in range(limit)]
    finally:
        runtime.bus.unlisten(channel, listener)

    # then the depot is alerted once the limit is reached
    assert reasons == ["TOO_FAR"] * limit
    # (the bus hands a listener both the local and the broker copy of a notice, hence the set)
    assert {json.dumps(a, sort_keys=True) for a in alerts if a.get("type") == "ACCESS_RATE_LIMITED"} == {json.dumps({
        "type": "ACCESS_RATE_LIMITED", "driverId": fleet.driver.id, "stopId": stop.id, "routeId": fleet.route.id, "refusals": limit,
    }, sort_keys=True)}

    # and even at the door, the driver is now rate-limited for that address
    await place_driver(runtime, fleet.driver, stop, metres_north=5)
    assert await _refusal(client, token, stop.id) == "RATE_LIMITED"


async def test_a_dispatcher_grant_lets_the_driver_in_once_with_a_one_time_code(client, factory, runtime):
    # given a driver whose GPS is too far off, and no profile on file
    fleet = await factory.fleet(stops=1)
    stop = fleet.stops[0]
    await place_driver(runtime, fleet.driver, stop, metres_north=900)
    driver = factory.token(fleet.driver)
    assert await _refusal(client, driver, stop.id) == "TOO_FAR"

    # when the dispatcher grants a one-time code obtained from the concierge
    granted = (await gql(client, GRANT, {"input": {"stopId": str(stop.id), "code": "771199", "ttlMinutes": 5}},
                         token=factory.token(fleet.dispatcher)))["data"]["grantAccess"]
    assert granted["errors"] == [] and granted["grant"]["hasCode"] is True
    assert granted["grant"]["driver"]["id"] == str(fleet.driver.id)

    # then the driver gets it once
    first = await reveal(client, driver, stop.id)
    assert first["codes"]["oneTimeCode"] == "771199" and first["codes"]["gateCode"] is None
    # and the grant is spent
    assert await _refusal(client, driver, stop.id) == "TOO_FAR"


async def test_a_grant_expires_when_unused(client, factory, runtime):
    # given an override grant whose time is up
    fleet = await factory.fleet(stops=1)
    stop = fleet.stops[0]
    await add_profile(runtime, fleet.dispatcher, stop)
    granted = (await gql(client, GRANT, {"input": {"stopId": str(stop.id), "ttlMinutes": 1}},
                         token=factory.token(fleet.dispatcher)))["data"]["grantAccess"]
    async with runtime.sessionmaker() as session, session.begin():
        grant = await session.get(AccessGrant, int(granted["grant"]["id"]))
        grant.expires_at = utcnow() - timedelta(seconds=1)

    # then the driver without a GPS fix is refused as if there were no grant
    assert await _refusal(client, factory.token(fleet.driver), stop.id) == "NO_GPS_FIX"


async def test_only_staff_grant_and_drivers_reveal(client, factory, runtime):
    # given a fleet
    fleet = await factory.fleet(stops=1)
    stop_id = str(fleet.stops[0].id)

    # when a driver tries to grant, and a dispatcher tries to reveal
    grant = await gql(client, GRANT, {"input": {"stopId": stop_id}}, token=factory.token(fleet.driver))
    peek = await gql(client, REVEAL, {"input": {"stopId": stop_id}}, token=factory.token(fleet.dispatcher))

    # then both are forbidden
    assert grant["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert peek["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # and a route reassigned to nobody cannot be granted
    async with runtime.sessionmaker() as session, session.begin():
        (await session.get(Route, fleet.route.id)).driver_id = None
    nobody = (await gql(client, GRANT, {"input": {"stopId": stop_id}}, token=factory.token(fleet.dispatcher)))["data"]["grantAccess"]
    assert nobody["errors"][0]["code"] == "INVALID_INPUT"
