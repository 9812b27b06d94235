"""Alternatives and the exception they belong to: reads, locks, timeline entries and the tenant's policy."""
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.alternatives.models import Alternative, AlternativeStatus, ProposerKind, TenantPolicy
from app.alternatives.policy import ParcelFacts, PolicyRules
from app.auth.principal import Principal
from app.clock import current_time
from app.delivery_exceptions import service as exceptions
from app.delivery_exceptions.lifecycle import STEP_FOR_STATUS, ensure_transition
from app.delivery_exceptions.models import (
    TERMINAL_STATUSES,
    DeliveryException,
    EventType,
    ExceptionEvent,
    ExceptionStatus,
    ResolutionStep,
)
from app.errors import DomainError, ErrorCode, ensure_version, not_found
from app.routes.models import Parcel
from app.tenants.models import Role

LIVE_STATUSES = (AlternativeStatus.PROPOSED, AlternativeStatus.APPROVED)
PROPOSER_FOR_ROLE = {
    Role.DRIVER: ProposerKind.DRIVER,
    Role.DISPATCHER: ProposerKind.DISPATCHER,
    Role.SUPERVISOR: ProposerKind.SUPERVISOR,
}


def proposer_for(principal: Principal) -> ProposerKind:
    """The proposer kind a signed-in person acts as (integrators act for no one here)."""
    kind = PROPOSER_FOR_ROLE.get(principal.role)
    if kind is None:
        raise DomainError(ErrorCode.FORBIDDEN, "only drivers, dispatchers and supervisors propose alternatives")
    return kind


async def get(*, session: AsyncSession, tenant_id: int, alternative_id: int) -> Alternative | None:
    """The tenant's alternative, or None."""
    row = await session.get(Alternative, alternative_id, populate_existing=True)
    return row if row is not None and row.tenant_id == tenant_id else None


async def list_for_exception(*, session: AsyncSession, tenant_id: int, exception_id: int) -> list[Alternative]:
    rows = await session.exec(
        select(Alternative)
        .where(Alternative.tenant_id == tenant_id, Alternative.exception_id == exception_id)
        .order_by(col(Alternative.id))
    )
    return list(rows.all())


async def lock_exception(*, session: AsyncSession, tenant_id: int, exception_id: int) -> DeliveryException:
    """The exception re-read under a write lock, so two people deciding on it take turns."""
    exc = await exceptions.lock(session=session, exception_id=exception_id, tenant_id=tenant_id)
    if exc is None:
        raise not_found("exception", "exceptionId")
    return exc


def ensure_open(exc: DeliveryException) -> None:
    if exc.status in TERMINAL_STATUSES:
        raise DomainError(
            ErrorCode.ALTERNATIVE_ALREADY_DECIDED, f"the exception is already {exc.status.value}", field="exceptionId"
        )


def ensure_alternative_version(alternative: Alternative, expected_version: int | None) -> None:
    if expected_version is not None:
        ensure_version(current=alternative.version, expected=expected_version, what="the alternative")


async def live_alternatives(*, session: AsyncSession, tenant_id: int, exception_id: int) -> list[Alternative]:
    """Proposed or approved alternatives of the exception, and executed ones it still waits on."""
    rows = await session.exec(
        select(Alternative)
        .where(Alternative.tenant_id == tenant_id, Alternative.exception_id == exception_id)
        .where(col(Alternative.status).in_([*LIVE_STATUSES, AlternativeStatus.EXECUTED]))
        .execution_options(populate_existing=True)
    )
    return list(rows.all())


async def parcel_facts(*, session: AsyncSession, tenant_id: int, stop_id: int) -> list[Parcel]:
    rows = await session.exec(select(Parcel).where(Parcel.tenant_id == tenant_id, Parcel.stop_id == stop_id))
    return list(rows.all())


def facts(parcels: list[Parcel]) -> list[ParcelFacts]:
    return [ParcelFacts(p.declared_value_cents, p.signature_required) for p in parcels]


def record(
    *, session: AsyncSession, exc: DeliveryException, type: EventType, step: ResolutionStep,
    actor: Principal | None, proposer: ProposerKind, payload: dict[str, Any],
) -> ExceptionEvent:
    """A timeline event about an alternative; the exception's version grows so stale decisions conflict."""
    event = exceptions.append_event(session=session, exc=exc, type=type, step=step, actor=actor, payload=payload)
    if actor is None:
        event.actor_role = proposer.value.lower()
    exc.version += 1
    exc.updated_at = current_time()
    session.add(exc)
    return event


def move_status(
    *, session: AsyncSession, exc: DeliveryException, status: ExceptionStatus, actor: Principal | None,
    proposer: ProposerKind, note: str,
) -> ExceptionEvent | None:
    """Move the exception along its lifecycle when it is not there yet (checked by the one lifecycle table)."""
    if exc.status is status:
        return None
    ensure_transition(exc.status, status)
    previous = exc.status
    exc.status = status
    return record(
        session=session, exc=exc, type=EventType.STATUS_CHANGED, step=STEP_FOR_STATUS[status], actor=actor,
        proposer=proposer, payload={"from": previous.value, "to": status.value, "note": note},
    )


async def load_policy(*, session: AsyncSession, tenant_id: int) -> tuple[PolicyRules, TenantPolicy | None]:
    """The tenant's rules (the defaults when it never set any) and the stored row."""
    row = (await session.exec(select(TenantPolicy).where(TenantPolicy.tenant_id == tenant_id))).first()
    return (PolicyRules.from_data(row.rules) if row else PolicyRules()), row


async def save_policy(
    *, session: AsyncSession, tenant_id: int, rules: dict[str, Any], expected_version: int, actor_id: int
) -> TenantPolicy:
    """Replace the tenant's rules; version 0 stands for "never set"."""
    parsed = PolicyRules.from_data(rules)
    _, row = await load_policy(session=session, tenant_id=tenant_id)
    ensure_version(current=row.version if row else 0, expected=expected_version, what="the policy")
    if row is None:
        row = TenantPolicy(tenant_id=tenant_id, rules=parsed.to_data(), updated_by_id=actor_id)
    else:
        row.rules, row.updated_by_id, row.updated_at = parsed.to_data(), actor_id, current_time()
        row.version += 1
    session.add(row)
    await session.flush()
    return row
