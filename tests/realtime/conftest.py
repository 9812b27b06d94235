"""Helpers for live-update tests: sockets on the app, principals, and quick ways to write events."""
import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from app.auth.principal import Principal
from app.delivery_exceptions.flows import ExceptionReport, add_exception_note, report_exception
from app.delivery_exceptions.models import ExceptionKind
from app.runtime import Runtime
from app.tenants.models import User
from tests.realtime.asgi_socket import AsgiSocket

EXCEPTION_EVENTS = """
subscription Queue($depotId: ID!, $after: ID) {
  exceptionEvents(depotId: $depotId, after: $after) { id type step exceptionId actor { id } }
}
"""


def principal_of(user: User) -> Principal:
    return Principal(user_id=user.id, tenant_id=user.tenant_id, role=user.role, scopes=frozenset())


async def open_exception(runtime: Runtime, driver: User, stop_id: int, key: str = "k-1") -> int:
    """A driver's report: one exception and its REPORTED event."""
    exc, _ = await report_exception(runtime, principal_of(driver), ExceptionReport(
        stop_id=stop_id, kind=ExceptionKind.CUSTOMER_ABSENT, reason_code="NO_ANSWER", description="", idempotency_key=key,
    ))
    return exc.id


async def add_notes(runtime: Runtime, staff: User, exception_id: int, count: int) -> None:
    for n in range(count):
        await add_exception_note(runtime, principal_of(staff), exception_id=exception_id, note=f"note {n}")


async def until(condition: Callable[[], bool], timeout: float = 10) -> None:
    """Wait for a condition the server reaches on its own (a subscription registered, a reconnect done)."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


@pytest.fixture
async def sockets(asgi_app) -> AsyncIterator[list[AsgiSocket]]:  # noqa: ANN001
    """Opened sockets are closed at the end of the test."""
    opened: list[AsgiSocket] = []
    yield opened
    for socket in opened:
        await socket.close()
