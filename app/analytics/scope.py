"""Which rows a dashboard question covers: one tenant's, of a period, narrowed by depot, driver, kind or area."""
from dataclasses import dataclass, replace
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.sql import ColumnElement, Select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.analytics.areas import descendant_range
from app.analytics.models import StopFact as F
from app.auth.principal import Principal
from app.delivery_exceptions.models import ExceptionKind
from app.tenants.models import Depot


@dataclass(frozen=True)
class Scope:
    """Whose rows and which ones: always one tenant; the rest narrows."""

    tenant_id: int
    start: datetime
    end: datetime
    depot_ids: tuple[int, ...] | None = None  # None: every depot of the tenant
    driver_id: int | None = None
    kinds: tuple[ExceptionKind, ...] = ()
    area: str | None = None  # an H3 cell of any resolution

    @classmethod
    def for_principal(cls, principal: Principal, *, start: datetime, end: datetime, depot_id: int | None = None, **narrowing) -> "Scope":  # noqa: ANN003
        """A dispatcher tied to depots sees only those; asking for another depot yields nothing rather than an error."""
        allowed = principal.depot_ids if principal.is_staff else None
        if depot_id is not None:
            depots = (depot_id,) if allowed is None or depot_id in allowed else ()
        else:
            depots = tuple(sorted(allowed)) if allowed is not None else None
        return cls(tenant_id=principal.tenant_id, start=start, end=end, depot_ids=depots, **narrowing)

    def previous(self) -> "Scope":
        """The period of the same length just before this one."""
        return replace(self, start=self.start - (self.end - self.start), end=self.start)


async def depot_zones(*, session: AsyncSession, scope: Scope) -> dict[int, str]:
    """The time zone of each depot in scope."""
    query = sa.select(Depot.id, Depot.timezone).where(Depot.tenant_id == scope.tenant_id)
    if scope.depot_ids is not None:
        query = query.where(Depot.id.in_(scope.depot_ids))
    return {row.id: row.timezone for row in (await session.exec(query.order_by(Depot.id))).all()}


def _first_attempts(scope: Scope, *columns: ColumnElement) -> Select:
    """Stops whose first attempt falls in the period: one fact row each, no joins."""
    query = sa.select(*columns).select_from(F).where(F.tenant_id == scope.tenant_id, F.first_attempt_at >= scope.start, F.first_attempt_at < scope.end)
    return _narrow_facts(query, scope)


def _narrow_facts(query: Select, scope: Scope) -> Select:
    if scope.depot_ids is not None:
        query = query.where(F.depot_id.in_(scope.depot_ids))
    if scope.driver_id is not None:
        query = query.where(F.driver_id == scope.driver_id)
    if scope.area is not None:
        low, high = descendant_range(scope.area)
        query = query.where(F.h3_cell.between(low, high))
    return query
