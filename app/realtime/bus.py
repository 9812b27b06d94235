"""The wake-up call after a commit, and a supervisor that keeps the broker connection alive.

broadcaster does not reconnect after a broker drop. The Bus owns one Broadcast at a time: it
subscribes each channel once per process, checks the connection with a heartbeat that travels
through the broker, and when the heartbeat or the connection fails it builds a new Broadcast with
backoff, resubscribes, and tells its listeners to catch up from the event tables.
"""
import asyncio
import json
import logging
import random
import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlparse

from broadcaster import Broadcast

from app.realtime.redis_backend import RedisPubSubBackend

log = logging.getLogger(__name__)

Listener = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True)
class Notice:
    """Something changed: `channel` names who cares, `payload` holds ids, never secrets."""

    channel: str
    payload: dict[str, Any]


def depot_channel(tenant_id: int, depot_id: int) -> str:
    return f"detour.t{tenant_id}.depot.{depot_id}"


def route_channel(tenant_id: int, route_id: int) -> str:
    return f"detour.t{tenant_id}.route.{route_id}"


# A process that was cut off from the broker may have published into the void: once back, it asks every
# process to re-read its tables.
RESYNC_CHANNEL = "detour.resync"


class BrokerState(StrEnum):
    CONNECTING = "connecting"
    UP = "up"
    DOWN = "down"


def _broadcast_for(url: str, name: str) -> Broadcast:
    if urlparse(url).scheme in ("redis", "rediss"):
        return Broadcast(backend=RedisPubSubBackend(url, client_name=name))
    return Broadcast(url)


class Bus:
    """Publishes notices and wakes local listeners; a broker failure is logged, never raised into a committed write."""

    def __init__(
        self, url: str, *, prefix: str = "", heartbeat_seconds: float = 2.0, heartbeat_timeout_seconds: float = 2.0,
        backoff_max_seconds: float = 10.0,
    ) -> None:
        self.url = url
        self.prefix = prefix
        self.heartbeat_seconds = heartbeat_seconds
        self.heartbeat_timeout_seconds = heartbeat_timeout_seconds
        self.backoff_max_seconds = backoff_max_seconds
        self.state = BrokerState.CONNECTING
        self.reconnects = 0
        self._broadcast: Broadcast | None = None
        self._listeners: dict[str, set[Listener]] = {}
        self._followers: dict[str, asyncio.Task[None]] = {}
        self._reconnect_hooks: list[Callable[[], None]] = []
        self._trouble = asyncio.Event()
        self.id = uuid.uuid4().hex
        self._heartbeat_channel = f"detour.heartbeat.{self.id}"
        self._heartbeat_waiter: tuple[str, asyncio.Future[None]] | None = None
        self._supervisor: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        return self.state is BrokerState.UP

    async def connect(self) -> None:
        self._listeners.setdefault(self._heartbeat_channel, set()).add(self._on_heartbeat)
        self._listeners.setdefault(RESYNC_CHANNEL, set()).add(self._on_resync)
        try:
            await self._open()
        except Exception as error:  # start anyway: the supervisor keeps trying, subscribers poll the tables
            log.warning("broker not reachable at start: %s", error.__class__.__name__)
            self.state = BrokerState.DOWN
            await self._close()
        self._supervisor = asyncio.create_task(self._supervise(), name="bus-supervisor")

    async def disconnect(self) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
            with suppress(BaseException):
                await self._supervisor
            self._supervisor = None
        await self._close()
        self.state = BrokerState.DOWN

    def on_reconnect(self, hook: Callable[[], None]) -> None:
        """`hook` runs after every reconnection: whatever was published meanwhile must be read from the tables."""
        self._reconnect_hooks.append(hook)

    async def publish(self, notices: list[Notice]) -> None:
        for notice in notices:
            self._dispatch(notice.channel, notice.payload)  # this process's subscribers do not wait for the broker
            if self._broadcast is None or self.state is not BrokerState.UP:
                continue
            try:
                await self._broadcast.publish(channel=self.prefix + notice.channel, message=json.dumps(notice.payload))
            except Exception:  # the row is committed; subscribers catch up from the event table
                log.warning("broadcast publish failed", extra={"channel": notice.channel}, exc_info=True)
                self._trouble.set()

    async def listen(self, channel: str, listener: Listener) -> None:
        """Call `listener` for every notice on `channel`; returns once the broker subscription is sent."""
        listeners = self._listeners.setdefault(channel, set())
        listeners.add(listener)
        if channel not in self._followers and self._broadcast is not None and self.state is BrokerState.UP:
            try:
                await self._follow(self._broadcast, channel)
            except Exception:  # the supervisor reconnects; until then subscribers read the tables on their own
                self._trouble.set()

    def unlisten(self, channel: str, listener: Listener) -> None:
        listeners = self._listeners.get(channel)
        if listeners is None:
            return
        listeners.discard(listener)
        if not listeners:
            del self._listeners[channel]
            follower = self._followers.pop(channel, None)
            if follower is not None:
                follower.cancel()

    def _dispatch(self, channel: str, payload: dict[str, Any]) -> None:
        for listener in list(self._listeners.get(channel, ())):
            try:
                listener(channel, payload)
            except Exception:  # one broken listener must not starve the others
                log.exception("realtime listener failed", extra={"channel": channel})

    async def _follow(self, broadcast: Broadcast, channel: str) -> None:
        subscribed = asyncio.get_running_loop().create_future()
        self._followers[channel] = asyncio.create_task(self._follow_channel(broadcast, channel, subscribed), name=f"bus:{channel}")
        await asyncio.wait_for(asyncio.shield(subscribed), self.heartbeat_timeout_seconds)

    async def _follow_channel(self, broadcast: Broadcast, channel: str, subscribed: asyncio.Future[None]) -> None:
        try:
            async with broadcast.subscribe(self.prefix + channel) as subscriber:
                subscribed.set_result(None)
                async for event in subscriber:  # type: ignore[union-attr]
                    self._dispatch(channel, json.loads(event.message))
        except asyncio.CancelledError:
            raise
        except Exception as error:
            if not subscribed.done():
                subscribed.set_exception(error)
            if broadcast is not self._broadcast:  # this connection is being replaced or closed: nothing to report
                return
            log.warning("broker subscription failed: %s", error.__class__.__name__, extra={"channel": channel})
            self._trouble.set()

    def _on_resync(self, _channel: str, _payload: dict[str, Any]) -> None:
        for hook in self._reconnect_hooks:
            hook()

    def _on_heartbeat(self, _channel: str, payload: dict[str, Any]) -> None:
        if self._heartbeat_waiter and payload.get("beat") == self._heartbeat_waiter[0] and not self._heartbeat_waiter[1].done():
            self._heartbeat_waiter[1].set_result(None)

    async def _heartbeat(self) -> None:
        """One round trip through the broker; raises TimeoutError when it does not come back in time."""
        assert self._broadcast is not None
        beat = uuid.uuid4().hex
        arrived = asyncio.get_running_loop().create_future()
        self._heartbeat_waiter = (beat, arrived)
        message = json.dumps({"beat": beat})
        try:
            async with asyncio.timeout(self.heartbeat_timeout_seconds):
                while not arrived.done():  # resend: the very first one may race the SUBSCRIBE
                    await self._broadcast.publish(channel=self.prefix + self._heartbeat_channel, message=message)
                    await asyncio.wait({arrived}, timeout=0.1)
        finally:
            self._heartbeat_waiter = None

    async def _open(self) -> None:
        broadcast = _broadcast_for(self.url, f"detour-{self.id}")
        self._broadcast = broadcast
        await asyncio.wait_for(broadcast.connect(), self.heartbeat_timeout_seconds * 2)
        for channel in list(self._listeners):
            await self._follow(broadcast, channel)
        await self._heartbeat()
        self._trouble.clear()
        self.state = BrokerState.UP

    async def _close(self) -> None:
        broadcast, self._broadcast = self._broadcast, None
        followers, self._followers = list(self._followers.values()), {}
        for task in followers:
            task.cancel()
        if followers:  # unsubscribing on a dead connection may hang: give up after a second
            await asyncio.wait(followers, timeout=1.0)
        if broadcast is not None:
            with suppress(BaseException):
                await asyncio.wait_for(broadcast.disconnect(), 2.0)

    async def _watch(self) -> str:
        """Returns why the connection is considered lost."""
        while True:
            lost = getattr(self._broadcast._backend, "lost", None) if self._broadcast else None  # noqa: SLF001
            waits = [asyncio.create_task(self._trouble.wait())] + ([asyncio.create_task(lost.wait())] if lost else [])
            try:
                done, _ = await asyncio.wait(waits, timeout=self.heartbeat_seconds, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in waits:
                    task.cancel()
            if done:
                return "connection lost" if lost and lost.is_set() else "publish or subscribe failed"
            try:
                await self._heartbeat()
            except (TimeoutError, Exception) as error:
                return f"heartbeat failed ({error.__class__.__name__})"

    async def _supervise(self) -> None:
        backoff = 0.1
        while True:
            if self.state is BrokerState.UP:
                reason = await self._watch()
                log.warning("broker connection lost (%s); reconnecting", reason)
                self.state = BrokerState.DOWN
                await self._close()
            try:
                await self._open()
            except Exception as error:
                self.state = BrokerState.DOWN
                await self._close()
                log.warning("broker reconnect failed (%s); retrying in %.1fs", error.__class__.__name__, backoff)
                await asyncio.sleep(backoff * random.uniform(0.8, 1.2))  # noqa: S311 - jitter, not crypto
                backoff = min(backoff * 2, self.backoff_max_seconds)
                continue
            backoff = 0.1
            self.reconnects += 1
            log.info("broker connected", extra={"reconnects": self.reconnects})
            await self.publish([Notice(RESYNC_CHANNEL, {"from": self.id})])  # wakes this process too
