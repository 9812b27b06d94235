"""An in-process WebSocket client speaking ASGI to the app: a small unread buffer stands in for TCP."""
import asyncio
import json
from typing import Any

SUBPROTOCOL = "graphql-transport-ws"


class SocketClosed(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"closed {code}: {reason}")
        self.code = code
        self.reason = reason


class AsgiSocket:
    """A client that only reads when asked to; once `unread_limit` frames wait, the server's send blocks."""

    def __init__(self, app: Any, *, unread_limit: int = 1000, origin: str | None = None, subprotocol: str = SUBPROTOCOL) -> None:
        self.app = app
        self.subprotocol = subprotocol
        self.to_app: asyncio.Queue[dict] = asyncio.Queue()
        self.from_app: asyncio.Queue[dict] = asyncio.Queue(maxsize=unread_limit)
        self.closed: asyncio.Future[SocketClosed] = asyncio.get_running_loop().create_future()
        self.origin = origin
        self.task: asyncio.Task | None = None

    async def _receive(self) -> dict:
        return await self.to_app.get()

    async def _send(self, message: dict) -> None:
        if message["type"] == "websocket.close":
            if not self.closed.done():
                self.closed.set_result(SocketClosed(message.get("code", 1000), message.get("reason") or ""))
            await self.to_app.put({"type": "websocket.disconnect", "code": message.get("code", 1000)})
            return
        if message["type"] == "websocket.send" and self.closed.done():
            raise OSError("socket closed")
        await self.from_app.put(message)

    async def connect(self) -> dict:
        """Open the socket; returns the server's accept (a refused handshake raises SocketClosed)."""
        headers = [(b"host", b"detour.test"), (b"sec-websocket-protocol", self.subprotocol.encode())]
        if self.origin:
            headers.append((b"origin", self.origin.encode()))
        scope = {
            "type": "websocket", "asgi": {"version": "3.0"}, "scheme": "ws", "path": "/graphql", "raw_path": b"/graphql",
            "root_path": "", "query_string": b"", "headers": headers, "subprotocols": [self.subprotocol],
            "server": ("detour.test", 80), "client": ("127.0.0.1", 40000), "state": {},
        }
        self.task = asyncio.create_task(self.app(scope, self._receive, self._send))
        await self.to_app.put({"type": "websocket.connect"})
        return await self._next()

    async def _next(self, timeout: float = 10) -> dict:
        getter = asyncio.create_task(self.from_app.get())
        done, _ = await asyncio.wait({getter, self.closed}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if getter in done:
            return getter.result()
        getter.cancel()
        if self.closed.done():
            raise self.closed.result()
        raise TimeoutError("nothing from the server")

    async def send(self, message: dict) -> None:
        await self.to_app.put({"type": "websocket.receive", "text": json.dumps(message)})

    async def receive(self, timeout: float = 10) -> dict:
        message = await self._next(timeout)
        return json.loads(message["text"])

    async def init(self, payload: dict | None) -> dict:
        """connection_init with `payload`; returns the ack."""
        accepted = await self.connect()
        assert accepted["type"] == "websocket.accept", accepted
        await self.send({"type": "connection_init", "payload": payload or {}})
        return await self.receive()

    async def subscribe(self, op_id: str, query: str, variables: dict) -> None:
        await self.send({"id": op_id, "type": "subscribe", "payload": {"query": query, "variables": variables}})

    async def next_payload(self, op_id: str, timeout: float = 10) -> dict:
        """The next `next` result of operation `op_id` (pings are answered, other messages returned as-is)."""
        while True:
            message = await self.receive(timeout)
            if message["type"] == "ping":
                await self.send({"type": "pong"})
                continue
            assert message.get("id") == op_id, message
            return message

    async def close(self) -> None:
        if self.task is None:
            return
        await self.to_app.put({"type": "websocket.disconnect", "code": 1000})
        while not self.from_app.empty():  # unblock a server stuck on a full buffer
            self.from_app.get_nowait()
        try:
            await asyncio.wait_for(self.task, 5)
        except (Exception, asyncio.CancelledError):
            self.task.cancel()
