"""Event ids become visible in increasing order, even when two transactions write events at the same time."""
import asyncio

from app.delivery_exceptions.models import EventType, ExceptionEvent, ResolutionStep
from app.runtime import Runtime
from tests.realtime.conftest import open_exception


def _note(exception_id: int, fleet) -> ExceptionEvent:  # noqa: ANN001
    return ExceptionEvent(
        tenant_id=fleet.tenant.id, depot_id=fleet.depot.id, route_id=fleet.route.id, exception_id=exception_id,
        type=EventType.NOTE_ADDED, step=ResolutionStep.ANALYSED, payload={},
    )


async def test_a_later_writer_waits_so_commit_order_follows_id_order(runtime: Runtime, factory):
    # given an exception, and a first transaction that has inserted an event but not committed yet
    fleet = await factory.fleet(stops=1)
    exception_id = await open_exception(runtime, fleet.driver, fleet.stops[0].id)
    committed: list[int] = []
    first = runtime.sessionmaker()
    await first.begin()
    early = _note(exception_id, fleet)
    first.add(early)
    await first.flush()

    # when a second transaction inserts and commits an event meanwhile
    async def second_writer() -> None:
        async with runtime.sessionmaker() as session, session.begin():
            late = _note(exception_id, fleet)
            session.add(late)
            await session.flush()
        committed.append(late.id)

    second = asyncio.create_task(second_writer())
    await asyncio.sleep(0.3)  # room for the second writer to overtake if nothing stopped it
    await first.commit()
    committed.append(early.id)
    await first.close()
    await second

    # then the second waited for the first: the ids are committed in increasing order,
    # so a reader that saw the later id can never miss the earlier one
    assert committed == sorted(committed)
    assert committed[0] == early.id
