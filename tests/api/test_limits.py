"""Depth, alias and token limits refuse abusive documents; introspection follows the mode."""
from app.api.schema import build_schema
from app.config import Mode, Settings
from tests.factories import gql


async def test_too_deep_query_is_refused(client, factory):
    fleet = await factory.fleet(stops=1)
    deep = "query { myRoute { stops { route { stops { route { stops { route { stops { route { stops { route { id } } } } } } } } } } } }"
    result = await gql(client, deep, token=factory.token(fleet.driver))
    assert result.get("data") is None and "exceeds maximum operation depth" in result["errors"][0]["message"]


async def test_too_many_aliases_are_refused(client):
    aliases = " ".join(f"a{i}: __typename" for i in range(40))
    result = await gql(client, f"query {{ {aliases} }}")
    assert "aliases found" in result["errors"][0]["message"]


async def test_too_many_tokens_are_refused(client):
    result = await gql(client, "query { " + "__typename " * 3000 + "}")
    assert "token" in result["errors"][0]["message"].lower()


async def test_introspection_is_off_by_default_in_production(runtime):
    from app.api.context import Context

    production = Settings.model_construct(mode=Mode.PRODUCTION)  # the other production secrets do not matter here
    context = Context(runtime=runtime, request=None, response=None, request_id="t")
    refused = await build_schema(production).execute("{ __schema { types { name } } }", context_value=context)
    allowed = await build_schema(Settings()).execute("{ __schema { queryType { name } } }", context_value=context)
    assert refused.errors and "introspection" in refused.errors[0].message.lower()
    assert allowed.errors is None
