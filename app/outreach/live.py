"""Outreach from live ETAs: the arrival message when the driver is near, and a redirect when nobody is home."""
from datetime import datetime

from sqlmodel import col, select, update

from app.clock import current_time
from app.customers.models import Customer
from app.events import StopApproaching
from app.outreach.flows import enqueue_for_customer, message_texts
from app.outreach.models import CustomerResponse, Notification, NotificationStatus, ResponseOption
from app.outreach.templates import render
from app.realtime.models import RouteChangeKind
from app.realtime.route_events import record_route_change
from app.routes.models import Route, Stop, StopStatus
from app.runtime import UnitOfWork

ARRIVING_PURPOSE = "pre_arrival.arriving"
# Answers that mean "do not knock": the parcel goes elsewhere or another day.
NOT_HOME = (ResponseOption.RESCHEDULE, ResponseOption.NEIGHBOR_HANDOVER, ResponseOption.SECURE_DROPOFF, ResponseOption.PICKUP_POINT)


async def _not_home_answer(uow: UnitOfWork, stop: Stop) -> CustomerResponse | None:
    rows = await uow.session.exec(
        select(CustomerResponse).where(CustomerResponse.stop_id == stop.id, col(CustomerResponse.option).in_(list(NOT_HOME)))
        .order_by(col(CustomerResponse.id).desc())
    )
    return rows.first()


async def _replace_planned_steps(uow: UnitOfWork, stop: Stop) -> None:
    """Steps still waiting for the planned ETA are replaced by the live arrival message (the window reminder stays)."""
    await uow.session.exec(
        update(Notification)
        .where(Notification.stop_id == stop.id, Notification.status == NotificationStatus.PENDING)
        .where(col(Notification.purpose).startswith("pre_arrival."), Notification.purpose != "pre_arrival.no_answer")
        .where(Notification.send_after > uow.clock.now())
        .values(status=NotificationStatus.CANCELLED, failure_reason="replaced by the live-ETA arrival message", updated_at=current_time())
    )


async def message_customer_on_approach(uow: UnitOfWork, event: StopApproaching) -> None:
    """In-transaction handler: text the arrival from the live ETA once, or redirect the driver when nobody is home."""
    stop = await uow.session.get(Stop, event.stop_id)
    if stop is None or stop.status is not StopStatus.PENDING:
        return
    answer = await _not_home_answer(uow, stop)
    if answer is not None:
        route = await uow.session.get(Route, event.route_id)
        await record_route_change(
            uow, route=route, kind=RouteChangeKind.STOP_UPDATED, stop_ids=[stop.id],
            payload={"redirect": "CUSTOMER_NOT_HOME", "option": answer.option.value, "message": "The customer is not home: do not knock."},
        )
        return
    key = f"arriving-{stop.id}"
    if (await uow.session.exec(select(Notification.id).where(Notification.idempotency_key == key))).first() is not None:
        return
    customer = await uow.session.get(Customer, stop.customer_id)
    minutes = max(1, round((datetime.fromisoformat(event.eta) - uow.clock.now()).total_seconds() / 60))
    values = await message_texts(uow, stop=stop, customer=customer)
    await _replace_planned_steps(uow, stop)
    await enqueue_for_customer(
        uow, customer=customer, text=render(ARRIVING_PURPOSE, customer.language, minutes=minutes, **values),
        purpose=ARRIVING_PURPOSE, stop_id=stop.id, idempotency_key=key,
    )
