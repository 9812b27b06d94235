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
