"""Writing customer messages into the outbox, inside the caller's transaction, and the triggers that do it."""
import uuid
from datetime import datetime, timedelta

from sqlmodel import select

from app.auth.principal import Principal
from app.customers.models import Customer
from app.delivery_exceptions import service as exceptions
from app.delivery_exceptions.models import DeliveryException, ExceptionKind
from app.errors import DomainError, ErrorCode, invalid
from app.events import ExceptionReported, OperationalAlert
from app.outreach.answers import attach_earlier_answer
from app.outreach import service
from app.outreach.links import LINK_MARKER
from app.outreach.models import (
    NO_ANSWER_PURPOSE,
    ConsentSource,
    ConsentStatus,
    Notification,
    NotificationChannel,
    NotificationStatus,
)
from app.outreach.redaction import redact
from app.outreach.sequences import stop_sequence
from app.outreach.templates import render
from app.realtime.bus import Notice
from app.routes.models import Stop
from app.runtime import Runtime, UnitOfWork, unit_of_work
from app.tenants.models import Role, Tenant, User

OUTBOX_CHANNEL = "detour.outbox"
# A live ETA past the window (tracking) is told to the customer before the window closes, with the options.
RUNNING_LATE = "RUNNING_LATE"
MESSAGE_ON_REPORT = frozenset({ExceptionKind.CUSTOMER_ABSENT, ExceptionKind.ACCESS_DENIED, ExceptionKind.ADDRESS_PROBLEM})


def _wake_workers(uow: UnitOfWork, row: Notification) -> None:
    if row.status is NotificationStatus.PENDING and row.send_after <= uow.clock.now():
        uow.notify(Notice(OUTBOX_CHANNEL, {"notificationId": row.id}))


async def _enqueue(
    uow: UnitOfWork, *, tenant_id: int, channel: NotificationChannel, recipient: str | None, text: str, purpose: str,
    customer: Customer | None, stop_id: int | None, exception_id: int | None, send_after: datetime | None,
    sequence_run_id: int | None = None, fallback_of_id: int | None = None, idempotency_key: str | None = None,
) -> Notification:
    when = send_after or uow.clock.now()
    reason = await service.suppression_reason(
        session=uow.session, tenant_id=tenant_id, channel=channel, recipient=recipient, customer=customer, at=when
    )
    row = Notification(
        tenant_id=tenant_id, customer_id=customer.id if customer else None, stop_id=stop_id, exception_id=exception_id,
        sequence_run_id=sequence_run_id, fallback_of_id=fallback_of_id, channel=channel, recipient=recipient or "",
        body=redact(text[:1600]) if reason else text[:1600], purpose=purpose[:40], idempotency_key=idempotency_key or uuid.uuid4().hex, send_after=when,
        status=NotificationStatus.SUPPRESSED if reason else NotificationStatus.PENDING, failure_reason=reason,
    )
    uow.session.add(row)
    await uow.session.flush()
    _wake_workers(uow, row)
    return row


async def enqueue_sms(
    uow: UnitOfWork, *, tenant_id: int, to_phone: str, text: str, purpose: str, customer_id: int | None = None,
    exception_id: int | None = None, stop_id: int | None = None, send_after: datetime | None = None,
) -> Notification:
    """An SMS outbox row in the caller's transaction; opt-out always, quiet hours when the customer is known."""
    customer = await uow.session.get(Customer, customer_id) if customer_id is not None else None
    if customer is not None and customer.tenant_id != tenant_id:
        raise invalid("the customer belongs to another tenant", "customerId")
    return await _enqueue(
        uow, tenant_id=tenant_id, channel=NotificationChannel.SMS, recipient=to_phone, text=text, purpose=purpose,
        customer=customer, stop_id=stop_id, exception_id=exception_id, send_after=send_after,
    )


async def enqueue_for_customer(
    uow: UnitOfWork, *, customer: Customer, text: str, purpose: str, stop_id: int | None,
    exception_id: int | None = None, send_after: datetime | None = None, sequence_run_id: int | None = None,
    channel: NotificationChannel | None = None, idempotency_key: str | None = None,
) -> Notification:
    """A message on the customer's preferred channel: push when they prefer it and have the app, else SMS."""
    wants_push = channel is NotificationChannel.PUSH or (channel is None and "PUSH" in customer.preferred_channels)
    device = (
        await service.active_push_token(session=uow.session, tenant_id=customer.tenant_id, customer_id=customer.id)
        if wants_push else None
    )
    chosen, recipient = (NotificationChannel.PUSH, device) if device else (NotificationChannel.SMS, customer.phone)
    return await _enqueue(
        uow, tenant_id=customer.tenant_id, channel=chosen, recipient=recipient, text=text, purpose=purpose,
        customer=customer, stop_id=stop_id, exception_id=exception_id, send_after=send_after,
        sequence_run_id=sequence_run_id, idempotency_key=idempotency_key,
    )


async def enqueue_sms_fallback(uow: UnitOfWork, push: Notification, text: str) -> Notification | None:
    """Push did not reach the customer: the same `text` (as it was before redaction) by SMS, if SMS is possible."""
    customer = await uow.session.get(Customer, push.customer_id) if push.customer_id else None
    if customer is None:
        return None
    return await _enqueue(
        uow, tenant_id=push.tenant_id, channel=NotificationChannel.SMS, recipient=customer.phone, text=text,
        purpose=push.purpose, customer=customer, stop_id=push.stop_id, exception_id=push.exception_id,
        send_after=None, sequence_run_id=push.sequence_run_id, fallback_of_id=push.id,
        idempotency_key=f"fallback-{push.idempotency_key}"[:64],
    )


class Outbox:
    """The outbox other domains write texts through (`runtime.outbox`), so they need not import outreach."""

    async def sms(
        self, uow: UnitOfWork, *, tenant_id: int, to_phone: str, text: str, purpose: str, customer_id: int | None = None,
        exception_id: int | None = None, stop_id: int | None = None,
    ) -> Notification:
        return await enqueue_sms(
            uow, tenant_id=tenant_id, to_phone=to_phone, text=text, purpose=purpose, customer_id=customer_id,
            exception_id=exception_id, stop_id=stop_id,
        )

    async def record_consent(
        self, uow: UnitOfWork, *, tenant_id: int, phone: str, granted: bool, source: str, captured_at: datetime | None = None,
    ) -> bool:
        """Append an SMS consent decision (see service.record_consent); False when the one in force already says so."""
        row = await service.record_consent(
            session=uow.session, tenant_id=tenant_id, phone=phone, source=ConsentSource(source), captured_at=captured_at,
            status=ConsentStatus.GRANTED if granted else ConsentStatus.REVOKED,
        )
        return row is not None


def next_window_text(stop: Stop, customer: Customer, now: datetime) -> str:
    start, end = service.next_windows(window_start=stop.window_start, window_end=stop.window_end, now=now, count=1)[0]
    local_start, local_end = service.local_time(customer, start), service.local_time(customer, end)
    return f"{local_start:%d-%m %H:%M}-{local_end:%H:%M}"


async def message_texts(uow: UnitOfWork, *, stop: Stop, customer: Customer) -> dict[str, str]:
    """The values every template may use: company, address, link (filled in at send time), next window."""
    tenant = await uow.session.get(Tenant, stop.tenant_id)
    return {
        "company": tenant.name if tenant else "Detour",
        "address": stop.address.split(",")[0],
        "link": LINK_MARKER,
        "next_window": next_window_text(stop, customer, uow.clock.now()),
    }


async def message_customer_on_report(uow: UnitOfWork, event: ExceptionReported) -> None:
    """In-transaction handler: message the customer at once with the options that apply; other kinds need none."""
    if ExceptionKind(event.kind) not in MESSAGE_ON_REPORT and ExceptionKind(event.kind) is not ExceptionKind.DELAYED:
        return
    exc = await uow.session.get(DeliveryException, event.exception_id)
    running_late = exc.kind is ExceptionKind.DELAYED and exc.reason_code == RUNNING_LATE
    if exc.kind is ExceptionKind.DELAYED and not running_late:
        return
    stop = await uow.session.get(Stop, exc.stop_id)
    customer = await uow.session.get(Customer, stop.customer_id)
    await stop_sequence(uow, stop_id=stop.id, reason="an exception was reported at the door")
    if await attach_earlier_answer(uow, stop=stop, exc=exc) is not None:
        return  # the customer already chose before the driver arrived: no need to ask again
    values = await message_texts(uow, stop=stop, customer=customer)
    template = RUNNING_LATE if running_late else exc.kind.value
    await enqueue_for_customer(
        uow, customer=customer, text=render(f"exception.{template}", customer.language, **values),
        purpose=f"exception.{template}", stop_id=stop.id, exception_id=exc.id,
        idempotency_key=f"exception-{exc.id}-report",
    )
    # Without an answer by then, the worker sends a reminder and proposes the fallback the policy allows.
    await enqueue_for_customer(
        uow, customer=customer, text=render("pre_arrival.no_answer", customer.language, **values), purpose=NO_ANSWER_PURPOSE,
        stop_id=stop.id, exception_id=exc.id, send_after=uow.clock.now() + timedelta(minutes=uow.settings.outreach_no_answer_minutes),
        idempotency_key=f"exception-{exc.id}-no-answer",
    )


async def message_customer(runtime: Runtime, principal: Principal, *, exception_id: int, text: str) -> Notification:
    """A dispatcher writes to the customer of the exception now (by SMS, through the outbox)."""
    body = text.strip()
    if not body or len(body) > 1600:
        raise invalid("a message is 1 to 1600 characters", "text")
    async with unit_of_work(runtime) as uow:
        exc = await exceptions.get_for_change(session=uow.session, principal=principal, exception_id=exception_id)
        stop = await uow.session.get(Stop, exc.stop_id)
        customer = await uow.session.get(Customer, stop.customer_id)
        if customer is None or not customer.phone:
            raise DomainError(ErrorCode.CUSTOMER_UNREACHABLE, "the customer has no phone number", field="exceptionId")
        return await enqueue_sms(
            uow, tenant_id=exc.tenant_id, to_phone=customer.phone, text=body, purpose="dispatcher",
            customer_id=customer.id, exception_id=exc.id, stop_id=stop.id,
        )


async def text_supervisors(uow: UnitOfWork, event: OperationalAlert) -> None:
    """An SMS to each active supervisor of the tenant with a phone, in the alert's transaction."""
    query = select(User).where(User.tenant_id == event.tenant_id, User.role == Role.SUPERVISOR, User.active)
    for supervisor in (await uow.session.exec(query)).all():
        if supervisor.phone:
            await enqueue_sms(uow, tenant_id=event.tenant_id, to_phone=supervisor.phone, text=event.text, purpose=event.kind[:40])
