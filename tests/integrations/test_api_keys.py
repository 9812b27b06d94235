"""Integrator API keys over HTTP: minted once by a supervisor, stored hashed, scoped, revocable; scopes bind JWTs too."""
import asyncio

from sqlmodel import select

from app import cli
from app.config import get_settings
from app.integrations.models import ApiKey
from tests.delivery_exceptions.test_mutations import report
from tests.delivery_exceptions.test_story import RESOLVE
from tests.factories import gql

CREATE = """
mutation Create($input: CreateApiKeyInput!) {
  createApiKey(input: $input) { secret apiKey { id prefix scopes lastUsedAt revokedAt } errors { code message field } }
}
"""
REVOKE = "mutation Revoke($input: RevokeApiKeyInput!) { revokeApiKey(input: $input) { apiKey { id revokedAt } errors { code } } }"
KEYS = "{ apiKeys { id prefix name scopes lastUsedAt revokedAt } }"
EXCEPTIONS = "{ exceptions(first: 10) { edges { node { id status version } } } }"


async def mint(client, factory, fleet, scopes):
    result = await gql(client, CREATE, {"input": {"name": "WMS", "scopes": scopes}}, token=factory.token(fleet.supervisor))
    return result["data"]["createApiKey"]


async def test_a_read_key_reads_exceptions_but_cannot_resolve_them(client, factory, runtime):
    # given an open exception and a key with exceptions:read only
    fleet = await factory.fleet(stops=1)
    reported = await report(client, factory.token(fleet.driver), fleet.stops[0].id)
    created = await mint(client, factory, fleet, ["exceptions:read"])
    secret = created["secret"]

    # when the key lists exceptions and then tries to resolve one
    listed = await gql(client, EXCEPTIONS, token=secret)
    resolve = await gql(client, RESOLVE, {"input": {"id": reported["exception"]["id"], "expectedVersion": 1, "outcome": "DELIVERED_TO_CUSTOMER"}}, token=secret)

    # then it reads, and the refusal names the missing scope
    assert [e["node"]["id"] for e in listed["data"]["exceptions"]["edges"]] == [reported["exception"]["id"]]
    assert resolve["errors"][0]["extensions"] == {"code": "FORBIDDEN", "missingScope": "exceptions:write"}
    assert "exceptions:write" in resolve["errors"][0]["message"]
    # and only the hash is stored, under a recognisable prefix, with the last use recorded
    async with runtime.sessionmaker() as session:
        row = (await session.exec(select(ApiKey))).one()
    assert secret.startswith("dtr_live_") and row.prefix == secret[: len(row.prefix)] and secret not in row.secret_hash
    assert row.last_used_at is not None


async def test_a_revoked_key_stops_working(client, factory):
    # given a key that worked once
    fleet = await factory.fleet(stops=1)
    created = await mint(client, factory, fleet, ["exceptions:read"])
    assert "errors" not in await gql(client, EXCEPTIONS, token=created["secret"])

    # when the supervisor revokes it
    revoked = await gql(client, REVOKE, {"input": {"id": created["apiKey"]["id"]}}, token=factory.token(fleet.supervisor))

    # then the next call is unauthenticated and the list shows the revocation
    assert revoked["data"]["revokeApiKey"]["apiKey"]["revokedAt"] is not None
    refused = await gql(client, EXCEPTIONS, token=created["secret"])
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    keys = (await gql(client, KEYS, token=factory.token(fleet.supervisor)))["data"]["apiKeys"]
    assert [k["revokedAt"] is not None for k in keys] == [True]


async def test_only_supervisors_mint_keys_and_scopes_are_checked(client, factory):
    fleet = await factory.fleet(stops=1)

    by_dispatcher = await gql(client, CREATE, {"input": {"name": "x", "scopes": ["exceptions:read"]}}, token=factory.token(fleet.dispatcher))
    unknown = await mint(client, factory, fleet, ["exceptions:everything"])

    assert by_dispatcher["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert unknown["errors"][0]["code"] == "INVALID_INPUT" and unknown["secret"] is None


async def test_keys_of_another_tenant_cannot_be_revoked(client, factory):
    a, b = await factory.fleet(stops=1, slug="a"), await factory.fleet(stops=1, slug="b")
    created = await mint(client, factory, a, ["exceptions:read"])

    revoked = await gql(client, REVOKE, {"input": {"id": created["apiKey"]["id"]}}, token=factory.token(b.supervisor))

    assert revoked["data"]["revokeApiKey"]["errors"][0]["code"] == "NOT_FOUND"
    assert "errors" not in await gql(client, EXCEPTIONS, token=created["secret"])


async def test_a_jwt_naming_scopes_is_held_to_them(client, factory):
    # given a dispatcher token that carries only exceptions:read
    fleet = await factory.fleet(stops=1)
    reported = await report(client, factory.token(fleet.driver), fleet.stops[0].id)
    token = factory.token(fleet.dispatcher, scopes=frozenset({"exceptions:read"}))

    resolve = await gql(client, RESOLVE, {"input": {"id": reported["exception"]["id"], "expectedVersion": 1, "outcome": "DELIVERED_TO_CUSTOMER"}}, token=token)

    assert resolve["errors"][0]["extensions"]["missingScope"] == "exceptions:write"


async def test_the_cli_creates_lists_and_revokes(client, factory, runtime, monkeypatch, capsys):
    # given a tenant and the CLI pointed at its database
    fleet = await factory.fleet(stops=1, slug="cli")
    monkeypatch.setenv("DETOUR_DATABASE_URL", runtime.settings.database_url)
    get_settings.cache_clear()
    try:
        # when a key is created, listed and revoked (threads: each command runs its own event loop)
        created = await asyncio.to_thread(cli.main, ["apikey", "create", "--tenant", "cli", "--name", "GPS", "--scope", "positions:read"])
        secret = capsys.readouterr().out.strip()
        works = await gql(client, "query($d: ID!) { driverPositions(depotId: $d) { driverId } }", {"d": str(fleet.depot.id)}, token=secret)
        listed = await asyncio.to_thread(cli.main, ["apikey", "list", "--tenant", "cli"])
        listing = capsys.readouterr().out
        key_id = listing.split("\t")[0]
        revoked = await asyncio.to_thread(cli.main, ["apikey", "revoke", key_id, "--tenant", "cli"])
    finally:
        get_settings.cache_clear()

    # then the printed secret works until revoked, and the list never shows it
    assert (created, listed, revoked) == (0, 0, 0)
    assert works["data"]["driverPositions"] == []
    assert secret not in listing and "positions:read" in listing and secret[:15] in listing
    assert (await gql(client, "{ exceptions(first: 1) { edges { node { id } } } }", token=secret))["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
