"""Managing profiles over GraphQL, and which profile a stop uses."""
from datetime import timedelta

from app.access import flows
from app.access.crypto import AccessSecrets, open_secrets, vault_for
from app.access.models import ProvidedBy
from app.access.service import ProfileFields, audit_page, profile_for_stop
from app.clock import current_time as utcnow
from app.runtime import unit_of_work
from tests.access.conftest import GATE_CODE, add_profile, place_driver, principal_of
from tests.factories import gql

CREATE = """
mutation Create($input: CreateAccessProfileInput!) {
  createAccessProfile(input: $input) {
    profile { id label version providedBy hasGateCode hasEntryCode hasInstructions digitalKeyProvider customer { name } }
    errors { code message field }
  }
}
"""
UPDATE = """
mutation Update($input: UpdateAccessProfileInput!) {
  updateAccessProfile(input: $input) { profile { id version hasGateCode hasEntryCode label } errors { code message field } }
}
"""
FOR_STOP = "query ForStop($stopId: ID!) { accessProfileForStop(stopId: $stopId) { id label } }"
LIST = "query List { accessProfiles(first: 10) { edges { node { id label } } pageInfo { hasNextPage } } }"
REVEAL = """
mutation Reveal($input: RevealAccessCodeInput!) { revealAccessCode(input: $input) { codes { gateCode entryCode } errors { code } } }
"""


async def test_dispatcher_creates_and_updates_a_profile_with_the_code_the_customer_just_sent(client, factory, runtime):
    # given a dispatcher and a stop with its customer
    fleet = await factory.fleet(stops=1)
    stop = fleet.stops[0]
    staff = factory.token(fleet.dispatcher)

    # when they store the customer's personal gate code
    created = (await gql(client, CREATE, {"input": {
        "label": "Gate of the Jansen house", "address": stop.address, "customerId": str(stop.customer_id),
        "providedBy": "CUSTOMER", "gateCode": "1234", "entryCode": "5678",
    }}, token=staff))["data"]["createAccessProfile"]

    # then the profile shows what exists, never the codes
    assert created["errors"] == []
    profile = created["profile"]
    assert (profile["hasGateCode"], profile["hasEntryCode"], profile["hasInstructions"]) == (True, True, False)
    assert profile["providedBy"] == "CUSTOMER" and profile["customer"]["name"] == "Customer 0"

    # when the customer sends a new gate code and the entry code is no longer needed
    updated = (await gql(client, UPDATE, {"input": {
        "id": profile["id"], "expectedVersion": profile["version"], "gateCode": "9999", "entryCode": None,
    }}, token=staff))["data"]["updateAccessProfile"]

    # then only those change, and the driver at the door gets the new code
    assert updated["errors"] == [] and updated["profile"]["label"] == "Gate of the Jansen house"
    assert (updated["profile"]["hasGateCode"], updated["profile"]["hasEntryCode"]) == (True, False)
    await place_driver(runtime, fleet.driver, stop)
    codes = (await gql(client, REVEAL, {"input": {"stopId": str(stop.id)}}, token=factory.token(fleet.driver)))["data"]["revealAccessCode"]["codes"]
    assert codes == {"gateCode": "9999", "entryCode": None}

    # and a stale version is a conflict
    stale = (await gql(client, UPDATE, {"input": {"id": profile["id"], "expectedVersion": 1, "label": "x"}}, token=staff))["data"]["updateAccessProfile"]
    assert stale["errors"][0]["code"] == "VERSION_CONFLICT"


async def test_profiles_are_for_staff_and_scoped_to_the_tenant(client, factory, runtime):
    # given a profile in tenant A
    fleet = await factory.fleet(stops=1)
    await add_profile(runtime, fleet.dispatcher, fleet.stops[0])
    other = await factory.fleet(stops=1)

    # then tenant A's dispatcher lists it, tenant B's does not, and a driver may not list at all
    mine = (await gql(client, LIST, token=factory.token(fleet.dispatcher)))["data"]["accessProfiles"]["edges"]
    theirs = (await gql(client, LIST, token=factory.token(other.dispatcher)))["data"]["accessProfiles"]["edges"]
    driver = await gql(client, LIST, token=factory.token(fleet.driver))
    assert [e["node"]["label"] for e in mine] == ["Residence Parkzicht"] and theirs == []
    assert driver["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_invalid_input_is_refused_without_echoing_the_code(client, factory):
    # given a code far too long
    fleet = await factory.fleet(stops=1)
    secret = "S3CRET-" * 20

    # when a dispatcher stores it
    result = (await gql(client, CREATE, {"input": {"label": "L", "address": "A 1", "gateCode": secret}},
                        token=factory.token(fleet.dispatcher)))["data"]["createAccessProfile"]

    # then the error names the field, not the value
    assert result["errors"][0] == {"code": "INVALID_INPUT", "message": "gateCode is at most 64 characters", "field": "gateCode"}
    assert "S3CRET" not in str(result)


async def test_a_stop_uses_the_personal_profile_then_the_same_address_then_the_nearest_building(client, factory, runtime):
    # given a stop, and building profiles 30 m away and at the same address (written differently)
    fleet = await factory.fleet(stops=1)
    stop = fleet.stops[0]
    staff = principal_of(fleet.dispatcher)
    near = await add_profile(runtime, fleet.dispatcher, stop, label="Nearby building", address="Elsewhere 1", lat=stop.lat + 30 / 111_320)

    async def linked() -> str | None:
        async with runtime.sessionmaker() as session:
            profile = await profile_for_stop(session=session, stop=stop, now=utcnow(), building_radius_m=40)
            return profile.label if profile else None

    # then the nearest building applies
    assert await linked() == "Nearby building"
    # when a profile with the same address (other case and spacing) exists, it wins
    await add_profile(runtime, fleet.dispatcher, stop, label="Same address", address=stop.address.upper().replace(" ", "  "), lat=None, lon=None)
    assert await linked() == "Same address"
    # when the customer has a personal one, it wins over both
    await flows.create_profile(runtime, staff, fields=ProfileFields(
        label="Personal", address="anything", provided_by=ProvidedBy.CUSTOMER, customer_id=stop.customer_id,
    ), secrets=AccessSecrets().replace(gate_code=GATE_CODE))
    assert await linked() == "Personal"
    # and the dispatcher sees that link
    shown = (await gql(client, FOR_STOP, {"stopId": str(stop.id)}, token=factory.token(fleet.dispatcher)))["data"]["accessProfileForStop"]
    assert shown["label"] == "Personal"
    del near


async def test_expired_and_far_profiles_do_not_apply(factory, runtime):
    # given a profile 200 m away and an expired one at the door
    fleet = await factory.fleet(stops=1)
    stop = fleet.stops[0]
    await add_profile(runtime, fleet.dispatcher, stop, label="Far", address="Far 1", lat=stop.lat + 200 / 111_320)
    await add_profile(runtime, fleet.dispatcher, stop, label="Expired", valid_from=utcnow() - timedelta(days=30), valid_until=utcnow() - timedelta(days=1))

    # then no profile applies to the stop
    async with runtime.sessionmaker() as session:
        assert await profile_for_stop(session=session, stop=stop, now=utcnow(), building_radius_m=40) is None


async def test_the_customer_self_service_flow_fills_their_personal_profile(factory, runtime):
    # given a stop whose customer has no profile yet
    fleet = await factory.fleet(stops=1)
    stop = fleet.stops[0]
    vault = vault_for(runtime.settings)

    # when the customer sends instructions, then later their gate code, through self-service
    async with unit_of_work(runtime) as uow:
        first = await flows.save_customer_access(uow, vault=vault, stop=stop, instructions="Ring twice at the side door")
    async with unit_of_work(runtime) as uow:
        second = await flows.save_customer_access(uow, vault=vault, stop=stop, gate_code="2580")

    # then one personal profile, provided by the customer, holds both
    assert first.id == second.id and second.provided_by is ProvidedBy.CUSTOMER and second.customer_id == stop.customer_id
    opened = open_secrets(vault, second.secrets_sealed, tenant_id=stop.tenant_id)
    assert opened.instructions.get_secret_value() == "Ring twice at the side door"
    assert opened.gate_code.get_secret_value() == "2580"
    # and the audit names the customer as the actor
    async with runtime.sessionmaker() as session:
        entries = await audit_page(session=session, tenant_id=stop.tenant_id, stop_id=stop.id, first=10, before_id=None)
    assert [(e.action.value, e.actor_id, e.actor_role, e.detail) for e in entries] == [
        ("PROFILE_UPDATED", None, "customer", "changed: gate_code"),
        ("PROFILE_CREATED", None, "customer", "changed: instructions"),
    ]
