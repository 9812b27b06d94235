"""A runtime on a frozen clock in Amsterdam's day, and an in-process app sharing it."""
import dataclasses
from collections.abc import AsyncIterator
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from app.clock import FrozenClock
from app.main import create_app
from app.runtime import Runtime

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def amsterdam(year: int, month: int, day: int, hour: int, minute: int = 0) -> FrozenClock:
    return FrozenClock(datetime(year, month, day, hour, minute, tzinfo=AMSTERDAM))


@pytest.fixture
def frozen() -> FrozenClock:
    return amsterdam(2026, 6, 16, 10, 5)


@pytest.fixture
def demo_runtime(runtime: Runtime, frozen: FrozenClock) -> Runtime:
    return dataclasses.replace(runtime, clock=frozen)


@pytest.fixture
async def demo_client(demo_runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(runtime=demo_runtime)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=demo_runtime.settings.public_base_url) as http:
        yield http
