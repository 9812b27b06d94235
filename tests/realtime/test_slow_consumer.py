"""A client that stops reading is closed with a clear code and reason, and resumes with its cursor; memory stays bounded."""
import asyncio
import json
import re

import pytest

from app.main import create_app
from app.bootstrap import running
from tests.realtime.asgi_socket import AsgiSocket
from tests.realtime.conftest import EXCEPTION_EVENTS, add_notes, open_exception, until

BUFFER = 5


@pytest.fixture
async def small_buffer_runtime(settings):  # noqa: ANN001, ANN201
    async with running(settings.model_copy(update={"realtime_buffer_events": BUFFER})) as runtime:
        yield runtime


async def test_slow_consumer_is_closed_and_resumes_without_loss(small_buffer_runtime, factory):
    # given a dispatcher whose phone stops reading after two frames
    runtime = small_buffer_runtime
    app = create_app(runtime=runtime)
    fleet = await factory.fleet(stops=1)
    exception_id = await open_exception(runtime, fleet.driver, fleet.stops[0].id)
    token = factory.token(fleet.dispatcher)
    stalled = AsgiSocket(app, unread_limit=2)
    await stalled.init({"token": token})
    await stalled.subscribe("q", EXCEPTION_EVENTS, {"depotId": str(fleet.depot.id)})
    await until(lambda: any(f.live for feed in runtime.hub.feeds.values() for f in feed.followers))

    # when many more events are written than the live buffer holds
    await add_notes(runtime, fleet.dispatcher, exception_id, 20)
    closed = await asyncio.wait_for(stalled.closed, 10)

    # then the socket is closed as a slow consumer, naming the cursor to resume from
    assert closed.code == 4008
    cursor = int(re.search(r"after=(\d+)", closed.reason).group(1))
    delivered = [json.loads(m["text"])["payload"]["data"]["exceptionEvents"]["id"] for m in _drain(stalled)]
    assert int(delivered[-1]) == cursor

    # and the server kept no more than its bounded buffer for it
    feed = next(iter(runtime.hub.feeds.values()), None)
    assert feed is None or len(feed.buffer) <= BUFFER
    await stalled.close()

    # when the client resubscribes after its last event, then it gets every remaining event once, in order
    resumed = AsgiSocket(app)
    await resumed.init({"token": token})
    await resumed.subscribe("q", EXCEPTION_EVENTS, {"depotId": str(fleet.depot.id), "after": str(cursor)})
    rest = []
    while len(delivered) + len(rest) < 20:
        rest.append((await resumed.next_payload("q"))["payload"]["data"]["exceptionEvents"]["id"])
    ids = [int(i) for i in delivered + rest]
    assert ids == sorted(set(ids)) and len(ids) == 20
    await resumed.close()


def _drain(socket: AsgiSocket) -> list[dict]:
    frames = []
    while not socket.from_app.empty():
        frames.append(socket.from_app.get_nowait())
    return [f for f in frames if f["type"] == "websocket.send" and json.loads(f["text"])["type"] == "next"]


async def test_client_stuck_while_replaying_is_closed_too(small_buffer_runtime, factory):
    # given a backlog of events and a client that resumes from the start but stops reading after two frames
    runtime = small_buffer_runtime
    app = create_app(runtime=runtime)
    fleet = await factory.fleet(stops=1)
    exception_id = await open_exception(runtime, fleet.driver, fleet.stops[0].id)
    await add_notes(runtime, fleet.dispatcher, exception_id, 10)
    stalled = AsgiSocket(app, unread_limit=2)
    await stalled.init({"token": factory.token(fleet.dispatcher)})
    await stalled.subscribe("q", EXCEPTION_EVENTS, {"depotId": str(fleet.depot.id), "after": "0"})
    await until(lambda: stalled.from_app.full())

    # when more live events arrive than the buffer holds
    await add_notes(runtime, fleet.dispatcher, exception_id, BUFFER + 2)

    # then it is closed as a slow consumer with the cursor of the last frame it was sent
    closed = await asyncio.wait_for(stalled.closed, 10)
    assert closed.code == 4008
    delivered = [json.loads(m["text"])["payload"]["data"]["exceptionEvents"]["id"] for m in _drain(stalled)]
    assert f"after={delivered[-1]}" in closed.reason
    await stalled.close()
