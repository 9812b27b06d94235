"""Bad input gets a typed refusal, never INTERNAL_ERROR, and changes nothing."""
import json

from app.delivery_exceptions.models import DeliveryException
from tests.alternatives.helpers import rows
from tests.factories import gql

REPORT = """
mutation R($input: ReportExceptionInput!) { reportException(input: $input) { exception { id } errors { code field } } }
"""
POSITIONS = "mutation P($input: ReportPositionsInput!) { reportPositions(input: $input) { stored errors { code } } }"


async def raw(client, body: str, token: str) -> dict:  # noqa: ANN001
    """POST a body exactly as given (json.dumps escapes a lone surrogate; httpx's encoder would refuse it)."""
    response = await client.post("/graphql", content=body, headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    return response.json()


def codes(result: dict) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in result.get("errors", [])]


async def test_ids_beyond_the_column_range_are_not_found(client, factory):
    # given a dispatcher
    fleet = await factory.fleet(stops=1)
    token = factory.token(fleet.dispatcher)

    # when they ask for ids no row can have
    exception = await gql(client, "query { exception(id: \"2147483648\") { id } }", token=token)
    huge = await gql(client, "query { exception(id: \"99999999999999999999\") { id } }", token=token)

    # then the answer is "nothing there", not an internal error
    assert exception.get("errors") is None and exception["data"]["exception"] is None
    assert huge.get("errors") is None and huge["data"]["exception"] is None


async def test_expected_errors_in_query_fields_are_typed(client, factory):
    # given a dispatcher
    fleet = await factory.fleet(stops=1)
    token = factory.token(fleet.dispatcher)

    # when they page with a bad size or a cursor no list gave out
    zero = await gql(client, "query { exceptions(first: 0) { edges { cursor } } }", token=token)
    cursor = await gql(client, "query { exceptions(after: \"x\") { edges { cursor } } }", token=token)

    # then each is refused with INVALID_INPUT naming the argument
    assert codes(zero) == ["INVALID_INPUT"] and zero["errors"][0]["extensions"]["field"] == "first"
    assert codes(cursor) == ["INVALID_INPUT"] and cursor["errors"][0]["extensions"]["field"] == "after"


async def test_nul_bytes_and_lone_surrogates_are_refused_before_anything_runs(client, factory, runtime):
    # given a driver at a stop
    fleet = await factory.fleet(stops=1)
    token = factory.token(fleet.driver)
    report = {"stopId": str(fleet.stops[0].id), "kind": "CUSTOMER_ABSENT", "reasonCode": "NO_ANSWER", "idempotencyKey": "k1"}

    # when text carries a NUL byte, or a lone surrogate (in a variable and in a literal)
    nul = await gql(client, REPORT, {"input": {**report, "description": "ring\x00twice"}}, token=token)
    surrogate = await raw(client, json.dumps({"query": REPORT, "variables": {"input": {**report, "description": "\ud800"}}}), token)
    literal = await gql(client, 'mutation { addExceptionNote(input: {id: "1", note: "a\\u0000b"}) { errors { code } } }', token=token)

    # then each is refused as INVALID_INPUT and no exception was opened
    assert (codes(nul), codes(surrogate), codes(literal)) == (["INVALID_INPUT"],) * 3, (nul, surrogate, literal)
    assert await rows(runtime, DeliveryException) == []


async def test_a_date_time_without_an_offset_or_in_year_one_is_refused(client, factory):
    # given a driver
    fleet = await factory.fleet(stops=1)
    token = factory.token(fleet.driver)

    # when they send fixes stamped without a zone, and in year 1
    naive = await gql(client, POSITIONS, {"input": {"positions": [{"recordedAt": "2026-01-01T10:00:00", "lat": 52.37, "lon": 4.89}]}}, token=token)
    ancient = await gql(client, POSITIONS, {"input": {"positions": [{"recordedAt": "0001-01-01T10:00:00+00:00", "lat": 52.37, "lon": 4.89}]}}, token=token)

    # then both are typed refusals
    assert "offset" in naive["errors"][0]["message"] and codes(naive) == ["INVALID_INPUT"]
    assert codes(ancient) == ["INVALID_INPUT"]


async def test_variables_nested_thousands_deep_are_refused(client, factory):
    # given a driver and a variable nested 5,000 levels deep
    fleet = await factory.fleet(stops=1)

    body = '{"query": "query Q($v: [String]) { __typename }", "variables": {"v": ' + "[" * 5000 + '"x"' + "]" * 5000 + "}}"

    # when it is sent
    response = await client.post("/graphql", content=body, headers={
        "Authorization": f"Bearer {factory.token(fleet.driver)}", "Content-Type": "application/json",
    })

    # then the server answers with a refusal, not a 500
    assert response.status_code == 400, response.text
