"""Migration planning_0013: existing stops keep their route; a stop without a route becomes possible, and the way back is clean."""
import asyncio

import pytest
from sqlalchemy import text

from app import migrate
from app.db import create_engine
from tests.conftest import create_postgres_database, drop_postgres_database

BEFORE, AFTER = "integrations_0008", "planning_0013"
ROWS = [
    "INSERT INTO tenant (id, slug, name, currency, reattempt_base_cost_cents, reattempt_cost_per_km_cents, timezone, active, oidc_subject_claim, created_at) "
    "VALUES (1, 't', 'T', 'EUR', 450, 35, 'UTC', true, 'sub', '2026-12-01 08:00:00+00')",
    "INSERT INTO depot (id, tenant_id, name, address, lat, lon, timezone, active) VALUES (1, 1, 'D', '', 52.0, 4.0, 'UTC', true)",
    "INSERT INTO route (id, tenant_id, depot_id, service_date, status, version, updated_at) VALUES (1, 1, 1, '2026-12-01', 'PLANNED', 3, '2026-12-01 08:00:00+00')",
    "INSERT INTO customer (id, tenant_id, name, preferred_channels, language, timezone, delivery_instructions, created_at) "
    "VALUES (1, 1, 'C', '[]', 'en', 'UTC', '', '2026-12-01 08:00:00+00')",
    "INSERT INTO stop (id, tenant_id, route_id, sequence, customer_id, address, lat, lon, window_start, window_end, service_seconds, status, attempts, version) "
    "VALUES (1, 1, 1, 4, 1, 'A', 52.1, 4.1, '2026-12-01 09:00:00+00', '2026-12-01 11:00:00+00', 180, 'PENDING', 0, 2)",
]
PARCEL = ("INSERT INTO parcel (id, tenant_id, stop_id, barcode, declared_value_cents, signature_required, status) "
          "VALUES (1, 1, 1, 'B-1', 0, false, 'ON_ROUTE')")


@pytest.fixture(params=["sqlite", "postgres"])
async def database(request, tmp_path):  # noqa: ANN001, ANN201
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrate.db'}"
        return
    url = await create_postgres_database()
    yield url
    await drop_postgres_database(url)


async def _run(url: str, *statements: str) -> list:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            for statement in statements:
                await connection.execute(text(statement))
            return (await connection.execute(text("SELECT id, route_id, sequence, version FROM stop ORDER BY id"))).all()
    finally:
        await engine.dispose()


async def test_existing_stops_keep_their_route_and_the_downgrade_drops_only_unassigned_stops(database):
    # given a database at the previous head with a route and one of its stops
    await asyncio.to_thread(migrate.upgrade, database, BEFORE)
    await _run(database, *ROWS, PARCEL)  # a parcel points at the stop: SQLite's table rebuild must keep it valid

    # when it is upgraded, a stop without a route is added, and it is downgraded again
    await asyncio.to_thread(migrate.upgrade, database, AFTER)
    upgraded = await _run(database, ROWS[-1].replace("(1, 1, 1, 4,", "(2, 1, NULL, 0,").replace("'A'", "'B'"))
    await asyncio.to_thread(migrate.downgrade, database, BEFORE)
    downgraded = await _run(database)

    # then the existing stop is unchanged throughout, and only the stop without a route is gone after the downgrade
    assert [tuple(r) for r in upgraded] == [(1, 1, 4, 2), (2, None, 0, 2)]
    assert [tuple(r) for r in downgraded] == [(1, 1, 4, 2)]
