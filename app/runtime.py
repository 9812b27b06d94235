"""Everything a process holds for its lifetime: settings, engine, sessions, broadcast."""
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from app.clock import Clock, SystemClock
from app.config import Settings
from app.db import create_engine, create_sessionmaker
from app.realtime.bus import Bus, Notice
from app.realtime.feeds import Hub


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    bus: Bus
    hub: Hub
    clock: Clock = field(default_factory=SystemClock)

    @classmethod
    def build(cls, settings: Settings, *, clock: Clock | None = None) -> "Runtime":
        engine = create_engine(settings.database_url, echo=settings.database_echo)
        sessionmaker = create_sessionmaker(engine)
        bus = Bus(
            settings.broadcast_url, prefix=settings.broadcast_channel_prefix, heartbeat_seconds=settings.broker_heartbeat_seconds,
            heartbeat_timeout_seconds=settings.broker_heartbeat_timeout_seconds, backoff_max_seconds=settings.broker_backoff_max_seconds,
        )
        hub = Hub(bus, sessionmaker, buffer_size=settings.realtime_buffer_events, catchup_seconds=settings.realtime_catchup_seconds)
        return cls(settings=settings, engine=engine, sessionmaker=sessionmaker, bus=bus, hub=hub, clock=clock or SystemClock())

    async def start(self) -> None:
        await self.bus.connect()
        self.hub.start()

    async def stop(self) -> None:
        self.hub.stop()
        await self.bus.disconnect()
        await self.engine.dispose()


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Runtime]:
    runtime = Runtime.build(settings)
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()


@dataclass
class UnitOfWork:
    """One transaction; the notices it collects are published only once it has committed."""

    session: AsyncSession
    clock: Clock = field(default_factory=SystemClock)
    settings: Settings | None = None
    notices: list[Notice] = field(default_factory=list)

    def notify(self, *notices: Notice) -> None:
        self.notices.extend(notices)


@asynccontextmanager
async def unit_of_work(runtime: Runtime) -> AsyncIterator[UnitOfWork]:
    async with runtime.sessionmaker() as session:
        uow = UnitOfWork(session=session, clock=runtime.clock, settings=runtime.settings)
        async with session.begin():
            yield uow
    if uow.notices:
        await runtime.bus.publish(uow.notices)
