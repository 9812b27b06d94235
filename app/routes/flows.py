"""Delivery attempts: record them, close what they settle, tell the live channels."""
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from app.auth.principal import Principal
from app.db import utcnow
from app.delivery_exceptions import service as exceptions
from app.delivery_exceptions.flows import close_exception
from app.delivery_exceptions.models import ResolutionOutcome
from app.delivery_exceptions.notices import event_notices
from app.errors import invalid
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
    """Record an attempt; a delivered one closes the stop's open exception. A retry returns the first (replayed=True)."""
    if not report.idempotency_key.strip() or len(report.idempotency_key) > 100:
        raise invalid("an idempotency key of 1 to 100 characters is required", "idempotencyKey")
    if report.attempted_at and report.attempted_at > utcnow():
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
                attempted_at=report.attempted_at or utcnow(), position=report.position,
                idempotency_key=report.idempotency_key, fingerprint=request_hash,
            )
            await service.bump_route_version(session=session, route=route)
            await record_route_change(uow, route=route, kind=RouteChangeKind.STOP_UPDATED, stop_ids=[stop.id])
            open_exc = await exceptions.open_exception_on_stop(session=session, stop_id=stop.id)
            if open_exc is not None and report.outcome is AttemptOutcome.DELIVERED:
                event = await close_exception(
                    uow, principal, open_exc, expected_version=open_exc.version,
                    outcome=ResolutionOutcome.DELIVERED_TO_CUSTOMER, note=report.note or "delivered on a later attempt",
                )
                await session.flush()
                uow.notify(*event_notices(event))
            return attempt, False
    except IntegrityError:
        async with runtime.sessionmaker() as session:
            existing = await service.find_attempt_by_key(session=session, driver_id=principal.user_id, idempotency_key=report.idempotency_key)
        if existing is None:
            raise
        ensure_same_request(existing.request_fingerprint, request_hash)
        return existing, True
