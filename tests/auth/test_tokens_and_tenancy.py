"""Tokens are checked strictly; a tenant never sees another's data."""
import jwt
import pytest

from app.auth.tokens import Claims, issue_token
from app.config import Settings
from tests.delivery_exceptions.test_story import ACK, REPORT, TIMELINE
from tests.factories import gql

VIEWER = "query { viewer { user { id role } tenant { id } } }"


async def test_missing_token_is_unauthenticated(client):
    result = await gql(client, VIEWER)
    assert result["data"] is None
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    ("make_token", "message"),
    [
        (lambda f, u: f.token(u, ttl_seconds=-10), "expired"),
        (lambda f, u: f.token(u, audience="someone-else"), "audience"),
        (lambda f, u: "not.a.jwt", "malformed"),
        (lambda f, u: jwt.encode({"sub": str(u.id), "tid": u.tenant_id, "role": "driver", "aud": "detour-api", "iss": "detour", "exp": 4102444800}, "x" * 40, algorithm="HS256"), "signature"),
        (lambda f, u: issue_token(f.runtime.settings, Claims(user_id=u.id, tenant_id=u.tenant_id + 1000, role=u.role)), "tenant"),
    ],
)
async def test_bad_tokens_are_unauthenticated_and_never_return_data(client, factory, make_token, message):
    fleet = await factory.fleet(stops=1)
    token = make_token(factory, fleet.driver)

    result = await gql(client, VIEWER, token=token)

    assert result["data"] is None
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert message in result["errors"][0]["message"]
    assert token not in str(result)


async def test_wrong_role_is_forbidden(client, factory):
    fleet = await factory.fleet(stops=1)
    result = await gql(client, "query { myRoute { id } }", token=factory.token(fleet.dispatcher))
    assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_other_tenant_cannot_read_or_change_an_exception_by_id(client, factory):
    # given an exception in tenant A
    a = await factory.fleet(stops=1, slug="tenant-a")
    b = await factory.fleet(stops=1, slug="tenant-b")
    created = (await gql(client, REPORT, {"input": {"stopId": str(a.stops[0].id), "kind": "CUSTOMER_ABSENT", "reasonCode": "NO_ANSWER", "idempotencyKey": "x"}}, token=factory.token(a.driver)))["data"]["reportException"]["exception"]
    outsider = factory.token(b.dispatcher)

    # when tenant B's dispatcher asks for it, lists, and tries to change it
    read = await gql(client, TIMELINE, {"id": created["id"]}, token=outsider)
    listed = await gql(client, "query { exceptions(first: 50) { edges { node { id } } } }", token=outsider)
    changed = await gql(client, ACK, {"input": {"id": created["id"], "expectedVersion": created["version"]}}, token=outsider)
    stop = await gql(client, "query($id: ID!) { stop(id: $id) { id } }", {"id": str(a.stops[0].id)}, token=outsider)
    route = await gql(client, "query($id: ID!) { route(id: $id) { id } }", {"id": str(a.route.id)}, token=outsider)

    # then it does not exist for them, and nothing changed
    assert read["data"]["exception"] is None
    assert listed["data"]["exceptions"]["edges"] == []
    assert changed["data"]["acknowledgeException"]["errors"][0]["code"] == "NOT_FOUND"
    assert stop["data"]["stop"] is None and route["data"]["route"] is None
    own = await gql(client, TIMELINE, {"id": created["id"]}, token=factory.token(a.dispatcher))
    assert [e["type"] for e in own["data"]["exception"]["timeline"]] == ["REPORTED"]


async def test_dispatcher_limited_to_a_depot_sees_only_it(client, factory):
    fleet = await factory.fleet(stops=1)
    await gql(client, REPORT, {"input": {"stopId": str(fleet.stops[0].id), "kind": "CUSTOMER_ABSENT", "reasonCode": "NO_ANSWER", "idempotencyKey": "x"}}, token=factory.token(fleet.driver))
    other = await factory.fleet(stops=0, slug="same-tenant-other-depot")
    await factory.link_depot(fleet.dispatcher, other.depot.id)  # a depot of another tenant: the link gives nothing

    listed = await gql(client, "query { exceptions(first: 5) { edges { node { id } } } }", token=factory.token(fleet.dispatcher))

    assert listed["data"]["exceptions"]["edges"] == []


def test_production_refuses_the_default_secret():
    with pytest.raises(ValueError, match="DETOUR_JWT_SECRET"):
        Settings(mode="production")


def test_rs256_tokens_round_trip():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from app.auth.tokens import decode_token
    from app.tenants.models import Role

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    settings = Settings(jwt_public_key=public, jwt_private_key=private)
    claims = Claims(user_id=1, tenant_id=2, role=Role.DISPATCHER)

    token = issue_token(settings, claims)

    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    assert decode_token(settings, token) == claims
