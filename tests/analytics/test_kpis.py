"""Each KPI against a small history computed by hand (period: Monday 2 March 2026, one week; previous week beside it)."""
import pytest

from app.analytics import service
from app.analytics.areas import cell_label, parent_bits, stored_cell
from app.delivery_exceptions.models import ExceptionKind as K
from app.delivery_exceptions.models import ResolutionOutcome as O
from app.routes.models import AttemptOutcome

DELIVERED, FAILED = AttemptOutcome.DELIVERED, AttemptOutcome.FAILED
WEEK = ("2026-03-02 00:00", "2026-03-09 00:00")


async def build_week(factory, history_of):  # noqa: ANN001, ANN201
    """Six stops: first-time delivered, re-attempted, never attempted, and one from the week before."""
    fleet = await factory.fleet(stops=6)
    history = history_of(fleet)
    await history.attempts(
        (0, 1, DELIVERED, "2026-03-02 09:00"),
        (1, 1, FAILED, "2026-03-02 10:00"), (1, 2, DELIVERED, "2026-03-03 10:00"),  # re-attempt on the same stop
        (2, 1, DELIVERED, "2026-03-04 11:00"),
        (3, 1, FAILED, "2026-03-05 12:00"), (3, 2, FAILED, "2026-03-06 12:00"),
        (5, 1, DELIVERED, "2026-02-25 09:00"),  # previous week; stop 4 has no attempt at all
    )
    await history.exception(1, K.CUSTOMER_ABSENT, "NO_ANSWER", "2026-03-02 10:00", resolved="2026-03-02 11:00", outcome=O.DELIVERED_TO_NEIGHBOR, cost=700, failed_attempt=1, contacted_by="customer")
    await history.exception(3, K.ACCESS_DENIED, "GATE_CLOSED", "2026-03-05 12:00", resolved="2026-03-05 14:00", outcome=O.RESCHEDULED, cost=900, failed_attempt=1, contacted_by="dispatcher")
    await history.exception(3, K.ACCESS_DENIED, "GATE_CLOSED", "2026-03-06 12:00", resolved="2026-03-06 12:30", outcome=O.RETURNED_TO_DEPOT, cost=1100, failed_attempt=2)
    await history.exception(4, K.DELAYED, "TRAFFIC", "2026-03-04 08:00")  # not resolved yet
    await history.exception(4, K.DELAYED, "TRAFFIC", "2026-03-07 09:00", resolved="2026-03-07 13:00", outcome=O.DELIVERED_TO_CUSTOMER, cost=0, contacted_by="outreach")
    await history.exception(5, K.CUSTOMER_ABSENT, "NO_ANSWER", "2026-02-25 10:00", resolved="2026-02-25 10:10", outcome=O.DELIVERED_TO_CUSTOMER, cost=500, failed_attempt=1)
    return fleet, history


async def test_kpis_of_a_week_match_the_hand_computed_figures(runtime, factory, history_of):
    # given the week above
    fleet, history = await build_week(factory, history_of)

    # when the KPIs of the week are computed
    async with runtime.sessionmaker() as session:
        kpis = await service.kpis(session=session, scope=history.scope(*WEEK))

    # then first attempts: stops 0, 1, 2, 3 (4 never attempted, 5 the week before); 0 and 2 delivered
    assert (kpis.first_attempts, kpis.first_attempts_delivered, kpis.failed_attempts) == (4, 2, 3)
    assert kpis.first_time_success_rate == 0.5
    # resolution minutes 60, 120, 30, 240 (one unresolved): mean 112.5; p90 at 0.9·3 = 2.7 → 120 + 0.7·120 = 204
    assert (kpis.exceptions, kpis.resolved) == (5, 4)
    assert kpis.avg_resolution_seconds == pytest.approx(112.5 * 60)
    assert kpis.p90_resolution_seconds == pytest.approx(204 * 60)
    # cost: the three closed exceptions that failed an attempt (the delay costs nothing and failed no attempt)
    assert (kpis.total_failure_cost_cents, kpis.costed_failed_attempts) == (2700, 3)
    assert kpis.cost_per_failed_attempt_cents == 900
    assert kpis.by_kind_reason == [("ACCESS_DENIED", "GATE_CLOSED", 2), ("DELAYED", "TRAFFIC", 2), ("CUSTOMER_ABSENT", "NO_ANSWER", 1)]
    assert sorted(kpis.by_outcome) == [("DELIVERED_TO_CUSTOMER", 1), ("DELIVERED_TO_NEIGHBOR", 1), ("RESCHEDULED", 1), ("RETURNED_TO_DEPOT", 1)]


async def test_previous_period_is_the_week_before(runtime, factory, history_of):
    # given the week above
    _, history = await build_week(factory, history_of)

    # when the previous period of the week is computed
    async with runtime.sessionmaker() as session:
        previous = await service.kpis(session=session, scope=history.scope(*WEEK).previous())

    # then it holds only stop 5's delivery and its 10-minute exception
    assert (previous.first_attempts, previous.first_time_success_rate, previous.exceptions) == (1, 1.0, 1)
    assert previous.avg_resolution_seconds == pytest.approx(600) and previous.p90_resolution_seconds == pytest.approx(600)
    assert previous.cost_per_failed_attempt_cents == 500


async def test_a_period_without_data_has_no_rates_rather_than_zeros(runtime, factory, history_of):
    # given a fleet with no attempts and no exceptions
    fleet = await factory.fleet(stops=2)

    # when its KPIs are computed
    async with runtime.sessionmaker() as session:
        kpis = await service.kpis(session=session, scope=history_of(fleet).scope(*WEEK))

    # then counts are zero and the ratios are unknown
    assert (kpis.first_attempts, kpis.exceptions, kpis.total_failure_cost_cents) == (0, 0, 0)
    assert kpis.first_time_success_rate is None and kpis.avg_resolution_seconds is None
    assert kpis.p90_resolution_seconds is None and kpis.cost_per_failed_attempt_cents is None


async def test_filters_by_kind_driver_and_area(runtime, factory, history_of):
    # given the week above
    fleet, history = await build_week(factory, history_of)
    gate_cell = cell_label(_parent(stored_cell(fleet.stops[3].lat, fleet.stops[3].lon), 13))

    async with runtime.sessionmaker() as session:
        # when narrowed to access failures
        access = await service.kpis(session=session, scope=history.scope(*WEEK, kinds=(K.ACCESS_DENIED,)))
        # when narrowed to another driver
        nobody = await service.kpis(session=session, scope=history.scope(*WEEK, driver_id=fleet.dispatcher.id))
        mine = await service.kpis(session=session, scope=history.scope(*WEEK, driver_id=fleet.driver.id))
        # when narrowed to the small hexagon around stop 3's address
        area = await service.kpis(session=session, scope=history.scope(*WEEK, area=gate_cell))

    # then each sees its slice
    assert (access.exceptions, access.resolved, access.total_failure_cost_cents) == (2, 2, 2000)
    assert access.first_attempts == 4  # the kind filter narrows exceptions only
    assert (nobody.first_attempts, nobody.exceptions) == (0, 0)
    assert (mine.first_attempts, mine.exceptions) == (4, 5)
    assert (area.first_attempts, area.first_attempts_delivered, area.failed_attempts, area.exceptions) == (1, 0, 2, 2)


async def test_depot_scope_and_tenant_isolation(runtime, factory, history_of):
    # given two tenants with the same history
    fleet, history = await build_week(factory, history_of)
    other, _ = await build_week(factory, history_of)

    async with runtime.sessionmaker() as session:
        # when the first tenant asks for its own depot, and for the other tenant's depot
        own = await service.kpis(session=session, scope=history.scope(*WEEK, depot_ids=(fleet.depot.id,)))
        foreign = await service.kpis(session=session, scope=history.scope(*WEEK, depot_ids=(other.depot.id,)))
        areas = await service.areas(session=session, scope=history.scope(*WEEK), resolution=5, limit=10)

    # then it sees its own figures only, never the other tenant's rows
    assert (own.first_attempts, own.exceptions) == (4, 5)
    assert (foreign.first_attempts, foreign.exceptions, foreign.by_kind_reason) == (0, 0, [])
    assert sum(a.exceptions for a in areas) == 5


def _parent(cell: int, resolution: int) -> int:
    keep, set_bits = parent_bits(resolution)
    return (cell & keep) | set_bits
