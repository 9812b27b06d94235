"""Issue 15 item 1: a killed worker or a provider that answers after the timeout never loses or doubles an SMS.

Each row is claimed alone right before its provider call; a row never attempted stays PENDING; a row whose call
may have reached Twilio (killed mid-call, timeout) stays SENDING and is looked up at Twilio, through the real SDK,
before anything is sent again.
"""
import asyncio
from collections import Counter
from dataclasses import replace
from datetime import timedelta

from app.clock import SYSTEM_CLOCK, FrozenClock
from app.clock import current_time as utcnow
from app.outreach.flows import enqueue_sms
from app.outreach.models import NotificationStatus
from app.outreach.worker import OutboxWorker
from app.runtime import Runtime, unit_of_work
from tests.outreach.conftest import drain, notifications


async def _queue(runtime: Runtime, tenant_id: int, count: int) -> list[str]:
    phones = [f"+3161299{i:04d}" for i in range(count)]
    async with unit_of_work(runtime) as uow:
        for i, phone in enumerate(phones):
            await enqueue_sms(uow, tenant_id=tenant_id, to_phone=phone, text=f"your parcel {i}", purpose="test")
    return phones


def _worker(runtime: Runtime, **settings: object) -> tuple[OutboxWorker, FrozenClock]:
    clock = FrozenClock(SYSTEM_CLOCK.now())
    changed = runtime.settings.model_copy(update=settings)
    return OutboxWorker(replace(runtime, settings=changed, clock=clock)), clock


async def _close(worker: OutboxWorker) -> None:
    for sender in worker.senders.values():
        await sender.aclose()


async def test_worker_killed_mid_batch_leaves_every_customer_texted_exactly_once(factory, twilio, outreach_runtime):
    # given 12 queued SMS, a worker sending 5 at a time, and a Twilio that takes every message but answers none yet
    fleet = await factory.fleet(stops=0)
    phones = await _queue(outreach_runtime, fleet.tenant.id, 12)
    doomed, _ = _worker(outreach_runtime, outbox_batch_size=5)
    twilio.hold.clear()

    # when the worker is killed while its 5 calls are at Twilio (its coroutine never hears back)
    run = asyncio.create_task(doomed.run_once())
    for _ in range(200):
        if len(twilio.messages) == 5:
            break
        await asyncio.sleep(0.02)
    run.cancel()
    twilio.hold.set()  # Twilio goes on to accept the 5 messages the dead worker had sent
    for _ in range(200):
        if len(twilio.created) == 5:
            break
        await asyncio.sleep(0.02)
    rows = await notifications(outreach_runtime, tenant_id=fleet.tenant.id)
    left = Counter(r.status for r in rows)

    # and a new worker runs once the dead worker's lease is over
    survivor, clock = _worker(outreach_runtime, outbox_batch_size=5)
    clock.advance(outreach_runtime.settings.outbox_send_lease_seconds + 1)
    try:
        await drain(survivor)
    finally:
        await _close(doomed)
        await _close(survivor)

    # then the crash had left 5 rows in flight and 7 never attempted, and now every customer got exactly one SMS
    assert left == {NotificationStatus.SENDING: 5, NotificationStatus.PENDING: 7}
    assert sorted(Counter(m["to"] for m in twilio.created).items()) == [(phone, 1) for phone in phones]
    assert len(twilio.messages) == 12  # no create call was repeated
    rows = await notifications(outreach_runtime, tenant_id=fleet.tenant.id)
    assert {r.status for r in rows} == {NotificationStatus.SENT}
    assert {r.provider_message_id for r in rows} == {m["sid"] for m in twilio.created}
    reconciled = [r for r in rows if r.failure_reason]
    assert len(reconciled) == 5 and all(r.failure_reason == "reconciled: the provider had accepted it" for r in reconciled)


async def test_provider_answering_after_the_timeout_gets_the_message_once(factory, twilio, outreach_runtime):
    # given a Twilio that accepts a message but answers after the SDK's timeout
    fleet = await factory.fleet(stops=0)
    [phone] = await _queue(outreach_runtime, fleet.tenant.id, 1)
    worker, _ = _worker(outreach_runtime, twilio_timeout_seconds=0.3)
    twilio.answer_delay = 1.0

    # when the worker sends it (ReadTimeout) and runs again
    try:
        await worker.run_once()
        [timed_out] = await notifications(outreach_runtime, tenant_id=fleet.tenant.id)
        twilio.answer_delay = 0.0
        await drain(worker)
    finally:
        await _close(worker)

    # then the timeout left the row SENDING with why, and the lookup found the message instead of sending it again
    assert timed_out.status is NotificationStatus.SENDING and timed_out.claimed_at is None
    assert timed_out.failure_reason.startswith("outcome unknown after attempt 1: twilio unreachable: ReadTimeout")
    assert [m["to"] for m in twilio.created] == [phone] and len(twilio.messages) == 1
    [row] = await notifications(outreach_runtime, tenant_id=fleet.tenant.id)
    assert row.status is NotificationStatus.SENT and row.provider_message_id == twilio.created[0]["sid"]


async def test_row_in_flight_that_twilio_never_got_is_sent_after_the_lease(factory, twilio, worker, outreach_runtime):
    # given a row a worker claimed long ago and never finished, and Twilio has no record of it
    fleet = await factory.fleet(stops=0)
    async with unit_of_work(outreach_runtime) as uow:
        row = await enqueue_sms(uow, tenant_id=fleet.tenant.id, to_phone="+31612340007", text="maybe sent", purpose="test")
        row.status, row.claimed_at, row.attempts = NotificationStatus.SENDING, utcnow() - timedelta(hours=1), 1
        uow.session.add(row)

    # when a worker runs
    await drain(worker)

    # then it asked Twilio, found nothing, and sent it once (a second attempt)
    [sent] = await notifications(outreach_runtime, tenant_id=fleet.tenant.id)
    assert sent.status is NotificationStatus.SENT and sent.attempts == 2
    assert [m.form["Body"] for m in twilio.messages] == ["maybe sent"]


async def test_row_still_within_its_lease_is_left_to_its_worker(factory, twilio, worker, outreach_runtime):
    # given a row claimed a moment ago by a live worker
    fleet = await factory.fleet(stops=0)
    async with unit_of_work(outreach_runtime) as uow:
        row = await enqueue_sms(uow, tenant_id=fleet.tenant.id, to_phone="+31612340008", text="in flight", purpose="test")
        row.status, row.claimed_at, row.attempts = NotificationStatus.SENDING, utcnow(), 1
        uow.session.add(row)

    # when another worker runs
    await drain(worker)

    # then it neither looked it up nor sent it
    [held] = await notifications(outreach_runtime, tenant_id=fleet.tenant.id)
    assert held.status is NotificationStatus.SENDING and twilio.requests == []
