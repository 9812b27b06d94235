"""The GraphQL-over-HTTP audit over a real uvicorn socket: each rule of graphql/graphql-http's server audits is a test
(same ids, same requests, same expectations), then the rules Detour adds: 406, 405 with Allow, 415, persisted documents
and budgets under application/graphql-response+json, and a field error that still answers 200 with data."""
import asyncio
import json
import socket
from dataclasses import replace
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn

from app import migrate
from app.api.http_contract import negotiate
from app.api.trusted_documents import document_id, manifest
from app.config import Settings
from app.bootstrap import bootstrap
from app.main import create_app
from app.runtime import Runtime
from tests.conftest import client_for
from tests.factories import Factory

GR = "application/graphql-response+json"
JSON = "application/json"
TYPE_QUERY = "query Type($name: String!) { __type(name: $name) { name } }"
UNKNOWN_FIELD = "{ 8f31403dfe404bccbb0e835f2629c6a7 }"
COERCE_FAILURE = "query CoerceFailure($id: ID!){ __typename }"


@dataclass(frozen=True)
class Audit:
    id: str
    rule: str
    method: str = "POST"
    headers: dict[str, str] = field(default_factory=lambda: {"content-type": JSON})
    body: Any = None  # JSON-encoded unless bytes/str
    params: dict[str, str] | None = None
    status: int | tuple[int, int] = 200  # exact, or an inclusive range
    content_type: str | None = None
    no_errors: bool = False
    data_absent: bool = False


def post(accept: str | None, body: Any, **expect: Any) -> dict[str, Any]:
    headers = {"content-type": JSON, **({"accept": accept} if accept else {})}
    return {"headers": headers, "body": body, **expect}


def get(accept: str | None, params: dict[str, str], **expect: Any) -> dict[str, Any]:
    return {"method": "GET", "headers": {"accept": accept} if accept else {}, "params": params, **expect}


TYPENAME = {"query": "{ __typename }"}
INVALID_PARAMETERS = [{"obj": "ect"}, 0, False, ["array"]]
INVALID_MAPS = ["string", 0, False, ["array"]]

AUDITS = [
    # Media types
    Audit("22EB", "SHOULD accept application/graphql-response+json and match the content-type", **post(GR, TYPENAME, content_type=GR)),
    Audit("4655", "MUST accept application/json and match the content-type", **post(JSON, TYPENAME, content_type=JSON)),
    Audit("47DE", "SHOULD accept */* and use application/json for the content-type", **post("*/*", TYPENAME, content_type=JSON)),
    Audit("80D8", "SHOULD assume application/json content-type when accept is missing", **post(None, TYPENAME, content_type=JSON)),
    Audit("82A3", "MUST use utf-8 encoding when responding", **post(None, TYPENAME)),
    Audit("BF61", "MUST accept utf-8 encoded request", headers={"content-type": "application/json; charset=utf-8"},
          body={"query": '{ __type(name: "Run🏃Swim🏊") { name } }'}),
    Audit("78D5", "MUST assume utf-8 in request if encoding is unspecified", **post(None, TYPENAME)),
    # Request
    Audit("2C94", "MUST accept POST requests", **post(None, TYPENAME)),
    Audit("5A70", "MAY accept application/x-www-form-urlencoded formatted GET requests", **get(None, {"query": "{ __typename }"})),
    Audit("9C48", "MAY NOT allow executing mutations on GET requests", **get(GR, {"query": "mutation { __typename }"}, status=(400, 499))),
    Audit("9ABE", "SHOULD respond with 4xx status code if content-type is not supplied on POST requests",
          headers={}, body=json.dumps(TYPENAME), status=(400, 499)),
    Audit("03D4", "MUST accept application/json POST requests", **post(None, TYPENAME)),
    Audit("A5BF", "MAY use 400 status code when request body is missing on POST", **post(None, b"", status=400)),
    # Request parameters
    Audit("423L", "MAY use 400 status code on missing {query} parameter", **post(GR, {"notquery": "{ __typename }"}, status=400)),
    *[Audit(f"LKJ{i}", f"MAY use 400 status code on {type(v).__name__} {{query}} parameter", **post(None, {"query": v}, status=400))
      for i, v in enumerate(INVALID_PARAMETERS)],
    Audit("34A2", "SHOULD allow string {query} parameter when accepting application/graphql-response+json", **post(GR, TYPENAME)),
    Audit("13EE", "MUST allow string {query} parameter when accepting application/json", **post(JSON, TYPENAME, no_errors=True)),
    *[Audit(f"6C0{i}", f"MAY use 400 status code on {type(v).__name__} {{operationName}} parameter",
            **post(None, {"operationName": v, "query": "{ __typename }"}, status=400)) for i, v in enumerate(INVALID_PARAMETERS)],
    Audit("8161", "SHOULD allow string {operationName} parameter when accepting application/graphql-response+json",
          **post(GR, {"operationName": "Query", "query": "query Query { __typename }"})),
    Audit("B8B3", "MUST allow string {operationName} parameter when accepting application/json",
          **post(JSON, {"operationName": "Query", "query": "query Query { __typename }"}, no_errors=True)),
    *[audit for i, name in enumerate(["variables", "operationName", "extensions"]) for audit in (
        Audit(f"94B{i}", f"SHOULD allow null {{{name}}} parameter when accepting application/graphql-response+json",
              **post(GR, {"query": "{ __typename }", name: None}, no_errors=True)),
        Audit(f"022{i}", f"MUST allow null {{{name}}} parameter when accepting application/json",
              **post(JSON, {"query": "{ __typename }", name: None}, no_errors=True)),
    )],
    *[Audit(f"476{i}", f"MAY use 400 status code on {type(v).__name__} {{variables}} parameter",
            **post(None, {"query": "{ __typename }", "variables": v}, status=400)) for i, v in enumerate(INVALID_MAPS)],
    Audit("2EA1", "SHOULD allow map {variables} parameter when accepting application/graphql-response+json",
          **post(GR, {"query": TYPE_QUERY, "variables": {"name": "sometype"}})),
    Audit("28B9", "MUST allow map {variables} parameter when accepting application/json",
          **post(JSON, {"query": TYPE_QUERY, "variables": {"name": "sometype"}}, no_errors=True)),
    Audit("D6D5", "MAY allow URL-encoded JSON string {variables} parameter in GETs when accepting application/graphql-response+json",
          **get(GR, {"query": TYPE_QUERY, "variables": json.dumps({"name": "sometype"})}, no_errors=True)),
    Audit("6A70", "MAY allow URL-encoded JSON string {variables} parameter in GETs when accepting application/json",
          **get(JSON, {"query": TYPE_QUERY, "variables": json.dumps({"name": "sometype"})}, no_errors=True)),
    *[Audit(f"58B{i}", f"MAY use 400 status code on {type(v).__name__} {{extensions}} parameter",
            **post(None, {"query": "{ __typename }", "extensions": v}, status=400)) for i, v in enumerate(INVALID_MAPS)],
    Audit("428F", "SHOULD allow map {extensions} parameter when accepting application/graphql-response+json",
          **post(GR, {"query": "{ __typename }", "extensions": {"some": "value"}})),
    Audit("1B7A", "MUST allow map {extensions} parameter when accepting application/json",
          **post(JSON, {"query": "{ __typename }", "extensions": {"some": "value"}}, no_errors=True)),
    Audit("B6DC", "MAY use 2xx, 4xx, or 5xx status codes on JSON parsing failure when accepting application/json",
          **post(JSON, '{ "not a JSON', status=(200, 599))),
    Audit("BCF8", "SHOULD use 400 status code on JSON parsing failure when accepting application/json", **post(JSON, '{ "not a JSON', status=400)),
    Audit("B7N8", "SHOULD use 400 status code on JSON parsing failure when accepting application/graphql-response+json",
          **post(GR, '{ "not a JSON', status=400)),
    Audit("8764", "MAY use 4xx or 5xx status codes if parameters are invalid", **post(None, {"qeury": "{ __typename }"}, status=(400, 599))),
    Audit("3E3A", "MAY use 400 status code if parameters are invalid", **post(None, {"qeury": "{ __typename }"}, status=400)),
    # Response application/json
    Audit("572B", "SHOULD use 200 status code on document parsing failure when accepting application/json", **post(JSON, {"query": "{"})),
    Audit("FDE2", "SHOULD use 200 status code on document validation failure when accepting application/json",
          **post(JSON, {"query": UNKNOWN_FIELD})),
    Audit("7B9B", "SHOULD use a status code of 200 on variable coercion failure when accepting application/json",
          **post(JSON, {"query": COERCE_FAILURE, "variables": {"id": None}})),
    # Response application/graphql-response+json
    Audit("865D", "SHOULD use 4xx or 5xx status codes on document parsing failure when accepting application/graphql-response+json",
          **post(GR, {"query": "{"}, status=(400, 599))),
    Audit("556A", "SHOULD use 400 status code on document parsing failure when accepting application/graphql-response+json",
          **post(GR, {"query": "{"}, status=400)),
    Audit("D586", "SHOULD not contain the data entry on document parsing failure when accepting application/graphql-response+json",
          **post(GR, {"query": "{"}, status=400, data_absent=True)),
    Audit("51FE", "SHOULD use 4xx or 5xx status codes on document validation failure when accepting application/graphql-response+json",
          **post(GR, {"query": UNKNOWN_FIELD}, status=(400, 599))),
    Audit("74FF", "SHOULD use 400 status code on document validation failure when accepting application/graphql-response+json",
          **post(GR, {"query": UNKNOWN_FIELD}, status=400)),
    Audit("5E5B", "SHOULD not contain the data entry on document validation failure when accepting application/graphql-response+json",
          **post(GR, {"query": UNKNOWN_FIELD}, status=400, data_absent=True)),
    Audit("86EE", "SHOULD use a status code of 400 on variable coercion failure when accepting application/graphql-response+json",
          **post(GR, {"query": COERCE_FAILURE, "variables": {"id": None}}, status=400)),
]


@pytest.fixture(scope="module")
async def audit_runtime(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    """The HTTP contract does not depend on the database backend: one SQLite runtime of the module's own serves every
    rule (and no table cleanup runs between them)."""
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('audit') / 'audit.db'}"
    await asyncio.to_thread(migrate.upgrade, url)
    runtime = bootstrap(Settings(database_url=url, broadcast_url="memory://", log_format="console"))
    await runtime.start()
    yield runtime
    await runtime.stop()


@pytest.fixture(scope="module")
async def server(audit_runtime: Runtime) -> str:
    """uvicorn serving the app on a real 127.0.0.1 socket, for the whole module."""
    runtime = audit_runtime
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen(64)
    config = uvicorn.Config(create_app(runtime=runtime), lifespan="off", log_level="warning")
    config.load()
    server = uvicorn.Server(config)
    server.lifespan = config.lifespan_class(config)
    await server.startup(sockets=[listening])
    yield f"http://127.0.0.1:{listening.getsockname()[1]}"
    await server.shutdown()


@pytest.fixture
async def http(server: str) -> httpx.AsyncClient:
    async with httpx.AsyncClient(base_url=server, headers={"accept": ""}) as client:
        yield client


async def send(http: httpx.AsyncClient, audit: Audit) -> httpx.Response:
    headers = {"accept": "", **audit.headers}  # an empty Accept is no Accept: httpx would otherwise send */*
    if audit.method == "GET":
        return await http.get("/graphql", params=audit.params, headers=headers)
    body = audit.body if isinstance(audit.body, str | bytes) else json.dumps(audit.body, ensure_ascii=False)
    return await http.post("/graphql", content=body.encode() if isinstance(body, str) else body, headers=headers)


def status_matches(status: int, expected: int | tuple[int, int]) -> bool:
    return status == expected if isinstance(expected, int) else expected[0] <= status <= expected[1]


@pytest.mark.parametrize("audit", AUDITS, ids=[a.id for a in AUDITS])
async def test_graphql_over_http_audit(http, audit: Audit):
    # given the rule's request (see graphql/graphql-http src/audits/server.ts)
    # when it is sent to the server over a real socket
    response = await send(http, audit)

    # then the answer keeps the rule
    assert status_matches(response.status_code, audit.status), (audit.rule, response.status_code, response.text)
    response.content.decode("utf-8")  # every answer is utf-8
    if audit.content_type:
        assert audit.content_type in response.headers["content-type"], audit.rule
    if audit.no_errors or audit.data_absent:
        body = response.json()
        assert not (audit.no_errors and "errors" in body), (audit.rule, body)
        assert not (audit.data_absent and "data" in body), (audit.rule, body)


def test_the_audit_table_has_every_rule_of_graphql_http():
    # given the audit ids of graphql-http's server audits (src/audits/server.ts)
    expected = {"22EB", "4655", "47DE", "80D8", "82A3", "BF61", "78D5", "2C94", "5A70", "9C48", "9ABE", "03D4", "A5BF", "423L",
                "34A2", "13EE", "8161", "B8B3", "2EA1", "28B9", "D6D5", "6A70", "428F", "1B7A", "B6DC", "BCF8", "B7N8", "8764", "3E3A",
                "572B", "FDE2", "7B9B", "865D", "556A", "D586", "51FE", "74FF", "5E5B", "86EE"}
    expected |= {f"{p}{i}" for p in ("LKJ", "6C0", "476", "58B") for i in range(4)} | {f"{p}{i}" for p in ("94B", "022") for i in range(3)}

    # then each is one test here
    assert {a.id for a in AUDITS} == expected


# Detour's own rules on top of the audit


async def test_an_accept_naming_neither_graphql_media_type_is_406(http):
    # when a client accepts only XML
    response = await http.post("/graphql", json=TYPENAME, headers={"accept": "application/xml"})

    # then it is refused as not acceptable, with the refusal readable as JSON
    assert response.status_code == 406
    assert response.json()["errors"][0]["extensions"]["code"] == "NOT_ACCEPTABLE"


async def test_the_highest_weighted_media_type_wins(http):
    # when a client prefers plain JSON over the GraphQL response type, and another the reverse
    legacy = await http.post("/graphql", json=TYPENAME, headers={"accept": f"{GR};q=0.5, {JSON}"})
    modern = await http.post("/graphql", json=TYPENAME, headers={"accept": f"{JSON};q=0.9, {GR}"})

    # then each gets the one it weighted higher
    assert legacy.headers["content-type"].startswith(JSON)
    assert modern.headers["content-type"].startswith(GR)


def test_negotiation_follows_the_weights_and_wildcards():
    # then no header, wildcards and application/json are JSON; q=0 excludes; equal weights prefer the named GraphQL type
    assert [negotiate(a) for a in (None, "", "*/*", "application/*", "text/html, */*;q=0.8", f"{JSON}, {GR}", f"{GR};q=0, */*")] == [
        JSON, JSON, JSON, JSON, JSON, GR, JSON,
    ]
    assert negotiate("text/html") is None and negotiate(f"{JSON};q=0") is None and negotiate(f"{GR};q=oops") is None


async def test_a_mutation_over_get_is_405_with_allow_post(http):
    # when a mutation is sent with GET, in either media type
    modern = await http.get("/graphql", params={"query": "mutation { __typename }"}, headers={"accept": GR})
    legacy = await http.get("/graphql", params={"query": "mutation { __typename }"})

    # then both are 405 and name the method that is allowed
    assert (modern.status_code, legacy.status_code) == (405, 405)
    assert modern.headers["allow"] == "POST" and legacy.headers["allow"] == "POST"
    assert modern.headers["content-type"].startswith(GR) and modern.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"


async def test_a_post_that_is_not_json_is_415(http):
    # when a body comes as a form, as text, or as GraphQL source
    answers = [await http.post("/graphql", content=b"query={__typename}", headers={"content-type": ct, "accept": GR})
               for ct in ("application/x-www-form-urlencoded", "text/plain", "application/graphql")]

    # then each is an unsupported media type
    assert [a.status_code for a in answers] == [415] * 3
    assert answers[0].json()["errors"][0]["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


async def test_a_field_error_after_execution_started_is_200_with_data(http):
    # when an anonymous client asks a field that needs a token (execution starts, the field refuses)
    response = await http.post("/graphql", json={"query": "{ __typename myRoute { id } }"}, headers={"accept": GR})

    # then the answer is 200 in the GraphQL type, with data and the field's error
    body = response.json()
    assert response.status_code == 200 and response.headers["content-type"].startswith(GR), response.text
    assert "data" in body and body["errors"][0]["path"] == ["myRoute"]


async def test_a_persisted_document_is_answered_in_the_graphql_type(http):
    # given a trusted document that is a query, and one that is a mutation
    documents = manifest(Settings())
    query_id = next(i for i, text in documents.items() if text.lstrip().startswith("query"))
    mutation_id = next(i for i, text in documents.items() if text.lstrip().startswith("mutation"))

    # when they are sent by id (POST and GET), and an unknown id is sent
    posted = await http.post("/graphql", json={"documentId": query_id, "variables": {}}, headers={"accept": GR})
    mutation_by_get = await http.get("/graphql", params={"documentId": mutation_id}, headers={"accept": GR})
    unknown = await http.post("/graphql", json={"documentId": document_id("nope")}, headers={"accept": GR})

    # then the query executes (200, or a 4xx request error naming its missing variables, never a 5xx),
    # the mutation over GET is 405, and the unknown id is a 400 GraphQL response
    assert posted.status_code in (200, 400) and posted.headers["content-type"].startswith(GR), posted.text
    assert mutation_by_get.status_code == 405 and mutation_by_get.headers["allow"] == "POST"
    assert unknown.status_code == 400 and unknown.headers["content-type"].startswith(GR)
    assert "documentId" in unknown.json()["errors"][0]["message"]


async def test_the_graphiql_page_still_opens_in_a_browser(http):
    # when a browser asks for the endpoint without a query
    page = await http.get("/graphql", headers={"accept": "text/html"})

    # then it gets the IDE (embedded mode), not a 406
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")



async def test_a_refused_document_is_4xx_without_data_in_the_graphql_type_and_keeps_its_legacy_answer(audit_runtime):
    # given trusted-only mode with a small cost limit, and a dispatcher
    strict = replace(audit_runtime, settings=audit_runtime.settings.model_copy(update={"trusted_documents_only": True, "max_query_cost": 5}))
    factory = Factory(strict)
    fleet = await factory.fleet(stops=1, slug="audit-refusals")
    auth = {"authorization": f"Bearer {factory.token(fleet.dispatcher)}"}

    # when the dispatcher sends free text in each media type, and an integrator a document over the cost limit
    costly = "{ exceptions(first: 100) { edges { node { id } } } }"
    async with client_for(strict) as client:
        modern = await client.post("/graphql", json={"query": "{ viewer { user { id } } }"}, headers={**auth, "accept": GR})
        legacy = await client.post("/graphql", json={"query": "{ viewer { user { id } } }"}, headers={**auth, "accept": JSON})
        too_costly = await client.post("/graphql", json={"query": costly},
                                       headers={"authorization": f"Bearer {factory.token(fleet.integrator)}", "accept": GR})

    # then both are 403 TRUSTED_DOCUMENT_REQUIRED; the GraphQL type has no data entry, the legacy one keeps `data: null`
    assert (modern.status_code, legacy.status_code) == (403, 403)
    assert modern.headers["content-type"].startswith(GR) and "data" not in modern.json()
    assert modern.json()["errors"][0]["extensions"]["code"] == "TRUSTED_DOCUMENT_REQUIRED"
    assert legacy.headers["content-type"].startswith(JSON) and legacy.json()["data"] is None
    # and the costly document is a 400 without data
    assert too_costly.status_code == 400 and "data" not in too_costly.json(), too_costly.text
    assert too_costly.json()["errors"][0]["extensions"]["code"] == "COST_LIMIT_EXCEEDED"
