"""Writing to the integration outbox, once per fact."""
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.integrations import webhooks
from app.integrations.catalogue import wms_message
from app.integrations.models import IntegrationEvent


async def record_once(
    *, session: AsyncSession, tenant_id: int, kind: str, payload: dict[str, Any], idempotency_key: str
) -> IntegrationEvent:
    """The event for this key: the existing one, or a new row (the unique key stops a concurrent duplicate)."""
    existing = (
        await session.exec(
            select(IntegrationEvent).where(
                IntegrationEvent.tenant_id == tenant_id, IntegrationEvent.idempotency_key == idempotency_key
            )
        )
    ).first()
    if existing is not None:
        return existing
    event = IntegrationEvent(tenant_id=tenant_id, kind=kind, payload=payload, idempotency_key=idempotency_key)
    session.add(event)
    await session.flush()
    message = wms_message(kind, payload)
    if message is not None:  # the warehouse's copy leaves through the webhook outbox, in this same transaction
        event_type, data = message
        await webhooks.enqueue(
            session=session, tenant_id=tenant_id, event_type=event_type, data=data, source_key=f"integration-event:{event.id}",
            occurred_at=event.created_at, stop_id=payload.get("stopId"), integration_event_id=event.id,
        )
    return event


async def changes_since(*, session: AsyncSession, tenant_id: int, after_id: int | None, first: int) -> list[IntegrationEvent]:
    """The tenant's WMS events after a cursor, oldest first (the warehouse's pull feed)."""
    query = select(IntegrationEvent).where(IntegrationEvent.tenant_id == tenant_id)
    if after_id is not None:
        query = query.where(IntegrationEvent.id > after_id)
    return list((await session.exec(query.order_by(IntegrationEvent.id).limit(first))).all())
