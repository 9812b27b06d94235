"""Tokens from a tenant's own OpenID Connect issuer, verified against its JWKS on a local server."""
from dataclasses import replace
from pathlib import Path

import pytest

from app.runtime import unit_of_work
from app.tenants.models import SubjectClaim, Tenant, User
from tests.conftest import client_for
from tests.factories import gql
from tests.oidc_issuer import local_issuer

VIEWER = (Path(__file__).resolve().parents[2] / "graphql" / "dispatcher" / "Viewer.graphql").read_text()


@pytest.fixture
def issuer():
    with local_issuer() as running:
        yield running


async def trust(factory, fleet, issuer, *, claim: SubjectClaim = SubjectClaim.SUB) -> None:  # noqa: ANN001
    async with unit_of_work(factory.runtime) as uow:
        tenant = await uow.session.get(Tenant, fleet.tenant.id)
        tenant.oidc_issuer, tenant.oidc_audience, tenant.oidc_subject_claim = issuer.issuer, "fleet-api", claim
        dispatcher = await uow.session.get(User, fleet.dispatcher.id)
        dispatcher.external_ref = "idp|42"
        uow.session.add_all([tenant, dispatcher])


async def test_a_provider_token_signs_in_its_user_and_a_rotated_key_is_fetched(runtime, factory, issuer):
    # given a tenant trusting its provider, whose user idp|42 is a dispatcher, on an API that refetches keys at once
    fleet = await factory.fleet(stops=0)
    await trust(factory, fleet, issuer)
    eager = replace(runtime, settings=runtime.settings.model_copy(update={"oidc_jwks_refresh_cooldown_seconds": 0}))
    async with client_for(eager) as client:
        first = await gql(client, VIEWER, token=issuer.token(audience="fleet-api", sub="idp|42"))

        # when the provider rotates its signing key and signs with the new one
        issuer.rotate("key-2")
        rotated = await gql(client, VIEWER, token=issuer.token(audience="fleet-api", sub="idp|42"))
        cached = await gql(client, VIEWER, token=issuer.token(audience="fleet-api", sub="idp|42"))

    # then both tokens sign the dispatcher in; the new key was fetched once, then served from the cache
    assert first["data"]["viewer"]["user"]["email"] == fleet.dispatcher.email
    assert rotated["data"]["viewer"]["user"]["email"] == fleet.dispatcher.email and "errors" not in cached
    assert issuer.jwks_requests == 2


@pytest.mark.parametrize("claims, message", [
    ({"sub": "idp|99"}, "no active Detour account"),
    ({"sub": "idp|42", "aud": "someone-else"}, "wrong audience"),
    ({"sub": "idp|42", "ttl": -120}, "expired"),
])
async def test_tokens_the_tenant_cannot_trust_are_unauthenticated(client, factory, issuer, claims, message):
    # given a tenant trusting its provider
    fleet = await factory.fleet(stops=0)
    await trust(factory, fleet, issuer)
    claims = dict(claims)  # the parameter is shared by both backends
    audience, ttl = claims.pop("aud", "fleet-api"), claims.pop("ttl", 600)

    # when a token for an unknown subject, another audience or past its expiry is sent
    result = await gql(client, VIEWER, token=issuer.token(audience=audience, ttl=ttl, **claims))

    # then it is refused with a clear message
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert message in result["errors"][0]["message"]


async def test_a_key_the_provider_never_published_is_refused(client, factory, issuer):
    # given a tenant trusting its provider, and a token signed by a key its JWKS does not list
    fleet = await factory.fleet(stops=0)
    await trust(factory, fleet, issuer)
    token = issuer.token(audience="fleet-api", sub="idp|42")
    issuer.keys.pop("key-1")
    issuer.rotate("key-3")

    # when it is sent
    result = await gql(client, VIEWER, token=token)

    # then it is refused
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_the_email_claim_can_name_the_user(client, factory, issuer):
    # given a tenant whose provider names users by email
    fleet = await factory.fleet(stops=0)
    await trust(factory, fleet, issuer, claim=SubjectClaim.EMAIL)

    # when the provider's token carries the dispatcher's email
    result = await gql(client, VIEWER, token=issuer.token(audience="fleet-api", sub="opaque", email=fleet.dispatcher.email))

    # then the dispatcher is signed in
    assert result["data"]["viewer"]["user"]["email"] == fleet.dispatcher.email
