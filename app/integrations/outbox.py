"""Writing to the integration outbox, once per fact."""
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

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
    return event
