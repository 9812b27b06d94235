"""Operations generated over the whole served schema, for every role: no 5xx, no INTERNAL_ERROR, no ERROR log line.

hypothesis-graphql writes queries and mutations valid against the schema the app serves (one root field each),
sent over HTTP with each role's token (driver, dispatcher, supervisor, admin, an integrator's API key, none), the
arguments inline or as variables; subscriptions go over a graphql-transport-ws socket per JWT role. IDs are mostly
small numbers so they hit the seeded demo's rows; strings, JSON and times mix random values with ones the domains
parse and their broken neighbours. The run is seeded per backend and role (no example database), under a frozen
clock, and bounded: DETOUR_FUZZ_EXAMPLES operations per role and backend (30; subscriptions a third of that). Run
more locally: `DETOUR_FUZZ_EXAMPLES=1000 pytest tests/fuzz`.
"""
import asyncio
import dataclasses
import logging
import os
import zlib
from collections.abc import Callable

import httpx
import pytest
from graphql import (
    ArgumentNode, DocumentNode, GraphQLSchema, NameNode, ObjectFieldNode, TypeInfo, TypeInfoVisitor, VariableDefinitionNode, VariableNode, Visitor,
    parse, parse_type, print_ast, value_from_ast_untyped, visit,
)
from hypothesis import HealthCheck, Phase, given, seed, settings, strategies as st
from hypothesis_graphql import mutations, nodes, queries

from app.api.schema import build_schema
from app.main import create_app
from tests.conftest import client_for
from tests.fuzz.conftest import FROZEN_AT, Seeded
from tests.realtime.asgi_socket import AsgiSocket, SocketClosed

EXAMPLES = int(os.environ.get("DETOUR_FUZZ_EXAMPLES", "30"))
ROLES = ["driver", "dispatcher", "supervisor", "admin", "api_key", "anonymous"]

TEXT = st.characters(codec="utf-8", exclude_characters="\x00")  # NUL and lone surrogates: tests/api/test_bad_input.py
IDS = st.one_of(
    st.integers(min_value=1, max_value=40).map(str),  # the demo's rows (and a few of the other fleet's)
    st.sampled_from(["0", "-1", "2147483647", "2147483648", "9223372036854775808", "99999999999999999999", "", "abc", "1.5", " 7", "1e3"]),
).map(nodes.String)
# Strings: mostly short random text, else values the domains parse (zones, phones, URLs, refs) and their broken
# neighbours, and text longer than any column.
TELLING = [
    "", " ", "UTC", "Europe/Amsterdam", "Mars/Olympus", "../../etc/passwd", "+31612345678", "0612345678", "+999",
    "dispatcher@demo.detour.dev", "not-an-email", "http://[::1", "http://receiver.invalid:99999/", "https://receiver.invalid/hook",
    "http://127.0.0.1/hook", "ftp://receiver.invalid/", "nl", "en", "SMS", "PUSH", "CUSTOMER_ABSENT", "NO_ANSWER", "exceptions:read",
    "1", "-1", "2147483648", "1e400", "NaN", "{}", "[]", "null", "08:00-18:00", "mon-fri 09:00-17:00", "route_ref,stop_ref\n",
]
STRINGS = st.one_of(
    st.text(TEXT, max_size=30), st.sampled_from(TELLING),
    st.builds(lambda piece, times: piece * times, st.sampled_from(["x", "Europe/", "é", "1"]), st.integers(100, 5000)),
).map(nodes.String)
JSON_KEYS = ["mon", "tue", "sun", "xyz", "enabledKinds", "dispatcherMayApprove", "customerSelfService", "valueLimitCents",
             "signatureNeedsSupervisor", "autoApprove", "maxAttempts", "preselectedSafePlace", "routes", "stops"]
MOMENTS = st.sampled_from([
    FROZEN_AT.isoformat(), "2026-12-01T09:00:00Z", "2026-12-01T18:30:00+01:00", "2026-12-02T08:00:00+01:00",
    "2026-11-30T23:59:59Z", "1970-01-01T00:00:00Z", "9000-12-31T23:59:59+14:00", "2026-12-01T10:00:00", "not a time",
]).map(nodes.String)
CUSTOM_SCALARS = {
    "ID": IDS,
    "String": STRINGS,
    "DateTime": MOMENTS,
    "Date": st.sampled_from(["2026-12-01", "2026-12-02", "2026-11-30", "1970-01-01", "9999-12-31", "2026-02-30", "x"]).map(nodes.String),
    "Time": st.sampled_from(["08:00", "10:05:00", "17:30", "23:59:59", "00:00", "24:00", "7"]).map(nodes.String),
    "SecretText": st.one_of(st.text(TEXT, max_size=40), st.sampled_from(["1234#", "A-42"])).map(nodes.String),
    "JSON": st.recursive(  # shapes near the ones the domains read (opening hours, policy rules) and far from them
        st.one_of(STRINGS, st.integers(-5, 2**40).map(nodes.Int), st.booleans().map(nodes.Boolean), st.floats(allow_nan=False, allow_infinity=False).map(nodes.Float)),
        lambda inner: st.one_of(
            st.lists(inner, max_size=3).map(nodes.List),
            st.dictionaries(st.sampled_from(JSON_KEYS), inner, max_size=3).map(
                lambda d: nodes.Object([ObjectFieldNode(name=NameNode(value=k), value=v) for k, v in d.items()])),
        ),
        max_leaves=6,
    ),
}


def documents(schema: GraphQLSchema) -> st.SearchStrategy[str]:
    """One root field per document (so every field gets its turn), queries and mutations alike."""

    def one_root(build: Callable, names: list[str]) -> st.SearchStrategy[str]:
        return st.sampled_from(sorted(names)).flatmap(lambda name: build(schema, fields=[name], custom_scalars=CUSTOM_SCALARS, allow_x00=False))

    return st.one_of(one_root(queries, list(schema.query_type.fields)), one_root(mutations, list(schema.mutation_type.fields)))


def with_variables(schema: GraphQLSchema, document: str) -> tuple[str, dict]:
    """The same operation with every argument sent as a variable (what real clients do: the other coercion path)."""
    info, found = TypeInfo(schema), []

    class ToVariables(Visitor):
        def enter_argument(self, node: ArgumentNode, *_: object) -> ArgumentNode:
            name = f"v{len(found)}"
            found.append((name, info.get_argument().type, value_from_ast_untyped(node.value)))
            return ArgumentNode(name=node.name, value=VariableNode(name=NameNode(value=name)))

    parsed = visit(parse(document), TypeInfoVisitor(info, ToVariables()))
    [operation] = parsed.definitions
    definitions = tuple(VariableDefinitionNode(variable=VariableNode(name=NameNode(value=n)), type=parse_type(str(t))) for n, t, _ in found)
    rewritten = DocumentNode(definitions=(dataclasses.replace(operation, variable_definitions=definitions),))
    return print_ast(rewritten), {name: value for name, _, value in found}


class ErrorLogs(logging.Handler):
    """ERROR means a bug (README, logging): any record at ERROR or above during an example fails it."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def problems(response: httpx.Response) -> list[str]:
    if response.status_code >= 500:
        return [f"HTTP {response.status_code}: {response.text[:500]}"]
    try:
        body = response.json()
    except ValueError:
        return [f"HTTP {response.status_code} with a body that is not JSON: {response.text[:200]}"]
    return [
        f"{error.get('path')}: {error.get('message')}" for error in body.get("errors") or ()
        if (error.get("extensions") or {}).get("code") == "INTERNAL_ERROR" or error.get("message") == "Unexpected error."
    ]


SUBSCRIPTION_EXAMPLES = max(5, EXAMPLES // 3)
# API keys are for HTTP (the socket takes JWTs only, app/realtime/socket_auth.py); no token: refused at connection_init.
SOCKET_ROLES = ["driver", "dispatcher", "supervisor", "admin"]
QUIET_SECONDS = 0.2  # a subscription that has nothing to say yet is fine: it is completed after this long


def subscription_documents(schema: GraphQLSchema) -> st.SearchStrategy[str]:
    """Subscriptions (one root field each), generated as queries of a schema whose query type is Subscription."""
    as_query = GraphQLSchema(query=schema.subscription_type, types=[t for n, t in schema.type_map.items() if not n.startswith("__")])
    return st.sampled_from(sorted(schema.subscription_type.fields)).flatmap(
        lambda name: queries(as_query, fields=[name], custom_scalars=CUSTOM_SCALARS, allow_x00=False).map(lambda d: "subscription " + d)
    )


def subscriber(socket: AsgiSocket, logged: Callable[[], list[str]]) -> Callable:
    """Subscribe, read the first answer (or nothing for a moment), complete the operation; the problems seen."""
    ids = iter(range(1, 10**9))

    async def subscribe(document: str, variables: dict | None) -> list[str]:
        op_id = str(next(ids))
        await socket.subscribe(op_id, document, variables or {})
        try:
            message = await socket.receive(timeout=QUIET_SECONDS)
        except TimeoutError:
            message = {}
        except SocketClosed as closed:
            return [f"the socket closed: {closed.code} {closed.reason}"]
        if message.get("type") not in ("complete", "error"):
            await socket.send({"id": op_id, "type": "complete"})
        return socket_problems(message) + logged()

    return subscribe


def socket_problems(message: dict) -> list[str]:
    payload = message.get("payload")
    errors = payload if message.get("type") == "error" else (payload or {}).get("errors") if isinstance(payload, dict) else None
    return [
        f"{e.get('path')}: {e.get('message')}" for e in errors or ()
        if (e.get("extensions") or {}).get("code") == "INTERNAL_ERROR" or e.get("message") == "Unexpected error."
    ]


def run_quietly(test: Callable[[], None]) -> str | None:
    """Run a hypothesis test; its failure report (every distinct failing example), or None."""
    try:
        test()
    except (AssertionError, BaseExceptionGroup) as failure:  # several distinct bugs come as a group
        return f"{failure}" + "".join(f"\n  {e}" for e in getattr(failure, "exceptions", ()))
    return None


def examples(name: str, count: int):  # noqa: ANN201
    """Fixed seed per backend and role (each role sees other documents), no example database, no deadline."""
    return lambda test: seed(zlib.crc32(name.encode()))(settings(
        max_examples=count, database=None, deadline=None, print_blob=False,
        phases=[Phase.explicit, Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck),
    )(test))


def sending(name: str, count: int, operations: st.SearchStrategy[str], schema: GraphQLSchema, send: Callable, loop: asyncio.AbstractEventLoop) -> Callable[[], None]:
    """The property for one role: each generated operation, its arguments inline or as variables, shows no problem."""

    @examples(name, count)
    @given(document=operations, as_variables=st.booleans())
    def each(document: str, as_variables: bool) -> None:
        variables = None
        if as_variables:
            document, variables = with_variables(schema, document)
        found = asyncio.run_coroutine_threadsafe(send(document, variables), loop).result(timeout=60)
        assert not found, f"{name}: {document}\nvariables: {variables}\n" + "\n".join(found)

    return each


async def test_no_generated_operation_breaks_the_server(seeded: Seeded, solver_pool) -> None:  # noqa: ANN001
    # given the seeded demo tenant, every role's token, and operations generated from the schema the app serves
    schema = build_schema(seeded.runtime.settings)._schema
    backend = seeded.runtime.engine.dialect.name
    loop = asyncio.get_running_loop()
    errors = ErrorLogs()
    logging.getLogger().addHandler(errors)
    failures: dict[str, str] = {}

    def logged() -> list[str]:
        found = [f"logged at {r.levelname} by {r.name}: {r.getMessage()}" + (f" {r.exc_info[1]!r}" if r.exc_info else "") for r in errors.records]
        errors.records.clear()
        return found

    try:
        async with client_for(seeded.runtime) as http:
            for role in ROLES:
                headers = {"Authorization": f"Bearer {seeded.tokens[role]}"} if seeded.tokens[role] else {}

                async def send(document: str, variables: dict | None, headers: dict = headers) -> list[str]:
                    # when each is sent over HTTP with the role's token (and each subscription over its socket)
                    response = await http.post("/graphql", json={"query": document, "variables": variables}, headers=headers)
                    await asyncio.sleep(0)  # let after-commit work the request scheduled log what it must
                    return problems(response) + logged()

                each_document = sending(f"{backend}:{role}", EXAMPLES, documents(schema), schema, send, loop)
                # hypothesis runs in a thread and hands each request to this test's event loop (the runtime's)
                if (report := await asyncio.to_thread(run_quietly, each_document)) is not None:
                    failures[f"http {role}"] = report

        for role in SOCKET_ROLES:
            socket = AsgiSocket(create_app(runtime=seeded.runtime))
            assert (await socket.init({"token": seeded.tokens[role]}))["type"] == "connection_ack"
            try:
                subscribe = subscriber(socket, logged)
                each_subscription = sending(
                    f"{backend}:{role}:subscriptions", SUBSCRIPTION_EXAMPLES, subscription_documents(schema), schema, subscribe, loop
                )
                if (report := await asyncio.to_thread(run_quietly, each_subscription)) is not None:
                    failures[f"socket {role}"] = report
            finally:
                await socket.close()
    finally:
        logging.getLogger().removeHandler(errors)

    # then no answer was a 5xx or an INTERNAL_ERROR, no socket closed on us, and nothing was logged at ERROR
    assert not failures, "\n\n".join(f"== {where}\n{report}" for where, report in failures.items())
