"""Exception work that commits and then tells the live channels."""
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from app.auth.principal import Principal
from app.delivery_exceptions import service
from app.delivery_exceptions.costs import failure_cost_cents
from app.delivery_exceptions.models import (
    ATTEMPT_FAILING_KINDS,
    DeliveryException,
    ExceptionEvent,
    ExceptionKind,
    ExceptionStatus,
    ResolutionOutcome,
)
from app.delivery_exceptions.notices import event_notices
from app.errors import DomainError, ErrorCode, invalid
from app.events import AttemptRecorded, ExceptionClosed, ExceptionReported, ExceptionStatusChanged, StopDelivered
from app.idempotency import ensure_same_request, fingerprint
from app.routes import service as routes
from app.routes.models import AttemptOutcome, ParcelStatus, Stop, StopStatus
from app.runtime import Runtime, UnitOfWork, unit_of_work
from app.tenants.models import Depot, Role, Tenant


@dataclass(frozen=True)
class ExceptionReport:
    stop_id: int
    kind: ExceptionKind
    reason_code: str
    description: str
    idempotency_key: str
    occurred_at: datetime | None = None
    position: tuple[float, float, float | None] | None = None

    def fingerprint(self) -> str:
        return fingerprint(
            {"stop": self.stop_id, "kind": self.kind.value, "reason": self.reason_code.strip().upper(),
             "description": self.description, "position": self.position}
        )


def _validate(report: ExceptionReport, now: datetime) -> None:
    if not report.idempotency_key.strip() or len(report.idempotency_key) > 100:
        raise invalid("an idempotency key of 1 to 100 characters is required", "idempotencyKey")
    if len(report.description) > 2000:
        raise invalid("the description is at most 2000 characters", "description")
    if report.occurred_at and report.occurred_at > now:
        raise invalid("occurredAt cannot be in the future", "occurredAt")


async def report_exception(runtime: Runtime, principal: Principal, report: ExceptionReport) -> tuple[DeliveryException, bool]:
    """Open an exception from the driver's report; a retry with the same key returns the first one (replayed=True)."""
    _validate(report, runtime.clock.now())
    reason_code = service.validate_reason(report.kind, report.reason_code)
    request_hash = report.fingerprint()
    try:
        async with unit_of_work(runtime) as uow:
            return await _open(uow, principal, report, reason_code, request_hash)
    except IntegrityError:
        # A concurrent retry with the same key won the race: answer with its exception.
        async with runtime.sessionmaker() as session:
            existing = await service.find_by_idempotency_key(
                session=session, reporter_id=principal.user_id, key=report.idempotency_key
            )
        if existing is None:
            raise
        ensure_same_request(existing.request_fingerprint, request_hash)
        return existing, True


async def _open(
    uow: UnitOfWork, principal: Principal, report: ExceptionReport, reason_code: str, request_hash: str
) -> tuple[DeliveryException, bool]:
    session = uow.session
    # Lock the stop first: a concurrent retry waits here, then finds the first report by its key.
    stop, route = await routes.get_drivable_stop(session=session, principal=principal, stop_id=report.stop_id)
    existing = await service.find_by_idempotency_key(session=session, reporter_id=principal.user_id, key=report.idempotency_key)
    if existing is not None:
        ensure_same_request(existing.request_fingerprint, request_hash)
        return existing, True
    open_exc = await service.open_exception_on_stop(session=session, stop_id=stop.id)
    if open_exc is not None and (open_exc.reported_by_id, open_exc.idempotency_key) == (principal.user_id, report.idempotency_key):
        ensure_same_request(open_exc.request_fingerprint, request_hash)  # committed between our two reads: a retry
        return open_exc, True
    if open_exc is not None:
        raise DomainError(
            ErrorCode.STOP_HAS_OPEN_EXCEPTION,
            f"the stop already has open exception {open_exc.id}; add a note to it instead",
            field="stopId",
        )
    failed_attempt_number = None
    if report.kind in ATTEMPT_FAILING_KINDS:
        attempt = await routes.add_attempt(
            session=session, stop=stop, driver_id=principal.user_id, outcome=AttemptOutcome.FAILED,
            attempted_at=report.occurred_at or uow.clock.now(), position=report.position,
        )
        failed_attempt_number = attempt.attempt_number
        await routes.bump_route_version(session=session, route=route)
    exc, event = await service.create(
        session=session, principal=principal, stop=stop, route=route, kind=report.kind, reason_code=reason_code,
        description=report.description.strip(), position=report.position[:2] if report.position else None,
        failed_attempt_number=failed_attempt_number, idempotency_key=report.idempotency_key, fingerprint=request_hash,
    )
    await session.flush()
    await uow.emit(ExceptionReported(tenant_id=exc.tenant_id, exception_id=exc.id, stop_id=stop.id, kind=exc.kind.value, event_id=event.id))
    uow.notify(*event_notices(event))
    if failed_attempt_number is not None:
        await uow.emit(AttemptRecorded(tenant_id=exc.tenant_id, stop_id=stop.id, attempt_id=attempt.id))
    return exc, False


async def _change(runtime: Runtime, principal: Principal, exception_id: int, change) -> DeliveryException:  # noqa: ANN001
    async with unit_of_work(runtime) as uow:
        exc = await service.get_for_change(session=uow.session, principal=principal, exception_id=exception_id)
        previous = exc.status
        event: ExceptionEvent = await change(uow, exc)
        await uow.session.flush()
        await announce_change(uow, exc, event, previous)
        return exc


async def announce_change(uow: UnitOfWork, exc: DeliveryException, event: ExceptionEvent, previous: ExceptionStatus) -> None:
    """The notices of a timeline entry, and the domain event of a status change."""
    uow.notify(*event_notices(event))
    if exc.status is not previous:
        await uow.emit(ExceptionStatusChanged(
            tenant_id=exc.tenant_id, exception_id=exc.id, previous=previous.value, status=exc.status.value, actor_role=event.actor_role,
        ))



async def acknowledge_exception(runtime: Runtime, principal: Principal, *, exception_id: int, expected_version: int) -> DeliveryException:
    async def change(uow: UnitOfWork, exc: DeliveryException) -> ExceptionEvent:
        return service.acknowledge(session=uow.session, principal=principal, exc=exc, expected_version=expected_version)

    return await _change(runtime, principal, exception_id, change)


async def update_exception_status(
    runtime: Runtime, principal: Principal, *, exception_id: int, expected_version: int, status: ExceptionStatus, note: str | None
) -> DeliveryException:
    async def change(uow: UnitOfWork, exc: DeliveryException) -> ExceptionEvent:
        return service.change_status(
            session=uow.session, principal=principal, exc=exc, expected_version=expected_version, status=status, note=note
        )

    return await _change(runtime, principal, exception_id, change)


async def add_exception_note(runtime: Runtime, principal: Principal, *, exception_id: int, note: str) -> DeliveryException:
    async def change(uow: UnitOfWork, exc: DeliveryException) -> ExceptionEvent:
        return service.add_note(session=uow.session, principal=principal, exc=exc, note=note)

    return await _change(runtime, principal, exception_id, change)


STOP_AFTER_OUTCOME: dict[ResolutionOutcome, tuple[StopStatus, ParcelStatus] | None] = {
    ResolutionOutcome.DELIVERED_TO_CUSTOMER: (StopStatus.DELIVERED, ParcelStatus.DELIVERED),
    ResolutionOutcome.DELIVERED_TO_NEIGHBOR: (StopStatus.DELIVERED, ParcelStatus.DELIVERED),
    ResolutionOutcome.SECURE_DROPOFF: (StopStatus.DELIVERED, ParcelStatus.DELIVERED),
    ResolutionOutcome.PICKUP_POINT: (StopStatus.SKIPPED, ParcelStatus.HELD),
    ResolutionOutcome.RESCHEDULED: (StopStatus.RESCHEDULED, ParcelStatus.HELD),
    ResolutionOutcome.RETURNED_TO_DEPOT: (StopStatus.FAILED, ParcelStatus.RETURNED),
    ResolutionOutcome.CANCELLED: (StopStatus.SKIPPED, ParcelStatus.RETURNED),
    ResolutionOutcome.ADDRESS_CORRECTED: None,
}


async def close_exception(
    uow: UnitOfWork, principal: Principal | None, exc: DeliveryException, *, expected_version: int,
    outcome: ResolutionOutcome, note: str | None,
) -> ExceptionEvent:
    """Resolve inside an open unit of work: cost it, record it, and move the stop and parcels."""
    session = uow.session
    stop = await session.get(Stop, exc.stop_id)
    tenant = await session.get(Tenant, exc.tenant_id)
    depot = await session.get(Depot, exc.depot_id)
    cost = failure_cost_cents(tenant=tenant, depot=depot, stop=stop, exc=exc)
    event = service.resolve(
        session=session, principal=principal, exc=exc, expected_version=expected_version, outcome=outcome,
        note=note, failure_cost_cents=cost,
    )
    effect = STOP_AFTER_OUTCOME[outcome]
    if effect is not None and stop.status is not StopStatus.DELIVERED:
        stop.status, parcel_status = effect
        stop.version += 1
        session.add(stop)
        await routes.set_parcels_status(session=session, stop_id=stop.id, status=parcel_status)
    await uow.emit(ExceptionClosed(tenant_id=exc.tenant_id, exception_id=exc.id, stop_id=exc.stop_id, outcome=outcome.value))
    return event


async def resolve_exception(
    runtime: Runtime, principal: Principal, *, exception_id: int, expected_version: int,
    outcome: ResolutionOutcome, note: str | None,
) -> DeliveryException:
    if note is not None and len(note) > 2000:
        raise invalid("a note is at most 2000 characters", "note")

    async def change(uow: UnitOfWork, exc: DeliveryException) -> ExceptionEvent:
        return await close_exception(uow, principal, exc, expected_version=expected_version, outcome=outcome, note=note)

    return await _change(runtime, principal, exception_id, change)


async def close_on_delivery(uow: UnitOfWork, event: StopDelivered) -> None:
    """In-transaction handler: a delivered stop settles the exception still open on it."""
    open_exc = await service.open_exception_on_stop(session=uow.session, stop_id=event.stop_id)
    if open_exc is None:
        return
    driver = Principal(user_id=event.driver_id, tenant_id=event.tenant_id, role=Role.DRIVER, scopes=frozenset())
    previous = open_exc.status
    closed = await close_exception(
        uow, driver, open_exc, expected_version=open_exc.version, outcome=ResolutionOutcome.DELIVERED_TO_CUSTOMER,
        note=event.note or "delivered on a later attempt",
    )
    await uow.session.flush()
    await announce_change(uow, open_exc, closed, previous)
