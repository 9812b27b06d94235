"""Where each live stream reads its truth: an event table, filtered by tenant and scope, in id order."""
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.delivery_exceptions.models import ExceptionEvent
from app.realtime.bus import depot_channel, route_channel
from app.realtime.models import RouteEvent


class EventSource(Protocol):
    """A table of events with monotonic ids, narrowed to what one subscription may see."""

    @property
    def key(self) -> tuple[Any, ...]: ...

    @property
    def channel(self) -> str: ...

    async def newest_id(self, session: AsyncSession) -> int: ...

    async def after(self, session: AsyncSession, cursor: int, limit: int) -> list[Any]: ...


@dataclass(frozen=True)
class DepotExceptionEvents:
    """Every event of every exception in one depot."""

    tenant_id: int
    depot_id: int

    @property
    def key(self) -> tuple[Any, ...]:
        return ("depot-exception-events", self.tenant_id, self.depot_id)

    @property
    def channel(self) -> str:
        return depot_channel(self.tenant_id, self.depot_id)

    def _where(self, query: Any) -> Any:
        return query.where(ExceptionEvent.tenant_id == self.tenant_id, ExceptionEvent.depot_id == self.depot_id)

    async def newest_id(self, session: AsyncSession) -> int:
        return (await session.exec(self._where(select(func.max(ExceptionEvent.id))))).one() or 0

    async def after(self, session: AsyncSession, cursor: int, limit: int) -> list[ExceptionEvent]:
        query = self._where(select(ExceptionEvent)).where(col(ExceptionEvent.id) > cursor)
        return list((await session.exec(query.order_by(col(ExceptionEvent.id)).limit(limit))).all())


@dataclass(frozen=True)
class RouteExceptionEvents(DepotExceptionEvents):
    """The events of the exceptions on one route (read through the depot index, then narrowed to the route)."""

    route_id: int = 0

    @property
    def key(self) -> tuple[Any, ...]:
        return ("route-exception-events", self.tenant_id, self.route_id)

    @property
    def channel(self) -> str:
        return route_channel(self.tenant_id, self.route_id)

    def _where(self, query: Any) -> Any:
        return super()._where(query).where(ExceptionEvent.route_id == self.route_id)


@dataclass(frozen=True)
class RouteChanges:
    """Stop changes, new ETAs and new versions of one route."""

    tenant_id: int
    route_id: int

    @property
    def key(self) -> tuple[Any, ...]:
        return ("route-changes", self.tenant_id, self.route_id)

    @property
    def channel(self) -> str:
        return route_channel(self.tenant_id, self.route_id)

    def _where(self, query: Any) -> Any:
        return query.where(RouteEvent.tenant_id == self.tenant_id, RouteEvent.route_id == self.route_id)

    async def newest_id(self, session: AsyncSession) -> int:
        return (await session.exec(self._where(select(func.max(RouteEvent.id))))).one() or 0

    async def after(self, session: AsyncSession, cursor: int, limit: int) -> list[RouteEvent]:
        query = self._where(select(RouteEvent)).where(col(RouteEvent.id) > cursor)
        return list((await session.exec(query.order_by(col(RouteEvent.id)).limit(limit))).all())
