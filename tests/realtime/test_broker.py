"""Broker failure: the sockets stay open, the bus reconnects, and every event still arrives."""
import os
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from redis import asyncio as redis

from app.main import create_app
from app.bootstrap import running
from app.runtime import Runtime
from tests.conftest import _unavailable
from tests.realtime.asgi_socket import AsgiSocket
from tests.realtime.conftest import EXCEPTION_EVENTS, add_notes, open_exception, until

REDIS_URL = os.environ.get("DETOUR_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
async def redis_admin() -> AsyncIterator[redis.Redis]:
    admin = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        await admin.ping()
    except (OSError, redis.RedisError) as error:
        await admin.aclose()
        _unavailable("Redis", error)
    yield admin
    await admin.aclose()


def _redis_settings(settings, prefix: str, **changes):  # noqa: ANN001, ANN202
    return settings.model_copy(update={
        "broadcast_url": REDIS_URL, "broadcast_channel_prefix": prefix, "broker_heartbeat_seconds": 0.3,
        "broker_heartbeat_timeout_seconds": 1.0, "broker_backoff_max_seconds": 0.5, "realtime_catchup_seconds": 3600, **changes,
    })


async def _kill_subscriber_connection(admin: redis.Redis, runtime: Runtime) -> None:
    """What a Redis restart or a network cut does to the process's pub/sub connection."""
    clients = [c for c in await admin.client_list() if c.get("name") == f"detour-{runtime.bus.id}"]
    assert clients, "the bus has a named pub/sub connection"
    for client in clients:
        await admin.client_kill_filter(_id=client["id"])


async def test_events_written_while_the_broker_connection_is_down_are_delivered(settings, factory, redis_admin):
    # given a reader process and a writer process sharing Redis, and a dispatcher subscribed on the reader
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    async with running(_redis_settings(settings, prefix)) as reader, running(_redis_settings(settings, prefix)) as writer:
        fleet = await factory.fleet(stops=1)
        exception_id = await open_exception(writer, fleet.driver, fleet.stops[0].id)
        socket = AsgiSocket(create_app(runtime=reader))
        await socket.init({"token": factory.token(fleet.dispatcher)})
        await socket.subscribe("q", EXCEPTION_EVENTS, {"depotId": str(fleet.depot.id)})
        await until(lambda: any(f.live for feed in reader.hub.feeds.values() for f in feed.followers))
        await add_notes(writer, fleet.dispatcher, exception_id, 3)
        before = [await socket.next_payload("q") for _ in range(3)]

        # when the reader's pub/sub connection is cut and events are written right away
        await _kill_subscriber_connection(redis_admin, reader)
        await add_notes(writer, fleet.dispatcher, exception_id, 3)

        # then the reader reconnects, catches up from the table, and the socket gets every event once
        after = [await socket.next_payload("q") for _ in range(3)]
        ids = [int(m["payload"]["data"]["exceptionEvents"]["id"]) for m in before + after]
        assert ids == sorted(set(ids)) and len(ids) == 6
        assert reader.bus.reconnects >= 1 and reader.bus.connected

        # and a later event arrives live through the new connection
        await add_notes(writer, fleet.dispatcher, exception_id, 1)
        assert int((await socket.next_payload("q"))["payload"]["data"]["exceptionEvents"]["id"]) > ids[-1]
        await socket.close()


async def test_health_reports_an_unreachable_broker(settings):
    # given a process whose broker cannot be reached
    unreachable = settings.model_copy(update={"broadcast_url": "redis://127.0.0.1:1/0", "broker_heartbeat_timeout_seconds": 0.3})
    async with running(unreachable) as runtime:
        app = create_app(runtime=runtime)

        # when health is asked
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://detour.test") as http:
            response = await http.get("/healthz")

    # then it reports the broker as down, and stays in service: subscribers catch up from the tables
    assert response.json() == {"status": "degraded", "database": "ok", "broker": "down"}
    assert response.status_code == 200
