"""Peak hours on the depot's wall clock (across DST and midnight), time series, hexagons and contact channels."""
import h3
import pytest

from app.analytics import service
from app.analytics.dialect import offset_spans
from app.analytics.series import Bucket, Kpi, series
from app.delivery_exceptions.models import ExceptionKind as K
from app.routes.models import AttemptOutcome
from tests.analytics.conftest import at
from tests.analytics.test_kpis import WEEK, build_week


async def test_hours_and_days_are_read_on_the_depot_clock_across_dst_and_midnight(runtime, factory, history_of):
    # given an Amsterdam depot on the night clocks go forward (01:00 UTC, 29 March 2026)
    fleet = await factory.fleet(stops=1, depot_tz="Europe/Amsterdam")
    history = history_of(fleet)
    for reported in ("2026-03-28 22:59", "2026-03-28 23:30", "2026-03-29 00:59", "2026-03-29 01:30"):
        await history.exception(0, K.DELAYED, "TRAFFIC", reported)
    scope = history.scope("2026-03-28 00:00", "2026-03-30 00:00")

    async with runtime.sessionmaker() as session:
        # when the peak-hour view and the daily and hourly series are computed
        by_hour = await service.hour_of_week(session=session, scope=scope)
        per_day = await series(session=session, scope=scope, kpi=Kpi.EXCEPTIONS, bucket=Bucket.DAY)
        per_hour = await series(session=session, scope=scope, kpi=Kpi.EXCEPTIONS, bucket=Bucket.HOUR)

    # then 23:59 CET is Saturday; 00:30 and 01:59 CET are Sunday; 01:30 UTC is 03:30 CEST
    assert by_hour == [(6, 23, 1), (7, 0, 1), (7, 1, 1), (7, 3, 1)]
    assert per_day == [("2026-03-28", 1.0), ("2026-03-29", 3.0)]
    assert [label for label, _ in per_hour] == ["2026-03-28T23:00", "2026-03-29T00:00", "2026-03-29T01:00", "2026-03-29T03:00"]


async def test_the_repeated_hour_when_clocks_go_back_counts_twice(runtime, factory, history_of):
    # given a New York depot on 1 November 2026, when 01:00–02:00 happens twice
    fleet = await factory.fleet(stops=1, depot_tz="America/New_York")
    history = history_of(fleet)
    for reported in ("2026-11-01 03:59", "2026-11-01 05:30", "2026-11-01 06:30"):
        await history.exception(0, K.DELAYED, "TRAFFIC", reported)

    # when the peak-hour view is computed
    async with runtime.sessionmaker() as session:
        by_hour = await service.hour_of_week(session=session, scope=history.scope("2026-10-31 00:00", "2026-11-02 00:00"))

    # then 23:59 EDT is Saturday and both 01:30s (EDT, then EST) are Sunday 1 a.m.
    assert by_hour == [(6, 23, 1), (7, 1, 2)]


async def test_first_time_success_series_buckets_attempts_by_local_day(runtime, factory, history_of):
    # given two first attempts either side of Amsterdam's midnight, both on the same UTC day
    fleet = await factory.fleet(stops=2, depot_tz="Europe/Amsterdam")
    history = history_of(fleet)
    await history.attempts((0, 1, AttemptOutcome.FAILED, "2026-03-27 22:00"), (1, 1, AttemptOutcome.DELIVERED, "2026-03-27 23:30"))

    # when the daily first-time success series is computed
    async with runtime.sessionmaker() as session:
        points = await series(session=session, scope=history.scope("2026-03-27 00:00", "2026-03-29 00:00"), kpi=Kpi.FIRST_TIME_SUCCESS_RATE, bucket=Bucket.DAY)

    # then the failure is on Friday 27th (23:00 local) and the delivery on Saturday 28th (00:30 local)
    assert points == [("2026-03-27", 0.0), ("2026-03-28", 1.0)]


async def test_every_kpi_has_a_daily_series(runtime, factory, history_of):
    # given the hand-computed week (UTC depot)
    _, history = await build_week(factory, history_of)
    scope = history.scope(*WEEK)

    # when each KPI is charted per day
    async with runtime.sessionmaker() as session:
        charts = {kpi: dict(await series(session=session, scope=scope, kpi=kpi, bucket=Bucket.DAY)) for kpi in Kpi}

    # then each day carries that day's figure
    assert charts[Kpi.EXCEPTIONS] == {"2026-03-02": 1, "2026-03-04": 1, "2026-03-05": 1, "2026-03-06": 1, "2026-03-07": 1}
    assert charts[Kpi.FIRST_TIME_SUCCESS_RATE] == {"2026-03-02": 0.5, "2026-03-04": 1.0, "2026-03-05": 0.0}
    assert charts[Kpi.FAILED_ATTEMPTS] == {"2026-03-02": 1, "2026-03-04": 0, "2026-03-05": 2}  # by the day of the stop's first attempt
    assert charts[Kpi.AVG_RESOLUTION_MINUTES] == pytest.approx({"2026-03-02": 60, "2026-03-05": 120, "2026-03-06": 30, "2026-03-07": 240})
    assert charts[Kpi.P90_RESOLUTION_MINUTES] == pytest.approx(charts[Kpi.AVG_RESOLUTION_MINUTES])
    assert charts[Kpi.TOTAL_FAILURE_COST_CENTS] == {"2026-03-02": 700, "2026-03-05": 900, "2026-03-06": 1100}
    assert charts[Kpi.COST_PER_FAILED_ATTEMPT_CENTS] == {"2026-03-02": 700, "2026-03-05": 900, "2026-03-06": 1100}


async def test_p90_per_bucket_interpolates_like_percentile_cont(runtime, factory, history_of):
    # given five exceptions on one day resolved after 10, 20, 30, 40 and 100 minutes
    fleet = await factory.fleet(stops=1)
    history = history_of(fleet)
    for minutes in (10, 20, 30, 40, 100):
        await history.exception(0, K.DELAYED, "TRAFFIC", "2026-03-02 08:00", resolved=f"2026-03-02 {8 + minutes // 60:02d}:{minutes % 60:02d}")

    # when the p90 series is computed
    async with runtime.sessionmaker() as session:
        points = await series(session=session, scope=history.scope(*WEEK), kpi=Kpi.P90_RESOLUTION_MINUTES, bucket=Bucket.DAY)

    # then position 0.9·4 = 3.6 lies between 40 and 100: 40 + 0.6·60 = 76
    assert points == [("2026-03-02", pytest.approx(76.0))]


async def test_hexagons_count_exceptions_and_access_failures(runtime, factory, history_of):
    # given the hand-computed week: all six stops within a few hundred metres
    fleet, history = await build_week(factory, history_of)

    # when exceptions are grouped by resolution-5 hexagon
    async with runtime.sessionmaker() as session:
        areas = await service.areas(session=session, scope=history.scope(*WEEK), resolution=5, limit=10)

    # then one hexagon (the H3 parent of the addresses' finest cells) holds all five, two of them gate failures at one gated address
    [area] = areas
    assert h3.int_to_str(area.cell) == h3.cell_to_parent(h3.latlng_to_cell(fleet.stops[0].lat, fleet.stops[0].lon, 15), 5)
    assert (area.exceptions, area.access_failures, area.gated_stops, area.access_failure_share) == (5, 2, 1, 0.4)


def test_offset_spans_split_exactly_at_dst_changes():
    # given the Amsterdam zone over 2026
    # when its offsets are laid out
    spans = offset_spans("Europe/Amsterdam", at("2026-01-01 00:00"), at("2027-01-01 00:00"))

    # then there are three stretches, split at 01:00 UTC on the last Sundays of March and October
    assert [(s.isoformat(), e.isoformat(), o) for s, e, o in spans] == [
        ("2026-01-01T00:00:00+00:00", "2026-03-29T01:00:00+00:00", 3600),
        ("2026-03-29T01:00:00+00:00", "2026-10-25T01:00:00+00:00", 7200),
        ("2026-10-25T01:00:00+00:00", "2027-01-01T00:00:00+00:00", 3600),
    ]
