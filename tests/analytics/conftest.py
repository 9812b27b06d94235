"""Hand-made history for the analytics tests: attempts, exceptions and events written straight to the database."""
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from app.analytics.service import Scope
from app.delivery_exceptions.models import DeliveryException, EventType, ExceptionEvent, ExceptionKind, ExceptionStatus, ResolutionOutcome, ResolutionStep
from app.routes.models import AttemptOutcome, DeliveryAttempt
from app.runtime import Runtime
from tests.factories import Fleet


def at(text: str) -> datetime:
    """A UTC instant from 'YYYY-MM-DD HH:MM'."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


@dataclass
class History:
    runtime: Runtime
    fleet: Fleet

    async def attempts(self, *attempts: tuple[int, int, AttemptOutcome, str]) -> None:
        """(stop index, attempt number, outcome, when)."""
        async with self.runtime.sessionmaker() as session, session.begin():
            for stop, number, outcome, when in attempts:
                session.add(DeliveryAttempt(tenant_id=self.fleet.tenant.id, stop_id=self.fleet.stops[stop].id, driver_id=self.fleet.driver.id,
                                            attempt_number=number, outcome=outcome, attempted_at=at(when)))

    async def exception(
        self, stop: int, kind: ExceptionKind, reason: str, reported: str, *, resolved: str | None = None,
        outcome: ResolutionOutcome | None = None, cost: int | None = None, failed_attempt: int | None = None,
        contacted_by: str | None = None,
    ) -> int:
        """One exception; `contacted_by` adds the event of who reached whom ('customer', 'outreach' (an SMS reply), 'dispatcher', …)."""
        async with self.runtime.sessionmaker() as session, session.begin():
            row = DeliveryException(
                tenant_id=self.fleet.tenant.id, depot_id=self.fleet.depot.id, route_id=self.fleet.route.id, stop_id=self.fleet.stops[stop].id,
                kind=kind, reason_code=reason, reported_by_id=self.fleet.driver.id, reported_at=at(reported),
                status=ExceptionStatus.RESOLVED if resolved else ExceptionStatus.OPEN, resolved_at=at(resolved) if resolved else None,
                resolution_outcome=outcome, failure_cost_cents=cost, failed_attempt_number=failed_attempt,
                idempotency_key=uuid.uuid4().hex, request_fingerprint="test",
            )
            session.add(row)
            await session.flush()
            if contacted_by == "outreach":  # what outreach writes for an SMS reply or a link choice: the customer, the response in the payload
                actor_role, actor_id, payload = "customer", None, {"customerResponseId": 1, "option": "RESCHEDULE", "source": "SMS_REPLY"}
            else:
                actor_role, actor_id, payload = contacted_by, None if contacted_by == "customer" else self.fleet.dispatcher.id, {}
            if contacted_by:
                session.add(ExceptionEvent(
                    tenant_id=row.tenant_id, depot_id=row.depot_id, route_id=row.route_id, exception_id=row.id, type=EventType.STATUS_CHANGED,
                    step=ResolutionStep.CUSTOMER_CONTACTED, actor_role=actor_role, actor_id=actor_id, payload=payload,
                    occurred_at=at(reported) + timedelta(minutes=1),
                ))
            return row.id

    def scope(self, start: str, end: str, **narrowing) -> Scope:  # noqa: ANN003
        return Scope(tenant_id=self.fleet.tenant.id, start=at(start), end=at(end), **narrowing)


@pytest.fixture
def history_of(runtime: Runtime):  # noqa: ANN201
    return lambda fleet: History(runtime, fleet)
