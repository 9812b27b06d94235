"""Issue 15 item 3: subscriptions per socket, sockets per user and per process are capped; closing frees them all."""
from dataclasses import replace

import pytest

from app.main import create_app
from tests.realtime.asgi_socket import AsgiSocket, SocketClosed
from tests.realtime.conftest import EXCEPTION_EVENTS, until


@pytest.fixture
async def capped(runtime):  # noqa: ANN001, ANN201
    settings = runtime.settings.model_copy(update={
        "max_subscriptions_per_socket": 3, "max_sockets_per_principal": 2, "max_sockets_per_process": 4,
    })
    app = create_app(runtime=replace(runtime, settings=settings))
    opened: list[AsgiSocket] = []
    yield app, opened
    for socket in opened:
        await socket.close()


def _socket(app, opened: list[AsgiSocket]) -> AsgiSocket:  # noqa: ANN001
    socket = AsgiSocket(app)
    opened.append(socket)
    return socket


async def test_a_socket_may_hold_only_so_many_subscriptions(capped, factory):
    # given a dispatcher's socket with as many subscriptions as allowed
    app, opened = capped
    fleet = await factory.fleet(stops=1)
    socket = _socket(app, opened)
    await socket.init({"token": factory.token(fleet.dispatcher)})
    for n in range(3):
        await socket.subscribe(f"s{n}", EXCEPTION_EVENTS, {"depotId": str(fleet.depot.id)})
    await until(lambda: len(runtime_feeds(app)) == 1)

    # when it asks for one more, then strawberry refuses that operation and the others go on
    await socket.subscribe("s3", EXCEPTION_EVENTS, {"depotId": str(fleet.depot.id)})
    refused = await socket.receive(timeout=5)
    assert refused["id"] == "s3" and refused["type"] == "error"
    assert refused["payload"][0]["message"] == "Subscription limit reached"
    assert len(runtime_feeds(app)) == 1 and socket.from_app.empty()


async def test_one_user_may_open_only_so_many_sockets_and_closing_frees_everything(capped, factory):
    # given a dispatcher with as many subscribed sockets as allowed
    app, opened = capped
    fleet = await factory.fleet(stops=1)
    token = factory.token(fleet.dispatcher)
    first, second = _socket(app, opened), _socket(app, opened)
    for socket in (first, second):
        await socket.init({"token": token})
        await socket.subscribe("q", EXCEPTION_EVENTS, {"depotId": str(fleet.depot.id)})
    await until(lambda: len(runtime_feeds(app)) == 1)

    # when the same user opens a third, then it is refused; another user of the tenant still gets in
    with pytest.raises(SocketClosed) as refused:
        await _socket(app, opened).init({"token": token})
    assert refused.value.code == 4403
    other = _socket(app, opened)
    assert (await other.init({"token": factory.token(fleet.supervisor)}))["type"] == "connection_ack"
    assert app.state.sockets.by_principal == {(fleet.tenant.id, fleet.dispatcher.id): 2, (fleet.tenant.id, fleet.supervisor.id): 1}

    # when every socket closes, then no socket, principal, feed or follower is held any more
    for socket in opened:
        await socket.close()
    assert app.state.sockets.live == 0 and not app.state.sockets.by_principal
    await until(lambda: not runtime_feeds(app))


async def test_a_full_process_refuses_new_sockets_until_one_closes(capped, factory):
    # given a process holding as many sockets as allowed (4), from two users
    app, opened = capped
    fleet = await factory.fleet(stops=1)
    for user in (fleet.dispatcher, fleet.dispatcher, fleet.supervisor, fleet.supervisor):
        await _socket(app, opened).init({"token": factory.token(user)})

    # when a fifth socket connects, then it is closed before it opens (1013 try again later)
    with pytest.raises(SocketClosed) as refused:
        await _socket(app, opened).connect()
    assert refused.value.code == 1013

    # when one closes, then a new socket gets in
    await opened[0].close()
    assert (await _socket(app, opened).init({"token": factory.token(fleet.driver)}))["type"] == "connection_ack"


def runtime_feeds(app):  # noqa: ANN001, ANN201
    return app.state.runtime.hub.feeds
