"""Codes never leave the vault except in a reveal: not in logs, SQL echo, events, notices, errors or the audit."""
import json
import logging

from sqlalchemy import text

from app.realtime.bus import depot_channel, route_channel
from tests.access.conftest import DIGITAL_KEY_ID, ENTRY_CODE, GATE_CODE, INSTRUCTIONS, place_driver
from tests.factories import gql

SECRETS = (GATE_CODE, ENTRY_CODE, INSTRUCTIONS, DIGITAL_KEY_ID, "ONE-TIME-5150")
CREATE = """
mutation Create($input: CreateAccessProfileInput!) { createAccessProfile(input: $input) { profile { id version } errors { code message } } }
"""
UPDATE = """
mutation Update($input: UpdateAccessProfileInput!) { updateAccessProfile(input: $input) { profile { id } errors { code message } } }
"""
REVEAL = """
mutation Reveal($input: RevealAccessCodeInput!) { revealAccessCode(input: $input) { codes { gateCode oneTimeCode } refusalReason errors { code message } } }
"""
GRANT = "mutation Grant($input: GrantAccessInput!) { grantAccess(input: $input) { grant { id } errors { code message } } }"
REPORT = """
mutation Report($input: ReportExceptionInput!) { reportException(input: $input) { exception { id timeline { payload } } errors { code message } } }
"""
AUDIT = "query Audit($stopId: ID!) { accessAudit(stopId: $stopId) { edges { node { action outcome detail refusalReason } } } }"


async def all_rows_as_text(runtime) -> str:  # noqa: ANN001
    """Every row of the tables an event, analytics or audit reader could see."""
    dump = []
    async with runtime.engine.connect() as connection:
        for table in ("access_audit", "exception_event", "delivery_exception", "access_profile", "access_grant"):
            for row in (await connection.execute(text(f"SELECT * FROM {table}"))).all():  # noqa: S608 - fixed names
                dump.append(repr(tuple(row)))
    return "\n".join(dump)


async def test_a_whole_access_story_leaves_no_secret_behind(client, factory, runtime, caplog):
    # given SQL echo and every log captured, and listeners on the depot and route channels
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    fleet = await factory.fleet(stops=2)
    stop, far_stop = fleet.stops
    staff, driver = factory.token(fleet.dispatcher), factory.token(fleet.driver)
    notices: list[dict] = []

    def listener(_channel: str, payload: dict) -> None:
        notices.append(payload)

    channels = [depot_channel(fleet.tenant.id, fleet.depot.id), route_channel(fleet.tenant.id, fleet.route.id)]
    for channel in channels:
        await runtime.bus.listen(channel, listener)
    try:
        # when staff store and change a profile over GraphQL
        created = (await gql(client, CREATE, {"input": {
            "label": "Tower A", "address": stop.address, "lat": stop.lat, "lon": stop.lon, "gateCode": GATE_CODE,
            "entryCode": "old-entry", "instructions": INSTRUCTIONS, "digitalKeyProvider": "detour-lock-api", "digitalKeyId": DIGITAL_KEY_ID,
        }}, token=staff))["data"]["createAccessProfile"]["profile"]
        await gql(client, UPDATE, {"input": {"id": created["id"], "expectedVersion": created["version"], "entryCode": ENTRY_CODE}}, token=staff)
        # and the driver is refused at a far stop, then revealed at the door, then reports the code did not work
        await place_driver(runtime, fleet.driver, stop)
        refused = (await gql(client, REVEAL, {"input": {"stopId": str(far_stop.id)}}, token=driver))["data"]["revealAccessCode"]
        revealed = (await gql(client, REVEAL, {"input": {"stopId": str(stop.id)}}, token=driver))["data"]["revealAccessCode"]
        reported = (await gql(client, REPORT, {"input": {
            "stopId": str(stop.id), "kind": "ACCESS_DENIED", "reasonCode": "ENTRY_CODE_INVALID", "idempotencyKey": "k-1",
        }}, token=driver))["data"]["reportException"]
        # and the dispatcher grants a one-time code that the driver uses
        await gql(client, GRANT, {"input": {"stopId": str(stop.id), "code": "ONE-TIME-5150"}}, token=staff)
        one_time = (await gql(client, REVEAL, {"input": {"stopId": str(stop.id)}}, token=driver))["data"]["revealAccessCode"]
        audit = await gql(client, AUDIT, {"stopId": str(stop.id)}, token=staff)
    finally:
        for channel in channels:
            runtime.bus.unlisten(channel, listener)

    # then the reveals worked (the secrets do exist and were in play)
    assert refused["errors"][0]["code"] == "ACCESS_REFUSED"
    assert revealed["codes"]["gateCode"] == GATE_CODE and one_time["codes"]["oneTimeCode"] == "ONE-TIME-5150"
    assert "INSERT INTO access_profile" in caplog.text  # the SQL echo was on
    # and the dispatchers' REPORTED event carries the profile's non-secret summary
    summary = reported["exception"]["timeline"][0]["payload"]["access"]
    assert summary == {
        "profileId": int(created["id"]), "label": "Tower A", "providedBy": "DISPATCHER", "personal": False,
        "hasGateCode": True, "hasEntryCode": True, "hasInstructions": True, "digitalKeyProvider": "detour-lock-api",
        "validUntil": None,
    }
    # and no secret is in the logs, the SQL echo, the notices, the refusal, the event or audit rows, or the audit query
    places = {
        "logs": caplog.text, "notices": json.dumps(notices), "refusal": json.dumps(refused), "report": json.dumps(reported),
        "audit": json.dumps(audit), "rows": await all_rows_as_text(runtime),
    }
    for where, content in places.items():
        for secret in SECRETS:
            assert secret not in content, f"{secret!r} leaked into {where}"
    assert any(n.get("type") == "ACCESS_GRANTED" for n in notices)


async def test_a_code_sent_as_a_number_is_refused_without_echoing_it(client, factory, caplog):
    # given a dispatcher whose client sends the PIN as a number, as a variable and inline
    fleet = await factory.fleet(stops=1)
    staff = factory.token(fleet.dispatcher)
    as_variable = await gql(client, CREATE, {"input": {"label": "L", "address": "A 1", "gateCode": 987654321}}, token=staff)
    inline = await gql(client, 'mutation { createAccessProfile(input: {label: "L", address: "A 1", entryCode: 123456789}) { errors { code } } }', token=staff)

    # then both are refused with a message that does not quote the value, and the logs do not have it either
    for body in (as_variable, inline):
        assert "must be sent as a string" in body["errors"][0]["message"], body
    assert "987654321" not in json.dumps(as_variable) and "987654321" not in caplog.text
    assert "123456789" not in json.dumps(inline["errors"]) and "123456789" not in caplog.text
