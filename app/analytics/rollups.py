"""Per depot and local day, the sums of the stop facts: kept in the write transaction, rebuilt from the facts in bulk.

Why: a month's first-time success is a question about ~600k stops at fleet scale, and a
quarter's chart about ~1.7M; summed per depot and day they are a few hundred rows. The
whole local days of a period are read from here, only its two partial edge days from the
fact rows (periods.py). A day row holds, for the stops first attempted that day, how many
there are, how many were delivered at the first attempt, and their failed attempts of any
number so far (a re-attempt the next day counts with its stop's first day, as in the facts).
"""
from collections.abc import Iterable
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, SQLModel


class StopFactDay(SQLModel, table=True):
    """The stops of one depot first attempted on one of its local days."""

    __tablename__ = "stop_fact_day"

    tenant_id: int = Field(primary_key=True)
    depot_id: int = Field(primary_key=True)
    local_date: date = Field(primary_key=True)
    first_attempts: int = 0
    first_delivered: int = 0
    failed_attempts: int = 0


DayKey = tuple[int, int, date]  # tenant, depot, local date
COUNTERS = ("first_attempts", "first_delivered", "failed_attempts")


def add_to_days(connection: Any, deltas: dict[DayKey, tuple[int, int, int]]) -> None:
    """Adds (first attempts, delivered first, failed attempts) to each day's row, creating it when it is the day's first."""
    rows = [
        {"tenant_id": t, "depot_id": d, "local_date": day, **dict(zip(COUNTERS, counts, strict=True))}
        for (t, d, day), counts in sorted(deltas.items()) if any(counts)  # one order in every transaction: no deadlock
    ]
    if not rows:
        return
    table = StopFactDay.__table__
    insert = (postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert)(table)
    # `row + excluded`: concurrent writers of one day wait for each other's row lock instead of losing an update
    upsert = insert.on_conflict_do_update(
        index_elements=[table.c.tenant_id, table.c.depot_id, table.c.local_date],
        set_={name: table.c[name] + insert.excluded[name] for name in COUNTERS},
    )
    connection.execute(upsert, rows)


def _sums_of_facts(tenant_ids: list[int] | None) -> sa.Select:
    f = SQLModel.metadata.tables["stop_fact"].c  # models.py imports this module for the hook: the table, not the class
    query = sa.select(
        f.tenant_id, f.depot_id, f.first_local_date, sa.func.count(), sa.func.sum(sa.case((f.first_delivered, 1), else_=0)), sa.func.sum(f.failed_attempts),
    ).where(f.first_local_date.is_not(None)).group_by(f.tenant_id, f.depot_id, f.first_local_date)
    return query.where(f.tenant_id.in_(tenant_ids)) if tenant_ids is not None else query


def rebuild_days(connection: Any, tenant_ids: Iterable[int] | None = None) -> None:
    """The day rows summed again from the facts (for bulk writers that bypass the session hook, and checks)."""
    table = StopFactDay.__table__
    tenant_ids = list(tenant_ids) if tenant_ids is not None else None
    delete = table.delete() if tenant_ids is None else table.delete().where(table.c.tenant_id.in_(tenant_ids))
    connection.execute(delete)
    connection.execute(table.insert().from_select(["tenant_id", "depot_id", "local_date", *COUNTERS], _sums_of_facts(tenant_ids)))
