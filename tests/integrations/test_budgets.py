"""Request budgets and trusted documents over HTTP: cost on every answer, 429 + Retry-After, trusted-only tokens."""
import uuid
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from graphql import parse

from app.api.cost import document_cost
from app.api.ratelimit import RedisBucket
from app.api.trusted_documents import REPOSITORY_DOCUMENTS, document_id
from app.auth.principal import Principal
from app.clock import FrozenClock
from app.integrations.flows import create_api_key
from app.tenants.models import Role
from tests.conftest import IN_CI, client_for
from tests.factories import Factory

LIST = "{ exceptions(first: 40) { edges { node { id status } } } }"
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def tuned(runtime, **settings):  # noqa: ANN001, ANN201
    return replace(runtime, clock=FrozenClock(START), settings=runtime.settings.model_copy(update=settings))


async def post(http, query, token, **body):  # noqa: ANN001, ANN201
    payload = {"query": query, **body} if query is not None else body
    return await http.post("/graphql", json=payload, headers={"Authorization": f"Bearer {token}"})


async def test_an_over_budget_key_gets_429_with_retry_after_until_the_bucket_leaks(runtime):
    # given a budget of 200 leaking 1 per second, and a document costing 40 x 3
    hooks = tuned(runtime, budget_capacity=200, budget_leak_per_second=1.0)
    fleet = await Factory(hooks).fleet(stops=1)
    token = Factory(hooks).token(fleet.dispatcher)
    async with client_for(hooks) as http:
        # when it is sent twice, then again after the bucket leaked
        first = await post(http, LIST, token)
        second = await post(http, LIST, token)
        hooks.clock.advance(40)
        third = await post(http, LIST, token)

    # then the first fits, the second is refused with how long to wait, the third fits again
    assert first.status_code == 200 and first.json()["extensions"]["cost"]["requestedQueryCost"] == 120
    assert first.headers["RateLimit-Limit"] == "200" and first.headers["RateLimit-Remaining"] == "80"
    assert second.status_code == 429 and second.headers["Retry-After"] == "40"
    assert second.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert third.status_code == 200


async def test_a_document_over_the_per_request_maximum_is_refused_before_it_runs(runtime):
    hooks = tuned(runtime, max_query_cost=100)
    fleet = await Factory(hooks).fleet(stops=1)
    async with client_for(hooks) as http:
        refused = await post(http, LIST, Factory(hooks).token(fleet.dispatcher))
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["extensions"] == {"code": "COST_LIMIT_EXCEEDED", "cost": 120}


async def test_trusted_only_refuses_free_text_from_a_dispatcher_but_not_from_an_integrator_key(runtime):
    # given trusted-only mode, a dispatcher token and an integrator key
    hooks = tuned(runtime, trusted_documents_only=True)
    factory = Factory(hooks)
    fleet = await factory.fleet(stops=1)
    dispatcher = factory.token(fleet.dispatcher)
    viewer = (REPOSITORY_DOCUMENTS / "dispatcher" / "Viewer.graphql").read_text()
    async with client_for(hooks) as http:
        supervisor_text = await post(http, 'mutation { createApiKey(input: {name: "wms", scopes: ["exceptions:read"]}) { secret } }',
                                     factory.token(fleet.supervisor))
        supervisor = Principal(user_id=fleet.supervisor.id, tenant_id=fleet.tenant.id, role=Role.SUPERVISOR, scopes=frozenset())
        minted = await create_api_key(hooks, supervisor, name="wms", scopes=["exceptions:read"], expires_at=None)
        # when the dispatcher sends free text, then the same operation by documentId, and the key sends free text
        free_text = await post(http, "{ viewer { user { id } } }", dispatcher)
        by_id = await post(http, None, dispatcher, documentId=document_id(viewer))
        unknown_id = await post(http, None, dispatcher, documentId="sha256:" + "0" * 64)
        integrator = await post(http, LIST, minted.secret)

    # then free text is refused, the trusted document runs, and the integrator key is not limited to documents
    assert free_text.status_code == 403 and free_text.json()["errors"][0]["extensions"]["code"] == "TRUSTED_DOCUMENT_REQUIRED"
    assert by_id.status_code == 200 and "errors" not in by_id.json()
    assert unknown_id.status_code == 400
    assert supervisor_text.status_code == 403  # a supervisor's free text is refused too
    assert integrator.status_code == 200 and integrator.json()["data"]["exceptions"]["edges"] == []


def test_fragments_cost_what_their_fields_cost_and_are_costed_once(runtime):
    from app.api.schema import build_schema

    schema = build_schema(runtime.settings)._schema
    inline = parse(LIST)
    spread = parse("query { exceptions(first: 40) { ...Page } } fragment Page on DeliveryExceptionConnection { edges { node { id status } } }")
    variables = parse("query($n: Int!) { exceptions(first: $n) { edges { node { id } } } }")

    assert document_cost(schema, inline, None, None) == document_cost(schema, spread, None, None) == 120
    assert document_cost(schema, variables, None, {"n": 5}) == 15


async def test_the_redis_bucket_is_shared_and_leaks():
    # given two bucket clients on the same Redis (two API processes)
    url = "redis://127.0.0.1:6379/0"
    prefix = f"detour-test:{uuid.uuid4().hex}:"
    try:
        a, b = RedisBucket(url, 100, 2.0, prefix=prefix), RedisBucket(url, 100, 2.0, prefix=prefix)
        first = await a.take("key:1", 80, START)
    except OSError as error:
        if IN_CI:
            raise
        pytest.skip(f"Redis is not reachable: {error}")

    # when the second process takes from the same key, now and 10 s later
    refused = await b.take("key:1", 40, START)
    later = await b.take("key:1", 40, START.replace(second=10))

    # then the budget is shared across processes and leaks with the clock it is given
    assert (first.allowed, first.remaining) == (True, 20)
    assert (refused.allowed, refused.retry_after) == (False, 10)
    assert (later.allowed, later.remaining) == (True, 0)
    await a.client.aclose()
    await b.client.aclose()
