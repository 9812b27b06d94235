"""Resolve once, send to many: one execution and one JSON encoding per event for every socket that would get the same bytes.

On graphql-transport-ws, strawberry still runs everything up to the subscription's resolver for each socket
(parsing, validation, limits, the root field's permission, the depot check). From there the resolver hands its
rows to a SharedStream instead of yielding them: each row's selection set is executed once per RenderGroup —
(stream, document, payload variables, visibility key) — in a context of its own, encoded once, and every socket
of the group sends the same payload with its own operation id spliced into the `next` frame.

Each socket still follows the stream with its own cursor (hub followers), so replays after `after`, ordering,
de-duplication and the slow-consumer eviction (a socket that falls out of the bounded live buffer is closed
with 4008) are exactly those of the per-socket path; only the work per event is shared.
"""
import asyncio
import itertools
import json
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import aclosing
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from graphql import DocumentNode, ExecutionResult, Executor, GraphQLError, GraphQLSchema, execute_subscription_event
from strawberry.execution import optimized_is_awaitable
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler, Operation

from app.api.context import Context, Info
from app.api.extensions import log_errors, public_error
from app.auth.principal import Principal
from app.realtime.visibility import selection_of, visibility_key

log = logging.getLogger(__name__)

RENDERED_EVENTS_PER_GROUP = 512  # enough for a replay page and the live buffer; older renderings are made again


@dataclass(frozen=True)
class Delivery:
    """Where one graphql-transport-ws operation's frames go."""

    operation_id: str
    query: str
    variables: dict[str, Any]
    send_text: Callable[[str], Awaitable[None]]

    @property
    def frame_prefix(self) -> str:
        return '{"id": ' + json.dumps(self.operation_id) + ', "type": "next", "payload": '


_delivery: ContextVar[Delivery | None] = ContextVar("detour_shared_delivery", default=None)


class SharedDeliveryHandler(BaseGraphQLTransportWSHandler):
    """graphql-transport-ws, with each operation's task told how to send its frames itself."""

    async def run_operation(self, operation: Operation) -> None:
        send_text = getattr(getattr(self.websocket, "ws", None), "send_text", None)
        if send_text is not None:  # the task of this operation only: other operations and protocols are unaffected
            _delivery.set(Delivery(operation.id, operation.query, dict(operation.variables or {}), send_text))
        await super().run_operation(operation)


class RenderGroup:
    """The sockets that get the same bytes for an event: renders each event once, keeps the last few encodings."""

    def __init__(self, key: Hashable, *, stream_key: Hashable, schema: GraphQLSchema, document: DocumentNode, operation_name: str | None,
                 variables: dict[str, Any], principal: Principal, runtime: Any) -> None:
        self.key = key
        self.stream_key = stream_key
        self.schema = schema
        self.document = document
        self.operation_name = operation_name
        self.variables = variables
        self.principal = principal  # the first subscriber's: any member's gives the same payload (the visibility key)
        self.runtime = runtime
        self.users = 0
        self.renders = 0
        self._rendered: OrderedDict[Hashable, asyncio.Future[str]] = OrderedDict()
        # How a row of the hub's feed becomes an event: set by the first member when its stream is that feed
        self.row_key: Callable[[Any], Hashable] | None = None
        self.row_root: Callable[[Any], Any] | None = None

    @property
    def feed_key(self) -> tuple[int, Hashable]:
        return (id(self.runtime), self.stream_key)

    async def prerender(self, rows: list[Any]) -> None:
        """Render new feed rows before the members wake, so that none of them waits on the rendering."""
        if self.row_key is None or self.row_root is None:
            return
        key, root = self.row_key, self.row_root
        rendered = [self.payload(key(row), lambda row=row: root(row)) for row in rows[-RENDERED_EVENTS_PER_GROUP // 2:]]
        await asyncio.gather(*rendered, return_exceptions=True)  # a failure is retried by the members themselves

    def payload(self, event_key: Hashable, root: Callable[[], Any]) -> asyncio.Future[str]:
        """The encoded `payload` of the `next` message for this event, rendered by the first socket that asks."""
        rendered = self._rendered.get(event_key)
        if rendered is None or (rendered.done() and (rendered.cancelled() or rendered.exception() is not None)):
            rendered = asyncio.ensure_future(self._render(root()))  # not tied to the asking socket: it may leave
            self._rendered[event_key] = rendered
            while len(self._rendered) > RENDERED_EVENTS_PER_GROUP:
                self._rendered.popitem(last=False)
        return rendered

    async def _render(self, root: Any) -> str:
        self.renders += 1
        context = Context(runtime=self.runtime, request=None, response=None, request_id=f"fanout-{next(_render_ids)}", principal=self.principal)
        try:
            executor = Executor.build(
                self.schema, self.document, context_value=context, raw_variable_values=self.variables,
                operation_name=self.operation_name, is_awaitable=optimized_is_awaitable,
            )
            if isinstance(executor, list):  # cannot happen after strawberry validated the same variables: say so
                result = ExecutionResult(data=None, errors=executor)
            else:
                result = execute_subscription_event(executor.build_per_event_executor(root))
                if optimized_is_awaitable(result):
                    result = await result
        finally:
            await context.close()
        return json.dumps(_payload(result))


def _payload(result: ExecutionResult) -> dict[str, Any]:
    """As strawberry's `next` payload: errors logged, unexpected ones masked, none quoting what was sent."""
    payload: dict[str, Any] = {"data": result.data}
    if result.errors:
        log_errors(result.errors)
        payload["errors"] = [public_error(error).formatted for error in result.errors]
    return payload


_render_ids = itertools.count(1)
_groups: dict[Hashable, RenderGroup] = {}
_by_feed: dict[tuple[int, Hashable], set[RenderGroup]] = {}  # (runtime, feed source key) → the groups reading it


def _prerender_for(runtime_id: int):  # noqa: ANN202
    async def prerender(source_key: Hashable, rows: list[Any]) -> None:
        groups_of_feed = _by_feed.get((runtime_id, source_key))
        if groups_of_feed:
            await asyncio.gather(*(group.prerender(rows) for group in list(groups_of_feed)))

    return prerender


def groups() -> dict[Hashable, RenderGroup]:
    """The live render groups of this process (for tests and metrics)."""
    return _groups


class SharedStream:
    """One socket's operation on a render group."""

    def __init__(self, delivery: Delivery, group: RenderGroup) -> None:
        self.delivery = delivery
        self.group = group

    async def send(
        self, rows: AsyncIterator[Any], *, key: Callable[[Any], Hashable], root: Callable[[Any], Any], feed_rows: bool = False,
    ) -> None:
        """Send every row of `rows` as a `next` frame; returns only when the rows end.

        `feed_rows`: the rows are those of the hub's feed for the stream key, so new ones can be rendered up front.
        """
        group = self.group
        if feed_rows and group.row_key is None:
            group.row_key, group.row_root = key, root
        prefix = self.delivery.frame_prefix
        send_text = self.delivery.send_text
        group.users += 1
        try:
            # closed here, not when the collector gets to it: a feed follows the socket's rows only while they are open
            async with aclosing(rows):
                async for row in rows:
                    rendered = group.payload(key(row), lambda row=row: root(row))
                    payload = rendered.result() if rendered.done() else await asyncio.shield(rendered)
                    try:
                        await send_text(prefix + payload + "}")
                    except Exception:  # the socket is gone: strawberry cancels this operation as the connection ends
                        log.debug("shared delivery: socket closed")
                        await asyncio.Future()
        finally:
            group.users -= 1
            if group.users == 0 and _groups.get(group.key) is group:
                del _groups[group.key]
                feed_groups = _by_feed.get(group.feed_key)
                if feed_groups is not None:
                    feed_groups.discard(group)
                    if not feed_groups:
                        del _by_feed[group.feed_key]


def shared_stream(info: Info, stream_key: Hashable) -> SharedStream | None:
    """A shared stream for this operation when it runs on graphql-transport-ws; None elsewhere (yield as usual)."""
    delivery = _delivery.get()
    if delivery is None:
        return None
    raw = info._raw_info  # noqa: SLF001 - the validated document: what strawberry would execute per event
    operation = raw.operation
    root = raw.field_nodes[0]
    document = DocumentNode(definitions=(operation, *raw.fragments.values()))
    selection = selection_of(raw.schema, document, operation, root)
    payload_variables = {name: delivery.variables[name] for name in sorted(selection.variables) if name in delivery.variables}
    principal = info.context.viewer
    key = (
        id(info.context.runtime), id(raw.schema), stream_key, delivery.query, operation.name.value if operation.name else None,
        json.dumps(payload_variables, sort_keys=True, default=str), visibility_key(principal, selection),
    )
    runtime = info.context.runtime
    if not any(getattr(prepare, "fanout", False) for prepare in runtime.hub.prepare):
        prerender = _prerender_for(id(runtime))
        prerender.fanout = True  # type: ignore[attr-defined]
        runtime.hub.prepare.append(prerender)
    group = _groups.get(key)
    if group is None:
        group = _groups[key] = RenderGroup(
            key, stream_key=stream_key, schema=raw.schema, document=document, operation_name=operation.name.value if operation.name else None,
            variables=delivery.variables, principal=principal, runtime=runtime,
        )
        _by_feed.setdefault(group.feed_key, set()).add(group)
    return SharedStream(delivery, group)
