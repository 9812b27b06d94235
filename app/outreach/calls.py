"""What dispatchers learn on the phone: call notes (for the history and the CRM) and the customer's word on SMS consent."""
from app.auth.principal import Principal
from app.customers.models import Customer
from app.delivery_exceptions import service as exceptions
from app.delivery_exceptions.models import EventType, ResolutionStep
from app.delivery_exceptions.notices import event_notices
from app.errors import invalid, not_found
from app.outreach import service
from app.outreach.models import CallOutcome, ConsentRecord, ConsentSource, ConsentStatus, CustomerCall
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


async def set_sms_consent(runtime: Runtime, principal: Principal, *, customer_id: int, granted: bool) -> ConsentRecord:
    """A dispatcher records what the customer said on the phone ("no more texts", "texts are fine again").

    Returns the record in force afterwards (the existing one when it already said so).
    """
    async with unit_of_work(runtime) as uow:
        customer = await uow.session.get(Customer, customer_id)
        if customer is None or customer.tenant_id != principal.tenant_id:
            raise not_found("customer", "customerId")
        if not customer.phone:
            raise invalid("the customer has no phone number", "customerId")
        written = await service.record_consent(
            session=uow.session, tenant_id=customer.tenant_id, phone=customer.phone, source=ConsentSource.DISPATCHER,
            status=ConsentStatus.GRANTED if granted else ConsentStatus.REVOKED,
        )
        return written or await service.latest_consent(session=uow.session, tenant_id=customer.tenant_id, phone=customer.phone)
