"""Issue 18 item 4: the fast per-day and per-hour series give exactly what the per-row queries give.

On PostgreSQL the exception series sum per depot and 15-minute UTC slot before reading the slot on the depot's clock
(the p90 groups by local timestamp and labels each bucket once), and customer preference reads events by id range;
the per-row query (each exception converted on its own) is the reference, on a generated history in three time zones
that crosses both the American and the European DST change, for every filter the dashboard offers.
"""
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.analytics import series as charts
from app.analytics import service
from app.analytics.areas import cell_label
from app.analytics.generator import generate
from app.delivery_exceptions.models import ExceptionKind

EXCEPTIONS = 3000
END = date(2026, 4, 10)  # 120 days back: the US (8 March) and EU (29 March) clock changes are inside
SLOT_KPIS = [charts.Kpi.EXCEPTIONS, charts.Kpi.AVG_RESOLUTION_MINUTES, charts.Kpi.TOTAL_FAILURE_COST_CENTS,
             charts.Kpi.COST_PER_FAILED_ATTEMPT_CENTS, charts.Kpi.P90_RESOLUTION_MINUTES]


@pytest.fixture
async def generated(runtime):  # noqa: ANN001
    async with runtime.engine.begin() as connection:
        tenant_id = await generate(connection, exceptions=EXCEPTIONS, days=120, end=END, slug="fast-series")
        depot_id, driver_id = (await connection.execute(sa.text(
            "SELECT min(depot_id), max(reported_by_id) FROM delivery_exception WHERE tenant_id = :t"), {"t": tenant_id})).one()
    return tenant_id, depot_id, driver_id


def _both(session, scope, kpi, bucket):  # noqa: ANN001, ANN202
    async def run() -> tuple[list, list]:
        dialect = await service.dialect_for(session=session, scope=scope)
        per_hour = bucket is charts.Bucket.HOUR
        fast = await charts.series(session=session, scope=scope, kpi=kpi, bucket=bucket)
        reference = await charts._exception_series_per_row(session=session, scope=scope, dialect=dialect, kpi=kpi, per_hour=per_hour)
        return fast, reference
    return run()


async def test_slot_sums_equal_the_per_row_series_for_every_filter_and_zone(runtime, generated):
    # given a generated history across three zones and both DST changes, and the scopes a dashboard asks for
    tenant_id, depot_id, driver_id = generated
    start, end = datetime(2026, 2, 20, 7, 13, tzinfo=UTC), datetime(2026, 4, 9, 19, 41, tzinfo=UTC)  # periods need not start at midnight
    async with runtime.sessionmaker() as session:
        busiest = await service.areas(session=session, scope=service.Scope(tenant_id=tenant_id, start=start, end=end), resolution=7, limit=1)
    scopes = {
        "tenant": service.Scope(tenant_id=tenant_id, start=start, end=end),
        "depot": service.Scope(tenant_id=tenant_id, start=start, end=end, depot_ids=(depot_id,)),
        "driver": service.Scope(tenant_id=tenant_id, start=start, end=end, driver_id=driver_id),
        "kind": service.Scope(tenant_id=tenant_id, start=start, end=end, kinds=(ExceptionKind.ACCESS_DENIED,)),
        "area": service.Scope(tenant_id=tenant_id, start=start, end=end, area=cell_label(busiest[0].cell)),
        "other tenant": service.Scope(tenant_id=tenant_id + 1000, start=start, end=end),
    }

    # when every slot-summed KPI is charted per day and per hour, fast and per row
    results = {}
    async with runtime.sessionmaker() as session:
        for name, scope in scopes.items():
            for kpi in SLOT_KPIS:
                results[(name, kpi, "day")] = await _both(session, scope, kpi, charts.Bucket.DAY)
            hours = service.Scope(tenant_id=scope.tenant_id, start=datetime(2026, 3, 7, tzinfo=UTC), end=datetime(2026, 3, 10, tzinfo=UTC),
                                  depot_ids=scope.depot_ids, driver_id=scope.driver_id, kinds=scope.kinds, area=scope.area)
            for kpi in (charts.Kpi.EXCEPTIONS, charts.Kpi.P90_RESOLUTION_MINUTES):
                results[(name, kpi, "hour")] = await _both(session, hours, kpi, charts.Bucket.HOUR)

    # then they agree bucket for bucket (the same labels, the same values), and the charts are not empty
    for key, (fast, reference) in results.items():
        assert [label for label, _ in fast] == [label for label, _ in reference], key
        assert [value for _, value in fast] == pytest.approx([value for _, value in reference], rel=1e-12), key
    assert len(results[("tenant", charts.Kpi.EXCEPTIONS, "day")][0]) >= 45
    assert sum(v for _, v in results[("tenant", charts.Kpi.EXCEPTIONS, "hour")][0]) > 0
    assert results[("other tenant", charts.Kpi.EXCEPTIONS, "day")] == ([], [])


async def test_customer_preference_by_id_range_equals_the_lookup_per_exception(runtime, generated):
    # given the generated history and the dashboard's scopes, a period not starting at midnight
    tenant_id, depot_id, driver_id = generated
    start, end = datetime(2026, 3, 1, 5, 30, tzinfo=UTC), datetime(2026, 4, 9, 19, 41, tzinfo=UTC)
    scopes = [
        service.Scope(tenant_id=tenant_id, start=start, end=end),
        service.Scope(tenant_id=tenant_id, start=start, end=end, depot_ids=(depot_id,)),
        service.Scope(tenant_id=tenant_id, start=start, end=end, driver_id=driver_id),
        service.Scope(tenant_id=tenant_id, start=start, end=end, kinds=(ExceptionKind.CUSTOMER_ABSENT,)),
        service.Scope(tenant_id=tenant_id, start=datetime(2026, 4, 12, tzinfo=UTC), end=datetime(2026, 4, 15, tzinfo=UTC)),  # after the history
        service.Scope(tenant_id=tenant_id + 1000, start=start, end=end),
    ]

    # when each is answered both ways
    async with runtime.sessionmaker() as session:
        answers = []
        for scope in scopes:
            dialect = await service.dialect_for(session=session, scope=scope)
            answers.append((await service.customer_preference(session=session, scope=scope),
                            await service._customer_preference_per_exception(session=session, scope=scope, dialect=dialect)))

    # then the answers are the same rows, and the whole-tenant one sees all three channels
    for fast, reference in answers:
        assert fast == reference
    assert {channel for channel, *_ in answers[0][0]} == {"SELF_SERVICE", "STAFF_CONTACT", "NO_CONTACT"}
    assert answers[4] == ([], []) and answers[5] == ([], [])
