"""Inbound MessageSids are forgotten once past retention (in batches, by the runtime's clock); recent ones still stop a replay."""
import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from app.clock import FrozenClock
from app.outreach.models import InboundMessage
from app.outreach.retention import prune_inbound_messages
from app.outreach.worker import OutboxWorker
from app.runtime import Runtime

NOW = datetime(2026, 12, 1, 3, 30, tzinfo=UTC)


def frozen(runtime: Runtime) -> Runtime:
    return dataclasses.replace(runtime, clock=FrozenClock(NOW))


async def given_messages(runtime: Runtime, ages_in_days: dict[str, float]) -> None:
    async with runtime.sessionmaker() as session, session.begin():
        session.add_all(InboundMessage(message_sid=sid, received_at=NOW - timedelta(days=age)) for sid, age in ages_in_days.items())


async def kept(runtime: Runtime) -> list[str]:
    async with runtime.sessionmaker() as session:
        return sorted((await session.exec(select(InboundMessage.message_sid))).all())


async def test_messages_past_retention_are_deleted_in_batches_and_recent_ones_kept(runtime):
    # given a 30-day retention, five messages older than it and two within it (one a minute short of the limit)
    runtime = frozen(runtime)
    assert runtime.settings.inbound_message_retention_days == 30
    old = {f"SM-old-{n}": 31 + n for n in range(5)}
    await given_messages(runtime, {**old, "SM-recent": 2, "SM-edge": 30 - 1 / 1440})

    # when retention runs in batches of two
    removed = await prune_inbound_messages(runtime, batch_size=2)

    # then exactly the old ones are gone, and a second pass has nothing to do
    assert removed == 5
    assert await kept(runtime) == ["SM-edge", "SM-recent"]
    assert await prune_inbound_messages(runtime, batch_size=2) == 0


async def test_the_clock_moving_on_makes_a_message_expire(runtime):
    # given a message received 29 days before the frozen now
    runtime = frozen(runtime)
    await given_messages(runtime, {"SM-1": 29})

    # when retention runs now, and again two days later on the same clock
    first = await prune_inbound_messages(runtime)
    runtime.clock.advance(timedelta(days=2))
    later = await prune_inbound_messages(runtime)

    # then it was kept at first and deleted once past 30 days
    assert (first, later) == (0, 1) and await kept(runtime) == []


async def test_the_outbox_worker_loop_runs_retention(runtime):
    # given an expired and a fresh message, and the outbox worker's loop on the frozen clock
    runtime = frozen(runtime)
    await given_messages(runtime, {"SM-expired": 45, "SM-fresh": 1})
    stop = asyncio.Event()
    loop = asyncio.create_task(OutboxWorker(runtime, senders={}).run_forever(stop))

    # when the loop has made its first pass
    try:
        for _ in range(100):
            if await kept(runtime) == ["SM-fresh"]:
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(loop, timeout=10)

    # then the expired message is gone and the fresh one stays
    assert await kept(runtime) == ["SM-fresh"]
