"""Subscriptions: the depot's exception queue, a route's changes and the live map, all resumable."""
import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Any

import strawberry
from strawberry.exceptions import StrawberryGraphQLError

from app.api.common import MAX_ID
from app.clock import SYSTEM_CLOCK
from app.api.context import Info
from app.auth.permissions import IsDriverOrStaff, IsStaff
from app.auth.principal import may_see_depot
from app.delivery_exceptions.models import ExceptionEvent
from app.delivery_exceptions.types import ExceptionEventType
from app.realtime.context import event_scope
from app.realtime.fanout import shared_stream
from app.realtime.feeds import SlowConsumer
from app.realtime.models import RouteEvent
from app.realtime.positions import depot_positions
from app.realtime.sources import DepotExceptionEvents, RouteChanges, RouteExceptionEvents
from app.realtime.types import RouteUpdateKind, RouteUpdateType
from app.routes.service import get_visible_route
from app.tenants.models import Depot
from app.tracking.types import DriverPositionType

log = logging.getLogger(__name__)

# Private-use close codes (4000-4999), distinct from the 44xx codes graphql-transport-ws assigns.
SLOW_CONSUMER_CLOSE_CODE = 4008
TOKEN_EXPIRED_CLOSE_CODE = 4403
_closing: set[asyncio.Task[None]] = set()


def _error(message: str, code: str) -> StrawberryGraphQLError:
    return StrawberryGraphQLError(message, extensions={"code": code})


def _id(value: strawberry.ID | str, what: str) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise _error(f"{what} not found", "NOT_FOUND") from None
    if not 0 < number <= MAX_ID:
        raise _error(f"{what} not found", "NOT_FOUND")
    return number


MAX_EVENT_ID = 2**63 - 1  # event ids are BIGINT on PostgreSQL


def _event_cursor(value: strawberry.ID | None) -> int | None:
    if value is None:
        return None
    try:
        return min(max(int(str(value)), 0), MAX_EVENT_ID)
    except ValueError:
        raise _error("`after` must be an event id this subscription gave out", "INVALID_INPUT") from None


def _route_cursor(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    exceptions, _, changes = value.partition(":")
    try:
        return min(max(int(exceptions), 0), MAX_EVENT_ID), min(max(int(changes), 0), MAX_EVENT_ID)
    except ValueError:
        raise _error("`after` must be a cursor this subscription gave out", "INVALID_INPUT") from None


def _close_socket(info: Info, code: int, reason: str) -> None:
    """Close the WebSocket from any task (a slow consumer may be stuck sending); closing twice is harmless."""
    websocket = info.context.request

    async def close() -> None:
        try:
            await websocket.close(code=code, reason=reason)
        except Exception:  # already closed by another subscription or by the client
            log.debug("websocket already closed")

    task = asyncio.create_task(close())
    _closing.add(task)
    task.add_done_callback(_closing.discard)


async def _end_with_socket(info: Info, code: int, reason: str) -> None:
    """Close the socket and wait to be cancelled when the connection ends (no `complete` on a closed socket)."""
    _close_socket(info, code, reason)
    await asyncio.Future()


def _token_expired(info: Info) -> bool:
    expires_at = getattr(info.context, "expires_at", None)
    # Tokens are signed and checked against the real time (pyjwt), so their expiry is too.
    return expires_at is not None and SYSTEM_CLOCK.now().timestamp() >= expires_at


async def _delivered(info: Info, rows: AsyncIterator[Any]) -> AsyncIterator[Any]:
    """Rows for one socket: ends the socket when the client is too slow or its token has expired."""
    try:
        async with aclosing(rows):  # the feed stops following as soon as this socket's stream ends
            async for row in rows:
                if _token_expired(info):
                    await _end_with_socket(info, TOKEN_EXPIRED_CLOSE_CODE, "token expired")
                yield row
    except SlowConsumer as slow:
        log.info("slow consumer closed", extra={"cursor": slow.cursor})
        await _end_with_socket(info, SLOW_CONSUMER_CLOSE_CODE, f"slow consumer: resubscribe with after={slow.cursor}")


def _on_evicted(info: Info):  # noqa: ANN202
    def evicted(cursor: int) -> None:
        log.info("slow consumer closed", extra={"cursor": cursor})
        _close_socket(info, SLOW_CONSUMER_CLOSE_CODE, f"slow consumer: resubscribe with after={cursor}")

    return evicted


async def _visible_depot(info: Info, depot_id: strawberry.ID) -> Depot:
    principal = info.context.viewer
    async with info.context.runtime.hub.socket_session() as session:
        depot = await session.get(Depot, _id(depot_id, "depot"))
    if depot is None or depot.tenant_id != principal.tenant_id or not may_see_depot(principal, depot.id):
        raise _error("depot not found", "NOT_FOUND")  # another tenant's depot does not exist for the caller
    return depot


async def _merged(streams: dict[str, AsyncIterator[Any]]) -> AsyncIterator[tuple[str, Any]]:
    """Interleave several streams in arrival order; a queue of one keeps each stream's backpressure."""
    queue: asyncio.Queue[tuple[str, Any, BaseException | None]] = asyncio.Queue(maxsize=1)

    async def pump(tag: str, stream: AsyncIterator[Any]) -> None:
        try:
            async for row in stream:
                await queue.put((tag, row, None))
        except Exception as error:  # handed to the consumer, which raises it
            await queue.put((tag, None, error))

    tasks = [asyncio.create_task(pump(tag, stream)) for tag, stream in streams.items()]
    try:
        while True:
            tag, row, error = await queue.get()
            if error is not None:
                raise error
            yield tag, row
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@strawberry.type
class RealtimeSubscription:
    @strawberry.subscription(
        permission_classes=[IsStaff],
        description="Every event of every exception in the depot, in order. Pass the last event id you received as "
        "`after` to replay what you missed first; without it the stream starts now.",
    )
    async def exception_events(
        self, info: Info, depot_id: strawberry.ID, after: strawberry.ID | None = None
    ) -> AsyncGenerator[ExceptionEventType, None]:
        depot = await _visible_depot(info, depot_id)
        source = DepotExceptionEvents(depot.tenant_id, depot.id)
        hub = info.context.runtime.hub
        cursor = _event_cursor(after)
        shared = shared_stream(info, source.key)
        if shared is not None:  # the feed's task sends each event to the socket, rendered once for its group
            await shared.follow(
                hub, source, cursor, root=ExceptionEventType.from_row, expires_at=getattr(info.context, "expires_at", None),
                on_slow=_on_evicted(info), on_expired=lambda: _close_socket(info, TOKEN_EXPIRED_CLOSE_CODE, "token expired"),
            )
            return
        rows = _delivered(info, hub.stream(source, cursor, on_evicted=_on_evicted(info)))
        async for row in rows:
            async with event_scope(info.context):
                yield ExceptionEventType.from_row(row)

    @strawberry.subscription(
        permission_classes=[IsDriverOrStaff],
        description="Changes to a route for its driver and the depot's staff: stops, ETAs, new versions and exception "
        "events on it. Pass the last `cursor` you received as `after` to replay what you missed first.",
    )
    async def route_updates(
        self, info: Info, route_id: strawberry.ID, after: str | None = None
    ) -> AsyncGenerator[RouteUpdateType, None]:
        async with info.context.runtime.hub.socket_session() as session:
            route = await get_visible_route(session=session, principal=info.context.viewer, route_id=_id(route_id, "route"))
            if route is None:
                raise _error("route not found", "NOT_FOUND")
            exception_source = RouteExceptionEvents(route.tenant_id, route.depot_id, route.id)
            change_source = RouteChanges(route.tenant_id, route.id)
            start = _route_cursor(after) or (await exception_source.newest_id(session), await change_source.newest_id(session))
        hub = info.context.runtime.hub
        evicted = _on_evicted(info)
        streams = {
            "exception": hub.stream(exception_source, start[0], on_evicted=evicted),
            "change": hub.stream(change_source, start[1], on_evicted=evicted),
        }
        updates = _route_updates(_delivered(info, _merged(streams)), start)
        shared = shared_stream(info, (exception_source.key, change_source.key))
        if shared is not None:
            await shared.send(updates, key=lambda update: (update.kind, update.cursor), root=lambda update: update)
            return
        async for update in updates:
            async with event_scope(info.context):
                yield update

    @strawberry.subscription(
        permission_classes=[IsStaff],
        description="The live map: the current position of each driver of the depot, then newer fixes and next-stop "
        "ETAs, at most one update per driver every few seconds (DETOUR_REALTIME_POSITION_INTERVAL_SECONDS).",
    )
    async def driver_positions(self, info: Info, depot_id: strawberry.ID) -> AsyncGenerator[DriverPositionType, None]:
        depot = await _visible_depot(info, depot_id)
        runtime = info.context.runtime
        positions = depot_positions(
            bus=runtime.bus, sessionmaker=runtime.sessionmaker, tenant_id=depot.tenant_id, depot_id=depot.id,
            interval_seconds=runtime.settings.realtime_position_interval_seconds, clock=runtime.clock,
        )
        shared = shared_stream(info, ("driver-positions", depot.tenant_id, depot.id))
        if shared is not None:
            # the key is everything the payload shows: a later ETA for the same fix is a new rendering
            await shared.send(_delivered(info, positions), key=lambda item: (item[0].driver_id, item[0].recorded_at, item[1]),
                              root=lambda item: DriverPositionType.from_row(*item))
            return
        async for position, next_stop in _delivered(info, positions):
            yield DriverPositionType.from_row(position, next_stop)


async def _route_updates(rows: AsyncIterator[tuple[str, Any]], start: tuple[int, int]) -> AsyncIterator[RouteUpdateType]:
    """Each row as a route update whose cursor names both streams' positions (the cursor tells updates apart)."""
    exceptions_cursor, changes_cursor = start
    async for tag, row in rows:
        if tag == "exception":
            exceptions_cursor = row.id
            yield _exception_update(row, f"{exceptions_cursor}:{changes_cursor}")
        else:
            changes_cursor = row.id
            yield _change_update(row, f"{exceptions_cursor}:{changes_cursor}")


def _exception_update(row: ExceptionEvent, cursor: str) -> RouteUpdateType:
    return RouteUpdateType(
        cursor=cursor, kind=RouteUpdateKind.EXCEPTION_EVENT, route_id=strawberry.ID(str(row.route_id)), route_version=None,
        occurred_at=row.occurred_at, exception_event=ExceptionEventType.from_row(row), stop_ids=[],
    )


def _change_update(row: RouteEvent, cursor: str) -> RouteUpdateType:
    return RouteUpdateType(
        cursor=cursor, kind=RouteUpdateKind(row.kind.value), route_id=strawberry.ID(str(row.route_id)),
        route_version=row.route_version, occurred_at=row.occurred_at, exception_event=None, stop_ids=list(row.stop_ids),
    )
