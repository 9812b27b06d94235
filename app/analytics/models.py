"""One analytics row per stop and per exception, kept at write time, and the indexes the dashboard queries lean on.

Why a fact row per stop: first-time success is a question about stops (was attempt 1
delivered?) sliced by depot, driver, area and local day. Answering it from the attempts
means joining attempt → stop → route → depot for hundreds of thousands of rows on every
dashboard load; one narrow row per stop, with an index that covers the question, makes it a
single index scan. Why the H3 cell is stored: turning lat/lon into a cell for a million rows
on read is far too slow, and neither SQLite nor a stock PostgreSQL computes H3. It is stored
at the finest resolution; SQL derives any coarser one with two bit operations (areas.py), so
the resolution stays a query parameter. Why the local date is stored: it is the depot's
calendar day of the first attempt, computed once with the real time-zone rules. Why a row
per exception with its stop's cell: the geographic view groups a period's exceptions by
cell, and looking the cell up per exception (hundreds of thousands of lookups) is what
made it slow; this row carries everything that view filters and groups by.
"""
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel

from app.analytics.areas import stored_cell
from app.analytics.rollups import DayKey, add_to_days
from app.db import StrEnumType, UTCDateTime
from app.delivery_exceptions.models import DeliveryException, ExceptionEvent, ExceptionKind
from app.routes.models import AttemptOutcome, DeliveryAttempt, Route, Stop
from app.tenants.models import Depot


class StopFact(SQLModel, table=True):
    """Where a stop is and how its first delivery attempt went."""

    __tablename__ = "stop_fact"
    __table_args__ = (
        sa.Index("ix_stop_fact_cell", "tenant_id", "h3_cell", "first_attempt_at", "first_delivered", "failed_attempts", "stop_id"),
        sa.Index("ix_stop_fact_first_attempt", "tenant_id", "first_attempt_at", "first_delivered", "failed_attempts", "depot_id", "first_local_date"),
        sa.Index("ix_stop_fact_depot_first_attempt", "tenant_id", "depot_id", "first_attempt_at", "first_delivered", "failed_attempts", "first_local_date"),
        sa.Index("ix_stop_fact_driver_first_attempt", "tenant_id", "driver_id", "first_attempt_at"),
    )

    # Derived from the stop, its route and its first attempt, which hold the foreign keys; only the stop's is repeated
    # (so the row goes with the stop), which keeps bulk loads from checking three more keys per row.
    stop_id: int = Field(foreign_key="stop.id", primary_key=True, ondelete="CASCADE")
    tenant_id: int
    depot_id: int
    driver_id: int | None = Field(default=None, description="who made the first attempt (else the route's driver)")
    h3_cell: int = Field(sa_type=sa.BigInteger)
    first_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    first_local_date: date | None = Field(default=None, description="the depot's calendar day of the first attempt")
    first_delivered: bool | None = None
    failed_attempts: int = Field(default=0, description="failed attempts of any number at this stop so far")


class ExceptionArea(SQLModel, table=True):
    """An exception with the H3 cell of its stop's address and the columns the geographic view reads."""

    __tablename__ = "exception_area"
    __table_args__ = (
        sa.Index("ix_exception_area_period", "tenant_id", "reported_at", "h3_cell", "kind", "reason_code", "stop_id", "depot_id", "reported_by_id"),
        sa.Index("ix_exception_area_cell", "tenant_id", "h3_cell", "reported_at", "exception_id"),
    )

    exception_id: int = Field(foreign_key="delivery_exception.id", primary_key=True, ondelete="CASCADE")
    tenant_id: int
    depot_id: int
    stop_id: int
    reported_by_id: int
    reported_at: datetime = Field(sa_type=UTCDateTime)
    kind: ExceptionKind = Field(sa_type=StrEnumType(ExceptionKind))
    reason_code: str = Field(max_length=40)
    h3_cell: int = Field(sa_type=sa.BigInteger)


# Customer preference asks, per exception, who acted on it.
sa.Index(
    "ix_exception_event_actor",
    ExceptionEvent.__table__.c.exception_id,
    ExceptionEvent.__table__.c.actor_role,
    ExceptionEvent.__table__.c.step,
)
# Every dashboard query reads one tenant's exceptions of a period: this index holds every column they read, so they
# are index-only scans (a composite index rather than INCLUDE, which SQLite lacks).
_e = DeliveryException.__table__.c
sa.Index(
    "ix_delivery_exception_analytics",
    _e.tenant_id, _e.reported_at, _e.depot_id, _e.kind, _e.reason_code, _e.resolution_outcome, _e.resolved_at,
    _e.failure_cost_cents, _e.failed_attempt_number, _e.stop_id, _e.reported_by_id,
)


def local_date(moment: datetime, zone: str) -> date:
    return moment.astimezone(ZoneInfo(zone)).date()


def _has_moved(stop: Stop) -> bool:
    state = inspect(stop)
    return state.attrs.lat.history.has_changes() or state.attrs.lon.history.has_changes()


# Why a session hook and not handlers of StopDelivered / ExceptionReported: these fact rows are a read model of
# the stop and exception tables, and must follow every writer of those rows — flows, the seed, route-plan
# imports, bulk generators — in the same transaction. A hook at the flush cannot be forgotten by a new writer;
# a handler would have to be emitted by each of them.
def insert_stop_facts(connection: Any, stops: list[Any]) -> None:
    """The fact rows of new stops (anything with id, tenant_id, route_id, depot_id, lat, lon): the hook's, and bulk writers'.

    A bulk insert (the route-plan import) bypasses the session hook, so it calls this in its transaction.
    """
    if not stops:
        return
    route_ids = {s.route_id for s in stops if s.route_id is not None}
    routes = {r.id: r for r in connection.execute(sa.select(Route.id, Route.depot_id, Route.driver_id).where(Route.id.in_(route_ids)))}
    connection.execute(StopFact.__table__.insert(), [
        # A stop without a route yet (waiting for planRoutes) belongs to its depot and has no driver.
        {"stop_id": s.id, "tenant_id": s.tenant_id, "depot_id": routes[s.route_id].depot_id if s.route_id else s.depot_id,
         "driver_id": routes[s.route_id].driver_id if s.route_id else None, "h3_cell": stored_cell(s.lat, s.lon)}
        for s in stops
    ])


def _was_planned(stop: Stop) -> bool:
    """The stop got its first route (planRoutes): its fact takes the route's driver."""
    history = inspect(stop).attrs.route_id.history
    return history.has_changes() and stop.route_id is not None and (history.deleted or [None])[0] is None


@event.listens_for(Session, "after_flush")
def _keep_stop_facts(session: Session, _context: Any) -> None:
    """Whoever creates or moves a stop, records an attempt or reports an exception, the analytics rows follow in the same transaction."""
    created = [o for o in session.new if isinstance(o, Stop)]
    moved = [o for o in session.dirty if isinstance(o, Stop) and _has_moved(o)]
    planned = [o for o in session.dirty if isinstance(o, Stop) and _was_planned(o)]
    attempts = [o for o in session.new if isinstance(o, DeliveryAttempt)]
    reported = [o for o in session.new if isinstance(o, DeliveryException)]
    if not (created or moved or planned or attempts or reported):
        return
    connection, facts = session.connection(), StopFact.__table__
    if created:
        insert_stop_facts(connection, created)
    if planned:  # one update per route, not per stop
        by_route: dict[int, list[int]] = {}
        for stop in planned:
            by_route.setdefault(stop.route_id, []).append(stop.id)
        for route in connection.execute(sa.select(Route.id, Route.depot_id, Route.driver_id).where(Route.id.in_(by_route))):
            connection.execute(facts.update().where(facts.c.stop_id.in_(by_route[route.id]), facts.c.first_attempt_at.is_(None)).values(
                depot_id=route.depot_id, driver_id=route.driver_id))
    areas = ExceptionArea.__table__
    for stop in moved:
        cell = stored_cell(stop.lat, stop.lon)
        connection.execute(facts.update().where(facts.c.stop_id == stop.id).values(h3_cell=cell))
        connection.execute(areas.update().where(areas.c.stop_id == stop.id).values(h3_cell=cell))
    if reported:
        cells = dict(connection.execute(sa.select(facts.c.stop_id, facts.c.h3_cell).where(facts.c.stop_id.in_({e.stop_id for e in reported}))).all())
        rows = [
            {"exception_id": e.id, "tenant_id": e.tenant_id, "depot_id": e.depot_id, "stop_id": e.stop_id, "reported_by_id": e.reported_by_id,
             "reported_at": e.reported_at, "kind": e.kind, "reason_code": e.reason_code, "h3_cell": cells[e.stop_id]}
            for e in reported if e.stop_id in cells
        ]
        if rows:
            connection.execute(areas.insert(), rows)
    if attempts:
        _record_attempts(connection, attempts)


def _record_attempts(connection: Any, attempts: list[DeliveryAttempt]) -> None:
    """Each new attempt completes its stop's fact row and adds to the sums of the stop's first day (rollups.py)."""
    facts = StopFact.__table__
    known = {row.stop_id: row for row in connection.execute(
        sa.select(facts.c.stop_id, facts.c.tenant_id, facts.c.depot_id, facts.c.first_local_date, Depot.timezone)
        .join(Depot, Depot.id == facts.c.depot_id).where(facts.c.stop_id.in_({a.stop_id for a in attempts}))
    )}
    first_days = {stop_id: row.first_local_date for stop_id, row in known.items()}
    deltas: dict[DayKey, tuple[int, int, int]] = {}

    def add(stop_id: int, first: int, delivered: int, failed: int) -> None:
        fact, day = known[stop_id], first_days[stop_id]
        if day is None:  # not attempted yet: no day to count a failure in until the first attempt is (as the facts read)
            return
        before = deltas.get((fact.tenant_id, fact.depot_id, day), (0, 0, 0))
        deltas[(fact.tenant_id, fact.depot_id, day)] = (before[0] + first, before[1] + delivered, before[2] + failed)

    for attempt in sorted(attempts, key=lambda a: a.attempt_number):
        if attempt.stop_id not in known:  # a stop written around the ORM has no fact row to complete
            continue
        values: dict[str, Any] = {}
        failed = attempt.outcome == AttemptOutcome.FAILED
        if attempt.attempt_number == 1:  # one per stop (uq_delivery_attempt_stop_number)
            first_days[attempt.stop_id] = local_date(attempt.attempted_at, known[attempt.stop_id].timezone)
            values = {"first_attempt_at": attempt.attempted_at, "first_local_date": first_days[attempt.stop_id],
                      "first_delivered": attempt.outcome == AttemptOutcome.DELIVERED}
            if attempt.driver_id is not None:
                values["driver_id"] = attempt.driver_id
            add(attempt.stop_id, 1, int(attempt.outcome == AttemptOutcome.DELIVERED), 0)
        if failed:
            values["failed_attempts"] = facts.c.failed_attempts + 1
            add(attempt.stop_id, 0, 0, 1)
        if values:
            connection.execute(facts.update().where(facts.c.stop_id == attempt.stop_id).values(**values))
    add_to_days(connection, deltas)
