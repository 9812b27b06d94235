"""What the customer answered, by SMS reply, on the link page or in the app, and what it sets in motion."""
import logging
from dataclasses import dataclass, replace
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.access.crypto import vault_for
from app.access.flows import save_customer_access
from app.delivery_exceptions import service as exceptions
from app.delivery_exceptions.lifecycle import ALLOWED_TRANSITIONS
from app.delivery_exceptions.models import (
    TERMINAL_STATUSES,
    DeliveryException,
    EventType,
    ExceptionEvent,
    ExceptionStatus,
    ResolutionStep,
)
from app.delivery_exceptions.notices import event_notices
from app.errors import DomainError
from app.events import CustomerAnswered, CustomerDidNotAnswer
from app.outreach.models import CUSTOMER_ROLE, CustomerResponse, ResponseOption, ResponseSource
from app.outreach.sequences import stop_sequence
from app.routes.models import Stop
from app.runtime import Runtime, UnitOfWork, unit_of_work

log = logging.getLogger(__name__)


# Choices that are alternatives (the alternatives flow takes them); access instructions and free text are not.
ALTERNATIVE_OPTIONS = frozenset({
    ResponseOption.RESCHEDULE, ResponseOption.NEIGHBOR_HANDOVER, ResponseOption.SECURE_DROPOFF, ResponseOption.PICKUP_POINT,
})


@dataclass(frozen=True)
class Answer:
    option: ResponseOption
    details: dict[str, Any]
    source: ResponseSource
    text: str | None = None
    notification_id: int | None = None


async def lock_exception(session: AsyncSession, exception_id: int) -> DeliveryException | None:
    """The exception under a write lock (see app.delivery_exceptions.service.lock)."""
    return await exceptions.lock(session=session, exception_id=exception_id)


async def open_exception_of(session: AsyncSession, stop_id: int) -> DeliveryException | None:
    found = await exceptions.open_exception_on_stop(session=session, stop_id=stop_id)
    return await lock_exception(session, found.id) if found else None


def _event_for(uow: UnitOfWork, exc: DeliveryException, response: CustomerResponse) -> ExceptionEvent:
    """The customer's own timeline entry (actorRole "customer", the channel as its source)."""
    event = _customer_event(uow, exc, response)
    event.actor_role = CUSTOMER_ROLE
    return event


def _customer_event(uow: UnitOfWork, exc: DeliveryException, response: CustomerResponse) -> ExceptionEvent:
    """The timeline entry: a choice moves the exception to AWAITING_DECISION, free text is a note."""
    payload = {"customerResponseId": response.id, "option": response.option.value, "details": response.details,
               "source": response.source.value}
    if response.option is ResponseOption.FREE_TEXT:
        return exceptions.append_event(
            session=uow.session, exc=exc, type=EventType.NOTE_ADDED, step=ResolutionStep.CUSTOMER_CONTACTED, actor=None,
            payload={**payload, "note": response.text},
        )
    target = ExceptionStatus.AWAITING_DECISION
    if exc.status is target or target not in ALLOWED_TRANSITIONS[exc.status]:
        return exceptions.append_event(
            session=uow.session, exc=exc, type=EventType.NOTE_ADDED, step=ResolutionStep.CUSTOMER_CONTACTED, actor=None,
            payload={**payload, "note": f"the customer chose {response.option.value}"},
        )
    previous = exc.status
    exc.status = target
    exc.version += 1
    exc.updated_at = uow.clock.now()
    uow.session.add(exc)
    return exceptions.append_event(
        session=uow.session, exc=exc, type=EventType.STATUS_CHANGED, step=ResolutionStep.CUSTOMER_CONTACTED, actor=None,
        payload={**payload, "from": previous.value, "to": target.value, "note": f"the customer chose {response.option.value}"},
    )


async def _propose(uow: UnitOfWork, stop: Stop, response: CustomerResponse, *, refusals_raise: bool) -> int | None:
    """Tell the alternatives domain what the customer chose (policy, approval, timeline); its id, or None when refused."""
    answered = CustomerAnswered(
        tenant_id=stop.tenant_id, stop_id=stop.id, response_id=response.id, option=response.option.value,
        details=dict(response.details or {}), refusals_raise=refusals_raise,
    )
    try:
        async with uow.savepoint():
            await uow.emit(answered)
    except DomainError as refusal:
        if refusals_raise:  # the page and the app show the reason; an SMS reply is kept as a note instead
            raise
        log.info("customer's SMS choice refused", extra={"stopId": stop.id, "code": refusal.code.value})
        return None
    return answered.reply.alternative_id


async def record_answer(uow: UnitOfWork, *, stop: Stop, answer: Answer) -> CustomerResponse:
    """Store the answer, stop the pre-arrival sequence, and put it on the open exception's timeline."""
    session = uow.session
    if answer.option is ResponseOption.ACCESS_INSTRUCTIONS:
        # Instructions may hold a gate or door code: they go into the vault, never onto the timeline in clear.
        await save_customer_access(uow, vault=vault_for(uow.settings), stop=stop, instructions=str(answer.details.get("instructions", "")))
        answer = replace(answer, details={"storedIn": "access vault"}, text=None)
    exc = await open_exception_of(session, stop.id)
    response = CustomerResponse(
        tenant_id=stop.tenant_id, customer_id=stop.customer_id, stop_id=stop.id, exception_id=exc.id if exc else None,
        notification_id=answer.notification_id, source=answer.source, option=answer.option, details=answer.details,
        text=answer.text[:1600] if answer.text else None,
    )
    session.add(response)
    await session.flush()
    await stop_sequence(uow, stop_id=stop.id, reason="the customer answered")
    if exc is not None and exc.status not in TERMINAL_STATUSES:
        await _put_on_exception(uow, stop, exc, response, refusals_raise=answer.source is not ResponseSource.SMS_REPLY)
    return response


async def _put_on_exception(
    uow: UnitOfWork, stop: Stop, exc: DeliveryException, response: CustomerResponse, *, refusals_raise: bool
) -> None:
    """A choice becomes the customer's alternative; anything else (or a refused choice) a timeline entry."""
    if response.option in ALTERNATIVE_OPTIONS:
        response.alternative_id = await _propose(uow, stop, response, refusals_raise=refusals_raise)
        uow.session.add(response)
    if response.alternative_id is None:
        event = _event_for(uow, exc, response)
        await uow.session.flush()
        uow.notify(*event_notices(event))


async def attach_earlier_answer(uow: UnitOfWork, *, stop: Stop, exc: DeliveryException) -> CustomerResponse | None:
    """What the customer said before the driver arrived joins the new exception; returns their latest choice, if any."""
    rows = await uow.session.exec(
        select(CustomerResponse)
        .where(CustomerResponse.stop_id == stop.id, col(CustomerResponse.exception_id).is_(None))
        .order_by(col(CustomerResponse.id))
    )
    earlier = list(rows.all())
    choices = [r for r in earlier if r.option in ALTERNATIVE_OPTIONS]
    for response in earlier:
        response.exception_id = exc.id
        uow.session.add(response)
        if response.option not in ALTERNATIVE_OPTIONS:  # their words and instructions go on the timeline
            await _put_on_exception(uow, stop, exc, response, refusals_raise=False)
    if not choices:
        return None
    await _put_on_exception(uow, stop, exc, choices[-1], refusals_raise=False)  # the latest choice stands
    return choices[-1]


async def propose_policy_fallback(runtime: Runtime, *, stop_id: int) -> int | None:
    """No answer in time: the alternatives domain may propose what the customer chose in advance (a safe place)."""
    async with unit_of_work(runtime) as uow:
        stop = await uow.session.get(Stop, stop_id)
        silent = CustomerDidNotAnswer(tenant_id=stop.tenant_id, stop_id=stop.id)
        try:
            async with uow.savepoint():
                await uow.emit(silent)
        except DomainError as refusal:  # e.g. an alternative was approved meanwhile: nothing to fall back to
            log.info("no-answer fallback not proposed", extra={"stopId": stop_id, "code": refusal.code.value})
            return None
        return silent.reply.alternative_id
