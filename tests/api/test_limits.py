"""Depth, alias and token limits refuse abusive documents; introspection follows the mode."""
import time

from graphql import parse
from strawberry.extensions.validation_cache import _get_validate_cache

from app.api.limits import Measure, measure_operations
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


FRAGMENT_BOMB = "query { ...F22 }\nfragment F0 on Query { viewer { user { id } } }\n" + "\n".join(
    f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, 23)
)


async def test_a_fragment_bomb_is_refused_before_execution_in_linear_time(client, factory):
    # given a 184-token document whose fragments double 22 times (4 million fields expanded)
    fleet = await factory.fleet(stops=1)

    # when it is sent, and measured on its own
    result = await gql(client, FRAGMENT_BOMB, token=factory.token(fleet.driver))
    started = time.perf_counter()
    measured = measure_operations(parse(FRAGMENT_BOMB))["anonymous"]
    took = time.perf_counter() - started

    # then it is refused with a typed error, nothing executed, and measuring it walked each fragment once
    assert result.get("data") is None
    assert result["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX" and "fields" in result["errors"][0]["message"]
    assert measured.fields == 3 * 2**22 and measured.depth == 2
    print(f"fragment bomb measured in {took * 1e6:.0f} µs")


def test_limits_count_fragments_where_they_are_spread():
    # given a fragment with an alias spread twice, and an inline fragment a level down
    document = parse("query Q { a: viewer { ...U } b: viewer { ...U } }\nfragment U on Viewer { user { x: id ... on User { name } } }")

    # then depth, aliases and fields follow the expanded document
    assert measure_operations(document)["Q"] == Measure(depth=2, aliases=4, fields=8)


async def test_the_validation_cache_hits_for_a_repeated_document(client, factory):
    # given a driver and the cache's statistics
    fleet = await factory.fleet(stops=1)
    cache = _get_validate_cache(256)
    before = cache.cache_info()

    # when the same document is sent five times
    for _ in range(5):
        await gql(client, "query { viewer { user { id } } }", token=factory.token(fleet.driver))

    # then at most the first validated it, the others hit the cache
    after = cache.cache_info()
    assert after.hits - before.hits >= 4
