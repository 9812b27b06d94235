"""Live streams shared by every subscriber of a process: one table read per wake-up, however many sockets.

A Feed reads the rows of one EventSource after its head whenever the bus wakes it, and keeps the
newest ones in a bounded buffer. Each subscriber (a Follower) only holds a cursor: it replays from
the table while it is behind the buffer, then takes rows from the buffer. A live follower that falls
further behind than the buffer holds is evicted (a slow consumer), so memory stays bounded.

A subscriber may instead be pushed to (Hub.follow): once it has caught up, the feed's own task hands each
batch of new rows to the feed's sinks (render groups, app/realtime/fanout.py), which send them to their
members, so that no subscriber task wakes per event; the sink bounds each member's backlog.
"""
import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from app.realtime.bus import Bus
from app.realtime.sources import EventSource

log = logging.getLogger(__name__)

PAGE = 200


class SlowConsumer(Exception):
    """The subscriber fell behind the live buffer; it should resubscribe with its last cursor."""

    def __init__(self, cursor: int) -> None:
        super().__init__(f"slow consumer: resubscribe with after={cursor}")
        self.cursor = cursor


class Follower:
    """One subscriber's position in a feed."""

    def __init__(self, cursor: int, on_evicted: Callable[[int], None] | None, *, arrived: int) -> None:
        self.cursor = cursor
        self.arrived_at_progress = arrived  # the feed's arrival count when this follower last moved
        self.live = False
        self.pushed = False  # caught up and fed by a sink from the feed's task: never woken, never trimmed away
        self.evicted = False
        self.wake = asyncio.Event()
        self._on_evicted = on_evicted

    def evict(self) -> None:
        self.evicted = True
        self.wake.set()
        if self._on_evicted is not None:
            self._on_evicted(self.cursor)


class Sink(Protocol):
    """Takes every batch of new rows from the feed's task: prepared (awaited) first, then pushed (never blocks)."""

    async def prepare(self, rows: list[Any]) -> None: ...

    def push(self, rows: list[Any]) -> None: ...


class Feed:
    def __init__(self, source: EventSource, bus: Bus, sessionmaker: async_sessionmaker[AsyncSession], buffer_size: int) -> None:
        self.source = source
        self.sinks: set[Sink] = set()
        self.bus = bus
        self.sessionmaker = sessionmaker
        self.buffer_size = buffer_size
        self.buffer: deque[Any] = deque()
        self.floor = 0  # rows up to the floor are not in the buffer: read them from the table
        self.head = 0
        self.arrived = 0  # rows read since the feed started
        self.followers: set[Follower] = set()
        self.users = 0
        self.started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # Subscribe before reading the head: a row committed after the read is then always announced.
        await self.bus.listen(self.source.channel, self.wake)
        async with self.sessionmaker() as session:
            self.head = self.floor = await self.source.newest_id(session)
        self._task = asyncio.create_task(self._run(), name=f"feed:{self.source.key}")

    def stop(self) -> None:
        self.bus.unlisten(self.source.channel, self.wake)
        if self._task is not None:
            self._task.cancel()

    def wake(self, *_: object) -> None:
        self._wake.set()

    def rows_after(self, cursor: int) -> list[Any] | None:
        """Buffered rows after `cursor`, or None when the cursor is older than the buffer."""
        if cursor < self.floor:
            return None
        newer = []
        for row in reversed(self.buffer):
            if row.id <= cursor:
                break
            newer.append(row)
        newer.reverse()
        return newer

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self._fetch()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database may be restarting: try again shortly
                log.warning("feed read failed", extra={"feed": str(self.source.key)}, exc_info=True)
                await asyncio.sleep(1.0)
                self._wake.set()

    async def _fetch(self) -> None:
        while True:
            async with self.sessionmaker() as session:
                rows = await self.source.after(session, self.head, PAGE)
            if not rows:
                return
            self.buffer.extend(rows)
            self.arrived += len(rows)
            self.head = rows[-1].id
            self._trim()
            await self._prepare(rows)
            for sink in list(self.sinks):
                try:
                    sink.push(rows)
                except Exception:  # one broken sink must not starve the others
                    log.exception("feed sink failed", extra={"feed": str(self.source.key)})
            for follower in list(self.followers):
                if not follower.pushed:
                    follower.wake.set()
            if len(rows) < PAGE:
                return
            await asyncio.sleep(0)  # let followers drain before the next page

    async def _prepare(self, rows: list[Any]) -> None:
        """Work every subscriber would do for these rows, done once before they get them (shared renderings)."""
        if not self.sinks:
            return
        outcomes = await asyncio.gather(*(sink.prepare(rows) for sink in list(self.sinks)), return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, asyncio.CancelledError):
                raise outcome
            if isinstance(outcome, Exception):  # the sink renders them on demand then
                log.warning("feed preparation failed", extra={"feed": str(self.source.key)}, exc_info=outcome)

    def _trim(self) -> None:
        while len(self.buffer) > self.buffer_size:
            self.floor = self.buffer.popleft().id
        for follower in list(self.followers):
            if not follower.evicted and not follower.pushed and (
                (follower.live and follower.cursor < self.floor)  # fell out of the buffer
                or self.arrived - follower.arrived_at_progress > self.buffer_size  # stuck while replaying
            ):
                follower.evict()


class Hub:
    """This process's feeds, created on first use and stopped when their last subscriber leaves."""

    def __init__(
        self, bus: Bus, sessionmaker: async_sessionmaker[AsyncSession], *, buffer_size: int, catchup_seconds: float,
        socket_db_concurrency: int = 4,
    ) -> None:
        self.bus = bus
        self.sessionmaker = sessionmaker
        self._socket_db = asyncio.Semaphore(socket_db_concurrency)
        self.buffer_size = buffer_size
        self.catchup_seconds = catchup_seconds
        self.feeds: dict[tuple[Any, ...], Feed] = {}
        self._catchup: asyncio.Task[None] | None = None
        bus.on_reconnect(self.wake_all)

    def start(self) -> None:
        self._catchup = asyncio.create_task(self._catch_up_periodically(), name="hub-catchup")

    def stop(self) -> None:
        if self._catchup is not None:
            self._catchup.cancel()
        for feed in self.feeds.values():
            feed.stop()
        self.feeds.clear()

    @asynccontextmanager
    async def socket_session(self) -> AsyncIterator[AsyncSession]:
        """A session for one socket's own reads (authentication, checks, replays): only so many at once per process."""
        async with self._socket_db, self.sessionmaker() as session:
            yield session

    def wake_all(self) -> None:
        """Read every feed's table again: notices may have been lost (broker reconnect, periodic safety net)."""
        for feed in self.feeds.values():
            feed.wake()

    async def _catch_up_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.catchup_seconds)
            self.wake_all()

    async def _acquire(self, source: EventSource) -> Feed:
        feed = self.feeds.get(source.key)
        if feed is not None:
            feed.users += 1
            try:
                await asyncio.shield(feed.started)
            except BaseException:  # the feed failed to start, or this subscriber left while waiting
                self._release(feed)
                raise
            return feed
        feed = self.feeds[source.key] = Feed(source, self.bus, self.sessionmaker, self.buffer_size)
        feed.users += 1
        try:
            await feed.start()
        except BaseException as error:
            del self.feeds[source.key]
            feed.stop()
            feed.started.set_exception(error)
            feed.started.exception()  # retrieved: waiters get it from `started`
            raise
        feed.started.set_result(None)
        return feed

    def _release(self, feed: Feed) -> None:
        feed.users -= 1
        if feed.users == 0 and self.feeds.get(feed.source.key) is feed:
            del self.feeds[feed.source.key]
            feed.stop()

    async def stream(
        self, source: EventSource, after: int | None, *, on_evicted: Callable[[int], None] | None = None
    ) -> AsyncIterator[Any]:
        """Rows after `after` (or from now when None), replayed from the table, then live; no gap, no duplicate."""
        feed = await self._acquire(source)
        follower = Follower(feed.head if after is None else after, on_evicted, arrived=feed.arrived)
        feed.followers.add(follower)
        try:
            while True:
                if follower.evicted:
                    raise SlowConsumer(follower.cursor)
                rows = feed.rows_after(follower.cursor)
                if rows is None:  # behind the buffer: replay from the table
                    follower.live = False
                    async with self.socket_session() as session:
                        rows = await source.after(session, follower.cursor, PAGE)
                    if not rows:
                        follower.cursor = max(follower.cursor, feed.floor)
                        continue
                elif not rows:
                    follower.live = True
                    follower.wake.clear()
                    if feed.rows_after(follower.cursor) == [] and not follower.evicted:
                        await follower.wake.wait()
                    continue
                else:
                    follower.live = True
                for row in rows:
                    yield row
                    follower.cursor = row.id
                    follower.arrived_at_progress = feed.arrived
                    if follower.evicted:
                        raise SlowConsumer(follower.cursor)
        finally:
            feed.followers.discard(follower)
            self._release(feed)

    async def follow(
        self, source: EventSource, after: int | None, *, replay: Callable[[Any], Awaitable[None]],
        live: Callable[[Feed, Follower], Awaitable[None]], on_evicted: Callable[[int], None] | None = None,
    ) -> None:
        """Rows after `after` (or from now when None): the ones already there go one by one through `replay`, from the
        table, then from the buffer; once caught up, `live(feed, follower)` takes over and must register a sink with
        the feed before it first awaits (the feed pushes what comes next). Raises SlowConsumer when evicted meanwhile."""
        feed = await self._acquire(source)
        follower = Follower(feed.head if after is None else after, on_evicted, arrived=feed.arrived)
        feed.followers.add(follower)
        try:
            while True:
                if follower.evicted:
                    raise SlowConsumer(follower.cursor)
                rows = feed.rows_after(follower.cursor)
                if rows is None:  # behind the buffer: replay from the table
                    async with self.socket_session() as session:
                        rows = await source.after(session, follower.cursor, PAGE)
                    if not rows:
                        follower.cursor = max(follower.cursor, feed.floor)
                        continue
                elif not rows:
                    break  # caught up: no await from here until `live` has joined
                for row in rows:
                    await replay(row)
                    follower.cursor = row.id
                    follower.arrived_at_progress = feed.arrived
                    if follower.evicted:
                        raise SlowConsumer(follower.cursor)
            follower.live = follower.pushed = True
            await live(feed, follower)
        finally:
            feed.followers.discard(follower)
            self._release(feed)
