"""Databases (SQLite always, PostgreSQL when reachable — mandatory with CI=true), runtimes, clients, factories."""
import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import asyncpg
import httpx
import pytest
from sqlalchemy import event, text

import app.models  # noqa: F401
from app import migrate
from app.config import Settings
from app.main import create_app
from app.replanning.pool import close_default_pool, default_pool
from app.bootstrap import bootstrap
from app.runtime import Runtime
from tests.factories import Factory

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_ADMIN_URL = os.environ.get("DETOUR_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TABLES_CHILD_FIRST = [t.name for t in reversed(app.models.metadata.sorted_tables)]


def _unavailable(what: str, error: Exception) -> None:
    message = f"{what} is not reachable ({error.__class__.__name__}: {error})"
    if IN_CI:
        pytest.fail(f"{message}; with CI=true it must run", pytrace=False)
    pytest.skip(message)


async def create_postgres_database() -> str:
    """A fresh, uniquely named database; returns its SQLAlchemy URL."""
    name = f"detour_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        connection = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    except (OSError, asyncpg.PostgresError) as error:
        _unavailable("PostgreSQL", error)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}"


async def drop_postgres_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    connection = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
async def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """An empty database brought to head by the real migrations."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'detour.db'}"
    else:
        url = await create_postgres_database()
    await asyncio.to_thread(migrate.upgrade, url)
    yield url
    if backend == "postgres":
        await drop_postgres_database(url)


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, broadcast_url="memory://", log_format="console")


@pytest.fixture(scope="session")
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    runtime = bootstrap(settings)
    await runtime.start()
    yield runtime
    await runtime.stop()


@pytest.fixture(autouse=True)
async def _clean_tables(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Each test starts from empty tables (only for tests that use a database)."""
    yield
    if "runtime" not in request.fixturenames:
        return
    runtime: Runtime = request.getfixturevalue("runtime")
    async with runtime.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(text(f"TRUNCATE {', '.join(TABLES_CHILD_FIRST)} RESTART IDENTITY CASCADE"))
        else:
            for table in TABLES_CHILD_FIRST:
                await connection.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
def factory(runtime: Runtime) -> Factory:
    return Factory(runtime)


@pytest.fixture(scope="session")
def asgi_app(runtime: Runtime):  # noqa: ANN201
    return create_app(runtime=runtime)


@pytest.fixture
async def client(asgi_app) -> AsyncIterator[httpx.AsyncClient]:  # noqa: ANN001
    transport = httpx.ASGITransport(app=asgi_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://detour.test") as http:
        yield http


@asynccontextmanager
async def client_for(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on an app serving this runtime (one swapped with `dataclasses.replace`)."""
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://detour.test") as http:
        yield http


class StatementCounter:
    """Counts SQL statements sent by an engine while active."""

    def __init__(self) -> None:
        self.count = 0
        self.active = False

    def __call__(self, *args: object) -> None:
        if self.active:
            self.count += 1


@pytest.fixture
def count_statements(runtime: Runtime) -> Iterator[StatementCounter]:
    counter = StatementCounter()
    event.listen(runtime.engine.sync_engine, "before_cursor_execute", counter)
    yield counter
    event.remove(runtime.engine.sync_engine, "before_cursor_execute", counter)


@pytest.fixture(scope="session")
def _close_solver_pool_at_exit() -> Iterator[None]:
    yield
    close_default_pool()


@pytest.fixture
async def solver_pool(_close_solver_pool_at_exit) -> None:  # noqa: ANN001
    """Spawning workers is slow on a busy machine: not inside a solve's time limit (and another test may close the pool)."""
    await default_pool().start()
