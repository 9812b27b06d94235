"""Hang-ups over real sockets: 200 clients leave a real uvicorn mid-request, then myRoute answers normally."""
import asyncio
import json
import logging
import socket

import httpx
import uvicorn

QUERY = json.dumps({"query": "{ myRoute { id stops { id } } }"}).encode()


class Entered:
    """Wraps the app: each request is announced once the app has it, so a client hangs up mid-request, not before."""

    def __init__(self, app) -> None:  # noqa: ANN001
        self.app, self.started = app, asyncio.Queue()

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001
        if scope["type"] == "http":
            self.started.put_nowait(scope["path"])
        await self.app(scope, receive, send)


async def hang_up(port: int, token: str, entered: Entered) -> None:
    """Headers and half the body, then the connection is dropped."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {token}\r\nContent-Length: {len(QUERY)}\r\n\r\n"
    ).encode()
    writer.write(head + QUERY[: len(QUERY) // 2])
    await writer.drain()
    await entered.started.get()
    writer.transport.abort()


async def test_two_hundred_hang_ups_on_a_real_server_leave_the_pool_intact(asgi_app, factory, runtime, caplog):
    # given a driver with a route and uvicorn serving the app on 127.0.0.1
    fleet = await factory.fleet(stops=3)
    token = factory.token(fleet.driver)
    entered = Entered(asgi_app)
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen(256)
    port = listening.getsockname()[1]
    config = uvicorn.Config(entered, lifespan="off", log_level="warning", timeout_graceful_shutdown=5)
    config.load()
    server = uvicorn.Server(config)
    server.lifespan = config.lifespan_class(config)  # what serve() sets up; the runtime is already started
    await server.startup(sockets=[listening])
    uvicorn_log = logging.getLogger("uvicorn.error")  # does not propagate to the root logger caplog listens on
    uvicorn_log.addHandler(caplog.handler)
    try:
        # when 200 clients hang up in the middle of their request body
        for _ in range(200):
            await hang_up(port, token, entered)
        while server.server_state.tasks:  # every request cycle has seen its disconnect and ended
            await asyncio.wait(set(server.server_state.tasks))

        # then no connection is left checked out, no hang-up is logged as a server error,
        # and myRoute over the same server answers normally
        assert runtime.engine.pool.checkedout() == 0
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            response = await http.post("/graphql", content=QUERY, headers={
                "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        assert response.status_code == 200 and len(response.json()["data"]["myRoute"]["stops"]) == 3
    finally:
        uvicorn_log.removeHandler(caplog.handler)
        server.should_exit = True
        await server.shutdown(sockets=[listening])
