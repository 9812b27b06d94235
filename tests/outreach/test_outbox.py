"""The outbox over the wire: the real twilio SDK against a local Twilio, retries, permanent failures, no double sends."""
import asyncio
from dataclasses import replace
from datetime import timedelta

import sqlalchemy as sa

from app.clock import current_time as utcnow
from app.outreach.flows import enqueue_sms
from app.outreach.models import NotificationStatus
from app.outreach.worker import OutboxWorker
from app.bootstrap import bootstrap
from app.clock import SYSTEM_CLOCK, FrozenClock
from app.runtime import Runtime, unit_of_work
from tests.outreach.conftest import (
    ACCOUNT_SID,
    FROM_NUMBER,
    PUBLIC_BASE_URL,
    drain,
    notifications,
    report,
)
from tests.outreach.fakes import twilio_error

TIMELINE = "query T($id: ID!) { exception(id: $id) { status timeline { type payload } } }"


async def test_reported_absence_sends_one_sms_with_options_and_marks_the_customer_contacted(http, factory, twilio, worker, outreach_runtime):
    # given a driver at a stop whose customer is not home
    fleet = await factory.fleet(stops=1)
    stop = fleet.stops[0]

    # when the driver reports it and the worker runs
    exc = await report(http, factory.token(fleet.driver), stop.id)
    queued = await notifications(outreach_runtime, exception_id=int(exc["id"]))
    await drain(worker)

    # then exactly one SMS went to Twilio's Messages API, from our number, with the options and a link
    assert [(n.purpose, n.status) for n in queued] == [
        ("exception.CUSTOMER_ABSENT", NotificationStatus.PENDING), ("exception.no_answer", NotificationStatus.PENDING)]
    assert queued[1].send_after > utcnow() + timedelta(minutes=10)  # the reminder waits for an answer first
    assert len(twilio.messages) == 1
    sent = twilio.messages[0]
    assert sent.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert sent.form["To"] == "+31612340000" and sent.form["From"] == FROM_NUMBER
    assert "Reply 1" in sent.form["Body"] and f"{PUBLIC_BASE_URL}/c/" in sent.form["Body"]
    assert sent.form["StatusCallback"].startswith(f"{PUBLIC_BASE_URL}/webhooks/twilio/status?key=")
    # and the row records Twilio's message id, while the stored body never holds a live link token
    row = (await notifications(outreach_runtime, exception_id=int(exc["id"])))[0]
    assert row.status is NotificationStatus.SENT and row.provider == "twilio" and row.provider_message_id.startswith("SM")
    assert "[[link]]" in row.body and "/c/" not in row.body
    # and the exception moved to CONTACTING_CUSTOMER on its timeline
    body = (await http.post("/graphql", json={"query": TIMELINE, "variables": {"id": exc["id"]}},
                            headers={"Authorization": f"Bearer {factory.token(fleet.dispatcher)}"})).json()
    assert body["data"]["exception"]["status"] == "CONTACTING_CUSTOMER"
    assert body["data"]["exception"]["timeline"][-1]["payload"]["notificationId"] == row.id


def frozen_worker(runtime: Runtime) -> tuple[OutboxWorker, FrozenClock]:
    """A worker whose clock stands still until the test moves it (backoff without sleeping)."""
    clock = FrozenClock(SYSTEM_CLOCK.now())
    return OutboxWorker(replace(runtime, clock=clock)), clock


async def test_transient_failure_is_retried_with_backoff_then_sent(http, factory, twilio, outreach_runtime):
    # given Twilio answers 503 once
    fleet = await factory.fleet(stops=1)
    twilio.script.append(twilio_error(503, 20500, "Service unavailable"))
    exc = await report(http, factory.token(fleet.driver), fleet.stops[0].id)
    worker, clock = frozen_worker(outreach_runtime)

    # when the worker tries
    await worker.run_once()

    # then the row waits for a retry, later than now, with the reason
    row = (await notifications(outreach_runtime, exception_id=int(exc["id"])))[0]
    assert row.status is NotificationStatus.PENDING and row.attempts == 1
    assert row.send_after - row.updated_at >= timedelta(seconds=0.04) and "503" in row.failure_reason  # backoff 0.05 s

    # when the worker runs again before the backoff has passed, then after
    await drain(worker)
    assert len(twilio.messages) == 1
    clock.advance(0.1)
    await drain(worker)

    # then it went out on the second attempt, once
    row = (await notifications(outreach_runtime, exception_id=int(exc["id"])))[0]
    assert row.status is NotificationStatus.SENT and row.attempts == 2
    assert len(twilio.messages) == 2


async def test_permanent_failure_is_marked_failed_with_the_reason_and_not_retried(http, factory, twilio, outreach_runtime):
    # given Twilio refuses the number
    fleet = await factory.fleet(stops=1)
    twilio.script.append(twilio_error(400, 21211, "The 'To' number +31612340000 is not a valid phone number."))
    exc = await report(http, factory.token(fleet.driver), fleet.stops[0].id)
    worker, clock = frozen_worker(outreach_runtime)

    # when the worker runs until nothing is due, also after any backoff would have passed
    await drain(worker)
    clock.advance(1)
    await drain(worker)

    # then the row failed with Twilio's code, after one request
    row = (await notifications(outreach_runtime, exception_id=int(exc["id"])))[0]
    assert row.status is NotificationStatus.FAILED and "21211" in row.failure_reason
    assert len(twilio.messages) == 1


async def test_transient_failures_give_up_after_the_attempt_cap(factory, twilio, outreach_runtime):
    # given Twilio is down for longer than the retries last
    fleet = await factory.fleet(stops=1)
    twilio.script.extend([twilio_error(500, 20500, "Internal error")] * 5)
    async with unit_of_work(outreach_runtime) as uow:
        await enqueue_sms(uow, tenant_id=fleet.tenant.id, to_phone="+31612349999", text="hello", purpose="test")

    worker, clock = frozen_worker(outreach_runtime)

    # when the worker keeps trying as time passes
    for _ in range(6):
        await drain(worker)
        clock.advance(0.25)

    # then it gave up after the configured 3 attempts
    row = (await notifications(outreach_runtime, tenant_id=fleet.tenant.id))[0]
    assert row.status is NotificationStatus.FAILED and row.attempts == 3
    assert row.failure_reason.startswith("gave up after 3 attempts")
    assert len(twilio.messages) == 3


async def test_two_workers_never_send_the_same_notification_twice(factory, twilio, outreach_runtime):
    # given 40 queued messages and two workers with small batches, each with its own engine (as two processes)
    fleet = await factory.fleet(stops=0)
    async with unit_of_work(outreach_runtime) as uow:
        for i in range(40):
            await enqueue_sms(uow, tenant_id=fleet.tenant.id, to_phone=f"+316123{i:05d}", text=f"message {i}", purpose="test")
    settings = outreach_runtime.settings.model_copy(update={"outbox_batch_size": 3})
    own_engine = bootstrap(settings)
    async with own_engine.engine.connect() as connection:  # connected before the race, like a running process
        await connection.execute(sa.text("SELECT 1"))
    first, second = OutboxWorker(replace(outreach_runtime, settings=settings)), OutboxWorker(own_engine)

    # when both drain the outbox at the same time
    claimed = {first: 0, second: 0}

    async def run(worker: OutboxWorker) -> None:
        while batch := await worker.run_once():
            claimed[worker] += batch

    try:
        await asyncio.gather(run(first), run(second))
    finally:
        await own_engine.engine.dispose()

    # then both took a share, every message went over the wire exactly once and every row is SENT
    assert claimed[first] > 0 and claimed[second] > 0 and claimed[first] + claimed[second] == 40
    bodies = sorted(m.form["Body"] for m in twilio.messages)
    assert bodies == sorted(f"message {i}" for i in range(40))
    rows = await notifications(outreach_runtime, tenant_id=fleet.tenant.id)
    assert {r.status for r in rows} == {NotificationStatus.SENT} and {r.attempts for r in rows} == {1}
    for worker in (first, second):
        for sender in worker.senders.values():
            await sender.aclose()


async def test_worker_loop_is_woken_by_the_commit_that_queues_a_message(factory, twilio, outreach_runtime):
    # given a worker loop that would otherwise poll only every 60 s (it polls once at start, then waits)
    fleet = await factory.fleet(stops=0)
    runtime = replace(outreach_runtime, settings=outreach_runtime.settings.model_copy(update={"worker_poll_seconds": 60.0}))
    stop = asyncio.Event()
    loop = asyncio.create_task(OutboxWorker(runtime).run_forever(stop))
    await asyncio.sleep(0.2)

    # when a message is committed
    async with unit_of_work(runtime) as uow:
        await enqueue_sms(uow, tenant_id=fleet.tenant.id, to_phone="+31612340042", text="woken", purpose="test")

    # then the loop sends it well before its next poll, and stops cleanly when asked
    for _ in range(100):
        if twilio.messages:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(loop, timeout=5)
    assert [m.form["Body"] for m in twilio.messages] == ["woken"]


async def test_worker_loop_claims_the_next_batch_while_one_is_at_the_provider(factory, twilio, outreach_runtime):
    # given a worker loop of batches of 3 with two in flight, and a provider that holds every message it receives
    fleet = await factory.fleet(stops=0)
    settings = outreach_runtime.settings.model_copy(update={"outbox_batch_size": 3, "outbox_batches_in_flight": 2})
    runtime = replace(outreach_runtime, settings=settings)
    async with unit_of_work(runtime) as uow:
        for i in range(6):
            await enqueue_sms(uow, tenant_id=fleet.tenant.id, to_phone=f"+3161234{i:04d}", text=f"held {i}", purpose="test")
    twilio.hold.clear()
    stop = asyncio.Event()
    loop = asyncio.create_task(OutboxWorker(runtime).run_forever(stop))
    try:
        # when the first batch is still at the provider
        for _ in range(200):
            if len(twilio.messages) >= 6:
                break
            await asyncio.sleep(0.025)

        # then the second batch was claimed and sent meanwhile: all six are at the provider at once
        assert sorted(m.form["Body"] for m in twilio.messages) == [f"held {i}" for i in range(6)]
    finally:
        twilio.hold.set()
    # and once the provider answers, every row is SENT after exactly one call
    for _ in range(200):
        rows = await notifications(runtime, tenant_id=fleet.tenant.id)
        if {r.status for r in rows} == {NotificationStatus.SENT}:
            break
        await asyncio.sleep(0.025)
    stop.set()
    await asyncio.wait_for(loop, timeout=10)
    assert {r.status for r in rows} == {NotificationStatus.SENT} and {r.attempts for r in rows} == {1}
    assert len(twilio.messages) == 6
