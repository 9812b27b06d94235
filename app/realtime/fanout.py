"""Resolve once, send to many: one execution and one JSON encoding per event for every socket that would get the same bytes.

On graphql-transport-ws, strawberry still runs everything up to the subscription's resolver for each socket
(parsing, validation, limits, the root field's permission, the depot check). From there the resolver hands its
rows to a SharedStream instead of yielding them: each row's selection set is executed once per RenderGroup —
(stream, document, payload variables, visibility key) — in a context of its own, encoded once, and every socket
of the group sends the same payload with its own operation id spliced into the `next` frame.

On a hub feed (`SharedStream.follow`), a socket replays what it missed after `after` with its own cursor, then
joins its group as a live Member: the group is a sink of the feed, and the feed's task renders each new row once
and offers it to every member in order — no task per socket wakes for an event. A member whose socket cannot
take a frame right away queues it (its own task drains the queue); more than the feed's buffer waiting makes
it a slow consumer, closed with 4008 and the cursor of the last frame it was sent. Other streams (merged route
updates, positions) go through `SharedStream.send`: a loop per socket, with the rendering still shared.
"""
import asyncio
import itertools
import json
import logging
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Hashable
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
from app.clock import SYSTEM_CLOCK
from app.realtime.feeds import Feed, Follower, Hub, SlowConsumer
from app.realtime.sources import EventSource
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
        # Live members, pushed to by the feed they follow (a group has one stream, so one feed at a time)
        self.members: dict[Member, None] = {}  # insertion-ordered: frames go out in the order sockets joined
        self.feed: Feed | None = None
        self.root: Callable[[Any], Any] | None = None  # how a row of that feed becomes the event's root value

    # -- a sink of the feed ----------------------------------------------------------------------------------------
    async def prepare(self, rows: list[Any]) -> None:
        """Render new rows before they are offered, so that no member waits on a rendering."""
        if self.members and self.root is not None:
            root = self.root
            rendered = [self.payload(row.id, lambda row=row: root(row)) for row in rows[-RENDERED_EVENTS_PER_GROUP // 2:]]
            await asyncio.gather(*rendered, return_exceptions=True)  # a failure is met again, and handled, by the members

    def push(self, rows: list[Any]) -> None:
        """Offer each new row to every live member, in order (the feed's task: never blocks)."""
        if not self.members or self.root is None:
            return
        root, now = self.root, SYSTEM_CLOCK.now().timestamp()  # tokens are checked against the real time (pyjwt)
        for row in rows:
            rendered = self.payload(row.id, lambda row=row: root(row))
            payload: str | asyncio.Future[str] = rendered
            if rendered.done() and not rendered.cancelled() and rendered.exception() is None:
                payload = rendered.result()
            for member in list(self.members):
                member.offer(row.id, payload, now)

    def join(self, member: "Member", feed: Feed) -> None:
        if not self.members:
            self.feed = feed
            feed.sinks.add(self)
        self.members[member] = None

    def leave(self, member: "Member") -> None:
        if self.members.pop(member, 0) is not None and not self.members and self.feed is not None:
            self.feed.sinks.discard(self)
            self.feed = None

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


async def _send_rendered(group: "RenderGroup", event_key: Hashable, root: Callable[[], Any], prefix: str,
                         send_text: Callable[[str], Awaitable[None]]) -> None:
    """The group's rendering of one event sent as this socket's `next` frame (`prefix`: the frame up to its payload)."""
    rendered = group.payload(event_key, root)
    payload = rendered.result() if rendered.done() else await asyncio.shield(rendered)
    try:
        await send_text(prefix + payload + "}")
    except Exception:  # the socket is gone: strawberry cancels this operation as the connection ends
        log.debug("shared delivery: socket closed")
        await asyncio.Future()


_render_ids = itertools.count(1)
_groups: dict[Hashable, RenderGroup] = {}


def groups() -> dict[Hashable, RenderGroup]:
    """The live render groups of this process (for tests and metrics)."""
    return _groups


class SharedStream:
    """One socket's operation on a render group."""

    def __init__(self, delivery: Delivery, group: RenderGroup) -> None:
        self.delivery = delivery
        self.group = group

    async def follow(
        self, hub: Hub, source: EventSource, after: int | None, *, root: Callable[[Any], Any], expires_at: float | None,
        on_slow: Callable[[int], None], on_expired: Callable[[], None],
    ) -> None:
        """Send every row of the hub's feed for `source` after `after` as a `next` frame; returns never (the socket ends it).

        `on_slow(cursor)` and `on_expired()` close the socket (4008 with the cursor to resume from, 4403).
        """
        group = self.group
        group.root = group.root or root
        prefix, send_text = self.delivery.frame_prefix, self.delivery.send_text
        member: Member | None = None

        async def replay(row: Any) -> None:
            if expires_at is not None and SYSTEM_CLOCK.now().timestamp() >= expires_at:
                on_expired()
                await asyncio.Future()
            await _send_rendered(group, row.id, lambda: root(row), prefix, send_text)

        async def live(feed: Feed, follower: Follower) -> None:
            nonlocal member
            member = Member(group, self.delivery, cursor=follower.cursor, limit=feed.buffer_size, expires_at=expires_at,
                            on_slow=on_slow, on_expired=on_expired)
            group.join(member, feed)  # before any await: the feed offers every row after the follower's cursor
            await member.ended  # raises when a rendering failed outright, as the per-socket path would
            await asyncio.Future()  # closed by the member's end (or gone): strawberry cancels this operation

        group.users += 1
        try:
            await hub.follow(source, after, replay=replay, live=live, on_evicted=on_slow)
        except SlowConsumer:  # evicted while replaying: `on_slow` has closed the socket
            await asyncio.Future()
        finally:
            if member is not None:
                member.close()
            self._left()

    async def send(self, rows: AsyncIterator[Any], *, key: Callable[[Any], Hashable], root: Callable[[Any], Any]) -> None:
        """Send every row of `rows` as a `next` frame from this operation's task; returns only when the rows end."""
        group = self.group
        prefix = self.delivery.frame_prefix
        send_text = self.delivery.send_text
        group.users += 1
        try:
            # closed here, not when the collector gets to it: a feed follows the socket's rows only while they are open
            async with aclosing(rows):
                async for row in rows:
                    await _send_rendered(group, key(row), lambda row=row: root(row), prefix, send_text)
        finally:
            self._left()

    def _left(self) -> None:
        group = self.group
        group.users -= 1
        if group.users == 0 and _groups.get(group.key) is group:
            del _groups[group.key]


class Member:
    """One socket's operation on a render group once it is live: the feed's task offers it each event in order.

    A frame is sent on the spot when nothing of this member is waiting to go out (no task switch per delivery);
    otherwise it waits in a queue drained by a task of the member's own, and a member whose queue grows beyond
    `limit` is a slow consumer. `sent` is the id of the last event whose send completed: the cursor to resume from.
    """

    __slots__ = ("delivery", "prefix", "send_text", "limit", "cursor", "sent", "expires_at", "queue", "sending", "ended",
                 "_on_slow", "_on_expired", "group")

    def __init__(self, group: "RenderGroup", delivery: Delivery, *, cursor: int, limit: int, expires_at: float | None,
                 on_slow: Callable[[int], None], on_expired: Callable[[], None]) -> None:
        self.group = group
        self.delivery = delivery
        self.prefix = delivery.frame_prefix
        self.send_text = delivery.send_text
        self.limit = limit
        self.cursor = cursor  # the last event handed to this member (sent or queued)
        self.sent = cursor
        self.expires_at = expires_at
        self.queue: deque[tuple[int, str | asyncio.Future[str]]] = deque()
        self.sending: asyncio.Task[None] | None = None
        self.ended: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._on_slow = on_slow
        self._on_expired = on_expired

    def offer(self, event_id: int, payload: str | asyncio.Future[str], now: float) -> None:
        if event_id <= self.cursor or self.ended.done():  # sent while it replayed, or on its way out
            return
        if self.expires_at is not None and now >= self.expires_at:
            self._end(self._on_expired)
            return
        self.cursor = event_id
        if self.sending is None and type(payload) is str:
            self._send_now(event_id, payload)
            return
        self.queue.append((event_id, payload))
        if len(self.queue) > self.limit:
            self._end(lambda: self._on_slow(self.sent))
        elif self.sending is None:
            self.sending = asyncio.create_task(self._drain(None))

    def _send_now(self, event_id: int, payload: str) -> None:
        sending = self.send_text(self.prefix + payload + "}")
        try:
            waiting_on = sending.send(None)  # the send runs here, in the feed's task, until it has to wait
        except StopIteration:
            self.sent = event_id
            return
        except Exception:  # the socket is gone: strawberry cancels this operation as the connection ends
            log.debug("shared delivery: socket closed")
            self._end(None)
            return
        self.sending = asyncio.create_task(self._drain((sending, waiting_on, event_id)))

    async def _drain(self, started: tuple[Coroutine[Any, Any, Any], Any, int] | None) -> None:
        try:
            if started is not None:
                sending, waiting_on, event_id = started
                await _resume(sending, waiting_on)
                self.sent = event_id
            while self.queue:
                event_id, payload = self.queue[0]
                if type(payload) is not str:
                    try:
                        payload = payload.result() if payload.done() else await asyncio.shield(payload)
                    except asyncio.CancelledError:
                        raise
                    except Exception as error:  # a rendering that failed outright ends the operation, as per socket
                        self._end(None, error)
                        return
                await self.send_text(self.prefix + payload + "}")
                self.queue.popleft()
                self.sent = event_id
        except asyncio.CancelledError:
            raise
        except Exception:  # the socket is gone: strawberry cancels this operation as the connection ends
            log.debug("shared delivery: socket closed")
            self._end(None)
        finally:
            if self.sending is asyncio.current_task():
                self.sending = None

    def close(self) -> None:
        """The operation ended (completed by the client, the socket closed): stop sending."""
        self._end(None)
        if not self.ended.cancelled():
            self.ended.exception()  # retrieved: whoever awaited it has seen it

    def _end(self, then: Callable[[], None] | None, error: BaseException | None = None) -> None:
        """Leave the group (a slow consumer, an expired token, a closed socket); `then` closes the socket."""
        self.group.leave(self)
        self.queue.clear()
        if self.sending is not None and self.sending is not asyncio.current_task():
            self.sending.cancel()
            self.sending = None
        if not self.ended.done():
            if error is not None:
                self.ended.set_exception(error)
            else:
                self.ended.set_result(None)
            if then is not None:
                then()


async def _resume(coroutine: Coroutine[Any, Any, Any], waiting_on: Any) -> Any:
    """Finish, in this task, a coroutine that was stepped by hand until it had to wait on `waiting_on` (as a task would)."""
    while True:
        try:
            if waiting_on is None:  # a bare yield (asyncio.sleep(0))
                await asyncio.sleep(0)
            else:
                waiting_on._asyncio_future_blocking = False  # as a task does with what its coroutine yields  # noqa: SLF001
                await waiting_on
        except asyncio.CancelledError:
            coroutine.close()
            raise
        except Exception:  # noqa: BLE001, S110 - the coroutine itself meets the outcome when it resumes
            pass
        try:
            waiting_on = coroutine.send(None)
        except StopIteration as done:
            return done.value


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
    group = _groups.get(key)
    if group is None:
        group = _groups[key] = RenderGroup(
            key, stream_key=stream_key, schema=raw.schema, document=document, operation_name=operation.name.value if operation.name else None,
            variables=delivery.variables, principal=principal, runtime=runtime,
        )
    return SharedStream(delivery, group)
