"""Wiring a runtime: the platform from settings, plus every domain dependency flows take from it."""
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from app.access.providers import lock_provider
from app.clock import Clock, SystemClock
from app.config import Settings
from app.geocoding.nominatim import geocoder_for
from app.handlers import EVENT_HANDLERS
from app.integrations.crm import crm_for
from app.outreach.flows import Outbox
from app.replanning.flows import matrix_provider
from app.replanning.pool import default_pool
from app.runtime import Runtime


def bootstrap(settings: Settings, *, clock: Clock | None = None, **overrides: Any) -> Runtime:
    """The real runtime for these settings; `overrides` replace single dependencies (a test's slow pool, say)."""
    dependencies: dict[str, Any] = {
        "clock": clock or SystemClock(),
        "handlers": EVENT_HANDLERS,
        "solver_pool": default_pool(),
        "matrix": matrix_provider(settings),
        "outbox": Outbox(),
        "lock_providers": lock_provider,
        "crm": crm_for(settings),
        "geocoder": geocoder_for(settings.geocoder_url, user_agent=settings.geocoder_user_agent, country_codes=settings.geocoder_country_codes),
    }
    return Runtime.build(settings, **{**dependencies, **overrides})


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Runtime]:
    """A started runtime for a command's lifetime (the worker, a one-off job)."""
    runtime = bootstrap(settings)
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()
