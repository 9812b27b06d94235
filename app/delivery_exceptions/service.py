"""Queries and state changes of delivery exceptions; every change appends a timeline event."""
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth.principal import Principal, may_see_depot
from app.clock import current_time
from app.delivery_exceptions.lifecycle import STEP_FOR_STATUS, ensure_transition, status_after
from app.delivery_exceptions.models import (
    REASON_CODES,
    TERMINAL_STATUSES,
    DeliveryException,
    EventType,
    ExceptionEvent,
    ExceptionKind,
    ExceptionStatus,
    ResolutionOutcome,
    ResolutionStep,
)
from app.errors import DomainError, ErrorCode, ensure_version, invalid, not_found
from app.realtime.ordering import serialize_event_writers
from app.routes.models import Route, Stop
from app.routes.permissions import may_see_route
from app.tenants.models import Role


@dataclass(frozen=True)
class ExceptionFilter:
    depot_id: int | None = None
    statuses: tuple[ExceptionStatus, ...] = ()
    kinds: tuple[ExceptionKind, ...] = ()
    reported_from: datetime | None = None
    reported_to: datetime | None = None


def validate_reason(kind: ExceptionKind, reason_code: str) -> str:
    """The reason code, checked against the kind's list."""
    code = reason_code.strip().upper()
    if not code:
        raise invalid("a reason code is required", "reasonCode")
    if code not in REASON_CODES[kind]:
        allowed = ", ".join(REASON_CODES[kind])
        raise invalid(f"{code} is not a reason for {kind.value}; use one of: {allowed}", "reasonCode")
    return code


def may_see_exception(principal: Principal, exc: DeliveryException, route: Route | None = None) -> bool:
    if exc.tenant_id != principal.tenant_id:
        return False
    if principal.role is Role.DRIVER:
        return route is not None and may_see_route(principal, route)
    return may_see_depot(principal, exc.depot_id)


async def get_visible(*, session: AsyncSession, principal: Principal, exception_id: int) -> DeliveryException | None:
    """The exception when the caller may see it, else None."""
    row = (
        await session.exec(
            select(DeliveryException, Route)
            .join(Route, Route.id == DeliveryException.route_id)
            .where(DeliveryException.id == exception_id)
        )
    ).first()
    if row is None or not may_see_exception(principal, row[0], row[1]):
        return None
    return row[0]


async def lock(*, session: AsyncSession, exception_id: int, tenant_id: int | None = None) -> DeliveryException | None:
    """The exception re-read under a write lock, so changes to it take turns and version checks hold.

    The tenant's event lock is taken first, as every writer does (app/realtime/ordering.py): one lock order, no deadlock.
    """
    if tenant_id is None:
        tenant_id = (await session.exec(select(DeliveryException.tenant_id).where(DeliveryException.id == exception_id))).first()
        if tenant_id is None:
            return None
    await serialize_event_writers(session, tenant_id)
    query = select(DeliveryException).where(DeliveryException.id == exception_id, DeliveryException.tenant_id == tenant_id)
    if (await session.connection()).dialect.name == "sqlite":
        # SQLite has no row locks: a no-op write takes the database's write lock before the re-read.
        await session.exec(
            update(DeliveryException).where(col(DeliveryException.id) == exception_id).values(version=DeliveryException.version)
        )
    else:
        query = query.with_for_update()
    return (await session.exec(query.execution_options(populate_existing=True))).first()


async def get_for_change(*, session: AsyncSession, principal: Principal, exception_id: int) -> DeliveryException:
    """An exception the caller may see, locked for the change."""
    exc = await get_visible(session=session, principal=principal, exception_id=exception_id)
    locked = exc and await lock(session=session, exception_id=exc.id, tenant_id=exc.tenant_id)
    if not locked:
        raise not_found("exception")
    return locked


async def find_by_idempotency_key(*, session: AsyncSession, reporter_id: int, key: str) -> DeliveryException | None:
    rows = await session.exec(
        select(DeliveryException).where(
            DeliveryException.reported_by_id == reporter_id, DeliveryException.idempotency_key == key
        )
    )
    return rows.first()


async def open_exception_on_stop(*, session: AsyncSession, stop_id: int) -> DeliveryException | None:
    rows = await session.exec(
        select(DeliveryException).where(
            DeliveryException.stop_id == stop_id, col(DeliveryException.status).not_in(list(TERMINAL_STATUSES))
        )
    )
    return rows.first()


async def list_page(
    *, session: AsyncSession, principal: Principal, filter: ExceptionFilter, first: int, before_id: int | None
) -> list[DeliveryException]:
    """Up to `first` + 1 exceptions, newest first, strictly older than `before_id` when given."""
    query = select(DeliveryException).where(DeliveryException.tenant_id == principal.tenant_id)
    if principal.is_staff and principal.depot_ids is not None:
        query = query.where(col(DeliveryException.depot_id).in_(sorted(principal.depot_ids)))
    if principal.role is Role.DRIVER:
        query = query.join(Route, Route.id == DeliveryException.route_id).where(Route.driver_id == principal.user_id)
    if filter.depot_id is not None:
        query = query.where(DeliveryException.depot_id == filter.depot_id)
    if filter.statuses:
        query = query.where(col(DeliveryException.status).in_(list(filter.statuses)))
    if filter.kinds:
        query = query.where(col(DeliveryException.kind).in_(list(filter.kinds)))
    if filter.reported_from:
        query = query.where(DeliveryException.reported_at >= filter.reported_from)
    if filter.reported_to:
        query = query.where(DeliveryException.reported_at < filter.reported_to)
    if before_id is not None:
        query = query.where(col(DeliveryException.id) < before_id)
    query = query.order_by(col(DeliveryException.id).desc()).limit(first + 1)
    return list((await session.exec(query)).all())


def append_event(
    *,
    session: AsyncSession,
    exc: DeliveryException,
    type: EventType,
    step: ResolutionStep,
    actor: Principal | None,
    payload: dict[str, Any],
) -> ExceptionEvent:
    """Add a timeline event for the exception (it gets its id on flush)."""
    event = ExceptionEvent(
        tenant_id=exc.tenant_id,
        depot_id=exc.depot_id,
        route_id=exc.route_id,
        exception_id=exc.id,
        type=type,
        step=step,
        actor_id=actor.user_id if actor else None,
        actor_role=actor.role.value if actor else None,
        payload=payload,
    )
    session.add(event)
    return event


def _touch(exc: DeliveryException) -> None:
    exc.version += 1
    exc.updated_at = current_time()


async def create(
    *,
    session: AsyncSession,
    principal: Principal,
    stop: Stop,
    route: Route,
    kind: ExceptionKind,
    reason_code: str,
    description: str,
    position: tuple[float, float] | None,
    failed_attempt_number: int | None,
    idempotency_key: str,
    fingerprint: str,
) -> tuple[DeliveryException, ExceptionEvent]:
    """Open an exception on a stop with its REPORTED event."""
    exc = DeliveryException(
        tenant_id=route.tenant_id,
        depot_id=route.depot_id,
        route_id=route.id,
        stop_id=stop.id,
        kind=kind,
        reason_code=reason_code,
        description=description,
        reported_by_id=principal.user_id,
        lat=position[0] if position else None,
        lon=position[1] if position else None,
        failed_attempt_number=failed_attempt_number,
        idempotency_key=idempotency_key,
        request_fingerprint=fingerprint,
    )
    session.add(exc)
    await session.flush()
    event = append_event(
        session=session,
        exc=exc,
        type=EventType.REPORTED,
        step=ResolutionStep.IDENTIFIED,
        actor=principal,
        payload={
            "kind": kind.value,
            "reasonCode": reason_code,
            "description": description,
            "stopId": stop.id,
            "failedAttemptNumber": failed_attempt_number,
        },
    )
    return exc, event


def acknowledge(*, session: AsyncSession, principal: Principal, exc: DeliveryException, expected_version: int) -> ExceptionEvent:
    """A dispatcher takes the exception; it becomes theirs to work.

    Taking it does not depend on its status, so changes since the caller's read that left it unassigned (or theirs),
    such as the system moving it to CONTACTING_CUSTOMER after a report, do not make it a conflict; someone else
    having taken it does.
    """
    if exc.status in TERMINAL_STATUSES:
        raise DomainError(ErrorCode.INVALID_TRANSITION, f"the exception is already {exc.status.value}", field="id")
    still_free = expected_version < exc.version and exc.assignee_id in (None, principal.user_id)
    if not still_free:
        ensure_version(current=exc.version, expected=expected_version, what="the exception")
    previous = exc.assignee_id
    exc.assignee_id = principal.user_id
    exc.acknowledged_at = exc.acknowledged_at or current_time()
    _touch(exc)
    session.add(exc)
    return append_event(
        session=session, exc=exc, type=EventType.ACKNOWLEDGED, step=ResolutionStep.ANALYSED, actor=principal,
        payload={"assigneeId": principal.user_id, "previousAssigneeId": previous},
    )


def change_status(
    *, session: AsyncSession, principal: Principal, exc: DeliveryException, expected_version: int,
    status: ExceptionStatus, note: str | None,
) -> ExceptionEvent:
    """Move the exception along its lifecycle (the ends are reached through `resolve`)."""
    if status in TERMINAL_STATUSES:
        raise DomainError(ErrorCode.INVALID_TRANSITION, "use resolveException to resolve or fail an exception", field="status")
    ensure_transition(exc.status, status)
    ensure_version(current=exc.version, expected=expected_version, what="the exception")
    previous = exc.status
    exc.status = status
    _touch(exc)
    session.add(exc)
    return append_event(
        session=session, exc=exc, type=EventType.STATUS_CHANGED, step=STEP_FOR_STATUS[status], actor=principal,
        payload={"from": previous.value, "to": status.value, "note": note},
    )


def add_note(*, session: AsyncSession, principal: Principal, exc: DeliveryException, note: str) -> ExceptionEvent:
    """A note on the timeline; it changes no state, so it needs no version."""
    text = note.strip()
    if not text:
        raise invalid("a note cannot be empty", "note")
    if len(text) > 2000:
        raise invalid("a note is at most 2000 characters", "note")
    return append_event(
        session=session, exc=exc, type=EventType.NOTE_ADDED, step=ResolutionStep.ANALYSED, actor=principal,
        payload={"note": text},
    )


def resolve(
    *, session: AsyncSession, principal: Principal | None, exc: DeliveryException, expected_version: int,
    outcome: ResolutionOutcome, note: str | None, failure_cost_cents: int,
) -> ExceptionEvent:
    """Close the exception with its outcome and the cost of the failed attempt."""
    target = status_after(outcome)
    ensure_transition(exc.status, target)
    ensure_version(current=exc.version, expected=expected_version, what="the exception")
    previous = exc.status
    exc.status = target
    exc.resolution_outcome = outcome
    exc.resolution_note = note
    exc.resolved_at = current_time()
    exc.failure_cost_cents = failure_cost_cents
    _touch(exc)
    session.add(exc)
    return append_event(
        session=session, exc=exc, type=EventType.RESOLVED if target is ExceptionStatus.RESOLVED else EventType.FAILED,
        step=ResolutionStep.OUTCOME, actor=principal,
        payload={"from": previous.value, "outcome": outcome.value, "note": note, "failureCostCents": failure_cost_cents},
    )
