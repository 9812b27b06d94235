"""The process-wide solver pool, warm before each test that solves through it, stopped at the end of the session."""
from collections.abc import Iterator

import pytest

from app.replanning.pool import close_default_pool, default_pool


@pytest.fixture(scope="session")
def _close_solver_pool_at_exit() -> Iterator[None]:
    yield
    close_default_pool()


@pytest.fixture
async def solver_pool(_close_solver_pool_at_exit) -> None:  # noqa: ANN001
    """Spawning workers is slow on a busy machine: not inside a solve's time limit (and another test may close the pool)."""
    await default_pool().start()
