"""Everything a process holds for its lifetime, and the unit of work that flows run in.

The runtime carries every dependency a flow needs (settings, clock, sessions, bus, solver pool, matrix
provider, channels, the handler table); `app.bootstrap.bootstrap` wires the real ones, and tests swap one
with `dataclasses.replace(runtime, clock=..., ...)`.

A unit of work is one transaction. Flows record domain events on it (`await uow.emit(event)`): the
in-transaction handlers run at once, inside the transaction, and commit or roll back with it; once it has
committed, the notices are published and the after-commit handlers run, each in its own unit of work.
"""
from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from app.clock import Clock, SystemClock, writing_with
from app.config import Settings
from app.db import create_engine, create_sessionmaker
from app.events import Event
from app.realtime.bus import Bus, Notice
from app.realtime.feeds import Hub

log = logging.getLogger(__name__)

InTransactionHandler = Callable[["UnitOfWork", Any], Awaitable[None]]
AfterCommitHandler = Callable[["Runtime", Any], Awaitable[None]]


@dataclass(frozen=True)
class Handlers:
    """Who reacts to one event type, and in which phase."""

    in_transaction: tuple[InTransactionHandler, ...] = ()
    after_commit: tuple[AfterCommitHandler, ...] = ()


HandlerTable = Mapping[type[Event], Handlers]
NO_HANDLERS = Handlers()


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    bus: Bus
    hub: Hub
    clock: Clock = field(default_factory=SystemClock)
    handlers: HandlerTable = field(default_factory=dict)
    # Replanning: the process pool VROOM runs in and the travel-time source (app.replanning).
    solver_pool: Any = None
    matrix: Any = None
    # Outreach and access: the outbox other domains write texts through, senders per channel, and the
    # digital-lock provider lookup by name.
    outbox: Any = None
    senders: Mapping[Any, Any] | None = None
    lock_providers: Callable[[Settings, str], Any] | None = None
    # Onboarding: addresses to coordinates for imported stops (app.geocoding); None: stops must carry lat/lon.
    geocoder: Any = None
    # Integrations: the CRM adapter (app.integrations.crm); None: no CRM configured.
    crm: Any = None

    @classmethod
    def build(cls, settings: Settings, **dependencies: Any) -> Runtime:
        """The platform part (database, bus, live feeds) from settings; domain dependencies are passed in."""
        engine = create_engine(settings.database_url, echo=settings.database_echo)
        sessionmaker = create_sessionmaker(engine)
        bus = Bus(
            settings.broadcast_url, prefix=settings.broadcast_channel_prefix, heartbeat_seconds=settings.broker_heartbeat_seconds,
            heartbeat_timeout_seconds=settings.broker_heartbeat_timeout_seconds, backoff_max_seconds=settings.broker_backoff_max_seconds,
        )
        hub = Hub(bus, sessionmaker, buffer_size=settings.realtime_buffer_events, catchup_seconds=settings.realtime_catchup_seconds,
                  socket_db_concurrency=settings.realtime_socket_db_concurrency)
        return cls(settings=settings, engine=engine, sessionmaker=sessionmaker, bus=bus, hub=hub, **dependencies)

    async def start(self) -> None:
        await self.bus.connect()
        self.hub.start()

    async def stop(self) -> None:
        self.hub.stop()
        await self.bus.disconnect()
        await self.engine.dispose()

    def handlers_for(self, event: Event) -> Handlers:
        return self.handlers.get(type(event), NO_HANDLERS)

    async def after_commit(self, events: list[Event]) -> None:
        """Run the after-commit handlers of committed events; one failing handler never stops the others."""
        for event in events:
            for handler in self.handlers_for(event).after_commit:
                try:
                    await handler(self, event)
                except Exception:  # the change is committed; the handler's own work is what failed
                    log.exception("after-commit handler failed", extra={"event": type(event).__name__, "handler": handler.__qualname__})


@dataclass
class UnitOfWork:
    """One transaction; its events' in-transaction handlers run inside it, the rest only once it has committed."""

    runtime: Runtime
    session: AsyncSession
    notices: list[Notice] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    @property
    def clock(self) -> Clock:
        return self.runtime.clock

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    def notify(self, *notices: Notice) -> None:
        self.notices.extend(notices)

    async def emit(self, event: Event) -> None:
        """Record a domain event: its in-transaction handlers run now, its after-commit handlers after the commit."""
        self.events.append(event)
        for handler in self.runtime.handlers_for(event).in_transaction:
            await handler(self, event)

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """A nested transaction: when it is rolled back, so are the notices and events recorded inside it."""
        notices, events = len(self.notices), len(self.events)
        try:
            async with self.session.begin_nested():
                yield
        except BaseException:
            del self.notices[notices:], self.events[events:]
            raise


@asynccontextmanager
async def unit_of_work(runtime: Runtime) -> AsyncIterator[UnitOfWork]:
    async with runtime.sessionmaker() as session:
        uow = UnitOfWork(runtime=runtime, session=session)
        with writing_with(runtime.clock):
            async with session.begin():
                yield uow
    if uow.notices:
        await runtime.bus.publish(uow.notices)
    if uow.events:
        await runtime.after_commit(uow.events)
