"""Dispatchers' call notes: a phone call with a customer, written down so the history (and the CRM) knows it."""
from app.auth.principal import Principal
from app.customers.models import Customer
from app.delivery_exceptions import service as exceptions
from app.delivery_exceptions.models import EventType, ResolutionStep
from app.delivery_exceptions.notices import event_notices
from app.errors import invalid, not_found
from app.outreach.models import CallOutcome, CustomerCall
from app.routes.models import Stop
from app.runtime import Runtime, unit_of_work


async def record_customer_call(
    runtime: Runtime, principal: Principal, *, customer_id: int, outcome: CallOutcome, note: str, exception_id: int | None = None,
) -> CustomerCall:
    """Write the call note; with an exception (of this customer's stop) the call is also a step on its timeline."""
    text = note.strip()
    if len(text) > 2000:
        raise invalid("a call note is at most 2000 characters", "note")
    async with unit_of_work(runtime) as uow:
        customer = await uow.session.get(Customer, customer_id)
        if customer is None or customer.tenant_id != principal.tenant_id:
            raise not_found("customer", "customerId")
        exc = None
        if exception_id is not None:
            exc = await exceptions.get_for_change(session=uow.session, principal=principal, exception_id=exception_id)
            stop = await uow.session.get(Stop, exc.stop_id)
            if stop.customer_id != customer.id:
                raise invalid("the exception is not about this customer", "exceptionId")
        call = CustomerCall(
            tenant_id=customer.tenant_id, customer_id=customer.id, exception_id=exception_id, author_id=principal.user_id,
            outcome=outcome, note=text, called_at=uow.clock.now(),
        )
        uow.session.add(call)
        await uow.session.flush()
        if exc is not None:
            event = exceptions.append_event(
                session=uow.session, exc=exc, type=EventType.NOTE_ADDED, step=ResolutionStep.CUSTOMER_CONTACTED, actor=principal,
                payload={"note": text, "callId": call.id, "callOutcome": outcome.value},
            )
            await uow.session.flush()
            uow.notify(*event_notices(event))
    return call
