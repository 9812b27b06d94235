"""Any KPI as a time series, bucketed per day or hour on the wall clock of each row's depot."""
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from app.analytics.dialect import Dialect
from app.analytics.periods import first_attempts_per_day
from app.analytics.service import E, F, Scope, _count_if, _exceptions, _failure_costed, _first_attempts, dialect_for


class Kpi(StrEnum):
    EXCEPTIONS = "EXCEPTIONS"
    FIRST_TIME_SUCCESS_RATE = "FIRST_TIME_SUCCESS_RATE"
    FAILED_ATTEMPTS = "FAILED_ATTEMPTS"  # of the stops first attempted in the bucket
    AVG_RESOLUTION_MINUTES = "AVG_RESOLUTION_MINUTES"
    P90_RESOLUTION_MINUTES = "P90_RESOLUTION_MINUTES"
    TOTAL_FAILURE_COST_CENTS = "TOTAL_FAILURE_COST_CENTS"
    COST_PER_FAILED_ATTEMPT_CENTS = "COST_PER_FAILED_ATTEMPT_CENTS"


class Bucket(StrEnum):
    DAY = "DAY"
    HOUR = "HOUR"


async def series(*, session: AsyncSession, scope: Scope, kpi: Kpi, bucket: Bucket) -> list[tuple[str, float | None]]:
    """(bucket label, value) in time order; buckets without any row are absent."""
    dialect = await dialect_for(session=session, scope=scope)
    per_hour = bucket is Bucket.HOUR
    if kpi in (Kpi.FIRST_TIME_SUCCESS_RATE, Kpi.FAILED_ATTEMPTS):
        if not per_hour:  # the depot's calendar day was stored with the fact row, and summed per day (rollups.py)
            days = await first_attempts_per_day(session=session, scope=scope, zones=dialect.zones)
            if kpi is Kpi.FAILED_ATTEMPTS:
                return [(day.isoformat(), float(failed)) for day, (_, _, failed) in days]
            return [(day.isoformat(), delivered / first) for day, (first, delivered, _) in days]
        value = sa.func.sum(F.failed_attempts) if kpi is Kpi.FAILED_ATTEMPTS else 1.0 * _count_if(F.first_delivered) / sa.func.count()
        query, local = dialect.with_local_time(_first_attempts(scope), F.first_attempt_at, F.depot_id)
        label = local.bucket(per_hour).label("bucket")
        rows = (await session.exec(query.add_columns(label, value.label("value")).group_by(label).order_by(label))).all()
        return [(row.bucket, float(row.value)) for row in rows]
    if dialect.is_postgres and kpi is Kpi.P90_RESOLUTION_MINUTES:
        return await _p90_series_by_local_time(session=session, scope=scope, dialect=dialect, per_hour=per_hour)
    if dialect.is_postgres:
        return await _exception_series_by_slot(session=session, scope=scope, dialect=dialect, kpi=kpi, per_hour=per_hour)
    return await _exception_series_per_row(session=session, scope=scope, dialect=dialect, kpi=kpi, per_hour=per_hour)


async def _exception_series_per_row(
    *, session: AsyncSession, scope: Scope, dialect: Dialect, kpi: Kpi, per_hour: bool,
) -> list[tuple[str, float | None]]:
    """Each exception read on its depot's clock (SQLite, the p90, and the reference the slot sums are tested against)."""
    query, local = dialect.with_local_time(_exceptions(scope), E.reported_at, E.depot_id)
    minutes = dialect.seconds_between(E.reported_at, E.resolved_at) / 60.0
    if kpi is Kpi.P90_RESOLUTION_MINUTES:
        label, seconds = local.bucket(per_hour).label("bucket"), minutes.label("minutes")
        source = query.add_columns(label, seconds).where(E.resolved_at.is_not(None))
        p90 = dialect.p90(seconds, source, group=label)
        rows = (await session.exec(p90.order_by(sa.text("1")))).all()
        return [(row[0], float(row[1])) for row in rows]
    value, query = {
        Kpi.EXCEPTIONS: (sa.func.count(), query),
        Kpi.AVG_RESOLUTION_MINUTES: (sa.func.avg(minutes), query.where(E.resolved_at.is_not(None))),
        Kpi.TOTAL_FAILURE_COST_CENTS: (sa.func.sum(E.failure_cost_cents), query.where(_failure_costed())),
        Kpi.COST_PER_FAILED_ATTEMPT_CENTS: (1.0 * sa.func.avg(E.failure_cost_cents), query.where(_failure_costed())),
    }[kpi]
    label = local.bucket(per_hour).label("bucket")
    rows = (await session.exec(query.add_columns(label, value.label("value")).group_by(label).order_by(label))).all()
    return [(row.bucket, float(row.value) if row.value is not None else None) for row in rows]


async def _p90_series_by_local_time(*, session: AsyncSession, scope: Scope, dialect: Dialect, per_hour: bool) -> list[tuple[str, float | None]]:
    """PostgreSQL: the p90 needs every value, but the groups can be local timestamps (8 bytes) labelled once per bucket."""
    query, local = dialect.with_local_time(_exceptions(scope), E.reported_at, E.depot_id)
    bucket = sa.func.date_trunc("hour" if per_hour else "day", local.moment).label("local_bucket")
    minutes = (dialect.seconds_between(E.reported_at, E.resolved_at) / 60.0).label("minutes")
    inner = query.add_columns(bucket, minutes).where(E.resolved_at.is_not(None)).subquery("p90_source")
    pct = sa.func.percentile_cont(0.9).within_group(inner.c.minutes)
    label = sa.func.to_char(inner.c.local_bucket, 'YYYY-MM-DD"T"HH24:00' if per_hour else "YYYY-MM-DD")
    rows = (await session.exec(sa.select(label, pct).group_by(inner.c.local_bucket).order_by(inner.c.local_bucket))).all()
    return [(row[0], float(row[1])) for row in rows]


async def _exception_series_by_slot(
    *, session: AsyncSession, scope: Scope, dialect: Dialect, kpi: Kpi, per_hour: bool,
) -> list[tuple[str, float | None]]:
    """PostgreSQL: sums per depot and 15-minute UTC slot first (as `hour_of_week`), then each slot read on its depot's clock.

    Every zone's offset and DST change is a multiple of 15 minutes, so a slot never straddles two local days or hours:
    a quarter's 250k time-zone conversions and labels become about 26k. Averages are the sums of the slots over their
    counts, which is what `avg` computes (sums of integers, numerics and intervals are exact).
    """
    total, where = {
        Kpi.EXCEPTIONS: (None, None),
        # the durations summed as intervals (exact microseconds, far cheaper than a numeric epoch per row)
        Kpi.AVG_RESOLUTION_MINUTES: (E.resolved_at - E.reported_at, E.resolved_at.is_not(None)),
        Kpi.TOTAL_FAILURE_COST_CENTS: (E.failure_cost_cents, _failure_costed()),
        Kpi.COST_PER_FAILED_ATTEMPT_CENTS: (E.failure_cost_cents, _failure_costed()),
    }[kpi]
    slot = sa.func.date_bin(sa.literal_column("interval '15 minutes'"), E.reported_at, sa.literal_column("timestamptz '2000-01-01 00:00:00+00'"))
    columns = [E.depot_id.label("depot_id"), slot.label("slot"), sa.func.count().label("n")]
    if total is not None:
        columns.append(sa.func.sum(total).label("total"))
    inner = _exceptions(scope, *columns)
    if where is not None:
        inner = inner.where(where)
    slots = inner.group_by(E.depot_id, slot).subquery("slots")
    query, local = dialect.with_local_time(sa.select().select_from(slots), slots.c.slot, slots.c.depot_id)
    count, total = sa.func.sum(slots.c.n), sa.func.sum(slots.c.get("total"))
    value = {
        Kpi.EXCEPTIONS: lambda: count,
        Kpi.AVG_RESOLUTION_MINUTES: lambda: sa.extract("epoch", total) / 60.0 / count,
        Kpi.TOTAL_FAILURE_COST_CENTS: lambda: total,
        Kpi.COST_PER_FAILED_ATTEMPT_CENTS: lambda: 1.0 * (total / count),
    }[kpi]()
    label = local.bucket(per_hour).label("bucket")
    rows = (await session.exec(query.add_columns(label, value.label("value")).group_by(label).order_by(label))).all()
    return [(row.bucket, float(row.value) if row.value is not None else None) for row in rows]
