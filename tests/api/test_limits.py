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


def fragment_bomb(n: int) -> str:
    """`query { ...Fn }` where each fragment spreads the previous one twice: 2^n paths through 3n + 9 tokens."""
    fragments = ["fragment F0 on Query { viewer { user { id } } }"]
    fragments += [f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, n + 1)]
    return f"query {{ ...F{n} }} " + " ".join(fragments)


async def test_a_fragment_bomb_is_refused_before_execution_with_a_code(client, factory):
    # given: the 22-fragment bomb from issue 15 (4 million expanded paths)
    fleet = await factory.fleet(stops=1)
    # when
    result = await gql(client, fragment_bomb(22), token=factory.token(fleet.driver))
    # then: refused by the cost limit, nothing executed
    assert result.get("data") is None
    assert [e["extensions"]["code"] for e in result["errors"]] == ["QUERY_TOO_COMPLEX"]
    assert str(3 * 2**22) in result["errors"][0]["message"]


def test_each_fragment_is_measured_once(monkeypatch):
    # given: a measurer that counts the selection sets it walks
    from graphql import parse

    from app.api import limits

    walked = []
    original = limits._Measurer.selection_set
    monkeypatch.setattr(limits._Measurer, "selection_set", lambda self, s: walked.append(s) or original(self, s))
    # when
    measures = limits.measure_document(parse(fragment_bomb(60)))
    # then: exact figures for 2^60 paths, from one walk per selection set of the document
    assert measures == {"": limits.Measure(depth=2, aliases=0, cost=3 * 2**60)}
    assert len(walked) == 1 + 61 + 3  # the operation, each fragment, then viewer, user and the leaf id


async def test_depth_counts_through_fragments_and_cycles_are_left_to_validation(client):
    # given
    deep_via_fragments = "query { ...A } fragment A on Query { viewer { ...B } } " + "fragment B on Viewer { user { id } }"
    cyclic = "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }"
    # when
    measured = (await gql(client, deep_via_fragments))
    refused = await gql(client, cyclic)
    # then: the first is within limits (whatever auth says), the cycle is a validation error, not a hang
    assert all(e.get("extensions", {}).get("code") not in ("QUERY_TOO_DEEP", "QUERY_TOO_COMPLEX") for e in measured.get("errors", []))
    assert "cannot spread fragment" in refused["errors"][0]["message"].lower()


async def test_the_validation_cache_hits_for_a_repeated_document(client):
    # given
    from strawberry.extensions.validation_cache import _get_validate_cache

    cache = _get_validate_cache(256)
    query = "query RepeatedForTheCache { __typename }"
    await gql(client, query)
    before = cache.cache_info()
    # when
    for _ in range(5):
        await gql(client, query)
    # then: the same document and the same rules each time, so validation is not repeated
    after = cache.cache_info()
    assert (after.hits - before.hits, after.misses - before.misses) == (5, 0)
