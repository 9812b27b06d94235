"""`detour seed --scale N`: the generated history holds the patterns it promises, and the analytics find them."""
from datetime import UTC, date, datetime

import sqlalchemy as sa

from app.analytics import service
from app.analytics.generator import generate
from app.cli import main as detour

EXCEPTIONS = 3000
END = date(2026, 3, 1)


async def test_generated_history_shows_evening_peak_dense_access_failures_and_first_time_success(runtime):
    # given a generated history of 3,000 exceptions over 60 days
    async with runtime.engine.begin() as connection:
        tenant_id = await generate(connection, exceptions=EXCEPTIONS, days=60, end=END, slug="generated")
    scope = service.Scope(tenant_id=tenant_id, start=datetime(2025, 12, 1, tzinfo=UTC), end=datetime(2026, 3, 3, tzinfo=UTC))

    # when the analytics look at it
    async with runtime.sessionmaker() as session:
        kpis = await service.kpis(session=session, scope=scope)
        by_hour = await service.hour_of_week(session=session, scope=scope)
        areas = await service.areas(session=session, scope=scope, resolution=7, limit=1000)
        channels = await service.customer_preference(session=session, scope=scope)
        stops_with_cells = (await session.exec(sa.text("SELECT count(*) FROM stop_fact WHERE tenant_id = :t").bindparams(t=tenant_id))).scalar()

    # then there are exactly N exceptions and about 90 % first-time success
    assert kpis.exceptions == EXCEPTIONS
    assert 0.86 < kpis.first_time_success_rate < 0.94
    assert stops_with_cells == kpis.first_attempts
    # and exceptions peak in the local evening
    per_hour = {}
    for _, hour, n in by_hour:
        per_hour[hour] = per_hour.get(hour, 0) + n
    evening = sum(per_hour.get(h, 0) for h in range(17, 21)) / 4
    daytime = sum(per_hour.get(h, 0) for h in range(9, 17)) / 8
    assert evening > 1.8 * daytime
    # and the busiest (dense, gated) hexagons fail on access far more often than the rest
    busiest, rest = areas[:3], areas[3:]
    share = lambda cells: sum(a.access_failures for a in cells) / sum(a.exceptions for a in cells)  # noqa: E731
    assert share(busiest) > 1.4 * share(rest)
    assert all(a.gated_stops > 0 for a in busiest)
    # and customers who act themselves are resolved faster than those staff had to reach
    minutes = {}
    for channel, _, n, seconds in channels:
        if seconds is not None:
            total, count = minutes.get(channel, (0.0, 0))
            minutes[channel] = (total + seconds * n, count + n)
    assert minutes["SELF_SERVICE"][0] / minutes["SELF_SERVICE"][1] < minutes["STAFF_CONTACT"][0] / minutes["STAFF_CONTACT"][1]


def test_seed_scale_command_reports_progress_on_stderr(settings, runtime, capsys, monkeypatch):
    # given the CLI pointed at the test database
    monkeypatch.setenv("DETOUR_DATABASE_URL", settings.database_url)
    from app.config import get_settings

    get_settings.cache_clear()
    try:
        # when a small history is generated
        code = detour(["seed", "--scale", "1500", "--days", "20", "--slug", "cli-scale"])
    finally:
        get_settings.cache_clear()

    # then it succeeds, summarises on stdout and draws the bar on stderr
    out, err = capsys.readouterr()
    assert code == 0
    assert "1,500 exceptions over 20 days" in out
    assert "100% 1,500/1,500 exceptions" in err
