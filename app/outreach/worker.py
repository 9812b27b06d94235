"""The outbox dispatcher: claims due rows, sends them once, records what the provider said, retries with backoff."""
import asyncio
import contextlib
import logging
import time
from datetime import timedelta
from functools import partial

from app.clock import writing_with
from app.customers.models import Customer
from app.delivery_exceptions import service as exceptions
from app.delivery_exceptions.models import ExceptionStatus
from app.delivery_exceptions.notices import event_notices
from app.outreach import service
from app.outreach.answers import lock_exception, propose_policy_fallback
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
        self._wake = asyncio.Event()

    async def run_once(self) -> int:
        """Reconcile and send one batch; returns how many rows this worker took."""
        with writing_with(self.runtime.clock):  # stamps set by the services follow the runtime's clock
            return await self._claim_and_send()

    async def _claim_and_send(self) -> int:
        """Reconcile rows left ambiguous, then send due rows, each claimed alone right before its provider call.

        A crash leaves a row PENDING (never attempted: sent by the next worker) or SENDING (maybe sent: looked up at
        the provider once the lease is over, resent only if the provider has no record of it).
        """
        now = self.runtime.clock.now()
        lease_cutoff = now - timedelta(seconds=self.settings.outbox_send_lease_seconds)
        batch = self.settings.outbox_batch_size
        for _ in range(5):  # when other workers took every row we looked at, look again (they are busy sending)
            async with self.runtime.sessionmaker() as session:
                ambiguous = await service.ambiguous_ids(session=session, limit=batch, older_than=lease_cutoff)
                due = await service.due_ids(session=session, limit=batch, now=now)
            taken = sum(await asyncio.gather(
                *(self._reconcile(notification_id, lease_cutoff) for notification_id in ambiguous),
                *(self._deliver(notification_id) for notification_id in due),
            ))
            if taken or not (ambiguous or due):
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
        prepared = await self._prepare(notification_id)
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
            await self._record_sent(notification_id, found, reason="reconciled: the provider had accepted it")
            return 1
        log.info("outbox row reconciled: the provider has no record, sending again", extra={"notificationId": notification_id})
        await self._bump_attempt(notification_id)
        await self._send(notification_id, row, message)
        return 1

    async def _deliver(self, notification_id: int) -> int:
        now = self.runtime.clock.now()
        if not await self._take(partial(service.claim_one, notification_id=notification_id, now=now)):
            return 0  # another worker claimed it between our look and our claim
        prepared = await self._prepare(notification_id)
        if prepared is not None:
            await self._send(notification_id, *prepared)
        return 1

    async def _prepare(self, notification_id: int) -> tuple[Notification, OutboundMessage] | None:
        """The message to send, or None when the row was closed instead (step no longer needed, suppressed)."""
        async with self.runtime.sessionmaker() as session:
            row = await session.get(Notification, notification_id)
            customer = await session.get(Customer, row.customer_id) if row.customer_id else None
            skip = await reason_to_skip_step(session=session, row=row)
            suppress = None if skip else await service.suppression_reason(
                session=session, tenant_id=row.tenant_id, channel=row.channel, recipient=row.recipient,
                customer=customer, at=self.runtime.clock.now(),
            )
        if skip or suppress:
            await self._finish(notification_id, NotificationStatus.CANCELLED if skip else NotificationStatus.SUPPRESSED, skip or suppress)
            return None
        message = OutboundMessage(
            notification_id=row.id, idempotency_key=row.idempotency_key, channel=row.channel, recipient=row.recipient,
            body=with_link(self.settings, row.body, tenant_id=row.tenant_id, stop_id=row.stop_id, exception_id=row.exception_id),
            title=render("push.title", customer.language if customer else None), template=row.body,
        )
        return row, message

    async def _send(self, notification_id: int, row: Notification, message: OutboundMessage) -> None:
        try:
            result = await self.senders[row.channel].send(message)
        except SendError as error:
            if error.ambiguous:
                await self._release_ambiguous(notification_id, error)
            else:
                await self._record_failure(notification_id, error)
        except Exception as error:  # a bug in a sender must not leave the row claimed forever
            log.exception("sender crashed", extra={"notificationId": notification_id})
            await self._record_failure(notification_id, SendError(f"sender error: {error.__class__.__name__}", transient=False))
        else:
            await self._record_sent(notification_id, result)

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

    async def _record_sent(self, notification_id: int, result: SendResult, reason: str | None = None) -> None:
        async with unit_of_work(self.runtime) as uow:
            row = await uow.session.get(Notification, notification_id)
            service.close(row, NotificationStatus.SENT, reason)
            row.sent_at = self.runtime.clock.now()
            row.provider, row.provider_message_id, row.provider_status = result.provider, result.provider_message_id, result.provider_status
            uow.session.add(row)
        log.info("customer message sent", extra={"notificationId": notification_id, "provider": result.provider})
        if row.exception_id is not None:
            await self._mark_customer_contacted(row)
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

    async def _mark_customer_contacted(self, row: Notification) -> None:
        """The first message out moves an OPEN exception to CONTACTING_CUSTOMER, as its own small transaction."""
        try:
            async with unit_of_work(self.runtime) as uow:
                exc = await lock_exception(uow.session, row.exception_id)
                if exc is None or exc.status is not ExceptionStatus.OPEN:
                    return
                event = exceptions.change_status(
                    session=uow.session, principal=None, exc=exc, expected_version=exc.version,
                    status=ExceptionStatus.CONTACTING_CUSTOMER, note=f"{row.channel.value} sent to the customer",
                )
                event.actor_role = SYSTEM_ROLE  # the system's own message, never read as the customer's answer
                event.payload = {**event.payload, "notificationId": row.id, "source": OUTBOX_SOURCE}
                await uow.session.flush()
                uow.notify(*event_notices(event))
        except Exception:  # the message is out and recorded; a lost status race is not worth failing the worker
            log.warning("could not mark the exception as contacting the customer", extra={"exceptionId": row.exception_id}, exc_info=True)

    async def _fall_back(self, row: Notification) -> None:
        try:
            await propose_policy_fallback(self.runtime, stop_id=row.stop_id)
        except Exception:  # the reminder is out; the dispatcher still sees the unanswered exception
            log.warning("no-answer fallback failed", extra={"notificationId": row.id}, exc_info=True)

    def _on_notice(self, _channel: str, _payload: object) -> None:
        self._wake.set()

    async def run_forever(self, stop: asyncio.Event | None = None) -> None:
        """Send until `stop` is set; a commit that queues a message wakes the loop at once, else it polls."""
        stop = stop or asyncio.Event()
        await self.runtime.bus.listen(OUTBOX_CHANNEL, self._on_notice)
        next_planning = next_maintenance = 0.0
        try:
            while not stop.is_set():
                self._wake.clear()
                try:
                    if time.monotonic() >= next_maintenance:
                        next_maintenance = time.monotonic() + MAINTENANCE_SECONDS
                        await prune_inbound_messages(self.runtime)
                    if time.monotonic() >= next_planning:
                        await plan_due_sequences(self.runtime)
                        next_planning = time.monotonic() + SEQUENCE_PLANNING_SECONDS
                    claimed = await self.run_once()
                except Exception:  # a database hiccup: log, wait, go on
                    log.exception("outbox worker iteration failed")
                    claimed = 0
                if claimed >= self.settings.outbox_batch_size:
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._either(stop), timeout=self.settings.worker_poll_seconds)
        finally:
            self.runtime.bus.unlisten(OUTBOX_CHANNEL, self._on_notice)
            for sender in self.senders.values():
                await sender.aclose()

    async def _either(self, stop: asyncio.Event) -> None:
        waits = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waits:
                waiter.cancel()
