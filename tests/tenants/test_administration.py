"""Admins and supervisors administer their own tenant: depots, users, vehicles, by external ref; nothing is deleted."""
from pathlib import Path

from sqlmodel import select

from app.tenants.models import Role, User
from tests.factories import gql

CREATE_VEHICLE = (Path(__file__).resolve().parents[2] / "graphql" / "integrator" / "CreateVehicle.graphql").read_text()
CREATE_DEPOT = """
mutation($input: CreateDepotInput!) { createDepot(input: $input) { depot { id externalRef name timezone } errors { code field message } } }
"""
CREATE_USER = """
mutation($input: CreateUserInput!) { createUser(input: $input) { user { id externalRef email role active } errors { code field message } } }
"""
SET_ACTIVE = """
mutation($input: SetUserActiveInput!) { setUserActive(input: $input) { user { externalRef active } errors { code field } } }
"""
USER_BY_REF = "query($ref: String!) { userByRef(externalRef: $ref) { email role active } }"


async def test_an_admin_builds_a_depot_with_people_and_vehicles(client, factory):
    # given a tenant's admin
    fleet = await factory.fleet(stops=0)
    async with factory.runtime.sessionmaker() as session:
        admin = (await session.exec(select(User).where(User.tenant_id == fleet.tenant.id, User.role == Role.ADMIN))).one()
    token = factory.token(admin)

    # when they create a depot, a driver working there and a vehicle, each with their own system's ref
    depot = await gql(client, CREATE_DEPOT, {"input": {"externalRef": "hub-9", "name": "Hub 9", "lat": 52.1, "lon": 5.1, "timezone": "Europe/Amsterdam"}}, token=token)
    user = await gql(client, CREATE_USER, {"input": {"email": "new@fleet.test", "name": "New Driver", "role": "DRIVER",
                                                     "externalRef": "emp-7", "phone": "+31612345678", "depotRefs": ["hub-9"]}}, token=token)
    vehicle = await gql(client, CREATE_VEHICLE, {"input": {"depotRef": "hub-9", "externalRef": "v-9", "label": "Van 9", "capacity": 90, "skills": ["cold"]}}, token=token)
    duplicate = await gql(client, CREATE_DEPOT, {"input": {"externalRef": "hub-9", "name": "Again", "lat": 52.1, "lon": 5.1}}, token=token)

    # then each exists under its ref, and a second depot with the same ref is refused
    assert depot["data"]["createDepot"]["depot"]["externalRef"] == "hub-9"
    assert user["data"]["createUser"]["user"] == {"id": user["data"]["createUser"]["user"]["id"], "externalRef": "emp-7",
                                                  "email": "new@fleet.test", "role": "DRIVER", "active": True}
    assert vehicle["data"]["createVehicle"]["vehicle"]["skills"] == ["cold"]
    assert duplicate["data"]["createDepot"]["errors"][0]["field"] == "externalRef"
    found = await gql(client, USER_BY_REF, {"ref": "emp-7"}, token=token)
    assert found["data"]["userByRef"]["email"] == "new@fleet.test"


async def test_a_deactivated_user_is_kept_but_cannot_sign_in(client, factory):
    # given a supervisor and a driver with a ref
    fleet = await factory.fleet(stops=0)
    token = factory.token(fleet.supervisor)
    await gql(client, CREATE_USER, {"input": {"email": "leaver@fleet.test", "name": "Leaver", "role": "DRIVER", "externalRef": "emp-8"}}, token=token)

    # when the supervisor deactivates them
    result = await gql(client, SET_ACTIVE, {"input": {"externalRef": "emp-8", "active": False}}, token=token)

    # then the user is still found by ref, inactive
    assert result["data"]["setUserActive"]["user"] == {"externalRef": "emp-8", "active": False}
    assert (await gql(client, USER_BY_REF, {"ref": "emp-8"}, token=token))["data"]["userByRef"]["active"] is False


async def test_supervisors_cannot_create_admins_and_dispatchers_cannot_administer(client, factory):
    # given a supervisor and a dispatcher
    fleet = await factory.fleet(stops=0)
    admin_input = {"input": {"email": "boss@fleet.test", "name": "Boss", "role": "ADMIN"}}

    # when the supervisor creates an admin and the dispatcher a depot
    by_supervisor = await gql(client, CREATE_USER, admin_input, token=factory.token(fleet.supervisor))
    by_dispatcher = await gql(client, CREATE_DEPOT, {"input": {"externalRef": "x", "name": "X", "lat": 1, "lon": 1}}, token=factory.token(fleet.dispatcher))

    # then both are refused
    assert by_supervisor["data"]["createUser"]["errors"][0]["code"] == "FORBIDDEN"
    assert by_dispatcher["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_time_zone_name_too_long_for_the_file_system_is_refused(client, factory, runtime):
    # given an admin (found probing the shapes the schema fuzzer draws: zoneinfo raises OSError, not ZoneInfoNotFoundError, on such a name)
    fleet = await factory.fleet(stops=0)
    async with runtime.sessionmaker() as session:
        admin = (await session.exec(select(User).where(User.tenant_id == fleet.tenant.id, User.role == Role.ADMIN))).one()

    # when they create a depot whose timezone is 5,000 characters long
    result = await gql(client, CREATE_DEPOT, {"input": {"externalRef": "hub-long", "name": "Hub", "lat": 52.1, "lon": 5.1, "timezone": "x" * 5000}},
                       token=factory.token(admin))

    # then it is refused as a bad timezone and no depot was made
    assert result.get("errors") is None, result
    assert result["data"]["createDepot"]["errors"] == [{"code": "INVALID_INPUT", "field": "timezone", "message": "timezone must be an IANA name such as Europe/Amsterdam"}]
    assert (await gql(client, "{ depotByRef(externalRef: \"hub-long\") { id } }", token=factory.token(admin)))["data"]["depotByRef"] is None
