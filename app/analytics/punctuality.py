"""Punctuality from the live ETAs: delay per stop and route, exceptions caught in time, ETA accuracy.

A stop belongs to the period of its first attempt (its fact row), as in first-time success; its delay is that
attempt's time minus the planned ETA (early counts as 0). The ETA measured is the live ETA given when the
stop was first 30 minutes or less away (tracking's StopLiveState.eta_30). An exception counts as caught
before the window closed when it was reported before the stop's window end.
"""
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from app.analytics.models import StopFact
from app.analytics.service import Scope, _count_if, _exceptions, _first_attempts, dialect_for
from app.delivery_exceptions.models import DeliveryException
from app.routes.models import Stop
from app.tracking.models import StopLiveState

E, F, S, L = DeliveryException, StopFact, Stop, StopLiveState


@dataclass(frozen=True)
class RouteDelay:
    route_id: int
    stops: int
    total_delay_seconds: float
    max_delay_seconds: float


@dataclass(frozen=True)
class Punctuality:
    stops_measured: int
    avg_delay_seconds: float | None
    routes: list[RouteDelay]
    exceptions: int
    caught_before_window_closed: int
    eta_samples: int
    eta_p50_abs_error_seconds: float | None
    eta_p90_abs_error_seconds: float | None

    @property
    def caught_share(self) -> float | None:
        return self.caught_before_window_closed / self.exceptions if self.exceptions else None


async def punctuality(*, session: AsyncSession, scope: Scope, route_limit: int = 100) -> Punctuality:
    """The period's delay, in-time catch and ETA accuracy figures (aggregates in SQL)."""
    dialect = await dialect_for(session=session, scope=scope)
    late_by = dialect.seconds_between(S.planned_eta, F.first_attempt_at)
    delay = sa.case((late_by > 0, late_by), else_=0.0)
    measured = _first_attempts(scope, S.route_id, delay.label("delay")).join(S, S.id == F.stop_id).where(S.planned_eta.is_not(None)).subquery()
    per_route = (await session.exec(
        sa.select(measured.c.route_id, sa.func.count().label("n"), sa.func.sum(measured.c.delay).label("total"), sa.func.max(measured.c.delay).label("worst"))
        .group_by(measured.c.route_id).order_by(sa.func.sum(measured.c.delay).desc(), measured.c.route_id).limit(route_limit)
    )).all()
    overall = (await session.exec(sa.select(sa.func.count(), sa.func.avg(measured.c.delay)))).one()
    caught = (await session.exec(
        _exceptions(scope, sa.func.count().label("n"), _count_if(E.reported_at < S.window_end).label("caught")).join(S, S.id == E.stop_id)
    )).one()
    error = sa.func.abs(dialect.seconds_between(L.eta_30, F.first_attempt_at)).label("error")
    samples = _first_attempts(scope, error).join(L, L.stop_id == F.stop_id).where(L.eta_30.is_not(None))
    count = (await session.exec(sa.select(sa.func.count()).select_from(samples.subquery()))).scalar()
    p50 = (await session.exec(dialect.percentile(50, error, samples))).scalar() if count else None
    p90 = (await session.exec(dialect.percentile(90, error, samples))).scalar() if count else None
    return Punctuality(
        stops_measured=int(overall[0] or 0), avg_delay_seconds=float(overall[1]) if overall[1] is not None else None,
        routes=[RouteDelay(r.route_id, int(r.n), float(r.total or 0), float(r.worst or 0)) for r in per_route],
        exceptions=int(caught.n or 0), caught_before_window_closed=int(caught.caught or 0), eta_samples=int(count or 0),
        eta_p50_abs_error_seconds=float(p50) if p50 is not None else None, eta_p90_abs_error_seconds=float(p90) if p90 is not None else None,
    )
