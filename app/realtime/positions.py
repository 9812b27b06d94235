"""The live map: each driver's newest position and next stop's ETA, at most one update per driver per interval."""
import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from app.clock import Clock
from app.realtime.bus import Bus
from app.tracking.flows import positions_channel
from app.tracking.models import DriverLastPosition
from app.tracking.service import NextStop, last_positions_for_depot, next_stops


async def depot_positions(
    *, bus: Bus, sessionmaker: async_sessionmaker[AsyncSession], tenant_id: int, depot_id: int, interval_seconds: float,
    clock: Clock,
) -> AsyncIterator[tuple[DriverLastPosition, NextStop | None]]:
    """The current position of every driver of the depot, then each newer fix or next-stop ETA, throttled per driver.

    A live ETA update notifies the same channel as a fix, so the map hears of ETAs computed after the fix's notice.
    """
    moved: set[int] = set()
    woken = asyncio.Event()

    def on_notice(_channel: str, payload: dict[str, Any]) -> None:
        if isinstance(payload.get("driverId"), int):
            moved.add(payload["driverId"])
            woken.set()

    channel = positions_channel(tenant_id)
    await bus.listen(channel, on_notice)  # before the first read: a fix stored meanwhile is not missed
    sent: dict[int, tuple[float, Any]] = {}  # driver → (monotonic time sent, (recorded_at, next stop) sent)
    try:
        drivers: set[int] | None = None  # None: the first read sends everyone
        while True:
            day = clock.now()
            async with sessionmaker() as session:
                positions = await last_positions_for_depot(session=session, tenant_id=tenant_id, depot_id=depot_id, day=day)
                wanted = [p.driver_id for p in positions if drivers is None or p.driver_id in drivers]
                ahead = await next_stops(session=session, tenant_id=tenant_id, depot_id=depot_id, day=day, driver_ids=wanted)
            for position in positions:
                if drivers is not None and position.driver_id not in drivers:
                    continue
                shown = (position.recorded_at, ahead.get(position.driver_id))
                previous = sent.get(position.driver_id)
                if previous is None or previous[1] != shown:
                    sent[position.driver_id] = (time.monotonic(), shown)
                    yield position, shown[1]
            drivers = await _next_due(moved, woken, sent, interval_seconds)
    finally:
        bus.unlisten(channel, on_notice)


async def _next_due(moved: set[int], woken: asyncio.Event, sent: dict[int, tuple[float, Any]], interval: float) -> set[int]:
    """Wait until some moved driver may be sent again; returns those drivers (and forgets them)."""
    while True:
        if not moved:
            woken.clear()
            await woken.wait()
            continue
        now = time.monotonic()
        due = {d for d in moved if now - sent.get(d, (float("-inf"), None))[0] >= interval}
        if due:
            moved.difference_update(due)
            return due
        earliest = min(sent[d][0] for d in moved if d in sent) + interval
        woken.clear()
        try:
            await asyncio.wait_for(woken.wait(), timeout=max(earliest - now, 0.01))
        except TimeoutError:
            pass
