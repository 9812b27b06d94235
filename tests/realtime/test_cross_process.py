"""Two real API processes on PostgreSQL and Redis: a subscription on one sees a mutation made on the other."""
import asyncio
import json
import uuid

import httpx
import pytest
from redis import asyncio as redis
from websockets.asyncio.client import connect

from app import migrate
from app.config import Settings
from app.bootstrap import running
from tests.conftest import _unavailable, create_postgres_database, drop_postgres_database
from tests.factories import Factory
from tests.realtime.servers import api_processes
from tests.realtime.test_broker import REDIS_URL

REPORT = """
mutation Report($input: ReportExceptionInput!) {
  reportException(input: $input) { exception { id } errors { code message } }
}
"""


@pytest.fixture
async def scaled_database() -> str:  # noqa: ANN201 - yields
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        await client.ping()
    except (OSError, redis.RedisError) as error:
        _unavailable("Redis", error)
    finally:
        await client.aclose()
    url = await create_postgres_database()
    await asyncio.to_thread(migrate.upgrade, url)
    yield url
    await drop_postgres_database(url)


async def test_subscription_on_one_process_receives_a_mutation_made_on_another(scaled_database):
    # given a fleet in a fresh PostgreSQL database and two API processes sharing Redis
    async with running(Settings(database_url=scaled_database, broadcast_url="memory://")) as runtime:
        factory = Factory(runtime)
        fleet = await factory.fleet(stops=2)
        dispatcher, driver = factory.token(fleet.dispatcher), factory.token(fleet.driver)
    prefix = f"xproc-{uuid.uuid4().hex[:8]}:"
    only_the_broker_wakes = {"DETOUR_REALTIME_CATCHUP_SECONDS": "3600"}
    with api_processes(2, database_url=scaled_database, broadcast_url=REDIS_URL, prefix=prefix, extra_env=only_the_broker_wakes) as (process_a, process_b):
        async with httpx.AsyncClient(base_url=process_b.url) as http, connect(process_a.ws_url, subprotocols=["graphql-transport-ws"]) as socket:
            # and a dispatcher subscribed over a real WebSocket on process A, already receiving (so it is live)
            first = await _report(http, driver, fleet.stops[0].id, "x-1")
            await socket.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {dispatcher}"}}))
            assert json.loads(await socket.recv())["type"] == "connection_ack"
            await socket.send(json.dumps({"id": "q", "type": "subscribe", "payload": {
                "query": "subscription($d: ID!, $a: ID) { exceptionEvents(depotId: $d, after: $a) { id type exceptionId } }",
                "variables": {"d": str(fleet.depot.id), "a": "0"},
            }}))
            assert (await _next_event(socket))["exceptionId"] == first

            # when the driver reports another exception over HTTP on process B
            second = await _report(http, driver, fleet.stops[1].id, "x-2")

            # then process A pushes its REPORTED event to the dispatcher (only Redis could have told A)
            event = await _next_event(socket)
            assert (event["exceptionId"], event["type"]) == (second, "REPORTED")


async def _report(http: httpx.AsyncClient, token: str, stop_id: int, key: str) -> str:
    response = await http.post("/graphql", headers={"Authorization": f"Bearer {token}"}, json={"query": REPORT, "variables": {"input": {
        "stopId": str(stop_id), "kind": "CUSTOMER_ABSENT", "reasonCode": "NO_ANSWER", "idempotencyKey": key,
    }}})
    return response.json()["data"]["reportException"]["exception"]["id"]


async def _next_event(socket) -> dict:  # noqa: ANN001
    message = json.loads(await asyncio.wait_for(socket.recv(), 10))
    assert message["type"] == "next", message
    return message["payload"]["data"]["exceptionEvents"]
