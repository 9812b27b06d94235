"""Inbound SMS: STOP/START, digits and keywords that choose an option, anything else for the dispatcher."""
import logging
from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from app.customers.models import Customer
from app.clock import current_time
from app.outreach import service
from app.outreach.answers import Answer, record_answer
from app.outreach.models import InboundMessage, ResponseOption, ResponseSource
from app.outreach.templates import render
from app.routes.models import Stop
from app.runtime import Runtime, unit_of_work
from app.tenants.models import Tenant

log = logging.getLogger(__name__)

STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "STOPPEN"})
START_WORDS = frozenset({"START", "UNSTOP", "YES"})
RESCHEDULE_WORDS = frozenset({"1", "RESCHEDULE", "LATER", "NOT HOME", "NIET THUIS"})


def reschedule_details(stop: Stop) -> dict[str, str]:
    """The next window of the same time of day: what "reply 1" promised in the message."""
    start, end = service.next_windows(window_start=stop.window_start, window_end=stop.window_end, now=current_time(), count=1)[0]
    return {"windowStart": start.isoformat(), "windowEnd": end.isoformat()}


class Replayed(Exception):
    """This MessageSid was acted on already."""


async def claim_message(*, session: AsyncSession, message_sid: str) -> None:
    """Record the message as acted on, in the caller's transaction; Replayed when an earlier delivery holds it.

    On PostgreSQL a concurrent delivery of the same message waits on the key until the first commits, then fails.
    """
    session.add(InboundMessage(message_sid=message_sid))
    try:
        await session.flush()
    except IntegrityError:
        raise Replayed from None


async def handle_inbound_sms(runtime: Runtime, *, from_phone: str, body: str, message_sid: str | None = None) -> str | None:
    """Act on a customer's reply once per MessageSid; returns the text to answer with, or None for no answer."""
    try:
        return await _act_on_reply(runtime, from_phone=from_phone, body=body, message_sid=message_sid)
    except Replayed:  # the first delivery's answer stands; the whole transaction of this one was rolled back
        log.info("inbound SMS delivered again; already acted on")
        return None


async def _act_on_reply(runtime: Runtime, *, from_phone: str, body: str, message_sid: str | None) -> str | None:
    keyword = " ".join(body.strip().upper().split()).rstrip(".!")
    async with unit_of_work(runtime) as uow:
        session = uow.session
        if message_sid:
            await claim_message(session=session, message_sid=message_sid[:64])
        if keyword in STOP_WORDS or keyword in START_WORDS:
            # Twilio's carrier-level opt-out answers STOP/START itself; we only remember it for every tenant that wrote.
            for tenant_id in await service.tenants_that_messaged(session=session, phone=from_phone):
                if keyword in STOP_WORDS:
                    await service.opt_out(session=session, tenant_id=tenant_id, phone=from_phone, keyword=keyword)
                else:
                    await service.opt_in(session=session, tenant_id=tenant_id, phone=from_phone, keyword=keyword)
            return None
        last = await service.latest_sent_to(session=session, phone=from_phone)
        if last is None or last.stop_id is None:
            log.info("inbound SMS from a number we did not write to; ignored")
            return None
        stop = await session.get(Stop, last.stop_id)
        customer = await session.get(Customer, stop.customer_id)
        window = timedelta(hours=runtime.settings.inbound_reply_window_hours)
        if await service.tenants_texted_since(session=session, phone=from_phone, since=uow.clock.now() - window) - {last.tenant_id}:
            # Several fleets texted this number lately: the reply could answer any of them, and giving it to the wrong
            # one would show a customer's words to another company. Their link is unambiguous.
            log.info("inbound SMS from a number several tenants texted lately; not attributed")
            return render("reply.ambiguous", customer.language)
        tenant = await session.get(Tenant, stop.tenant_id)
        if keyword in RESCHEDULE_WORDS:
            answer = Answer(ResponseOption.RESCHEDULE, reschedule_details(stop), ResponseSource.SMS_REPLY, body, last.id)
        else:
            answer = Answer(ResponseOption.FREE_TEXT, {}, ResponseSource.SMS_REPLY, body, last.id)
        await record_answer(uow, stop=stop, answer=answer)
    if answer.option is ResponseOption.FREE_TEXT:
        return render("reply.unknown", customer.language, company=tenant.name)
    return render("reply.confirmed", customer.language, company=tenant.name, option=reschedule_label(stop, customer))


def reschedule_label(stop: Stop, customer: Customer) -> str:
    from app.outreach.flows import next_window_text

    return next_window_text(stop, customer, current_time())
