"""Issue 18 item 3: the outbox records a claimed batch in one transaction and still never loses or doubles an SMS.

A batch is claimed in one statement, sent concurrently, then its "sent" rows and the CONTACTING_CUSTOMER marks of
the exceptions it reached are written in one transaction. A crash between the provider calls and that transaction
leaves the whole batch SENDING: after the lease each row is found at Twilio and recorded, none is created again.
"""
import asyncio
from collections import Counter

import pytest
from sqlmodel import select

from app.delivery_exceptions.models import DeliveryException, ExceptionStatus
from app.outreach import service
from app.outreach.models import NotificationStatus
from tests.hardening.test_outbox_reconciliation import _close, _queue, _worker
from tests.outreach.conftest import drain, notifications, report


async def _statuses(runtime, exception_ids: list[int]) -> list[ExceptionStatus]:  # noqa: ANN001
    async with runtime.sessionmaker() as session:
        rows = await session.exec(select(DeliveryException).where(DeliveryException.id.in_(exception_ids)))
        return sorted(row.status for row in rows.all())


async def test_crash_after_the_sends_before_the_bookkeeping_texts_everyone_once(http, factory, twilio, outreach_runtime, monkeypatch):
    # given two reported absences (each queues an SMS to its customer) and three plain SMS, one batch of ten
    fleet = await factory.fleet(stops=2)
    token = factory.token(fleet.driver)
    reported = [int((await report(http, token, stop.id))["id"]) for stop in fleet.stops]
    phones = await _queue(outreach_runtime, fleet.tenant.id, 3)
    doomed, _ = _worker(outreach_runtime, outbox_batch_size=10)

    # when the worker dies after Twilio accepted all five messages but before its bookkeeping transaction
    async def killed(**_: object) -> None:
        raise asyncio.CancelledError  # what the coroutine sees when its process is stopped
    monkeypatch.setattr(service, "record_sent", killed)
    with pytest.raises(asyncio.CancelledError):
        await doomed.run_once()
    monkeypatch.undo()
    after_crash = await notifications(outreach_runtime, tenant_id=fleet.tenant.id)
    accepted = len(twilio.created)
    statuses_after_crash = await _statuses(outreach_runtime, reported)

    # and a new worker runs once the dead worker's lease is over
    survivor, clock = _worker(outreach_runtime, outbox_batch_size=10)
    clock.advance(outreach_runtime.settings.outbox_send_lease_seconds + 1)
    try:
        await drain(survivor)
    finally:
        await _close(doomed)
        await _close(survivor)

    # then the crash had left the five sent rows SENDING (the reminders wait) and the exceptions OPEN
    due = [r for r in after_crash if r.purpose != "exception.no_answer"]
    assert accepted == 5 and {r.status for r in due} == {NotificationStatus.SENDING}
    assert statuses_after_crash == [ExceptionStatus.OPEN, ExceptionStatus.OPEN]
    # and now every customer got exactly one SMS: the survivor looked them up and created none
    assert len(twilio.created) == 5 and len(twilio.messages) == 5
    assert sorted(Counter(m["to"] for m in twilio.created).values()) == [1] * 5
    assert set(phones) <= {m["to"] for m in twilio.created}
    rows = [r for r in await notifications(outreach_runtime, tenant_id=fleet.tenant.id) if r.purpose != "exception.no_answer"]
    assert {r.status for r in rows} == {NotificationStatus.SENT}
    assert {r.failure_reason for r in rows} == {"reconciled: the provider had accepted it"}
    assert {r.provider_message_id for r in rows} == {m["sid"] for m in twilio.created}
    # and the reconciled messages marked both exceptions as contacting the customer
    assert await _statuses(outreach_runtime, reported) == [ExceptionStatus.CONTACTING_CUSTOMER] * 2


async def test_a_batch_costs_a_fixed_number_of_statements_not_some_per_row(factory, twilio, outreach_runtime, count_statements):
    # given 20 queued SMS and a worker taking batches of 20
    fleet = await factory.fleet(stops=0)
    await _queue(outreach_runtime, fleet.tenant.id, 20)
    worker, _ = _worker(outreach_runtime, outbox_batch_size=20)

    # when it runs once
    count_statements.active = True
    try:
        taken = await worker.run_once()
    finally:
        count_statements.active = False
        await _close(worker)

    # then all 20 went out and were recorded with a handful of statements (was about 4 per row)
    rows = await notifications(outreach_runtime, tenant_id=fleet.tenant.id)
    assert taken == 20 and len(twilio.messages) == 20 and {r.status for r in rows} == {NotificationStatus.SENT}
    assert count_statements.count <= 8, count_statements.count
