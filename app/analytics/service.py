"""The dashboard's numbers, each one aggregate query over one tenant's rows (no rows are counted in Python).

Period rules: an exception belongs to the period it was reported in; first-time success
counts the stops whose first attempt is in the period (from the stop's fact row, see
models.py), and failed attempts are those stops' failed attempts of any number (a cohort
view: a re-attempt counts with its stop). Resolution time is reported → resolved of the
resolved exceptions reported in the period. Failure cost is set when an exception is
closed, so cost per failed attempt averages the closed exceptions that recorded a failed
attempt. The kind filter narrows exceptions only; first-time success is about stops.
"""
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.sql import ColumnElement, Select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.analytics.areas import descendant_range, parent_bits
from app.analytics.dialect import Dialect
from app.analytics.models import ExceptionArea, StopFact
from app.analytics.periods import first_attempt_totals
from app.analytics.scope import Scope, _first_attempts, _narrow_facts, depot_zones  # noqa: F401 (the service's names for its callers)
from app.delivery_exceptions.models import DeliveryException, ExceptionEvent, ExceptionKind, ResolutionStep

E, F, X = DeliveryException, StopFact, ExceptionArea
GATE_REASONS = ("GATE_CLOSED", "ENTRY_CODE_INVALID", "KEY_FAILED", "BUILDING_LOCKED")
STAFF_ROLES = ("dispatcher", "supervisor", "driver")
CUSTOMER_ROLE = "customer"


def _exceptions(scope: Scope, *columns: ColumnElement) -> Select:
    query = sa.select(*columns).select_from(E).where(E.tenant_id == scope.tenant_id, E.reported_at >= scope.start, E.reported_at < scope.end)
    if scope.depot_ids is not None:
        query = query.where(E.depot_id.in_(scope.depot_ids))
    if scope.kinds:
        query = query.where(E.kind.in_(scope.kinds))
    if scope.driver_id is not None:  # drivers report exceptions themselves: the reporter is the stop's driver
        query = query.where(E.reported_by_id == scope.driver_id)
    if scope.area is not None:
        low, high = descendant_range(scope.area)
        in_area = sa.select(X.exception_id).where(
            X.tenant_id == scope.tenant_id, X.h3_cell.between(low, high), X.reported_at >= scope.start, X.reported_at < scope.end,
        )
        query = query.where(E.id.in_(in_area))
    return query


def _exception_areas(scope: Scope, *columns: ColumnElement) -> Select:
    """The period's exceptions as their area rows: the same narrowing as `_exceptions`, without touching the exceptions."""
    query = sa.select(*columns).select_from(X).where(X.tenant_id == scope.tenant_id, X.reported_at >= scope.start, X.reported_at < scope.end)
    if scope.depot_ids is not None:
        query = query.where(X.depot_id.in_(scope.depot_ids))
    if scope.kinds:
        query = query.where(X.kind.in_(scope.kinds))
    if scope.driver_id is not None:
        query = query.where(X.reported_by_id == scope.driver_id)
    if scope.area is not None:
        low, high = descendant_range(scope.area)
        query = query.where(X.h3_cell.between(low, high))
    return query


# Dashboard queries are short scans over data that sits in memory: JIT compilation costs more than it saves, index
# lookups cost little more than sequential reads (the planner's default assumes spinning disks), and sorts of a few
# hundred thousand values should not spill to disk.
POSTGRES_SETTINGS = {"jit": "off", "random_page_cost": "1.1", "work_mem": "64MB"}


async def _set_locally(session: AsyncSession, settings: dict[str, str]) -> None:
    """SET LOCAL of several settings in one statement (`set_config(…, true)` lasts to the end of the transaction)."""
    calls, values = [], {}
    for i, (name, value) in enumerate(settings.items()):
        calls.append(f"set_config(:name_{i}, :value_{i}, true)")
        values |= {f"name_{i}": name, f"value_{i}": value}
    await session.exec(sa.text(f"SELECT {', '.join(calls)}").bindparams(**values))


async def dialect_for(*, session: AsyncSession, scope: Scope, parallel: bool = True) -> Dialect:
    """The dialect helper with the time zones of the depots in scope (needed by SQLite only); tunes this transaction on PostgreSQL."""
    name = session.bind.dialect.name
    zones = None
    if name == "postgresql":
        await _set_locally(session, POSTGRES_SETTINGS | ({} if parallel else {"max_parallel_workers_per_gather": "0"}))
    else:
        zones = await depot_zones(session=session, scope=scope)
    return Dialect(name=name, zones=zones, start=scope.start, end=scope.end)


def _count_if(condition: ColumnElement) -> ColumnElement:
    return sa.func.sum(sa.case((condition, 1), else_=0))


def _failure_costed() -> ColumnElement:
    return sa.and_(E.failed_attempt_number.is_not(None), E.failure_cost_cents.is_not(None))


@dataclass
class Kpis:
    first_attempts: int = 0
    first_attempts_delivered: int = 0
    failed_attempts: int = 0
    exceptions: int = 0
    resolved: int = 0
    avg_resolution_seconds: float | None = None
    p90_resolution_seconds: float | None = None
    total_failure_cost_cents: int = 0
    costed_failed_attempts: int = 0
    by_kind_reason: list[tuple[str, str, int]] = field(default_factory=list)
    by_outcome: list[tuple[str, int]] = field(default_factory=list)

    @property
    def first_time_success_rate(self) -> float | None:
        return self.first_attempts_delivered / self.first_attempts if self.first_attempts else None

    @property
    def cost_per_failed_attempt_cents(self) -> float | None:
        return self.total_failure_cost_cents / self.costed_failed_attempts if self.costed_failed_attempts else None


async def kpis(*, session: AsyncSession, scope: Scope) -> Kpis:
    """The headline figures of one period."""
    # the API computes two periods at once: parallel workers on top would only fight for the cores
    dialect = await dialect_for(session=session, scope=scope, parallel=False)
    first_attempts, delivered, failed = await first_attempt_totals(session=session, scope=scope, zones=dialect.zones)
    duration = dialect.seconds_between(E.reported_at, E.resolved_at)
    resolved = E.resolved_at.is_not(None)
    # one scan: aggregates per (kind, reason, outcome) — a few dozen groups — folded below into totals and breakdowns
    groups = (await session.exec(_exceptions(
        scope, E.kind, E.reason_code, E.resolution_outcome, sa.func.count().label("n"), _count_if(resolved).label("resolved"),
        sa.func.sum(sa.case((resolved, duration))).label("seconds"),
        sa.func.sum(sa.case((_failure_costed(), E.failure_cost_cents))).label("cost"), _count_if(_failure_costed()).label("costed"),
    ).group_by(E.kind, E.reason_code, E.resolution_outcome))).all()
    p90 = await _p90(session=session, scope=scope, dialect=dialect)
    kinds: dict[tuple[str, str], int] = {}
    outcomes: dict[str, int] = {}
    for g in groups:
        kinds[(g.kind.value, g.reason_code)] = kinds.get((g.kind.value, g.reason_code), 0) + g.n
        if g.resolution_outcome is not None:
            outcomes[g.resolution_outcome.value] = outcomes.get(g.resolution_outcome.value, 0) + g.n
    resolved_count = sum(int(g.resolved or 0) for g in groups)
    seconds = sum(float(g.seconds or 0) for g in groups)
    return Kpis(
        first_attempts=first_attempts, first_attempts_delivered=delivered, failed_attempts=failed,
        exceptions=sum(g.n for g in groups), resolved=resolved_count,
        avg_resolution_seconds=seconds / resolved_count if resolved_count else None, p90_resolution_seconds=p90,
        total_failure_cost_cents=sum(int(g.cost or 0) for g in groups), costed_failed_attempts=sum(int(g.costed or 0) for g in groups),
        by_kind_reason=sorted(((k, r, n) for (k, r), n in kinds.items()), key=lambda row: (-row[2], row[0], row[1])),
        by_outcome=sorted(outcomes.items(), key=lambda row: (-row[1], row[0])),
    )


async def _p90(*, session: AsyncSession, scope: Scope, dialect: Dialect) -> float | None:
    duration = dialect.seconds_between(E.reported_at, E.resolved_at).label("seconds")
    value = (await session.exec(dialect.p90(duration, _exceptions(scope, duration).where(E.resolved_at.is_not(None))))).scalar()
    return float(value) if value is not None else None


async def hour_of_week(*, session: AsyncSession, scope: Scope) -> list[tuple[int, int, int]]:
    """(ISO weekday, hour, exceptions) on the wall clock of each exception's depot."""
    dialect = await dialect_for(session=session, scope=scope)
    if dialect.is_postgres:
        # count per depot and 15-minute UTC slot first, then read each slot on the depot's clock: every zone's offset and
        # DST change is a multiple of 15 minutes, so a slot never straddles two local hours, and 250k conversions become 26k
        slot = sa.func.date_bin(sa.literal_column("interval '15 minutes'"), E.reported_at, sa.literal_column("timestamptz '2000-01-01 00:00:00+00'"))
        slots = _exceptions(scope, E.depot_id.label("depot_id"), slot.label("slot"), sa.func.count().label("n")).group_by(E.depot_id, slot).subquery("slots")
        query, local = dialect.with_local_time(sa.select().select_from(slots), slots.c.slot, slots.c.depot_id)
        total = sa.func.sum(slots.c.n)
    else:
        query, local = dialect.with_local_time(_exceptions(scope), E.reported_at, E.depot_id)
        total = sa.func.count()
    weekday, hour = local.iso_weekday().label("weekday"), local.hour().label("hour")
    query = query.add_columns(weekday, hour, total.label("n")).group_by(weekday, hour).order_by(weekday, hour)
    return [(r.weekday, r.hour, int(r.n)) for r in (await session.exec(query)).all()]


@dataclass(frozen=True)
class AreaStats:
    cell: int
    exceptions: int
    access_failures: int
    gated_stops: int

    @property
    def access_failure_share(self) -> float:
        return self.access_failures / self.exceptions if self.exceptions else 0.0


async def areas(*, session: AsyncSession, scope: Scope, resolution: int, limit: int) -> list[AreaStats]:
    """Exceptions per H3 cell at `resolution`, busiest first, with how many were access failures at gated addresses."""
    await dialect_for(session=session, scope=scope)
    keep, set_bits = parent_bits(resolution)
    cell = X.h3_cell.op("&")(sa.literal_column(str(keep))).op("|")(sa.literal_column(str(set_bits))).label("cell")
    access = X.kind == ExceptionKind.ACCESS_DENIED
    gated = sa.func.count(sa.distinct(sa.case((sa.and_(access, X.reason_code.in_(GATE_REASONS)), X.stop_id))))
    query = _exception_areas(scope, cell, sa.func.count().label("n"), _count_if(access).label("access"), gated.label("gated"))
    query = query.group_by(cell).order_by(sa.desc("n"), cell).limit(limit)
    return [AreaStats(cell=r.cell, exceptions=r.n, access_failures=int(r.access or 0), gated_stops=r.gated) for r in (await session.exec(query)).all()]


CHANNELS = {2: "SELF_SERVICE", 1: "STAFF_CONTACT", 0: "NO_CONTACT"}


def _contact_level_of_events() -> ColumnElement:
    """max over an exception's events: 2 the customer acted, 1 staff reached them, else 0 (README)."""
    # the customer's own events only (answers by SMS or link, alternatives they proposed): the system's own messages
    # carry actorRole "system" (migration 0009_harden_actors gave the rows written before their roles)
    customer_acted = ExceptionEvent.actor_role == CUSTOMER_ROLE
    staff_reached = sa.and_(ExceptionEvent.actor_role.in_(STAFF_ROLES), ExceptionEvent.step == ResolutionStep.CUSTOMER_CONTACTED)
    return sa.func.max(sa.case((customer_acted, 2), (staff_reached, 1), else_=0))


def contact_level() -> ColumnElement:
    """How the customer was reached, read from the timeline: 2 they acted, 1 staff reached them, 0/NULL neither (README)."""
    # one correlated scalar subquery (an index-only lookup per exception): planners may turn EXISTS into a hash of the
    # whole event table, which at fleet scale costs more than the lookups
    return sa.select(_contact_level_of_events()).where(ExceptionEvent.exception_id == E.id).correlate(E).scalar_subquery()


async def customer_preference(*, session: AsyncSession, scope: Scope) -> list[tuple[str, str | None, int, float | None]]:
    """(channel, outcome, exceptions, avg resolution seconds) — the outcome is None for unresolved ones."""
    dialect = await dialect_for(session=session, scope=scope)
    if not dialect.is_postgres:
        return await _customer_preference_per_exception(session=session, scope=scope, dialect=dialect)
    # PostgreSQL: the period's exceptions hold a narrow range of ids, so their events are one range scan of the event
    # index, aggregated per exception and hash-joined, instead of one index lookup per exception (82k at fleet scale)
    period = _exceptions(
        scope, E.id.label("id"), E.resolution_outcome.label("outcome"), dialect.seconds_between(E.reported_at, E.resolved_at).label("seconds"),
    ).cte("period")
    low, high = sa.select(sa.func.min(period.c.id)).scalar_subquery(), sa.select(sa.func.max(period.c.id)).scalar_subquery()
    levels = (
        sa.select(ExceptionEvent.exception_id.label("exception_id"), _contact_level_of_events().label("level"))
        .where(ExceptionEvent.exception_id.between(low, high)).group_by(ExceptionEvent.exception_id).subquery("levels")
    )
    level = sa.func.coalesce(levels.c.level, 0).label("level")
    query = (
        sa.select(level, period.c.outcome, sa.func.count().label("n"), sa.func.avg(period.c.seconds).label("avg_seconds"))
        .select_from(period.outerjoin(levels, levels.c.exception_id == period.c.id))
        .group_by(level, period.c.outcome).order_by(level.desc(), period.c.outcome)
    )
    return _preference_rows((await session.exec(query)).all())


async def _customer_preference_per_exception(*, session: AsyncSession, scope: Scope, dialect: Dialect) -> list[tuple[str, str | None, int, float | None]]:
    """Each exception's contact level looked up on its own (SQLite, and the reference the PostgreSQL query is tested against)."""
    per_exception = _exceptions(
        scope, sa.func.coalesce(contact_level(), 0).label("level"), E.resolution_outcome.label("outcome"),
        dialect.seconds_between(E.reported_at, E.resolved_at).label("seconds"),
    ).subquery("per_exception")
    c = per_exception.c
    query = sa.select(c.level, c.outcome, sa.func.count().label("n"), sa.func.avg(c.seconds).label("avg_seconds")).group_by(c.level, c.outcome).order_by(c.level.desc(), c.outcome)
    return _preference_rows((await session.exec(query)).all())


def _preference_rows(rows: list) -> list[tuple[str, str | None, int, float | None]]:
    return [(CHANNELS[r.level], r.outcome, r.n, float(r.avg_seconds) if r.avg_seconds is not None else None) for r in rows]
