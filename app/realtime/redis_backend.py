"""A Redis pub/sub backend for broadcaster that reports a lost connection instead of hiding it.

broadcaster's own Redis backend can miss its first subscription with redis-py 8 (its listener may
start before `subscribe` completes and then waits forever) and redis-py silently reconnects a pub/sub
connection, dropping whatever was published meanwhile. Here retries are off on the subscriber
connection and a failure sets `lost`, so the Bus supervisor reconnects and every feed catches up
from the event tables.
"""
import asyncio
import logging
from contextlib import suppress

from broadcaster import BroadcastBackend, Event
from redis import asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

log = logging.getLogger(__name__)

# Subscribed from the start so the reader always has a subscribed connection to read from.
_KEEPALIVE_CHANNEL = "detour.keepalive"


class RedisPubSubBackend(BroadcastBackend):
    def __init__(self, url: str, *, client_name: str | None = None) -> None:
        self._url = url
        self._client_name = client_name
        self.lost = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        self._publisher = redis.Redis.from_url(self._url, socket_connect_timeout=3, socket_timeout=5)
        self._subscriber = redis.Redis.from_url(
            self._url, socket_connect_timeout=3, retry=Retry(NoBackoff(), 0), client_name=self._client_name
        )
        self._pubsub = self._subscriber.pubsub(ignore_subscribe_messages=True)
        self._queue: asyncio.Queue[Event] = asyncio.Queue()
        await self._pubsub.subscribe(_KEEPALIVE_CHANNEL)
        self._reader = asyncio.create_task(self._read(), name="redis-pubsub-reader")

    async def disconnect(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with suppress(BaseException):
                await self._reader
        for closing in (self._pubsub.aclose(), self._subscriber.aclose(), self._publisher.aclose()):
            with suppress(Exception):
                await closing

    async def subscribe(self, channel: str) -> None:
        await self._pubsub.subscribe(channel)

    async def unsubscribe(self, channel: str) -> None:
        if not self.lost.is_set():
            await self._pubsub.unsubscribe(channel)

    async def publish(self, channel: str, message: str) -> None:
        await self._publisher.publish(channel, message)

    async def next_published(self) -> Event:
        return await self._queue.get()

    async def _read(self) -> None:
        try:
            while True:
                message = await self._pubsub.get_message(timeout=None)
                if message is not None and message["type"] == "message":
                    self._queue.put_nowait(Event(channel=message["channel"].decode(), message=message["data"].decode()))
        except asyncio.CancelledError:
            raise
        except Exception as error:  # any read failure means messages may have been lost
            log.warning("redis pub/sub connection lost: %s", error.__class__.__name__)
            self.lost.set()
