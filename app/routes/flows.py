"""Delivery attempts: record them, close what they settle, tell the live channels."""
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from app.auth.principal import Principal
from app.errors import invalid
from app.events import AttemptRecorded, StopDelivered
from app.idempotency import ensure_same_request, fingerprint
from app.realtime.models import RouteChangeKind
from app.realtime.ordering import serialize_event_writers
from app.realtime.route_events import record_route_change
from app.routes import service
from app.routes.models import AttemptOutcome, DeliveryAttempt
from app.runtime import Runtime, unit_of_work


@dataclass(frozen=True)
class AttemptReport:
    stop_id: int
    outcome: AttemptOutcome
    idempotency_key: str
    attempted_at: datetime | None = None
    position: tuple[float, float, float | None] | None = None
    note: str | None = None

    def fingerprint(self) -> str:
        return fingerprint({"stop": self.stop_id, "outcome": self.outcome.value, "position": self.position})


async def record_delivery_attempt(runtime: Runtime, principal: Principal, report: AttemptReport) -> tuple[DeliveryAttempt, bool]:
    """Record an attempt (a delivered one settles what is open on the stop: StopDelivered). A retry returns the first (replayed=True)."""
    if not report.idempotency_key.strip() or len(report.idempotency_key) > 100:
        raise invalid("an idempotency key of 1 to 100 characters is required", "idempotencyKey")
    if report.attempted_at and report.attempted_at > runtime.clock.now():
        raise invalid("attemptedAt cannot be in the future", "attemptedAt")
    request_hash = report.fingerprint()
    try:
        async with unit_of_work(runtime) as uow:
            session = uow.session
            # Lock the stop first: a concurrent retry waits here, then finds the first attempt by its key.
            stop, route = await service.get_drivable_stop(session=session, principal=principal, stop_id=report.stop_id)
            await serialize_event_writers(session, route.tenant_id)  # before the stop's row lock: see app/realtime/ordering.py
            existing = await service.find_attempt_by_key(session=session, driver_id=principal.user_id, idempotency_key=report.idempotency_key)
            if existing is not None:
                ensure_same_request(existing.request_fingerprint, request_hash)
                return existing, True
            attempt = await service.add_attempt(
                session=session, stop=stop, driver_id=principal.user_id, outcome=report.outcome,
                attempted_at=report.attempted_at or uow.clock.now(), position=report.position,
                idempotency_key=report.idempotency_key, fingerprint=request_hash,
            )
            await service.bump_route_version(session=session, route=route)
            await record_route_change(uow, route=route, kind=RouteChangeKind.STOP_UPDATED, stop_ids=[stop.id])
            if report.outcome is AttemptOutcome.DELIVERED:
                await uow.emit(StopDelivered(
                    tenant_id=stop.tenant_id, stop_id=stop.id, attempt_id=attempt.id, driver_id=principal.user_id, note=report.note,
                ))
            await uow.emit(AttemptRecorded(tenant_id=stop.tenant_id, stop_id=stop.id, attempt_id=attempt.id))
            return attempt, False
    except IntegrityError:
        async with runtime.sessionmaker() as session:
            existing = await service.find_attempt_by_key(session=session, driver_id=principal.user_id, idempotency_key=report.idempotency_key)
        if existing is None:
            raise
        ensure_same_request(existing.request_fingerprint, request_hash)
        return existing, True
