"""SQL that differs between PostgreSQL and SQLite: local time in a depot's zone, durations, the 90th percentile.

PostgreSQL has a time-zone database (`AT TIME ZONE`) and `percentile_cont`. SQLite has
neither, so for it the UTC offsets of each depot's zone are worked out in Python for the
queried period — one row per stretch of constant offset, split exactly at DST changes — and
joined to the rows by time; the percentile is taken with ROW_NUMBER/COUNT windows and the
same linear interpolation as `percentile_cont`.
"""
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.sql import ColumnElement, Select

_SQLITE_FORMAT = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores DateTime on SQLite, so strings compare in time order


def offset_spans(zone: str, start: datetime, end: datetime) -> list[tuple[datetime, datetime, int]]:
    """Stretches [from, to) of the UTC period with one UTC offset (seconds) in `zone`, split exactly at every change."""
    tz, day = ZoneInfo(zone), timedelta(days=1)

    def offset(at: datetime) -> int:
        return int(at.astimezone(tz).utcoffset().total_seconds())

    spans, here = [], start
    while here < end:
        current, low = offset(here), here
        while low + day < end and offset(low + day) == current:
            low += day
        high = min(low + day, end)
        if high == end and offset(end - timedelta(microseconds=1)) == current:
            spans.append((here, end, current))
            break
        # offsets change on whole seconds: bisect on them until `high` is the first second of the new offset
        low_s, high_s = math.ceil(low.timestamp()), math.floor(high.timestamp())
        while high_s - low_s > 1:
            middle = (low_s + high_s) // 2
            low_s, high_s = (middle, high_s) if offset(datetime.fromtimestamp(middle, UTC)) == current else (low_s, middle)
        change = datetime.fromtimestamp(high_s, UTC)
        spans.append((here, change, current))
        here = change
    return spans


@dataclass(frozen=True)
class Dialect:
    """Builds the dialect-specific expressions for one query period and the depots in scope."""

    name: str
    zones: dict[int, str] | None  # the depots' time zones, read for SQLite only (PostgreSQL has its own)
    start: datetime
    end: datetime

    @property
    def is_postgres(self) -> bool:
        return self.name == "postgresql"

    def seconds_between(self, earlier: ColumnElement, later: ColumnElement) -> ColumnElement:
        if self.is_postgres:
            return sa.extract("epoch", later - earlier)
        return (sa.func.julianday(later) - sa.func.julianday(earlier)) * 86400.0

    def with_local_time(self, query: Select, moment: ColumnElement, depot_id: ColumnElement) -> tuple[Select, "LocalTime"]:
        """The query joined to what it needs to read `moment` on the wall clock of the row's depot."""
        if self.is_postgres:
            from app.tenants.models import Depot

            depot = sa.orm.aliased(Depot, name="local_depot")
            query = query.join(depot, depot.id == depot_id)
            return query, LocalTime(self, sa.func.timezone(depot.timezone, moment), None)
        rows = [
            (depot, begin.astimezone(UTC).strftime(_SQLITE_FORMAT), finish.astimezone(UTC).strftime(_SQLITE_FORMAT), seconds)
            for depot, zone in self.zones.items()
            for begin, finish, seconds in offset_spans(zone, self.start, self.end)
        ] or [(0, "", "", 0)]
        # SQLite cannot name the columns of a VALUES list in FROM; a CTE of literal rows can
        spans = sa.union_all(*[
            sa.select(sa.literal(d).label("depot_id"), sa.literal(b).label("begins"), sa.literal(e).label("ends"), sa.literal(o).label("offset_seconds"))
            for d, b, e, o in rows
        ]).cte("tz_span")
        query = query.join(spans, sa.and_(spans.c.depot_id == depot_id, moment >= spans.c.begins, moment < spans.c.ends))
        return query, LocalTime(self, moment, spans.c.offset_seconds)

    def p90(self, value: ColumnElement, source: Select, group: ColumnElement | None = None) -> Select:
        """SELECT [group,] p90 FROM (source) — `source` must select `value` (and `group`) as labelled columns."""
        return self.percentile(90, value, source, group)

    def percentile(self, percent: int, value: ColumnElement, source: Select, group: ColumnElement | None = None) -> Select:
        """SELECT [group,] p90 FROM (source): percentile_cont(percent / 100), the column labelled p90 whatever the percent."""
        inner = source.subquery("p90_source")
        v, g = inner.c[value.name], (inner.c[group.name] if group is not None else None)
        if self.is_postgres:
            pct = sa.func.percentile_cont(percent / 100.0).within_group(v)
            return sa.select(g, pct.label("p90")).group_by(g) if g is not None else sa.select(pct.label("p90"))
        partition = [g] if g is not None else []
        ranked = sa.select(
            *([g] if g is not None else []), v.label("v"),
            (sa.func.row_number().over(partition_by=partition, order_by=v) - 1).label("rank"),
            sa.func.count().over(partition_by=partition).label("n"),
        ).subquery("p90_ranked")
        # percentile_cont(q): position q·(n−1), interpolated between its floor and the next value
        floor_rank = (percent * (ranked.c.n - 1)) // 100
        fraction = ((percent * (ranked.c.n - 1)) % 100) / 100.0
        weight = sa.case(
            (ranked.c.rank == floor_rank, 1.0 - fraction),
            (ranked.c.rank == floor_rank + 1, fraction),
            else_=0.0,
        )
        pct = sa.func.sum(ranked.c.v * weight)
        keep = ranked.c.rank.between(floor_rank, floor_rank + 1)
        if g is not None:
            gg = ranked.c[group.name]
            return sa.select(gg, pct.label("p90")).where(keep).group_by(gg)
        return sa.select(pct.label("p90")).where(keep)


@dataclass(frozen=True)
class LocalTime:
    """A moment as read on a depot's wall clock, and the buckets the patterns group it by."""

    dialect: Dialect
    moment: ColumnElement
    offset_seconds: ColumnElement | None  # SQLite: the row's offset; PostgreSQL: None (moment is local already)

    def _strftime(self, pattern: str) -> ColumnElement:
        return sa.func.strftime(pattern, self.moment, sa.cast(self.offset_seconds, sa.String) + " seconds")

    def hour(self) -> ColumnElement:
        if self.dialect.is_postgres:
            return sa.cast(sa.extract("hour", self.moment), sa.Integer)
        return sa.cast(self._strftime("%H"), sa.Integer)

    def iso_weekday(self) -> ColumnElement:
        """1 = Monday … 7 = Sunday."""
        if self.dialect.is_postgres:
            return sa.cast(sa.extract("isodow", self.moment), sa.Integer)
        return (sa.cast(self._strftime("%w"), sa.Integer) + 6) % 7 + 1

    def bucket(self, per_hour: bool) -> ColumnElement:
        """The local day (YYYY-MM-DD) or hour (YYYY-MM-DDTHH:00) as a sortable label."""
        if self.dialect.is_postgres:
            return sa.func.to_char(self.moment, 'YYYY-MM-DD"T"HH24:00' if per_hour else "YYYY-MM-DD")
        return self._strftime("%Y-%m-%dT%H:00" if per_hour else "%Y-%m-%d")
