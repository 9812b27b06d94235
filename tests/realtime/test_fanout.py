"""Resolve once, send to many: sockets with the same document and visibility share one rendering of each event,
and nothing is shared across roles, users (for unaudited types) or tenants."""
import asyncio
import json
from collections.abc import AsyncGenerator
from pathlib import Path

import pytest
import strawberry
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from app.api.context import Info
from app.api.view import DetourGraphQL
from app.realtime.fanout import groups, shared_stream
from app.realtime.sources import DepotExceptionEvents
from app.tenants.models import Role, User
from tests.realtime.asgi_socket import AsgiSocket
from tests.realtime.conftest import add_notes, open_exception, until

DISPATCHER_DOCUMENT = (Path(__file__).resolve().parents[2] / "graphql" / "dispatcher" / "ExceptionEvents.graphql").read_text()


async def _colleague(runtime, of: User) -> User:  # noqa: ANN001
    """A second user with the same role in the same tenant."""
    async with runtime.sessionmaker() as session, session.begin():
        user = User(tenant_id=of.tenant_id, email=f"second-{of.email}", name=f"Second {of.name}", role=of.role)
        session.add(user)
    return user


async def _socket(app, sockets: list[AsgiSocket], token: str) -> AsgiSocket:  # noqa: ANN001
    socket = AsgiSocket(app)
    sockets.append(socket)
    assert (await socket.init({"token": token}))["type"] == "connection_ack"
    return socket


async def _frames(socket: AsgiSocket, count: int, timeout: float = 10) -> list[dict]:
    """The next `count` raw `next` frames, decoded."""
    frames = []
    while len(frames) < count:
        message = json.loads((await socket._next(timeout))["text"])  # noqa: SLF001
        if message["type"] == "next":
            frames.append(message)
    return frames


def _live_followers(runtime) -> int:  # noqa: ANN001
    return sum(1 for feed in runtime.hub.feeds.values() for follower in feed.followers if follower.live)


async def test_dispatchers_share_one_rendering_of_each_event_with_their_own_operation_ids(asgi_app, sockets, factory, runtime):
    # given two dispatchers and a supervisor of one depot on the real dispatcher document (actor { id name } included)
    fleet = await factory.fleet(stops=1)
    exception_id = await open_exception(runtime, fleet.driver, fleet.stops[0].id)
    colleague = await _colleague(runtime, fleet.dispatcher)
    variables = {"depotId": str(fleet.depot.id)}
    first = await _socket(asgi_app, sockets, factory.token(fleet.dispatcher))
    second = await _socket(asgi_app, sockets, factory.token(colleague))
    supervisor = await _socket(asgi_app, sockets, factory.token(fleet.supervisor))
    for socket, op_id in ((first, "first"), (second, "op-2"), (supervisor, "sup")):
        await socket.subscribe(op_id, DISPATCHER_DOCUMENT, variables)
    await until(lambda: _live_followers(runtime) == 3)

    # when three notes are added
    await add_notes(runtime, fleet.dispatcher, exception_id, 3)
    received = {name: await _frames(socket, 3) for name, socket in (("first", first), ("second", second), ("sup", supervisor))}

    # then each socket gets every event in order, under its own operation id, with the actor resolved
    assert [f["id"] for f in received["first"]] == ["first"] * 3 and [f["id"] for f in received["second"]] == ["op-2"] * 3
    events = [f["payload"]["data"]["exceptionEvents"] for f in received["first"]]
    assert [e["type"] for e in events] == ["NOTE_ADDED"] * 3
    assert all(e["actor"] == {"id": str(fleet.dispatcher.id), "name": fleet.dispatcher.name} for e in events)
    assert [int(e["id"]) for e in events] == sorted(int(e["id"]) for e in events)
    # and both dispatchers got the very same payloads, the supervisor equal ones from a rendering of its own
    assert [f["payload"] for f in received["second"]] == [f["payload"] for f in received["first"]]
    assert [f["payload"] for f in received["sup"]] == [f["payload"] for f in received["first"]]
    by_role = {group.principal.role: group for group in groups().values() if group.principal.tenant_id == fleet.tenant.id}
    assert set(by_role) == {Role.DISPATCHER, Role.SUPERVISOR}
    assert by_role[Role.DISPATCHER].users == 2 and by_role[Role.DISPATCHER].renders == 3
    assert by_role[Role.SUPERVISOR].renders == 3


async def test_replay_after_a_cursor_is_shared_too_and_keeps_order(asgi_app, sockets, factory, runtime):
    # given stored events and two dispatchers resuming from different cursors
    fleet = await factory.fleet(stops=1)
    exception_id = await open_exception(runtime, fleet.driver, fleet.stops[0].id)
    await add_notes(runtime, fleet.dispatcher, exception_id, 4)
    colleague = await _colleague(runtime, fleet.dispatcher)
    early = await _socket(asgi_app, sockets, factory.token(fleet.dispatcher))
    late = await _socket(asgi_app, sockets, factory.token(colleague))
    await early.subscribe("q", DISPATCHER_DOCUMENT, {"depotId": str(fleet.depot.id), "after": "0"})
    replayed = [f["payload"]["data"]["exceptionEvents"]["id"] for f in await _frames(early, 5)]
    await late.subscribe("q", DISPATCHER_DOCUMENT, {"depotId": str(fleet.depot.id), "after": replayed[2]})

    # when one more note is added
    await add_notes(runtime, fleet.dispatcher, exception_id, 1)

    # then each gets what follows its own cursor, in order, once
    early_rest = [f["payload"]["data"]["exceptionEvents"]["id"] for f in await _frames(early, 1)]
    late_all = [f["payload"]["data"]["exceptionEvents"]["id"] for f in await _frames(late, 3)]
    assert late_all == replayed[3:] + early_rest
    # and the events both needed were rendered once for the group
    group = next(g for g in groups().values() if g.principal.tenant_id == fleet.tenant.id)
    assert group.renders == 6


# A schema of its own whose event type is audited as viewer-independent (named ExceptionEvent) but is not: the
# role must still split the renderings; and a type that is not audited, which must be rendered per user.
@strawberry.type(name="ExceptionEvent")
class RoleShapedEvent:
    id: strawberry.ID

    @strawberry.field
    def seen_as(self, info: Info) -> str:
        return f"{info.context.viewer.role.value} view of {self.id}"


@strawberry.type(name="PersonalNote")
class PersonalNote:
    id: strawberry.ID

    @strawberry.field
    def for_user(self, info: Info) -> str:
        return f"for user {info.context.viewer.user_id}"


async def _visible_rows(info: Info, depot_id: strawberry.ID):  # noqa: ANN202
    viewer = info.context.viewer
    source = DepotExceptionEvents(viewer.tenant_id, int(depot_id))  # scoped to the caller's tenant, as the real source
    return source, info.context.runtime.hub.stream(source, None)


@strawberry.type
class _Query:
    ok: bool = True


@strawberry.type
class _Subscription:
    @strawberry.subscription
    async def events(self, info: Info, depot_id: strawberry.ID) -> AsyncGenerator[RoleShapedEvent, None]:
        source, rows = await _visible_rows(info, depot_id)
        shared = shared_stream(info, source.key)
        assert shared is not None
        await shared.send(rows, key=lambda row: row.id, root=lambda row: RoleShapedEvent(id=strawberry.ID(str(row.id))))
        yield  # pragma: no cover - an async generator

    @strawberry.subscription
    async def notes(self, info: Info, depot_id: strawberry.ID) -> AsyncGenerator[PersonalNote, None]:
        source, rows = await _visible_rows(info, depot_id)
        shared = shared_stream(info, source.key)
        assert shared is not None
        await shared.send(rows, key=lambda row: row.id, root=lambda row: PersonalNote(id=strawberry.ID(str(row.id))))
        yield  # pragma: no cover - an async generator


@pytest.fixture
def shaped_app(runtime):  # noqa: ANN001, ANN201
    schema = strawberry.Schema(query=_Query, subscription=_Subscription)
    view = DetourGraphQL(schema, runtime, subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,))
    return Starlette(routes=[WebSocketRoute("/graphql", view)])


async def test_two_roles_get_different_payloads_and_another_tenant_gets_nothing(shaped_app, sockets, factory, runtime):
    # given a dispatcher and a supervisor of one depot, and a dispatcher of another tenant asking for the same depot id
    fleet = await factory.fleet(stops=1)
    other = await factory.fleet(stops=1)
    exception_id = await open_exception(runtime, fleet.driver, fleet.stops[0].id)
    query = "subscription($d: ID!) { events(depotId: $d) { id seenAs } }"
    watchers = {}
    for name, user in (("dispatcher", fleet.dispatcher), ("supervisor", fleet.supervisor), ("stranger", other.dispatcher)):
        watchers[name] = await _socket(shaped_app, sockets, factory.token(user))
        await watchers[name].subscribe("q", query, {"d": str(fleet.depot.id)})
    await until(lambda: _live_followers(runtime) == 3)

    # when a note is added on the first tenant's depot
    await add_notes(runtime, fleet.dispatcher, exception_id, 1)
    dispatcher = (await _frames(watchers["dispatcher"], 1))[0]["payload"]["data"]["events"]
    supervisor = (await _frames(watchers["supervisor"], 1))[0]["payload"]["data"]["events"]

    # then each role sees its own payload of the same event
    assert dispatcher["id"] == supervisor["id"]
    assert dispatcher["seenAs"] == f"dispatcher view of {dispatcher['id']}"
    assert supervisor["seenAs"] == f"supervisor view of {dispatcher['id']}"
    # and the other tenant's socket gets nothing at all
    with pytest.raises(TimeoutError):
        await _frames(watchers["stranger"], 1, timeout=0.5)


async def test_a_type_not_audited_is_rendered_per_user(shaped_app, sockets, factory, runtime):
    # given two dispatchers of one depot selecting a type that is not known to be the same for every viewer
    fleet = await factory.fleet(stops=1)
    exception_id = await open_exception(runtime, fleet.driver, fleet.stops[0].id)
    colleague = await _colleague(runtime, fleet.dispatcher)
    query = "subscription($d: ID!) { notes(depotId: $d) { id forUser } }"
    first = await _socket(shaped_app, sockets, factory.token(fleet.dispatcher))
    second = await _socket(shaped_app, sockets, factory.token(colleague))
    for socket in (first, second):
        await socket.subscribe("q", query, {"d": str(fleet.depot.id)})
    await until(lambda: _live_followers(runtime) == 2)

    # when a note is added
    await add_notes(runtime, fleet.dispatcher, exception_id, 1)
    payloads = await asyncio.gather(*(_frames(socket, 1) for socket in (first, second)))

    # then each dispatcher gets their own rendering
    assert [p[0]["payload"]["data"]["notes"]["forUser"] for p in payloads] == [f"for user {fleet.dispatcher.id}", f"for user {colleague.id}"]


class _TaskRecordingSocket(AsgiSocket):
    """Notes the name of the server task that sent each `next` frame."""

    def __init__(self, app, **kwargs) -> None:  # noqa: ANN001
        super().__init__(app, **kwargs)
        self.senders: list[str] = []

    async def _send(self, message: dict) -> None:
        if message["type"] == "websocket.send" and '"type": "next"' in message.get("text", ""):
            self.senders.append(asyncio.current_task().get_name())
        await super()._send(message)


async def test_live_events_go_out_from_the_feed_task_and_a_stalled_socket_holds_nobody_up(asgi_app, sockets, factory, runtime):
    # given two dispatchers on the dispatcher document, one of whom stops reading after two frames
    fleet = await factory.fleet(stops=1)
    exception_id = await open_exception(runtime, fleet.driver, fleet.stops[0].id)
    colleague = await _colleague(runtime, fleet.dispatcher)
    reading = _TaskRecordingSocket(asgi_app)
    stalled = _TaskRecordingSocket(asgi_app, unread_limit=2)
    for socket, user in ((reading, fleet.dispatcher), (stalled, colleague)):
        sockets.append(socket)
        assert (await socket.init({"token": factory.token(user)}))["type"] == "connection_ack"
        await socket.subscribe("q", DISPATCHER_DOCUMENT, {"depotId": str(fleet.depot.id)})
    await until(lambda: _live_followers(runtime) == 2)

    # when eight notes are added
    await add_notes(runtime, fleet.dispatcher, exception_id, 8)

    # then the reader gets all eight in order while the other socket waits, sent by the feed's own task
    ids = [f["payload"]["data"]["exceptionEvents"]["id"] for f in await _frames(reading, 8)]
    assert ids == sorted(ids, key=int) and len(set(ids)) == 8
    feed_task = f"feed:{DepotExceptionEvents(fleet.tenant.id, fleet.depot.id).key}"
    assert set(reading.senders) == {feed_task}
    assert stalled.from_app.full()

    # and once the stalled socket reads again it gets the same eight, in order, and stays open
    assert [f["payload"]["data"]["exceptionEvents"]["id"] for f in await _frames(stalled, 8)] == ids
    assert not stalled.closed.done()
    # (the third frame was begun by the feed's task and finished by the socket's own, which sent the rest from its queue)
    assert stalled.senders[:3] == [feed_task] * 3 and feed_task not in stalled.senders[3:]

    # when both leave, then their render group and the feed are gone
    for socket in (reading, stalled):
        await socket.close()
    await until(lambda: not any(g.principal.tenant_id == fleet.tenant.id for g in groups().values()) and not runtime.hub.feeds)
