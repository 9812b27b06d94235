"""Event ids in commit order: on PostgreSQL, transactions that append events are serialized per tenant.

A sequence hands out ids at insert time, not at commit time: a transaction holding id 10 may commit
after one holding id 11. A subscriber that already moved its cursor past 11 would never see 10.
Taking a per-tenant transaction-scoped advisory lock before the first event insert makes the event
writers of one tenant commit one after the other, so ids become visible in increasing order.
SQLite needs nothing: it has one writer at a time and allocates ids under that lock.

Why a session hook and not a handler in app/handlers.py: this is an invariant of the event tables, not a
reaction to a domain event. Every insert into them — from any flow, handler, seed or import — must take the
lock before its id is allocated, so it sits where the insert happens (before_flush), for every session.
"""
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.orm import Session
from sqlmodel.ext.asyncio.session import AsyncSession

EVENT_TABLES = frozenset({"exception_event", "route_event"})
# The first key of the two-key advisory lock: "detour events"; the second is the tenant id.
EVENT_LOCK_NAMESPACE = 0x0DE7
_LOCKED_KEY = "detour.event_lock_tenants"


def _tenants_with_new_events(session: Session) -> set[int]:
    return {obj.tenant_id for obj in session.new if getattr(obj, "__tablename__", None) in EVENT_TABLES}


async def serialize_event_writers(session: AsyncSession, tenant_id: int) -> None:
    """Take the tenant's event lock now: a flow that will lock rows and then append events avoids a lock-order deadlock."""
    await session.run_sync(_lock, {tenant_id})


def _lock(session: Session, tenants: set[int]) -> None:
    if session.get_bind().dialect.name != "postgresql":
        return
    held: set[int] = session.info.setdefault(_LOCKED_KEY, set())
    for tenant_id in sorted(tenants - held):  # sorted: two writers never wait on each other in a cycle
        session.execute(text("SELECT pg_advisory_xact_lock(:namespace, :tenant)"), {"namespace": EVENT_LOCK_NAMESPACE, "tenant": tenant_id})
        held.add(tenant_id)


@event.listens_for(Session, "before_flush")
def _serialize_event_writers(session: Session, _flush_context: Any, _instances: Any) -> None:
    tenants = _tenants_with_new_events(session)
    if tenants:
        _lock(session, tenants)


@event.listens_for(Session, "after_transaction_end")
def _forget_locks(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the outermost transaction ended: its xact locks are gone
        session.info.pop(_LOCKED_KEY, None)
