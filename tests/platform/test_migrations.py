"""alembic upgrade on an empty database gives exactly the models' schema, and downgrade base undoes it."""
import asyncio

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import app.models
from app import migrate
from app.db import create_engine
from tests.conftest import create_postgres_database, drop_postgres_database


@pytest.fixture(params=["sqlite", "postgres"])
async def empty_database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    url = await create_postgres_database()
    yield url
    await drop_postgres_database(url)


def _differences(connection):
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, app.models.metadata)


def _tables(connection):
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


async def test_upgrade_matches_models_and_downgrade_removes_everything(empty_database):
    # given an empty database brought to head by the migrations
    await asyncio.to_thread(migrate.upgrade, empty_database)
    engine = create_engine(empty_database)
    try:
        # then autogenerate finds no difference from the models
        async with engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
            assert await connection.run_sync(_tables) == set(app.models.metadata.tables)

        # and downgrade base leaves no table behind
        await asyncio.to_thread(migrate.downgrade, empty_database, "base")
        async with engine.connect() as connection:
            assert await connection.run_sync(_tables) == set()
    finally:
        await engine.dispose()


async def test_opt_outs_become_revoked_consent_records_and_come_back_on_downgrade(empty_database):
    # given a database at the revision before consent records, with a STOP and a carrier opt-out
    from datetime import UTC, datetime

    from sqlalchemy import insert, text

    from app.tenants.models import Tenant

    await asyncio.to_thread(migrate.upgrade, empty_database, "integrations_0008")
    engine = create_engine(empty_database)
    at = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    try:
        async with engine.begin() as connection:
            await connection.execute(insert(Tenant.__table__).values(slug="m", name="M", created_at=at))
            await connection.execute(text(
                "INSERT INTO opt_out (tenant_id, phone, keyword, opted_out_at) VALUES "
                "(1, '+31612340001', 'STOP', :at), (1, '+31612340002', 'CARRIER', :at)"), {"at": at})

        # when the migrations run to head
        await asyncio.to_thread(migrate.upgrade, empty_database)

        # then each opt-out is a REVOKED SMS consent from its source, captured when it was sent
        async with engine.connect() as connection:
            rows = (await connection.execute(text(
                "SELECT phone, channel, status, source, keyword FROM consent_record ORDER BY phone"))).all()
        assert [tuple(r) for r in rows] == [
            ("+31612340001", "SMS", "REVOKED", "SMS_KEYWORD", "STOP"), ("+31612340002", "SMS", "REVOKED", "CARRIER", "CARRIER"),
        ]

        # when a START is recorded for the first number and the migration is undone
        async with engine.begin() as connection:
            await connection.execute(text(
                "INSERT INTO consent_record (tenant_id, phone, channel, status, source, keyword, captured_at, recorded_at) "
                "VALUES (1, '+31612340001', 'SMS', 'GRANTED', 'SMS_KEYWORD', 'START', :later, :later)"),
                {"later": datetime(2026, 12, 1, tzinfo=UTC)})
        await asyncio.to_thread(migrate.downgrade, empty_database, "integrations_0008")

        # then only the number still opted out is in opt_out again
        async with engine.connect() as connection:
            phones = (await connection.execute(text("SELECT phone, keyword FROM opt_out"))).all()
        assert [tuple(p) for p in phones] == [("+31612340002", "CARRIER")]
    finally:
        await engine.dispose()
