"""The `analytics` query: one entry point, each figure a field, so a dashboard asks only for what it shows."""
import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

import strawberry
from sqlmodel.ext.asyncio.session import AsyncSession
from strawberry.exceptions import StrawberryGraphQLError

from app.analytics import service
from app.analytics.areas import check_resolution, descendant_range
from app.analytics.punctuality import punctuality
from app.analytics.series import Bucket, series
from app.analytics.types import (
    AnalyticsKpi,
    AreaStatsType,
    ContactChannelStats,
    HourOfWeekCount,
    KpiComparison,
    KpiSet,
    OutcomeCount,
    PunctualityType,
    SeriesPoint,
    TimeBucket,
)
from app.api.common import parse_id
from app.api.context import Info
from app.auth.permissions import IsStaff
from app.delivery_exceptions.types import ExceptionKindType
from app.errors import DomainError

MAX_PERIOD = timedelta(days=400)
MAX_HOURLY_PERIOD = timedelta(days=31)
MAX_AREAS = 1000


@asynccontextmanager
async def _own_session(info: Info) -> AsyncIterator[AsyncSession]:
    """Sibling fields resolve concurrently, and one session cannot run two queries at once: each field reads with its own."""
    async with info.context.runtime.sessionmaker() as session:
        yield session


def _invalid(message: str, field: str) -> StrawberryGraphQLError:
    return StrawberryGraphQLError(message, extensions={"code": "INVALID_INPUT", "field": field})


@strawberry.input(description="The period and the slice of the fleet to measure.")
class AnalyticsFilterInput:
    start: datetime = strawberry.field(name="from", description="Start of the period (inclusive).")
    end: datetime = strawberry.field(name="to", description="End of the period (exclusive); at most 400 days after `from`.")
    depot_id: strawberry.ID | None = None
    driver_id: strawberry.ID | None = strawberry.field(default=None, description="The driver of the route.")
    kinds: list[ExceptionKindType] | None = strawberry.field(default=None, description="Narrows exception figures; first-time success ignores it.")
    area: str | None = strawberry.field(default=None, description="An H3 cell of any resolution: only delivery addresses inside it.")


@strawberry.type(description="Exception analytics of one period, for dispatchers and supervisors.")
class Analytics:
    scope: strawberry.Private[service.Scope]

    @strawberry.field(name="from")
    def start(self) -> datetime:
        return self.scope.start

    @strawberry.field(name="to")
    def end(self) -> datetime:
        return self.scope.end

    @strawberry.field(description="The headline figures, with the previous period of the same length beside them.")
    async def kpis(self, info: Info) -> KpiComparison:
        async def figures(scope: service.Scope) -> service.Kpis:
            async with _own_session(info) as session:
                return await service.kpis(session=session, scope=scope)

        current, previous = await asyncio.gather(figures(self.scope), figures(self.scope.previous()))
        return KpiComparison(current=KpiSet.from_kpis(current), previous=KpiSet.from_kpis(previous))

    @strawberry.field(description="Exceptions per weekday and hour on each depot's wall clock (the peak-hour view).")
    async def hour_of_week(self, info: Info) -> list[HourOfWeekCount]:
        async with _own_session(info) as session:
            rows = await service.hour_of_week(session=session, scope=self.scope)
        return [HourOfWeekCount(iso_weekday=d, hour=h, exceptions=n) for d, h, n in rows]

    @strawberry.field(description="Exceptions per H3 hexagon of the delivery address, busiest first.")
    async def areas(self, info: Info, resolution: int = 8, first: int = 200) -> list[AreaStatsType]:
        try:
            check_resolution(resolution)
        except ValueError as error:
            raise _invalid(str(error), "resolution") from None
        if not 1 <= first <= MAX_AREAS:
            raise _invalid(f"first must be between 1 and {MAX_AREAS}", "first")
        async with _own_session(info) as session:
            rows = await service.areas(session=session, scope=self.scope, resolution=resolution, limit=first)
        return [AreaStatsType.from_stats(row) for row in rows]

    @strawberry.field(description="Self-service vs staff contact: volume, outcomes and resolution time of each.")
    async def customer_preference(self, info: Info) -> list[ContactChannelStats]:
        async with _own_session(info) as session:
            rows = await service.customer_preference(session=session, scope=self.scope)
        channels: dict[str, ContactChannelStats] = {}
        weighted: dict[str, tuple[float, int]] = {}
        for channel, outcome, n, avg_seconds in rows:
            stats = channels.setdefault(channel, ContactChannelStats(channel=channel, exceptions=0, resolved=0, avg_resolution_minutes=None, by_outcome=[]))
            stats.exceptions += n
            if avg_seconds is not None:
                stats.resolved += n
                total, count = weighted.get(channel, (0.0, 0))
                weighted[channel] = (total + avg_seconds * n, count + n)
            if outcome is not None:
                stats.by_outcome.append(OutcomeCount(outcome=outcome, exceptions=n))
        for channel, (total, count) in weighted.items():
            channels[channel].avg_resolution_minutes = round(total / count / 60.0, 2)
        return list(channels.values())

    @strawberry.field(description="Delay per stop and route, exceptions caught before the window closed, live-ETA accuracy.")
    async def punctuality(self, info: Info) -> PunctualityType:
        async with _own_session(info) as session:
            return PunctualityType.from_punctuality(await punctuality(session=session, scope=self.scope))

    @strawberry.field(description="Any KPI per local day or hour, for charts; buckets without data are absent.")
    async def series(self, info: Info, kpi: AnalyticsKpi, bucket: TimeBucket = Bucket.DAY) -> list[SeriesPoint]:
        if bucket is Bucket.HOUR and self.scope.end - self.scope.start > MAX_HOURLY_PERIOD:
            raise _invalid("hourly series cover at most 31 days", "bucket")
        async with _own_session(info) as session:
            rows = await series(session=session, scope=self.scope, kpi=kpi, bucket=bucket)
        return [SeriesPoint(bucket=label, value=value) for label, value in rows]


def _scope(info: Info, criteria: AnalyticsFilterInput) -> service.Scope:
    if criteria.start.tzinfo is None or criteria.end.tzinfo is None:
        raise _invalid("from and to need a time zone offset", "from")
    if not criteria.start < criteria.end <= criteria.start + MAX_PERIOD:
        raise _invalid("to must be after from, at most 400 days later", "to")
    if criteria.area is not None:
        try:
            descendant_range(criteria.area)
        except ValueError as error:
            raise _invalid(str(error), "area") from None
    try:
        depot_id = parse_id(criteria.depot_id, "depot", "depotId") if criteria.depot_id else None
        driver_id = parse_id(criteria.driver_id, "driver", "driverId") if criteria.driver_id else None
    except DomainError as error:
        raise _invalid(error.message, error.field or "filter") from None
    return service.Scope.for_principal(
        info.context.viewer, start=criteria.start, end=criteria.end, depot_id=depot_id,
        driver_id=driver_id, kinds=tuple(criteria.kinds or ()), area=criteria.area,
    )


@strawberry.type
class AnalyticsQuery:
    @strawberry.field(permission_classes=[IsStaff], description="Dispatchers and supervisors: exception analytics of your tenant.")
    def analytics(self, info: Info, filter: AnalyticsFilterInput) -> Analytics:
        return Analytics(scope=_scope(info, filter))
