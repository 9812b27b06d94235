"""Issue 18 item 4: the per-day sums of the stop facts stay equal to the facts, and a period read through them is exact.

The write side: every attempt recorded through the session (first ones, failed re-attempts, several in one flush)
keeps `stop_fact_day` equal to the facts summed again. The read side: whole local days from the sums plus the edge
days from the facts give exactly the stops first attempted in [start, end), against the plain fact query, for periods
that start mid-day, at a depot's midnight, last less than a day, are empty, or cross a DST change, in three zones.
"""
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.analytics import periods
from app.analytics.generator import generate
from app.analytics.rollups import StopFactDay, _sums_of_facts
from app.analytics.scope import F, Scope, _first_attempts
from app.routes.models import AttemptOutcome

END = date(2026, 4, 10)  # 120 days back: the US (8 March) and EU (29 March) clock changes are inside


async def _day_rows(runtime, tenant_id: int) -> tuple[list, list]:  # noqa: ANN001
    """(the kept day rows, the facts summed now), each sorted."""
    async with runtime.engine.connect() as connection:
        kept = (await connection.execute(sa.select(
            StopFactDay.tenant_id, StopFactDay.depot_id, StopFactDay.local_date,
            StopFactDay.first_attempts, StopFactDay.first_delivered, StopFactDay.failed_attempts,
        ).where(StopFactDay.tenant_id == tenant_id))).all()
        summed = (await connection.execute(_sums_of_facts([tenant_id]))).all()
    return sorted(tuple(r) for r in kept), sorted(tuple(int(v) if isinstance(v, int) else v for v in r) for r in summed)


async def test_recorded_attempts_keep_the_day_sums_equal_to_the_facts(runtime, factory, history_of):
    # given stops of an Amsterdam depot, attempted either side of local midnight, re-attempted the next day
    fleet = await factory.fleet(stops=4, depot_tz="Europe/Amsterdam")
    history = history_of(fleet)

    # when first attempts, failed re-attempts and a first + second attempt in one flush are recorded
    await history.attempts((0, 1, AttemptOutcome.FAILED, "2026-03-27 22:00"), (1, 1, AttemptOutcome.DELIVERED, "2026-03-27 23:30"))
    await history.attempts((0, 2, AttemptOutcome.FAILED, "2026-03-28 10:00"), (2, 1, AttemptOutcome.FAILED, "2026-03-28 11:00"))
    await history.attempts((3, 1, AttemptOutcome.FAILED, "2026-03-29 09:00"), (3, 2, AttemptOutcome.DELIVERED, "2026-03-29 12:00"))
    await history.attempts((0, 3, AttemptOutcome.DELIVERED, "2026-03-30 10:00"))

    # then the day rows are the facts summed, each failure on its stop's first local day
    kept, summed = await _day_rows(runtime, fleet.tenant.id)
    assert kept == summed
    depot = fleet.depot.id
    assert kept == [
        (fleet.tenant.id, depot, date(2026, 3, 27), 1, 0, 2),  # 23:00 local: failed, and failed again the next day
        (fleet.tenant.id, depot, date(2026, 3, 28), 2, 1, 1),  # 00:30 local delivered; 12:00 local failed
        (fleet.tenant.id, depot, date(2026, 3, 29), 1, 0, 1),
    ]


@pytest.fixture
async def generated(runtime):  # noqa: ANN001
    async with runtime.engine.begin() as connection:
        tenant_id = await generate(connection, exceptions=1500, days=120, end=END, slug="day-sums")
        depot_id = (await connection.execute(sa.text("SELECT min(id) FROM depot WHERE tenant_id = :t"), {"t": tenant_id})).scalar_one()
    return tenant_id, depot_id


def _periods() -> dict[str, tuple[datetime, datetime]]:
    mid = datetime(2026, 2, 20, 7, 13, tzinfo=UTC)
    return {
        "mid-day to mid-day, both DST changes": (mid, datetime(2026, 4, 9, 19, 41, tzinfo=UTC)),
        "Amsterdam midnights": (datetime(2026, 3, 1, 23, tzinfo=UTC), datetime(2026, 3, 27, 23, tzinfo=UTC)),
        "UTC midnights": (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)),
        "less than a day": (datetime(2026, 3, 10, 6, tzinfo=UTC), datetime(2026, 3, 11, 2, tzinfo=UTC)),
        "a day and a half": (datetime(2026, 3, 10, 6, tzinfo=UTC), datetime(2026, 3, 11, 18, tzinfo=UTC)),
        "empty": (mid, mid),
        "after the history": (datetime(2026, 4, 12, tzinfo=UTC), datetime(2026, 4, 20, tzinfo=UTC)),
    }


async def _reference(session, scope: Scope) -> tuple[tuple[int, int, int], list]:  # noqa: ANN001
    sums = (sa.func.count().label("first"), sa.func.sum(sa.case((F.first_delivered, 1), else_=0)).label("delivered"),
            sa.func.sum(F.failed_attempts).label("failed"))
    total = (await session.exec(_first_attempts(scope, *sums))).one()
    per_day = (await session.exec(_first_attempts(scope, F.first_local_date, *sums).group_by(F.first_local_date).order_by(F.first_local_date))).all()
    return ((int(total.first), int(total.delivered or 0), int(total.failed or 0)),
            [(r.first_local_date, (int(r.first), int(r.delivered), int(r.failed))) for r in per_day])


async def test_whole_days_from_the_sums_and_edges_from_the_facts_equal_the_facts(runtime, generated):
    # given a generated history in three zones (its day sums rebuilt after the bulk load) and the periods above
    tenant_id, depot_id = generated
    kept, summed = await _day_rows(runtime, tenant_id)
    assert kept == summed and len(kept) > 300

    # when each period is read for the whole tenant, one depot, no depot and another tenant, both ways
    answers = {}
    async with runtime.sessionmaker() as session:
        for name, (start, end) in _periods().items():
            for who, narrowing in {"tenant": {}, "depot": {"depot_ids": (depot_id,)}, "no depot": {"depot_ids": ()},
                                   "other tenant": {"tenant_id": tenant_id + 1000}}.items():
                scope = Scope(**({"tenant_id": tenant_id, "start": start, "end": end} | narrowing))
                fast = (await periods.first_attempt_totals(session=session, scope=scope),
                        await periods.first_attempts_per_day(session=session, scope=scope))
                answers[(name, who)] = (fast, await _reference(session, scope))

    # then they agree day for day, and the periods with days in them are not empty
    for key, (fast, reference) in answers.items():
        assert fast == reference, key
    assert answers[("mid-day to mid-day, both DST changes", "tenant")][0][0][0] > 3000
    assert answers[("less than a day", "depot")][0][0][0] > 0
    assert answers[("empty", "tenant")][0] == ((0, 0, 0), [])


def test_a_period_splits_into_whole_local_days_and_two_edges():
    # given a period from 07:13 UTC on 7 March to 06:00 UTC on 10 March (New York changes its clocks on the 8th)
    start, end = datetime(2026, 3, 7, 7, 13, tzinfo=UTC), datetime(2026, 3, 10, 6, tzinfo=UTC)

    # when it is split on New York's days
    split = periods.split_period("America/New_York", (1,), start, end)

    # then the 7th (begun at 05:00 UTC) is an edge, the 8th and 9th are whole, the 10th (begun at 04:00 UTC, EDT) is an edge
    assert (split.first_day, split.end_day) == (date(2026, 3, 8), date(2026, 3, 10))
    assert split.head_end == datetime(2026, 3, 8, 5, tzinfo=UTC) and split.tail_start == datetime(2026, 3, 10, 4, tzinfo=UTC)
    # and a period shorter than a day has no whole day
    short = periods.split_period("America/New_York", (1,), start, start + timedelta(hours=20))
    assert not short.has_whole_days and (short.head_end, short.tail_start) == (start + timedelta(hours=20),) * 2
