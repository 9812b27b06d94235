"""Refused requests: typed, without the values they were sent, logged at INFO without a traceback."""
import logging

from tests.factories import gql

CREATE_PROFILE = """
mutation Create($input: CreateAccessProfileInput!) { createAccessProfile(input: $input) { errors { code } } }
"""
GATE_CODE = "48213"


async def test_a_coercion_error_names_the_field_but_never_echoes_the_input(client, factory, caplog):
    # given a dispatcher who forgets the label of a profile that carries a gate code
    fleet = await factory.fleet(stops=1)
    caplog.set_level(logging.DEBUG)

    # when the mutation is sent
    result = await gql(client, CREATE_PROFILE, {"input": {"address": "Teststraat 1", "gateCode": GATE_CODE}}, token=factory.token(fleet.dispatcher))

    # then the error says what is missing, and neither the answer nor any log line quotes the code
    [error] = result["errors"]
    assert "required field 'label'" in error["message"] and GATE_CODE not in error["message"]
    assert GATE_CODE not in caplog.text
    # and the refusal is logged once at INFO, without a traceback
    refusals = [r for r in caplog.records if r.getMessage().startswith("request refused")]
    assert [r.levelno for r in refusals] == [logging.INFO] and refusals[0].exc_info is None
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_client_mistakes_are_not_errors_in_the_log(client, factory, caplog):
    # given a driver
    fleet = await factory.fleet(stops=1)
    caplog.set_level(logging.INFO)

    # when they send a syntax error, a forbidden field and an unknown field
    await gql(client, "query { myRoute { id ", token=factory.token(fleet.driver))
    await gql(client, "query { exceptions(first: 5) { edges { node { id } } } }", token=factory.token(fleet.driver))
    await gql(client, "query { nothingHere }", token=factory.token(fleet.driver))

    # then nothing was logged at ERROR
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
