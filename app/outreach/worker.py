"""The outbox dispatcher: claims due rows, sends them once, records what the provider said, retries with backoff."""
import asyncio
import contextlib
import logging
import time
from datetime import timedelta
from functools import partial

from sqlmodel import col, select

from app.clock import writing_with
from app.customers.models import Customer
from app.delivery_exceptions import service as exceptions
from app.delivery_exceptions.models import ExceptionStatus
from app.delivery_exceptions.notices import event_notices
from app.outreach import service
from app.outreach.answers import propose_policy_fallback
from app.outreach.channels import (
    OutboundMessage,
    Sender,
    SendError,
    SendResult,
    build_senders,
)
from app.outreach.flows import OUTBOX_CHANNEL, enqueue_sms_fallback
from app.outreach.links import with_link
from app.outreach.models import (
    NO_ANSWER_PURPOSE,
    SYSTEM_ROLE,
    ConsentSource,
    Notification,
    NotificationChannel,
    NotificationStatus,
)
from app.outreach.retention import prune_inbound_messages
from app.outreach.sequences import plan_due_sequences, reason_to_skip_step
from app.outreach.templates import render
from app.runtime import Runtime, unit_of_work

log = logging.getLogger(__name__)

SEQUENCE_PLANNING_SECONDS = 30.0
MAINTENANCE_SECONDS = 3600.0  # how often a worker deletes what is past retention (each pass is idempotent)
OUTBOX_SOURCE = "outreach.outbox"  # the source of events the worker writes


class OutboxWorker:
    """One dispatcher loop; run as many as you like, in as many processes: a row is claimed by exactly one."""

    def __init__(self, runtime: Runtime, senders: dict[NotificationChannel, Sender] | None = None) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.senders = senders or runtime.senders or build_senders(runtime.settings)
        self._wakes: list[asyncio.Event] = []

    async def run_once(self) -> int:
        """Reconcile and send one batch; returns how many rows this worker took."""
        with writing_with(self.runtime.clock):  # stamps set by the services follow the runtime's clock
            return await self._claim_and_send()

    async def _claim_and_send(self) -> int:
        """Reconcile rows left ambiguous, then claim a batch of due rows in one transaction and send them concurrently.

        A crash leaves a row PENDING (never claimed: sent by the next worker) or SENDING (maybe sent: looked up at
        the provider once the lease is over, resent only if the provider has no record of it). The batch's "sent"
        bookkeeping is one transaction after its provider calls: a crash before it leaves the batch SENDING, so each
        row is found at the provider on reconciliation and recorded, never sent twice.
        """
        now = self.runtime.clock.now()
        lease_cutoff = now - timedelta(seconds=self.settings.outbox_send_lease_seconds)
        batch = self.settings.outbox_batch_size
        for _ in range(5):  # when other workers took every row we looked at, look again (they are busy sending)
            async with self.runtime.sessionmaker() as session:
                ambiguous = await service.ambiguous_ids(session=session, limit=batch, older_than=lease_cutoff)
            async with self.runtime.sessionmaker() as session, session.begin():
                due, seen = await service.claim_due(session=session, limit=batch, now=now)
            reconciled = await asyncio.gather(*(self._reconcile(notification_id, lease_cutoff) for notification_id in ambiguous))
            if due:
                await self._deliver(due)
            taken = sum(reconciled) + len(due)
            if taken or not (ambiguous or seen):
                return taken
        return 0

    async def _take(self, claim) -> bool:  # noqa: ANN001 - a service claim bound to its arguments
        async with self.runtime.sessionmaker() as session, session.begin():
            return await claim(session=session)

    async def _reconcile(self, notification_id: int, lease_cutoff) -> int:  # noqa: ANN001
        now = self.runtime.clock.now()
        taken = await self._take(partial(service.claim_ambiguous, notification_id=notification_id, older_than=lease_cutoff, now=now))
        if not taken:
            return 0
        [prepared] = await self._prepare([notification_id]) or [None]
        if prepared is None:
            return 1
        row, message = prepared
        try:
            found = await self.senders[row.channel].find(message, since=row.created_at - timedelta(minutes=1))
        except SendError as error:  # cannot tell yet: keep the row SENDING under this lease, ask again after it
            await self._note(notification_id, f"outcome unknown, provider lookup failed: {error.reason}")
            log.warning("outbox reconciliation failed", extra={"notificationId": notification_id, "reason": error.reason})
            return 1
        if found is not None:
            log.info("outbox row reconciled: the provider has it", extra={"notificationId": notification_id})
            await self._record_sent([(row, found)], reason="reconciled: the provider had accepted it")
            return 1
        log.info("outbox row reconciled: the provider has no record, sending again", extra={"notificationId": notification_id})
        await self._bump_attempt(notification_id)
        result = await self._send(notification_id, row, message)
        if result is not None:
            await self._record_sent([(row, result)])
        return 1

    async def _deliver(self, claimed: list[int]) -> None:
        """Send a claimed batch concurrently, then record every accepted message in one transaction."""
        prepared = await self._prepare(claimed)
        results = await asyncio.gather(*(self._send(row.id, row, message) for row, message in prepared))
        await self._record_sent([(row, result) for (row, _), result in zip(prepared, results, strict=True) if result is not None])

    async def _prepare(self, notification_ids: list[int]) -> list[tuple[Notification, OutboundMessage]]:
        """The messages to send, read for the whole batch at once; rows no longer wanted (step not needed, suppressed) are closed instead."""
        now = self.runtime.clock.now()
        async with self.runtime.sessionmaker() as session:
            rows = list((await session.exec(
                select(Notification).where(col(Notification.id).in_(notification_ids)).order_by(col(Notification.id))
            )).all())
            customer_ids = {row.customer_id for row in rows if row.customer_id}
            customers = {c.id: c for c in (await session.exec(select(Customer).where(col(Customer.id).in_(customer_ids)))).all()} if customer_ids else {}
            opted_out = await service.opted_out_among(session=session, numbers={
                (row.tenant_id, row.recipient) for row in rows if row.channel is NotificationChannel.SMS and row.recipient
            })
            skips = [await reason_to_skip_step(session=session, row=row) for row in rows]
        prepared = []
        for row, skip in zip(rows, skips, strict=True):
            customer = customers.get(row.customer_id)
            suppress = None if skip else service.suppression_for(
                channel=row.channel, recipient=row.recipient, customer=customer, at=now,
                opted_out=(row.tenant_id, row.recipient) in opted_out,
            )
            if skip or suppress:
                await self._finish(row.id, NotificationStatus.CANCELLED if skip else NotificationStatus.SUPPRESSED, skip or suppress)
                continue
            prepared.append((row, OutboundMessage(
                notification_id=row.id, idempotency_key=row.idempotency_key, channel=row.channel, recipient=row.recipient,
                body=with_link(self.settings, row.body, tenant_id=row.tenant_id, stop_id=row.stop_id, exception_id=row.exception_id),
                title=render("push.title", customer.language if customer else None), template=row.body,
            )))
        return prepared

    async def _send(self, notification_id: int, row: Notification, message: OutboundMessage) -> SendResult | None:
        """The provider's answer, or None when the call failed (the failure is recorded here, row by row)."""
        try:
            return await self.senders[row.channel].send(message)
        except SendError as error:
            if error.ambiguous:
                await self._release_ambiguous(notification_id, error)
            else:
                await self._record_failure(notification_id, error)
        except Exception as error:  # a bug in a sender must not leave the row claimed forever
            log.exception("sender crashed", extra={"notificationId": notification_id})
            await self._record_failure(notification_id, SendError(f"sender error: {error.__class__.__name__}", transient=False))
        return None

    async def _release_ambiguous(self, notification_id: int, error: SendError) -> None:
        """The call may have gone through: the row stays SENDING, held by no one, and is reconciled before a resend."""
        async with unit_of_work(self.runtime) as uow:
            row = await uow.session.get(Notification, notification_id)
            row.claimed_at = None
            row.failure_reason = f"outcome unknown after attempt {row.attempts}: {error.reason}; reconciling with the provider"[:500]
            row.updated_at = self.runtime.clock.now()
            uow.session.add(row)
        log.warning("customer message outcome unknown", extra={"notificationId": notification_id, "reason": error.reason})

    async def _note(self, notification_id: int, reason: str) -> None:
        async with unit_of_work(self.runtime) as uow:
            row = await uow.session.get(Notification, notification_id)
            row.failure_reason = reason[:500]
            uow.session.add(row)

    async def _bump_attempt(self, notification_id: int) -> None:
        async with unit_of_work(self.runtime) as uow:
            row = await uow.session.get(Notification, notification_id)
            row.attempts += 1
            uow.session.add(row)

    async def _finish(self, notification_id: int, status: NotificationStatus, reason: str) -> None:
        async with unit_of_work(self.runtime) as uow:
            row = await uow.session.get(Notification, notification_id)
            service.close(row, status, reason)
            uow.session.add(row)

    async def _record_sent(self, sent: list[tuple[Notification, SendResult]], reason: str | None = None) -> None:
        """Every accepted message of a batch recorded, and the exceptions it reached marked, in one transaction."""
        if not sent:
            return
        now = self.runtime.clock.now()
        rows = []
        for row, result in sent:
            service.close(row, NotificationStatus.SENT, reason)
            row.sent_at = now
            row.provider, row.provider_message_id, row.provider_status = result.provider, result.provider_message_id, result.provider_status
            rows.append(row)
        contacted = [row for row in rows if row.exception_id is not None]
        try:
            async with unit_of_work(self.runtime) as uow:
                await service.record_sent(session=uow.session, rows=rows)
                await self._mark_customers_contacted(uow, contacted)
        except Exception:  # a lost status race must not undo the record of messages that are out: record them alone
            log.warning("batched outbox bookkeeping failed; recording the sent rows alone", exc_info=True)
            async with unit_of_work(self.runtime) as uow:
                await service.record_sent(session=uow.session, rows=rows)
            for row in contacted:
                await self._mark_customer_contacted(row)
        for row in rows:
            log.info("customer message sent", extra={"notificationId": row.id, "provider": row.provider})
            if row.purpose == NO_ANSWER_PURPOSE and row.stop_id is not None:
                await self._fall_back(row)

    async def _record_failure(self, notification_id: int, error: SendError) -> None:
        async with unit_of_work(self.runtime) as uow:
            row = await uow.session.get(Notification, notification_id)
            if error.transient and row.attempts < self.settings.outbox_max_attempts:
                delay = service.retry_delay(
                    attempts=row.attempts, base_seconds=self.settings.outbox_backoff_seconds,
                    cap_seconds=self.settings.outbox_backoff_cap_seconds,
                )
                row.send_after = self.runtime.clock.now() + delay
                service.close(row, NotificationStatus.PENDING, f"attempt {row.attempts} failed: {error.reason}")
                uow.session.add(row)
                return
            gave_up = f"gave up after {row.attempts} attempts: " if error.transient else ""
            text = row.body
            service.close(row, NotificationStatus.FAILED, gave_up + error.reason)
            uow.session.add(row)
            if error.recipient_gone and row.channel is NotificationChannel.PUSH:
                await service.deactivate_push_token(session=uow.session, tenant_id=row.tenant_id, token=row.recipient)
            if error.recipient_gone and row.channel is NotificationChannel.SMS:
                await service.opt_out(session=uow.session, tenant_id=row.tenant_id, phone=row.recipient, keyword="CARRIER", source=ConsentSource.CARRIER)
            if row.channel is NotificationChannel.PUSH:
                await enqueue_sms_fallback(uow, row, text)
        log.warning("customer message failed", extra={"notificationId": notification_id, "reason": error.reason})

    async def _mark_customers_contacted(self, uow, rows: list[Notification]) -> None:  # noqa: ANN001 - a UnitOfWork
        """The first message out moves an OPEN exception to CONTACTING_CUSTOMER; tenants and rows locked in one order."""
        first: dict[int, Notification] = {}
        for row in rows:
            first.setdefault(row.exception_id, row)
        for row in sorted(first.values(), key=lambda r: (r.tenant_id, r.exception_id)):
            exc = await exceptions.lock(session=uow.session, exception_id=row.exception_id, tenant_id=row.tenant_id)
            if exc is None or exc.status is not ExceptionStatus.OPEN:
                continue
            event = exceptions.change_status(
                session=uow.session, principal=None, exc=exc, expected_version=exc.version,
                status=ExceptionStatus.CONTACTING_CUSTOMER, note=f"{row.channel.value} sent to the customer",
            )
            event.actor_role = SYSTEM_ROLE  # the system's own message, never read as the customer's answer
            event.payload = {**event.payload, "notificationId": row.id, "source": OUTBOX_SOURCE}
            await uow.session.flush()
            uow.notify(*event_notices(event))

    async def _mark_customer_contacted(self, row: Notification) -> None:
        """One exception's mark as its own small transaction (when the batched one failed)."""
        try:
            async with unit_of_work(self.runtime) as uow:
                await self._mark_customers_contacted(uow, [row])
        except Exception:  # the message is out and recorded; a lost status race is not worth failing the worker
            log.warning("could not mark the exception as contacting the customer", extra={"exceptionId": row.exception_id}, exc_info=True)

    async def _fall_back(self, row: Notification) -> None:
        try:
            await propose_policy_fallback(self.runtime, stop_id=row.stop_id)
        except Exception:  # the reminder is out; the dispatcher still sees the unanswered exception
            log.warning("no-answer fallback failed", extra={"notificationId": row.id}, exc_info=True)

    def _on_notice(self, _channel: str, _payload: object) -> None:
        for wake in self._wakes:
            wake.set()

    async def run_forever(self, stop: asyncio.Event | None = None) -> None:
        """Send until `stop` is set; a commit that queues a message wakes the loop at once, else it polls.

        The loop keeps `outbox_batches_in_flight` batches going: while one batch is at the provider, the next is
        claimed and sent (each lane claims its own rows, as two workers would), so the provider's connections never
        wait on this worker's bookkeeping.
        """
        stop = stop or asyncio.Event()
        self._wakes = [asyncio.Event() for _ in range(self.settings.outbox_batches_in_flight)]
        await self.runtime.bus.listen(OUTBOX_CHANNEL, self._on_notice)
        lanes = [asyncio.create_task(self._lane(stop, wake, upkeep=n == 0), name=f"outbox-lane-{n}") for n, wake in enumerate(self._wakes)]
        try:
            await asyncio.gather(*lanes)
        finally:
            for lane in lanes:
                lane.cancel()
            await asyncio.gather(*lanes, return_exceptions=True)
            self.runtime.bus.unlisten(OUTBOX_CHANNEL, self._on_notice)
            for sender in self.senders.values():
                await sender.aclose()

    async def _lane(self, stop: asyncio.Event, wake: asyncio.Event, *, upkeep: bool) -> None:
        """One batch at a time: claim, send, record; the first lane also plans sequences and prunes."""
        next_planning = next_maintenance = 0.0
        while not stop.is_set():
            wake.clear()
            try:
                if upkeep and time.monotonic() >= next_maintenance:
                    next_maintenance = time.monotonic() + MAINTENANCE_SECONDS
                    await prune_inbound_messages(self.runtime)
                if upkeep and time.monotonic() >= next_planning:
                    await plan_due_sequences(self.runtime)
                    next_planning = time.monotonic() + SEQUENCE_PLANNING_SECONDS
                claimed = await self.run_once()
            except Exception:  # a database hiccup: log, wait, go on
                log.exception("outbox worker iteration failed")
                claimed = 0
            if claimed >= self.settings.outbox_batch_size:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._either(stop, wake), timeout=self.settings.worker_poll_seconds)

    async def _either(self, stop: asyncio.Event, wake: asyncio.Event) -> None:
        waits = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waits:
                waiter.cancel()
