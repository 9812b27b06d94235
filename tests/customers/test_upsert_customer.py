"""Customers from the CRM: phones in E.164, every field checked, nothing written on bad input."""
import pytest

from tests.factories import gql

UPSERT = """
mutation($input: UpsertCustomerInput!) {
  upsertCustomer(input: $input) { created customer { id name phone timezone preferredChannels } errors { code field message } }
}
"""


def customer(**overrides):
    return {"input": {"externalRef": "crm-1", "name": "Noor Visser", "phone": "+31 6 1234 5678", "timezone": "Europe/Amsterdam",
                      "language": "nl", "preferredChannels": ["PUSH", "SMS"], **overrides}}


async def test_create_then_update_by_external_reference(client, factory):
    fleet = await factory.fleet(stops=0)
    token = factory.token(fleet.integrator)

    created = (await gql(client, UPSERT, customer(), token=token))["data"]["upsertCustomer"]
    updated = (await gql(client, UPSERT, customer(name="Noor de Visser"), token=token))["data"]["upsertCustomer"]

    assert created["created"] is True and created["customer"]["phone"] == "+31612345678"
    assert updated["created"] is False and updated["customer"]["id"] == created["customer"]["id"]
    assert updated["customer"]["name"] == "Noor de Visser"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"phone": "12345"}, "phone"),
        ({"phone": "+31 6 12"}, "phone"),
        ({"name": "  "}, "name"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "x" * 5000}, "timezone"),  # too long a path for zoneinfo: an OSError, once an INTERNAL_ERROR
        ({"language": "xx"}, "language"),
        ({"preferredChannels": ["PIGEON"]}, "preferredChannels"),
        ({"quietHoursStart": "22:00:00"}, "quietHoursStart"),
        ({"email": "nobody"}, "email"),
    ],
)
async def test_bad_customer_data_is_refused_and_nothing_is_written(client, factory, overrides, field):
    fleet = await factory.fleet(stops=0)
    token = factory.token(fleet.dispatcher)

    result = (await gql(client, UPSERT, customer(externalRef="crm-bad", **overrides), token=token))["data"]["upsertCustomer"]

    assert result["customer"] is None and result["errors"][0]["code"] == "INVALID_INPUT" and result["errors"][0]["field"] == field
    retry = (await gql(client, UPSERT, customer(externalRef="crm-bad"), token=token))["data"]["upsertCustomer"]
    assert retry["created"] is True


async def test_drivers_cannot_write_customers(client, factory):
    fleet = await factory.fleet(stops=0)
    result = await gql(client, UPSERT, customer(), token=factory.token(fleet.driver))
    assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"
