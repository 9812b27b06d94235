"""The floor for bench/fanout.py: a raw Starlette WebSocket relay of ready-made `next` payloads from Redis.

It speaks just enough graphql-transport-ws (connection_ack, then `next` frames for one subscription) and does no
GraphQL, no authentication and no database work: what the bench's writer publishes on `<prefix>relay` is sent as is
to every socket, with its operation id spliced in. The ratio of Detour's CPU per delivery to this one's says how
much of the cost is ours, on a machine too noisy for absolute figures.
"""
import asyncio
import json
import os
from contextlib import asynccontextmanager

import redis.asyncio as redis
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect


def create_app() -> Starlette:
    channel = os.environ.get("DETOUR_BROADCAST_CHANNEL_PREFIX", "") + "relay"
    url = os.environ.get("DETOUR_BROADCAST_URL", "redis://127.0.0.1:6379/0")
    sockets: dict[WebSocket, str] = {}

    async def relay() -> None:
        client = redis.from_url(url)
        pubsub = client.pubsub()
        await pubsub.subscribe(channel)
        async for message in pubsub.listen():
            if message["type"] != "message":
                continue
            payload = message["data"].decode()
            for socket, op_id in list(sockets.items()):
                try:
                    await socket.send_text('{"id": ' + json.dumps(op_id) + ', "type": "next", "payload": ' + payload + "}")
                except Exception:  # noqa: BLE001 - a closed socket leaves the relay
                    sockets.pop(socket, None)

    async def graphql(socket: WebSocket) -> None:
        await socket.accept(subprotocol="graphql-transport-ws")
        try:
            await socket.receive_text()  # connection_init
            await socket.send_text('{"type": "connection_ack"}')
            subscribe = json.loads(await socket.receive_text())
            sockets[socket] = subscribe["id"]
            while True:
                await socket.receive_text()
        except WebSocketDisconnect:
            sockets.pop(socket, None)

    async def healthz(_request: object) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @asynccontextmanager
    async def lifespan(_app: Starlette):  # noqa: ANN202
        task = asyncio.create_task(relay())
        yield
        task.cancel()

    return Starlette(routes=[Route("/healthz", healthz), WebSocketRoute("/graphql", graphql)], lifespan=lifespan)
