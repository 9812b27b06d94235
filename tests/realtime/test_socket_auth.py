"""The socket is authenticated from connection_init with the same rules as HTTP."""
import asyncio
import dataclasses

import asyncpg
import pytest

from app.db import create_engine, create_sessionmaker
from app.main import create_app
from app.realtime.feeds import Hub
from tests.conftest import PG_ADMIN_URL

from tests.realtime.asgi_socket import AsgiSocket, SocketClosed
from tests.realtime.conftest import EXCEPTION_EVENTS, add_notes, open_exception, until


async def _refused(socket: AsgiSocket, payload: dict) -> SocketClosed:
    with pytest.raises(SocketClosed) as closed:
        await socket.init(payload)
    return closed.value


async def test_socket_without_token_is_closed_forbidden(asgi_app, sockets):
    # given a socket that sends no token
    socket = AsgiSocket(asgi_app)
    sockets.append(socket)

    # when it initialises, then graphql-transport-ws closes it with 4403
    closed = await _refused(socket, {})
    assert closed.code == 4403


async def test_expired_or_forged_token_is_closed_forbidden(asgi_app, sockets, factory):
    # given an expired token and a token signed with another key
    fleet = await factory.fleet(stops=1)
    expired = factory.token(fleet.dispatcher, ttl_seconds=-60)
    forged = factory.token(fleet.dispatcher)[:-4] + "AAAA"

    for payload in ({"authorization": f"Bearer {expired}"}, {"token": forged}):
        socket = AsgiSocket(asgi_app)
        sockets.append(socket)
        # when each initialises, then the socket is refused
        assert (await _refused(socket, payload)).code == 4403


async def test_valid_token_in_either_form_is_acknowledged(asgi_app, sockets, factory):
    # given a dispatcher's token
    fleet = await factory.fleet(stops=1)
    token = factory.token(fleet.dispatcher)

    for payload in ({"authorization": f"Bearer {token}"}, {"token": token}, {"Authorization": f"bearer {token}"}):
        socket = AsgiSocket(asgi_app)
        sockets.append(socket)
        # when it initialises, then the connection is acknowledged
        assert (await socket.init(payload))["type"] == "connection_ack"


async def test_another_tenants_depot_is_not_found(asgi_app, sockets, factory):
    # given a dispatcher of one tenant and the depot of another
    mine, theirs = await factory.fleet(stops=1), await factory.fleet(stops=1)
    socket = AsgiSocket(asgi_app)
    sockets.append(socket)
    await socket.init({"token": factory.token(mine.dispatcher)})

    # when the dispatcher subscribes to the other tenant's depot
    await socket.subscribe("1", EXCEPTION_EVENTS, {"depotId": str(theirs.depot.id)})
    message = await socket.next_payload("1")

    # then the operation fails with NOT_FOUND and nothing leaks
    errors = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
    assert errors[0]["extensions"]["code"] == "NOT_FOUND"


async def test_driver_cannot_watch_the_depot_queue(asgi_app, sockets, factory):
    # given a driver of the depot
    fleet = await factory.fleet(stops=1)
    socket = AsgiSocket(asgi_app)
    sockets.append(socket)
    await socket.init({"token": factory.token(fleet.driver)})

    # when the driver subscribes to the dispatchers' queue
    await socket.subscribe("1", EXCEPTION_EVENTS, {"depotId": str(fleet.depot.id)})
    message = await socket.next_payload("1")

    # then it is forbidden
    errors = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"


async def test_browser_pages_from_other_origins_cannot_open_the_socket(runtime, factory):
    # given an API that only trusts the dispatcher SPA's origin
    app = create_app(settings=runtime.settings.model_copy(update={"allowed_origins": ["https://dispatch.example"]}), runtime=runtime)
    fleet = await factory.fleet(stops=1)

    # when a page on another origin opens the socket, then the handshake is refused
    stranger = AsgiSocket(app, origin="https://evil.example")
    with pytest.raises(SocketClosed):
        await stranger.connect()

    # and the trusted origin is acknowledged
    trusted = AsgiSocket(app, origin="https://dispatch.example")
    assert (await trusted.init({"token": factory.token(fleet.dispatcher)}))["type"] == "connection_ack"
    await trusted.close()
    await stranger.close()


async def test_subscription_ends_when_its_token_expires(asgi_app, sockets, factory, runtime):
    # given a dispatcher subscribed with a token that expires within two seconds
    fleet = await factory.fleet(stops=1)
    exception_id = await open_exception(runtime, fleet.driver, fleet.stops[0].id)
    socket = AsgiSocket(asgi_app)
    sockets.append(socket)
    await socket.init({"token": factory.token(fleet.dispatcher, ttl_seconds=2)})
    await socket.subscribe("q", EXCEPTION_EVENTS, {"depotId": str(fleet.depot.id)})
    await until(lambda: any(feed.followers for feed in runtime.hub.feeds.values()))

    # when the token has expired and the next event comes
    await asyncio.sleep(2.05)
    await add_notes(runtime, fleet.dispatcher, exception_id, 1)

    # then the socket is closed instead of delivering it
    closed = await asyncio.wait_for(socket.closed, 10)
    assert (closed.code, closed.reason) == (4403, "token expired")
    assert socket.from_app.empty()


NO_CONNECTIONS_ROLE = "detour_no_connections"  # PostgreSQL answers its every login with "too many connections"


async def _refusing_sessionmaker(database_url: str):  # noqa: ANN202
    """Sessions on the test database as a role whose connection limit is 0: a database that refuses every connection."""
    admin = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    try:
        await admin.execute(
            f"DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{NO_CONNECTIONS_ROLE}') "
            f"THEN CREATE ROLE {NO_CONNECTIONS_ROLE} LOGIN CONNECTION LIMIT 0; END IF; END$$"
        )
    except asyncpg.UniqueViolationError:  # another test process created it meanwhile
        pass
    finally:
        await admin.close()
    engine = create_engine(database_url.replace("postgresql+asyncpg://postgres@", f"postgresql+asyncpg://{NO_CONNECTIONS_ROLE}@"))
    return engine, create_sessionmaker(engine)


@pytest.mark.parametrize("protocol", ["graphql-transport-ws", "graphql-ws"])
async def test_socket_is_told_to_retry_when_the_database_refuses_connections(runtime, factory, backend, database_url, protocol):
    if backend != "postgres":
        pytest.skip("a refusal of connections by the database server (PostgreSQL's 'too many clients')")
    # given a process whose database refuses every new connection
    fleet = await factory.fleet(stops=1)
    engine, refusing = await _refusing_sessionmaker(database_url)
    hub = Hub(runtime.bus, refusing, buffer_size=10, catchup_seconds=60)
    app = create_app(runtime=dataclasses.replace(runtime, sessionmaker=refusing, hub=hub))
    socket = AsgiSocket(app, subprotocol=protocol)

    # when a dispatcher's socket initialises
    try:
        if protocol == "graphql-ws":  # the legacy protocol names the refusal in a message first
            refusal = await socket.init({"token": factory.token(fleet.dispatcher)})
            assert refusal == {"type": "connection_error", "payload": {"message": "the database is unavailable: retry shortly", "code": "UNAVAILABLE"}}
            closed = await asyncio.wait_for(socket.closed, 5)
        else:
            closed = await _refused(socket, {"token": factory.token(fleet.dispatcher)})
    finally:
        await engine.dispose()

    # then it is closed with "try again later", naming why, and the connection ends without an unhandled error
    assert (closed.code, closed.reason) == (1013, "the database is unavailable: retry shortly")
    await socket.close()
    assert socket.task.done() and not socket.task.cancelled() and socket.task.exception() is None


async def test_socket_authentications_hold_a_bounded_number_of_connections(runtime, factory, settings):
    # given a process that lets 2 sockets use the database at once, and 12 dispatchers connecting together
    hub = Hub(runtime.bus, runtime.sessionmaker, buffer_size=10, catchup_seconds=60, socket_db_concurrency=2)
    app = create_app(runtime=dataclasses.replace(runtime, hub=hub))
    fleet = await factory.fleet(stops=1)
    pool = runtime.engine.pool
    most = 0

    async def watch() -> None:
        nonlocal most
        while True:
            most = max(most, getattr(pool, "checkedout", lambda: 0)())
            await asyncio.sleep(0)

    watcher = asyncio.create_task(watch())
    opened = [AsgiSocket(app) for _ in range(12)]
    try:
        acks = await asyncio.gather(*(socket.init({"token": factory.token(fleet.dispatcher)}) for socket in opened[:10]))
    finally:
        watcher.cancel()
        for socket in opened:
            await socket.close()

    # then all are acknowledged, with never more than 2 connections checked out for them
    assert [ack["type"] for ack in acks] == ["connection_ack"] * 10
    if settings.database_url.startswith("postgresql"):
        assert 1 <= most <= 2
