"""Coercion errors name the field, never the value: a phone number in a malformed input stays out of the answer and the log."""
import json
import logging

import pytest

from tests.factories import gql

PHONE = "+31655554444"
UPSERT = "mutation U($input: UpsertCustomerInput!) { upsertCustomer(input: $input) { errors { code } } }"


@pytest.mark.parametrize("variables", [
    {"input": {"name": "A", "phone": PHONE}},  # the required externalRef is missing
    {"input": {"externalRef": "c1", "name": "A", "phone": PHONE, "unknownField": PHONE}},  # a field the type lacks
    {"input": {"externalRef": "c1", "name": "A", "phone": [PHONE], "email": PHONE}},  # a list where a string goes
    {"input": PHONE},  # a string where an object goes
])
async def test_a_malformed_input_is_refused_without_echoing_its_values(client, factory, caplog, variables):
    # given an integrator
    fleet = await factory.fleet(stops=1)
    caplog.set_level(logging.DEBUG)
    # when it sends an input that cannot be coerced
    result = await gql(client, UPSERT, variables, token=factory.token(fleet.integrator))
    # then the refusal says what is wrong without the number, in the answer and in the log
    assert result.get("data") is None and result["errors"]
    assert PHONE not in json.dumps(result)
    assert [r.getMessage() for r in caplog.records if PHONE in r.getMessage()] == []
