"""Pre-arrival sequences: steps relative to the ETA or the window close, written as scheduled outbox rows."""
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.customers.models import Customer
from app.clock import current_time
from app.delivery_exceptions.models import (
    DeliveryException,
    ExceptionStatus,
)
from app.errors import invalid
from app.outreach import service
from app.outreach.models import (
    NO_ANSWER_PURPOSE,
    CustomerResponse,
    Notification,
    NotificationChannel,
    OutreachSequence,
    OutreachSequenceRun,
)
from app.outreach.templates import has_template, render
from app.routes.models import Stop, StopStatus
from app.runtime import Runtime, UnitOfWork, unit_of_work

log = logging.getLogger(__name__)

ANCHORS = ("ETA", "WINDOW_END")
TENANT_SEQUENCE = "pre-arrival"
# T-30 SMS "arriving soon, reply 1 if you are not home", T-10 push, at the door a link, 15 min before the window closes
# without an answer: the fallback SMS. Tenants replace it with their own OutreachSequence row.
DEFAULT_STEPS: list[dict[str, Any]] = [
    {"name": "soon", "anchor": "ETA", "offsetMinutes": -30, "channel": "SMS", "template": "pre_arrival.soon"},
    {"name": "push", "anchor": "ETA", "offsetMinutes": -10, "channel": "PUSH", "template": "pre_arrival.push"},
    {"name": "door", "anchor": "ETA", "offsetMinutes": 0, "channel": "SMS", "template": "pre_arrival.door"},
    {"name": "no_answer", "anchor": "WINDOW_END", "offsetMinutes": -15, "channel": "SMS", "template": "pre_arrival.no_answer"},
]
# A step whose time passed less than this long ago still goes out; older ones are skipped, not sent late.
LATE_GRACE = timedelta(minutes=5)


def validate_steps(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The steps, checked: known anchor, channel and template, offsets within a day, unique names."""
    names = set()
    for step in steps:
        if step.get("anchor") not in ANCHORS:
            raise invalid(f"anchor must be one of {', '.join(ANCHORS)}", "steps")
        if step.get("channel") not in (NotificationChannel.SMS.value, NotificationChannel.PUSH.value):
            raise invalid("channel must be SMS or PUSH", "steps")
        if not has_template(str(step.get("template"))):
            raise invalid(f"unknown template {step.get('template')!r}", "steps")
        if not isinstance(step.get("offsetMinutes"), int) or abs(step["offsetMinutes"]) > 24 * 60:
            raise invalid("offsetMinutes must be a whole number of minutes within a day", "steps")
        if not step.get("name") or step["name"] in names:
            raise invalid("every step needs a unique name", "steps")
        names.add(step["name"])
    return steps


async def steps_for_tenant(*, session: AsyncSession, tenant_id: int) -> tuple[int | None, list[dict[str, Any]]]:
    """The tenant's steps (none when it switched sequences off), or the default ones when it never set any."""
    sequence = await tenant_sequence(session=session, tenant_id=tenant_id)
    if sequence is None:
        return None, DEFAULT_STEPS
    return sequence.id, sequence.steps if sequence.active else []


async def tenant_sequence(*, session: AsyncSession, tenant_id: int) -> OutreachSequence | None:
    rows = await session.exec(
        select(OutreachSequence).where(OutreachSequence.tenant_id == tenant_id, OutreachSequence.name == TENANT_SEQUENCE)
    )
    return rows.first()


def step_time(stop: Stop, step: dict[str, Any]) -> datetime | None:
    anchor = stop.planned_eta if step["anchor"] == "ETA" else stop.window_end
    return anchor + timedelta(minutes=step["offsetMinutes"]) if anchor else None


async def schedule_for_stop(uow: UnitOfWork, *, stop: Stop, now: datetime) -> list[Notification]:
    """Write the stop's steps as scheduled rows (once per stop: the run's unique stop id guards it)."""
    from app.outreach.flows import enqueue_for_customer, message_texts

    session = uow.session
    customer = await session.get(Customer, stop.customer_id)
    sequence_id, steps = await steps_for_tenant(session=session, tenant_id=stop.tenant_id)
    run = OutreachSequenceRun(tenant_id=stop.tenant_id, stop_id=stop.id, sequence_id=sequence_id, started_at=now)
    session.add(run)
    await session.flush()
    values = await message_texts(uow, stop=stop, customer=customer)
    rows = []
    for step in steps:
        at = step_time(stop, step)
        if at is None or at < now - LATE_GRACE:
            continue
        minutes = max(0, round((stop.planned_eta - at).total_seconds() / 60)) if stop.planned_eta else 0
        text = render(step["template"], customer.language, minutes=minutes, **values)
        rows.append(await enqueue_for_customer(
            uow, customer=customer, text=text, purpose=f"pre_arrival.{step['name']}"[:40], stop_id=stop.id,
            send_after=max(at, now), sequence_run_id=run.id, channel=NotificationChannel(step["channel"]),
            idempotency_key=f"sequence-{run.id}-{step['name']}"[:64],
        ))
    return rows


async def plan_due_sequences(runtime: Runtime, *, now: datetime | None = None) -> int:
    """Start the sequence of every pending stop whose ETA is within the horizon and has none yet; returns how many."""
    now = now or runtime.clock.now()
    horizon = now + timedelta(minutes=runtime.settings.outreach_horizon_minutes)
    async with runtime.sessionmaker() as session:
        stop_ids = (await session.exec(
            select(Stop.id)
            .outerjoin(OutreachSequenceRun, OutreachSequenceRun.stop_id == Stop.id)
            .where(
                Stop.status == StopStatus.PENDING, col(Stop.planned_eta).is_not(None),
                col(Stop.planned_eta) > now - LATE_GRACE, col(Stop.planned_eta) <= horizon,
                col(OutreachSequenceRun.id).is_(None),
            )
            .limit(200)
        )).all()
    started = 0
    for stop_id in stop_ids:
        try:
            async with unit_of_work(runtime) as uow:
                stop = await uow.session.get(Stop, stop_id)
                await schedule_for_stop(uow, stop=stop, now=now)
                started += 1
        except IntegrityError:  # another worker started this stop's sequence first
            log.debug("sequence already started", extra={"stopId": stop_id})
    return started


async def stop_sequence(uow: UnitOfWork, *, stop_id: int, reason: str) -> bool:
    """Stop the stop's pre-arrival sequence: no further step goes out. False when none was running."""
    run = (await uow.session.exec(select(OutreachSequenceRun).where(OutreachSequenceRun.stop_id == stop_id))).first()
    if run is None or run.stopped_at is not None:
        return False
    run.stopped_at, run.stop_reason = current_time(), reason[:100]
    uow.session.add(run)
    await service.cancel_pending_for_run(session=uow.session, run_id=run.id, reason=reason)
    return True


async def reason_to_skip_step(*, session: AsyncSession, row: Notification) -> str | None:
    """At fire time: why a scheduled step is no longer wanted (customer answered, stop done), or None."""
    if row.purpose == NO_ANSWER_PURPOSE and row.exception_id is not None:
        return await _reason_to_skip_reminder(session=session, exception_id=row.exception_id)
    if row.sequence_run_id is None:
        return None
    run = await session.get(OutreachSequenceRun, row.sequence_run_id)
    if run is not None and run.stopped_at is not None:
        return run.stop_reason or "the sequence was stopped"
    stop = await session.get(Stop, row.stop_id) if row.stop_id else None
    if stop is not None and stop.status is not StopStatus.PENDING:
        return f"the stop is already {stop.status.value}"
    return None


async def save_steps(runtime: Runtime, *, tenant_id: int, steps: list[dict[str, Any]], active: bool) -> OutreachSequence:
    """Replace the tenant's pre-arrival steps; sequences already scheduled keep the steps they started with."""
    validate_steps(steps)
    async with unit_of_work(runtime) as uow:
        sequence = await tenant_sequence(session=uow.session, tenant_id=tenant_id)
        sequence = sequence or OutreachSequence(tenant_id=tenant_id, name=TENANT_SEQUENCE)
        sequence.steps, sequence.active = steps, active
        uow.session.add(sequence)
        await uow.session.flush()
        return sequence


async def _reason_to_skip_reminder(*, session: AsyncSession, exception_id: int) -> str | None:
    exc = await session.get(DeliveryException, exception_id)
    if exc.status not in (ExceptionStatus.OPEN, ExceptionStatus.CONTACTING_CUSTOMER):
        return f"the exception is already {exc.status.value}"
    answered = await session.exec(select(CustomerResponse.id).where(CustomerResponse.exception_id == exception_id).limit(1))
    return "the customer answered" if answered.first() is not None else None
