"""A period's first attempts read from the day sums for its whole local days and from the fact rows for its two edges.

A depot's local day is whole in [start, end) when its first instant is at or after `start`
and the next day's first instant at or before `end`. For each time zone in scope, those days
come from `stop_fact_day` (a few hundred rows), and only the stops first attempted on the
partial days at both ends are read from `stop_fact` — two short UTC windows of the index,
keeping the rows whose stored local day is not a whole one. The two parts never overlap,
and together they are exactly the stops first attempted in [start, end) (a depot's stored
day is its calendar day of the attempt: a depot that later changes time zone keeps its
days). Narrowing by driver or area has no day sums: those questions read the fact rows.
"""
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.sql import ColumnElement, Select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.analytics.rollups import StopFactDay as D
from app.analytics.scope import F, Scope, _first_attempts, depot_zones

Counts = tuple[int, int, int]  # first attempts, delivered at the first attempt, failed attempts of those stops


@dataclass(frozen=True)
class ZoneSplit:
    """How the period falls on the local days of the depots that share one time zone."""

    depot_ids: tuple[int, ...]
    first_day: date  # whole days are [first_day, end_day): none when first_day >= end_day
    end_day: date
    head_end: datetime  # the head edge is [start, head_end), the tail edge [tail_start, end)
    tail_start: datetime

    @property
    def has_whole_days(self) -> bool:
        return self.first_day < self.end_day


def _day_start(day: date, zone: ZoneInfo) -> datetime:
    """The first instant of a local day, in UTC (a midnight skipped by a clock change starts the day at the change)."""
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def split_period(zone_name: str, depot_ids: tuple[int, ...], start: datetime, end: datetime) -> ZoneSplit:
    zone = ZoneInfo(zone_name)
    start_day, end_day = start.astimezone(zone).date(), end.astimezone(zone).date()
    first_day = start_day if _day_start(start_day, zone) >= start else start_day + timedelta(days=1)
    if first_day >= end_day:  # not one whole day: all of it is edge
        return ZoneSplit(depot_ids, end_day, end_day, end, end)
    return ZoneSplit(depot_ids, first_day, end_day, _day_start(first_day, zone), _day_start(end_day, zone))


def uses_day_sums(scope: Scope) -> bool:
    return scope.driver_id is None and scope.area is None


async def _splits(*, session: AsyncSession, scope: Scope, zones: dict[int, str] | None) -> list[ZoneSplit]:
    """`zones`: the depots' zones when the caller has read them already (SQLite's dialect has)."""
    if zones is None:
        zones = await depot_zones(session=session, scope=scope)
    by_zone: dict[str, list[int]] = {}
    for depot_id, zone in sorted(zones.items()):
        by_zone.setdefault(zone, []).append(depot_id)
    return [split_period(zone, tuple(ids), scope.start, scope.end) for zone, ids in sorted(by_zone.items())]


def _day_rows(scope: Scope, splits: list[ZoneSplit]) -> sa.Subquery | None:
    """(day, first, delivered, failed) rows: one per whole day and depot from the sums, one per edge stop from the facts."""
    if not splits:  # no depot in scope
        return None
    parts = []
    ranges = [sa.and_(D.depot_id.in_(s.depot_ids), D.local_date >= s.first_day, D.local_date < s.end_day) for s in splits if s.has_whole_days]
    if ranges:
        parts.append(sa.select(D.local_date.label("day"), D.first_attempts.label("first"), D.first_delivered.label("delivered"),
                               D.failed_attempts.label("failed")).where(D.tenant_id == scope.tenant_id, sa.or_(*ranges)))
    # the partial days: at most two UTC windows, each one range of the first-attempt index
    head_end, tail_start = max(s.head_end for s in splits), min(s.tail_start for s in splits)
    windows = [(scope.start, head_end), (tail_start, scope.end)] if head_end < tail_start else [(scope.start, scope.end)]
    partial = sa.or_(*[
        sa.and_(F.depot_id.in_(s.depot_ids), sa.or_(F.first_local_date < s.first_day, F.first_local_date >= s.end_day)) for s in splits
    ])
    parts += [
        sa.select(F.first_local_date.label("day"), sa.literal(1).label("first"), sa.case((F.first_delivered, 1), else_=0).label("delivered"),
                  F.failed_attempts.label("failed"))
        .where(F.tenant_id == scope.tenant_id, F.first_attempt_at >= low, F.first_attempt_at < high, partial)
        for low, high in windows if low < high
    ]
    if not parts:  # an empty period
        return None
    return (sa.union_all(*parts) if len(parts) > 1 else parts[0]).subquery("day_rows")


def _sums(delivered: ColumnElement, failed: ColumnElement) -> tuple[ColumnElement, ...]:
    return sa.func.count().label("first"), sa.func.sum(sa.case((delivered, 1), else_=0)).label("delivered"), sa.func.sum(failed).label("failed")


async def first_attempt_totals(*, session: AsyncSession, scope: Scope, zones: dict[int, str] | None = None) -> Counts:
    """The period's first attempts, delivered ones and their failed attempts."""
    if not uses_day_sums(scope):
        row = (await session.exec(_first_attempts(scope, *_sums(F.first_delivered, F.failed_attempts)))).one()
        return int(row.first or 0), int(row.delivered or 0), int(row.failed or 0)
    rows = _day_rows(scope, await _splits(session=session, scope=scope, zones=zones))
    if rows is None:
        return 0, 0, 0
    total = (await session.exec(sa.select(sa.func.sum(rows.c.first), sa.func.sum(rows.c.delivered), sa.func.sum(rows.c.failed)))).one()
    return int(total[0] or 0), int(total[1] or 0), int(total[2] or 0)


async def first_attempts_per_day(*, session: AsyncSession, scope: Scope, zones: dict[int, str] | None = None) -> list[tuple[date, Counts]]:
    """Per stored local day of the first attempt, in day order; days without a first attempt are absent."""
    if not uses_day_sums(scope):
        query = _first_attempts(scope, F.first_local_date, *_sums(F.first_delivered, F.failed_attempts)).group_by(F.first_local_date).order_by(F.first_local_date)
        return [(row.first_local_date, (row.first, int(row.delivered), int(row.failed))) for row in (await session.exec(query)).all()]
    rows = _day_rows(scope, await _splits(session=session, scope=scope, zones=zones))
    if rows is None:
        return []
    query = sa.select(rows.c.day, sa.func.sum(rows.c.first), sa.func.sum(rows.c.delivered), sa.func.sum(rows.c.failed)).group_by(rows.c.day)
    days = [(row[0], (int(row[1]), int(row[2]), int(row[3]))) for row in (await session.exec(query.order_by(rows.c.day))).all()]
    return [(day, counts) for day, counts in days if counts[0]]
