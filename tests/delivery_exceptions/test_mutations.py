"""Idempotent retries, version conflicts, bad input and lifecycle errors through the API."""
import asyncio

import pytest

from tests.delivery_exceptions.test_story import ACK, MY_ROUTE, REPORT, RESOLVE, STATUS, TIMELINE
from tests.factories import gql

NOTE = "mutation Note($input: AddExceptionNoteInput!) { addExceptionNote(input: $input) { exception { id version } errors { code field } } }"
ATTEMPT = """
mutation Attempt($input: RecordDeliveryAttemptInput!) {
  recordDeliveryAttempt(input: $input) { replayed attempt { attemptNumber outcome } stop { id status attempts } errors { code message field } }
}
"""


def report_input(stop_id, key="key-1", **overrides):
    base = {"stopId": str(stop_id), "kind": "ACCESS_DENIED", "reasonCode": "GATE_CLOSED", "idempotencyKey": key, "description": "gate shut"}
    return {"input": {**base, **overrides}}


async def report(client, token, stop_id, key="key-1", **overrides):
    return (await gql(client, REPORT, report_input(stop_id, key, **overrides), token=token))["data"]["reportException"]


async def test_retry_with_same_key_returns_the_first_exception(client, factory):
    # given a report already accepted
    fleet = await factory.fleet(stops=2)
    token = factory.token(fleet.driver)
    first = await report(client, token, fleet.stops[0].id)

    # when the phone retries the very same request
    retry = await report(client, token, fleet.stops[0].id)

    # then it gets the same exception back, marked as replayed, and no second one exists
    assert retry["exception"]["id"] == first["exception"]["id"] and retry["replayed"] is True and first["replayed"] is False
    queue = await gql(client, "query { exceptions(first: 10) { edges { node { id } } } }", token=factory.token(fleet.dispatcher))
    assert len(queue["data"]["exceptions"]["edges"]) == 1


async def test_concurrent_retries_create_one_exception(client, factory):
    # given the same report sent five times at once (a flaky network)
    fleet = await factory.fleet(stops=1)
    token = factory.token(fleet.driver)

    # when they race
    results = await asyncio.gather(*(report(client, token, fleet.stops[0].id, key="same") for _ in range(5)))

    # then every answer names the one exception
    assert len({r["exception"]["id"] for r in results}) == 1
    assert all(r["errors"] == [] for r in results)


async def test_key_reused_for_different_content_is_refused(client, factory):
    fleet = await factory.fleet(stops=2)
    token = factory.token(fleet.driver)
    await report(client, token, fleet.stops[0].id, key="k")

    reused = await report(client, token, fleet.stops[1].id, key="k")

    assert reused["exception"] is None
    assert reused["errors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED"


async def test_stale_version_is_a_conflict_and_changes_nothing(client, factory):
    # given two dispatchers who loaded the same exception
    fleet = await factory.fleet(stops=1)
    created = (await report(client, factory.token(fleet.driver), fleet.stops[0].id))["exception"]
    dispatcher = factory.token(fleet.dispatcher)
    first = (await gql(client, STATUS, {"input": {"id": created["id"], "expectedVersion": created["version"], "status": "CONTACTING_CUSTOMER"}}, token=dispatcher))

    # when the second one acts on the old version
    second = (await gql(client, STATUS, {"input": {"id": created["id"], "expectedVersion": created["version"], "status": "AWAITING_DECISION"}}, token=dispatcher))

    # then the first write stands and the second gets a conflict
    assert first["data"]["updateExceptionStatus"]["errors"] == []
    assert second["data"]["updateExceptionStatus"]["errors"][0]["code"] == "VERSION_CONFLICT"
    timeline = (await gql(client, TIMELINE, {"id": created["id"]}, token=dispatcher))["data"]["exception"]
    assert timeline["status"] == "CONTACTING_CUSTOMER" and len(timeline["timeline"]) == 2


async def test_resolved_exception_cannot_move_again(client, factory):
    fleet = await factory.fleet(stops=1)
    created = (await report(client, factory.token(fleet.driver), fleet.stops[0].id))["exception"]
    dispatcher = factory.token(fleet.dispatcher)
    done = (await gql(client, RESOLVE, {"input": {"id": created["id"], "expectedVersion": created["version"], "outcome": "RETURNED_TO_DEPOT"}}, token=dispatcher))["data"]["resolveException"]
    assert done["exception"]["status"] == "FAILED"

    again = (await gql(client, STATUS, {"input": {"id": created["id"], "expectedVersion": done["exception"]["version"], "status": "AWAITING_DECISION"}}, token=dispatcher))

    assert again["data"]["updateExceptionStatus"]["errors"][0]["code"] == "INVALID_TRANSITION"


async def test_terminal_status_goes_through_resolve(client, factory):
    fleet = await factory.fleet(stops=1)
    created = (await report(client, factory.token(fleet.driver), fleet.stops[0].id))["exception"]

    result = await gql(client, STATUS, {"input": {"id": created["id"], "expectedVersion": 1, "status": "RESOLVED"}}, token=factory.token(fleet.dispatcher))

    assert result["data"]["updateExceptionStatus"]["errors"][0]["code"] == "INVALID_TRANSITION"


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"stopId": "999999"}, "NOT_FOUND", "stopId"),
        ({"stopId": "not-a-number"}, "NOT_FOUND", "stopId"),
        ({"reasonCode": ""}, "INVALID_INPUT", "reasonCode"),
        ({"reasonCode": "TRAFFIC"}, "INVALID_INPUT", "reasonCode"),
        ({"idempotencyKey": " "}, "INVALID_INPUT", "idempotencyKey"),
        ({"description": "x" * 2001}, "INVALID_INPUT", "description"),
        ({"occurredAt": "2999-01-01T00:00:00+00:00"}, "INVALID_INPUT", "occurredAt"),
    ],
)
async def test_bad_report_is_a_typed_error_and_writes_nothing(client, factory, overrides, code, field):
    fleet = await factory.fleet(stops=1)
    token = factory.token(fleet.driver)

    result = await report(client, token, fleet.stops[0].id, **overrides)

    assert result["exception"] is None
    assert (result["errors"][0]["code"], result["errors"][0]["field"]) == (code, field)
    stop = (await gql(client, MY_ROUTE, token=token))["data"]["myRoute"]["stops"][0]
    assert stop["status"] == "PENDING" and stop["openException"] is None


async def test_invalid_enum_is_a_validation_error_not_masked(client, factory):
    fleet = await factory.fleet(stops=1)
    result = await gql(client, REPORT, report_input(fleet.stops[0].id, kind="ON_FIRE"), token=factory.token(fleet.driver))
    assert result.get("data") is None and "ON_FIRE" in result["errors"][0]["message"]


async def test_second_open_exception_on_a_stop_is_refused(client, factory):
    fleet = await factory.fleet(stops=1)
    token = factory.token(fleet.driver)
    await report(client, token, fleet.stops[0].id, key="a")

    second = await report(client, token, fleet.stops[0].id, key="b", kind="CUSTOMER_ABSENT", reasonCode="NO_ANSWER")

    assert second["errors"][0]["code"] == "STOP_HAS_OPEN_EXCEPTION"


async def test_driver_cannot_report_on_another_drivers_route(client, factory):
    mine, other = await factory.fleet(stops=1, slug="mine"), None
    other = await factory.fleet(stops=1, slug="other")
    result = await report(client, factory.token(mine.driver), other.stops[0].id)
    assert result["errors"][0]["code"] == "NOT_FOUND"


async def test_delay_records_no_failed_attempt(client, factory):
    fleet = await factory.fleet(stops=1)
    token = factory.token(fleet.driver)
    created = await report(client, token, fleet.stops[0].id, kind="DELAYED", reasonCode="TRAFFIC")
    assert created["exception"]["failedAttemptNumber"] is None
    stop = (await gql(client, MY_ROUTE, token=token))["data"]["myRoute"]["stops"][0]
    assert stop["status"] == "PENDING"


async def test_delivered_reattempt_closes_the_open_exception(client, factory):
    # given an absent customer reported on the first attempt
    fleet = await factory.fleet(stops=1)
    token = factory.token(fleet.driver)
    created = (await report(client, token, fleet.stops[0].id, kind="CUSTOMER_ABSENT", reasonCode="NO_ANSWER"))["exception"]

    # when the driver comes back and delivers
    attempt = (await gql(client, ATTEMPT, {"input": {"stopId": str(fleet.stops[0].id), "outcome": "DELIVERED", "idempotencyKey": "att-2"}}, token=token))["data"]["recordDeliveryAttempt"]

    # then attempt 2 is recorded and the exception is resolved with its cost
    assert attempt["errors"] == [] and attempt["attempt"]["attemptNumber"] == 2 and attempt["stop"]["status"] == "DELIVERED"
    closed = (await gql(client, TIMELINE, {"id": created["id"]}, token=factory.token(fleet.dispatcher)))["data"]["exception"]
    assert closed["status"] == "RESOLVED" and closed["timeline"][-1]["payload"]["outcome"] == "DELIVERED_TO_CUSTOMER"


async def test_attempt_retry_is_idempotent_and_completed_stop_refuses_more(client, factory):
    fleet = await factory.fleet(stops=1)
    token = factory.token(fleet.driver)
    variables = {"input": {"stopId": str(fleet.stops[0].id), "outcome": "DELIVERED", "idempotencyKey": "d-1"}}
    first = (await gql(client, ATTEMPT, variables, token=token))["data"]["recordDeliveryAttempt"]
    retry = (await gql(client, ATTEMPT, variables, token=token))["data"]["recordDeliveryAttempt"]
    another = (await gql(client, ATTEMPT, {"input": {**variables["input"], "idempotencyKey": "d-2"}}, token=token))["data"]["recordDeliveryAttempt"]

    assert first["attempt"]["attemptNumber"] == 1 and retry["replayed"] is True and retry["attempt"]["attemptNumber"] == 1
    assert another["errors"][0]["code"] == "STOP_ALREADY_COMPLETED"


async def test_note_appends_to_timeline_without_bumping_version(client, factory):
    fleet = await factory.fleet(stops=1)
    created = (await report(client, factory.token(fleet.driver), fleet.stops[0].id))["exception"]
    dispatcher = factory.token(fleet.dispatcher)

    noted = (await gql(client, NOTE, {"input": {"id": created["id"], "note": "called the concierge"}}, token=dispatcher))["data"]["addExceptionNote"]
    empty = (await gql(client, NOTE, {"input": {"id": created["id"], "note": "   "}}, token=dispatcher))["data"]["addExceptionNote"]

    assert noted["errors"] == [] and noted["exception"]["version"] == created["version"]
    assert empty["errors"][0]["code"] == "INVALID_INPUT"
    ack = (await gql(client, ACK, {"input": {"id": created["id"], "expectedVersion": created["version"]}}, token=dispatcher))["data"]["acknowledgeException"]
    assert ack["errors"] == []


async def test_concurrent_attempt_retries_record_one_attempt(client, factory):
    fleet = await factory.fleet(stops=1)
    token = factory.token(fleet.driver)
    variables = {"input": {"stopId": str(fleet.stops[0].id), "outcome": "DELIVERED", "idempotencyKey": "same"}}

    results = await asyncio.gather(*(gql(client, ATTEMPT, variables, token=token) for _ in range(5)))

    payloads = [r["data"]["recordDeliveryAttempt"] for r in results]
    assert all(p["errors"] == [] for p in payloads), payloads
    assert {p["attempt"]["attemptNumber"] for p in payloads} == {1}
    assert sum(not p["replayed"] for p in payloads) == 1
