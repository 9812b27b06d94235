"""Inbound MessageSids are kept only as long as a provider may retry the webhook: older ones are deleted in batches."""
import logging
from datetime import timedelta

from sqlalchemy import delete
from sqlmodel import col, select

from app.outreach.models import InboundMessage
from app.runtime import Runtime

log = logging.getLogger(__name__)

PRUNE_BATCH = 500  # rows per transaction: short locks, small WAL bursts, whatever the backlog


async def prune_inbound_messages(runtime: Runtime, *, batch_size: int = PRUNE_BATCH) -> int:
    """Delete inbound-message records older than the retention setting, one small transaction per batch."""
    cutoff = runtime.clock.now() - timedelta(days=runtime.settings.inbound_message_retention_days)
    removed = 0
    while True:
        async with runtime.sessionmaker() as session, session.begin():
            oldest = select(InboundMessage.message_sid).where(col(InboundMessage.received_at) < cutoff).order_by(col(InboundMessage.received_at)).limit(batch_size)
            sids = list((await session.exec(oldest)).all())
            if sids:
                await session.exec(delete(InboundMessage).where(col(InboundMessage.message_sid).in_(sids)))  # type: ignore[call-overload]
        removed += len(sids)
        if len(sids) < batch_size:
            break
    if removed:
        log.info("inbound messages past retention deleted", extra={"count": removed})
    return removed
